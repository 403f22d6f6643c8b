"""The directory: people and their roles, departments and their chats, topics, locations, absences, invites."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.codes import unique_code
from bot.domain.errors import NotFound
from bot.domain.incident import Role
from storage.tables import (
    absences,
    chat_migrations,
    departments,
    invites,
    locations,
    memberships,
    topics,
    user_roles,
    users,
)

# --- the directory: people, departments, topics, locations, absences, invites -------------------


@dataclass(frozen=True)
class UserRecord:
    """A user as stored, with the roles they hold (SPEC §1); ``created_at`` aware UTC."""

    id: int
    telegram_id: int
    full_name: str
    username: str | None
    locale: str
    is_active: bool
    created_at: datetime
    roles: frozenset[Role]


@dataclass(frozen=True)
class DepartmentRecord:
    """A department (отраслевой орган) and the group chat and responsible official it has, if any."""

    id: int
    name: str
    chat_id: int | None  # the bound group chat
    responsible_user_id: int | None
    is_active: bool
    code: str = ""  # the config's code (bot.domain.codes), unique


@dataclass(frozen=True)
class TopicRecord:
    """A topic of the rubricator (SPEC §2); an inactive one is left out of the lists by default."""

    id: int
    name: str
    is_active: bool
    code: str = ""  # the config's code (bot.domain.codes), unique


@dataclass(frozen=True)
class LocationRecord:
    """A location of the directory (SPEC §2); an inactive one is left out of the lists by default."""

    id: int
    name: str
    is_active: bool
    code: str = ""  # the config's code (bot.domain.codes), unique


@dataclass(frozen=True)
class AbsenceRecord:
    """An absence of ``user_id`` in ``[starts_at, ends_at)`` (aware UTC), ``substitute_id`` standing in."""

    id: int
    user_id: int
    substitute_id: int
    starts_at: datetime
    ends_at: datetime
    reason: str | None


@dataclass(frozen=True)
class ChatMap:
    """Where notices go at one moment: every user's chat (their substitute's while absent), and each
    department's active members."""

    chats: dict[int, int]  # user id -> the chat that receives their notices now
    members: dict[int, frozenset[int]]  # department id -> active member user ids


@dataclass(frozen=True)
class InviteRecord:
    """An invitation code for a role (and department); ``used_by`` set once claimed; datetimes aware UTC."""

    id: int
    code: str
    role: Role
    department_id: int | None
    created_by: int | None
    created_at: datetime
    expires_at: datetime | None
    used_by: int | None
    used_at: datetime | None


def _department(row: sa.Row[Any]) -> DepartmentRecord:
    return DepartmentRecord(
        id=row.id,
        name=row.name,
        chat_id=row.chat_id,
        responsible_user_id=row.responsible_user_id,
        is_active=row.is_active,
        code=row.code,
    )


def _invite(row: sa.Row[Any]) -> InviteRecord:
    return InviteRecord(
        id=row.id,
        code=row.code,
        role=row.role,
        department_id=row.department_id,
        created_by=row.created_by,
        created_at=row.created_at,
        expires_at=row.expires_at,
        used_by=row.used_by,
        used_at=row.used_at,
    )


class DirectoryRepository:
    """Who is who: users and roles, departments and members, topics, locations, absences, invites.

    Works in the caller's transaction. Moments in are aware (any zone), moments out aware UTC; a naive one
    raises ``sqlalchemy.exc.StatementError``. Lookups by id raise NotFound (key ``not_found``) unless said.
    """

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    # users

    async def get_user(self, user_id: int) -> UserRecord:
        """The user with their roles, active or not. Raises NotFound (param ``user_id``) if there is none."""
        found = await self._users(users.c.id == user_id)
        if not found:
            raise NotFound(f"user #{user_id} not found", user_id=user_id)
        return found[0]

    async def get_by_telegram_id(self, telegram_id: int) -> UserRecord | None:
        """The user with this Telegram user id, active or not, or None."""
        found = await self._users(users.c.telegram_id == telegram_id)
        return found[0] if found else None

    async def users_with_role(self, role: Role, *, active_only: bool = True) -> list[UserRecord]:
        """The users holding ``role`` (only active ones unless ``active_only`` is False), by user id."""
        condition = users.c.id.in_(sa.select(user_roles.c.user_id).where(user_roles.c.role == role))
        if active_only:
            condition = sa.and_(condition, users.c.is_active.is_(True))
        return await self._users(condition)

    async def add_user(
        self,
        telegram_id: int,
        full_name: str,
        username: str | None = None,
        *,
        locale: str = "ru",
        roles: Iterable[Role] = (),
        created_at: datetime | None = None,
    ) -> UserRecord:
        """Store a new active user with these roles; ``created_at`` (aware) defaults to the database's clock.

        Returns the stored record. Raises IntegrityError if the Telegram id is registered already.
        """
        values: dict[str, Any] = {
            "telegram_id": telegram_id,
            "full_name": full_name,
            "username": username,
            "locale": locale,
        }
        if created_at is not None:
            values["created_at"] = created_at
        user_id = (await self._session.execute(sa.insert(users).values(**values).returning(users.c.id))).scalar_one()
        await self.set_roles(user_id, roles)
        return await self.get_user(user_id)

    async def set_roles(self, user_id: int, roles: Iterable[Role]) -> None:
        """Replace the user's roles with ``roles`` (empty: none). Raises IntegrityError if the user does not
        exist and roles are given."""
        await self._session.execute(sa.delete(user_roles).where(user_roles.c.user_id == user_id))
        wanted = sorted(set(roles))
        if wanted:
            await self._session.execute(sa.insert(user_roles), [{"user_id": user_id, "role": role} for role in wanted])

    async def set_locale(self, user_id: int, locale: str) -> None:
        """Set the user's interface language (a locale code such as ``ru``, ``en``). Raises NotFound (param ``id``)."""
        await self._update_one(users, user_id, locale=locale)

    async def set_user_active(self, user_id: int, is_active: bool) -> None:
        """Activate or deactivate the user (roles and memberships are kept). Raises NotFound (param ``id``)."""
        await self._update_one(users, user_id, is_active=is_active)

    async def _users(self, condition: sa.ColumnElement[bool]) -> list[UserRecord]:
        rows = (await self._session.execute(sa.select(users).where(condition).order_by(users.c.id))).all()
        if not rows:
            return []
        role_rows = await self._session.execute(
            sa.select(user_roles).where(user_roles.c.user_id.in_([row.id for row in rows]))
        )
        roles_of: dict[int, set[Role]] = defaultdict(set)
        for role_row in role_rows:
            roles_of[role_row.user_id].add(role_row.role)
        return [
            UserRecord(
                id=row.id,
                telegram_id=row.telegram_id,
                full_name=row.full_name,
                username=row.username,
                locale=row.locale,
                is_active=row.is_active,
                created_at=row.created_at,
                roles=frozenset(roles_of[row.id]),
            )
            for row in rows
        ]

    # departments and memberships

    async def add_department(
        self,
        name: str,
        *,
        chat_id: int | None = None,
        responsible_user_id: int | None = None,
        code: str | None = None,
    ) -> DepartmentRecord:
        """Store a new active department and return it; ``code`` defaults to one made from the name
        (bot.domain.codes.unique_code). Raises IntegrityError if the name or code is taken or the responsible user
        does not exist."""
        code = code or await self._free_code(departments, name)
        row = (
            await self._session.execute(
                sa.insert(departments)
                .values(name=name, code=code, chat_id=chat_id, responsible_user_id=responsible_user_id)
                .returning(*departments.c)
            )
        ).one()
        return _department(row)

    async def department_by_code(self, code: str) -> DepartmentRecord | None:
        """The department with this code, active or not, or None."""
        row = (await self._session.execute(sa.select(departments).where(departments.c.code == code))).one_or_none()
        return _department(row) if row is not None else None

    async def update_department(
        self, department_id: int, *, name: str | None = None, code: str | None = None, is_active: bool | None = None
    ) -> None:
        """Rename, re-code, (de)activate the department (None: leave as is); its incidents, members and history
        stay with it. Raises NotFound (param ``id``), IntegrityError when the name or code is taken."""
        await self._update_entry(departments, department_id, name=name, code=code, is_active=is_active)

    async def update_topic(
        self, topic_id: int, *, name: str | None = None, code: str | None = None, is_active: bool | None = None
    ) -> None:
        """Rename, re-code, (de)activate the topic, as :meth:`update_department`."""
        await self._update_entry(topics, topic_id, name=name, code=code, is_active=is_active)

    async def update_location(
        self, location_id: int, *, name: str | None = None, code: str | None = None, is_active: bool | None = None
    ) -> None:
        """Rename, re-code, (de)activate the location, as :meth:`update_department`."""
        await self._update_entry(locations, location_id, name=name, code=code, is_active=is_active)

    async def _update_entry(self, table: sa.Table, row_id: int, **values: Any) -> None:
        changes = {key: value for key, value in values.items() if value is not None}
        if changes:
            await self._update_one(table, row_id, **changes)

    async def _free_code(self, table: sa.Table, name: str) -> str:
        taken = set((await self._session.execute(sa.select(table.c.code))).scalars())
        return unique_code(name, taken, table.name[0])

    async def list_departments(self, *, active_only: bool = True) -> list[DepartmentRecord]:
        """The departments (only active ones unless ``active_only`` is False), by name."""
        statement = sa.select(departments).order_by(departments.c.name)
        if active_only:
            statement = statement.where(departments.c.is_active.is_(True))
        return [_department(row) for row in await self._session.execute(statement)]

    async def get_department(self, department_id: int) -> DepartmentRecord:
        """The department, active or not. Raises NotFound (param ``department_id``) if there is none."""
        row = (
            await self._session.execute(sa.select(departments).where(departments.c.id == department_id))
        ).one_or_none()
        if row is None:
            raise NotFound(f"department #{department_id} not found", department_id=department_id)
        return _department(row)

    async def department_by_chat(self, chat_id: int) -> DepartmentRecord | None:
        """The department bound to this Telegram chat id as stored (see :meth:`current_chat`), or None; any one
        of them if several share the chat."""
        row = (await self._session.execute(sa.select(departments).where(departments.c.chat_id == chat_id))).first()
        return _department(row) if row is not None else None

    async def set_responsible(self, department_id: int, user_id: int | None) -> None:
        """Set (None: clear) the department's responsible official. Raises NotFound (param ``id``) for an
        unknown department, IntegrityError for an unknown user."""
        await self._update_one(departments, department_id, responsible_user_id=user_id)

    async def bind_chat(self, department_id: int, chat_id: int | None) -> None:
        """Bind the department to this Telegram group chat (None: unbind). Raises NotFound (param ``id``)."""
        await self._update_one(departments, department_id, chat_id=chat_id)

    # chats that move: Telegram upgrades a group to a supergroup with a new id

    async def current_chat(self, chat_id: int) -> int:
        """The Telegram chat id a (possibly old) chat id means now, following recorded upgrades to supergroups;
        the id itself if it never moved."""
        seen = {chat_id}
        while True:
            found = (
                await self._session.execute(
                    sa.select(chat_migrations.c.new_chat_id).where(chat_migrations.c.old_chat_id == chat_id)
                )
            ).scalar_one_or_none()
            if found is None or found in seen:  # a cycle cannot happen in Telegram; do not loop on one
                return chat_id
            seen.add(found)
            chat_id = found

    async def record_chat_migration(self, old_chat_id: int, new_chat_id: int, at: datetime) -> bool:
        """Record that ``old_chat_id`` became ``new_chat_id`` at ``at`` (aware); False if it was recorded before
        (then nothing is written; a savepoint keeps the caller's transaction usable)."""
        try:
            async with self._session.begin_nested():
                await self._session.execute(
                    sa.insert(chat_migrations).values(old_chat_id=old_chat_id, new_chat_id=new_chat_id, migrated_at=at)
                )
        except IntegrityError:
            return False
        return True

    async def rebind_chat(self, old_chat_id: int, new_chat_id: int) -> list[DepartmentRecord]:
        """Departments bound to ``old_chat_id`` are bound to ``new_chat_id``; returns them, rebound, in no
        particular order (empty if none was bound)."""
        rows = await self._session.execute(
            sa.update(departments)
            .where(departments.c.chat_id == old_chat_id)
            .values(chat_id=new_chat_id)
            .returning(*departments.c)
        )
        return [_department(row) for row in rows]

    async def add_membership(self, user_id: int, department_id: int) -> None:
        """Make the user a member of the department; idempotent: adding an existing membership changes nothing.

        Raises IntegrityError if the user or the department does not exist.
        """
        exists = (
            await self._session.execute(
                sa.select(memberships.c.user_id).where(
                    memberships.c.user_id == user_id, memberships.c.department_id == department_id
                )
            )
        ).first()
        if exists is None:
            await self._session.execute(sa.insert(memberships).values(user_id=user_id, department_id=department_id))

    async def remove_membership(self, user_id: int, department_id: int) -> None:
        """End the user's membership of the department; nothing happens if there is none."""
        await self._session.execute(
            sa.delete(memberships).where(memberships.c.user_id == user_id, memberships.c.department_id == department_id)
        )

    async def departments_of(self, user_id: int) -> list[DepartmentRecord]:
        """The departments the user is a member of, active or not, by name (empty for an unknown user)."""
        rows = await self._session.execute(
            sa.select(departments)
            .join(memberships, memberships.c.department_id == departments.c.id)
            .where(memberships.c.user_id == user_id)
            .order_by(departments.c.name)
        )
        return [_department(row) for row in rows]

    async def members(self, department_id: int) -> list[UserRecord]:
        """The department's members, active or not, by user id (empty for an unknown department)."""
        return await self._users(
            users.c.id.in_(sa.select(memberships.c.user_id).where(memberships.c.department_id == department_id))
        )

    # topics and locations

    async def add_topic(self, name: str, *, code: str | None = None) -> TopicRecord:
        """Store a new active topic and return it; ``code`` as for :meth:`add_department`. Raises IntegrityError
        if the name or code is taken."""
        code = code or await self._free_code(topics, name)
        row = (await self._session.execute(sa.insert(topics).values(name=name, code=code).returning(*topics.c))).one()
        return TopicRecord(id=row.id, name=row.name, is_active=row.is_active, code=row.code)

    async def list_topics(self, *, active_only: bool = True) -> list[TopicRecord]:
        """The topics (only active ones unless ``active_only`` is False), by name."""
        statement = sa.select(topics).order_by(topics.c.name)
        if active_only:
            statement = statement.where(topics.c.is_active.is_(True))
        rows = await self._session.execute(statement)
        return [TopicRecord(id=row.id, name=row.name, is_active=row.is_active, code=row.code) for row in rows]

    async def add_location(self, name: str, *, code: str | None = None) -> LocationRecord:
        """Store a new active location and return it; ``code`` as for :meth:`add_department`. Raises IntegrityError
        if the name or code is taken."""
        code = code or await self._free_code(locations, name)
        row = (
            await self._session.execute(sa.insert(locations).values(name=name, code=code).returning(*locations.c))
        ).one()
        return LocationRecord(id=row.id, name=row.name, is_active=row.is_active, code=row.code)

    async def list_locations(self, *, active_only: bool = True) -> list[LocationRecord]:
        """The locations (only active ones unless ``active_only`` is False), by name."""
        statement = sa.select(locations).order_by(locations.c.name)
        if active_only:
            statement = statement.where(locations.c.is_active.is_(True))
        rows = await self._session.execute(statement)
        return [LocationRecord(id=row.id, name=row.name, is_active=row.is_active, code=row.code) for row in rows]

    # absences

    async def add_absence(
        self,
        user_id: int,
        substitute_id: int,
        starts_at: datetime,
        ends_at: datetime,
        reason: str | None = None,
    ) -> AbsenceRecord:
        """Store an absence of ``user_id`` in ``[starts_at, ends_at)`` (aware) with ``substitute_id`` standing
        in (SPEC §1; Отрадная п. 8.2, Боровичи п. 6) and return it. The order of the two moments is the
        caller's rule. Raises IntegrityError if either user does not exist."""
        row = (
            await self._session.execute(
                sa.insert(absences)
                .values(
                    user_id=user_id,
                    substitute_id=substitute_id,
                    starts_at=starts_at,
                    ends_at=ends_at,
                    reason=reason,
                )
                .returning(*absences.c)
            )
        ).one()
        return AbsenceRecord(**row._asdict())

    async def list_absences(self, ending_after: datetime) -> list[AbsenceRecord]:
        """Absences running or still to come at ``ending_after`` (aware; ending after it), the earliest start
        first."""
        rows = await self._session.execute(
            sa.select(absences).where(absences.c.ends_at > ending_after).order_by(absences.c.starts_at, absences.c.id)
        )
        return [AbsenceRecord(**row._asdict()) for row in rows]

    async def get_absence(self, absence_id: int) -> AbsenceRecord:
        """The absence. Raises NotFound with key ``absence_gone`` if there is none (deleted meanwhile)."""
        row = (await self._session.execute(sa.select(absences).where(absences.c.id == absence_id))).one_or_none()
        if row is None:
            raise NotFound(f"absence #{absence_id} not found", key="absence_gone")
        return AbsenceRecord(**row._asdict())

    async def delete_absence(self, absence_id: int) -> None:
        """Delete the absence; nothing happens if it is gone already."""
        await self._session.execute(sa.delete(absences).where(absences.c.id == absence_id))

    async def active_substitute(self, user_id: int, at: datetime) -> int | None:
        """The user id standing in for ``user_id`` at ``at`` (aware; the latest-started absence wins), or None."""
        return (
            await self._session.execute(
                sa.select(absences.c.substitute_id)
                .where(
                    absences.c.user_id == user_id,
                    absences.c.starts_at <= at,
                    absences.c.ends_at > at,
                )
                .order_by(absences.c.starts_at.desc(), absences.c.id.desc())
                .limit(1)
            )
        ).scalar_one_or_none()

    async def substituted_by(self, substitute_id: int, at: datetime) -> list[int]:
        """The user ids ``substitute_id`` stands in for at ``at`` (aware), ascending, each once."""
        rows = await self._session.execute(
            sa.select(absences.c.user_id).where(
                absences.c.substitute_id == substitute_id, absences.c.starts_at <= at, absences.c.ends_at > at
            )
        )
        return sorted(set(rows.scalars()))

    async def chat_map(self, at: datetime) -> ChatMap:
        """Everybody's Telegram chat at ``at`` (aware), with substitutes in place of absent people, in three
        queries: ``chats`` covers every user, active or not; ``members`` holds active members only, and a
        department without any is absent."""
        people = {
            row.id: (row.telegram_id, row.is_active)
            for row in await self._session.execute(sa.select(users.c.id, users.c.telegram_id, users.c.is_active))
        }
        standing_in: dict[int, int] = {}
        absent = await self._session.execute(
            sa.select(absences.c.user_id, absences.c.substitute_id)
            .where(absences.c.starts_at <= at, absences.c.ends_at > at)
            .order_by(absences.c.starts_at, absences.c.id)  # the latest-started absence wins
        )
        for user_id, substitute_id in absent:
            standing_in[user_id] = substitute_id
        chats = {
            user_id: people[standing_in.get(user_id, user_id)][0]
            for user_id in people
            if standing_in.get(user_id, user_id) in people
        }
        members: dict[int, set[int]] = {}
        for department_id, user_id in await self._session.execute(
            sa.select(memberships.c.department_id, memberships.c.user_id)
        ):
            if people.get(user_id, (0, False))[1]:
                members.setdefault(department_id, set()).add(user_id)
        return ChatMap(chats, {d: frozenset(m) for d, m in members.items()})

    # invites

    async def create_invite(
        self,
        code: str,
        role: Role,
        *,
        created_by: int | None,
        department_id: int | None = None,
        expires_at: datetime | None = None,
        created_at: datetime | None = None,
    ) -> InviteRecord:
        """Store a new invitation ``code`` for ``role`` (and department), valid until ``expires_at`` (aware; None:
        no expiry); ``created_at`` defaults to the database's clock. Returns it. Raises IntegrityError if the
        code is taken or the department or creator does not exist."""
        values: dict[str, Any] = {
            "code": code,
            "role": role,
            "department_id": department_id,
            "created_by": created_by,
            "expires_at": expires_at,
        }
        if created_at is not None:
            values["created_at"] = created_at
        row = (await self._session.execute(sa.insert(invites).values(**values).returning(*invites.c))).one()
        return _invite(row)

    async def get_invite(self, code: str) -> InviteRecord | None:
        """The invite with this code, used or expired ones included (the caller judges), or None."""
        row = (await self._session.execute(sa.select(invites).where(invites.c.code == code))).one_or_none()
        return _invite(row) if row is not None else None

    get_by_code = get_invite

    async def mark_invite_used(self, invite_id: int, user_id: int, at: datetime) -> bool:
        """Claim the invite for ``user_id`` at ``at`` (aware); False if someone used it first or it does not
        exist (expiry is the caller's rule)."""
        result = await self._session.execute(
            sa.update(invites)
            .where(invites.c.id == invite_id, invites.c.used_by.is_(None))
            .values(used_by=user_id, used_at=at)
        )
        return cast(sa.CursorResult[Any], result).rowcount == 1

    mark_used = mark_invite_used

    async def _update_one(self, table: sa.Table, row_id: int, **values: Any) -> None:
        result = await self._session.execute(sa.update(table).where(table.c.id == row_id).values(**values))
        if cast(sa.CursorResult[Any], result).rowcount != 1:
            raise NotFound(f"{table.name} #{row_id} not found", id=row_id)
