"""Use cases: each is one transaction — load, apply a workflow transition, save it with its events
and the notifications it causes (outbox). Handlers call these and get plain values back.

Errors: a refused action raises a DomainError subclass (bot.domain.errors) whose ``key`` the handlers turn into
a polite answer (handlers.common.error_text); nothing is saved then. Time: every datetime in and out is aware;
the services' own come from the clock (UTC), and only rendering converts to the organisation's zone."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable, Iterable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any, TypedDict

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.assistant import record_suggestion, remember_text
from bot.config import Settings
from bot.directory_sync import sync_departments, sync_entries
from bot.domain import reminders
from bot.domain.absence import day_bounds, days_of
from bot.domain.clock import Clock
from bot.domain.errors import IllegalTransition, InvalidInput, NotAllowed, NotFound
from bot.domain.incident import (
    CLOSED_STATES,
    Attachment,
    Draft,
    DraftKind,
    Event,
    Importance,
    Incident,
    Kind,
    MultiMode,
    ReturnReason,
    Role,
    Source,
    State,
    storable,
)
from bot.domain.links import BadLink, parse_link, post_key
from bot.domain.notifications import Audience, notices
from bot.domain.precheck import Finding
from bot.domain.workflow import Action, Actor, SplitPart, Transition, Workflow
from bot.draft_check import CHECKED_KINDS, PrecheckService, post_text
from bot.logs import bind_incident
from storage.cards import CardRepository
from storage.db import bulk_writer
from storage.directory import AbsenceRecord as AbsenceRecord  # re-exported: handlers never import storage
from storage.directory import DepartmentRecord, DirectoryRepository, InviteRecord, UserRecord
from storage.incidents import IncidentRepository
from storage.outbox import OutboxRepository
from storage.posts import PostRepository
from storage.reminders import ReminderRepository
from storage.updates import ProcessedUpdates

# The Telegram update being handled: a state change records it as processed in its own
# transaction, so an update redelivered after a crash cannot apply the change twice.
CURRENT_UPDATE: ContextVar[int | None] = ContextVar("otklik_current_update", default=None)

# The message a button was pressed on (chat id, message id): the incident's card in that chat is
# remembered in the same transaction as the change, so the outbox can always refresh it.
CURRENT_CARD: ContextVar[tuple[int, int] | None] = ContextVar("otklik_current_card", default=None)

INVITE_TTL = timedelta(days=7)
REPEAT_WINDOW = timedelta(days=30)
# An import waits this long for another import (or any long writer) to finish before giving up (SQLite's
# write lock; PostgreSQL's advisory lock waits without limit): two imports of a 10,000-row file at once
# run one after the other, ~100 s each on a busy 2-core machine.
BULK_WAIT_SECONDS = 900


@dataclass(frozen=True)
class Person:
    """The current user as the bot sees them: roles, departments, whom they stand in for."""

    id: int
    telegram_id: int
    full_name: str
    locale: str
    roles: frozenset[Role]
    departments: frozenset[int]  # own memberships plus those of people they substitute now
    responsible_for: frozenset[int]

    @property
    def actor(self) -> Actor:
        """The person as the workflow's rules see them: the same user id, roles, departments (substitutions
        folded in) and responsible_for."""
        return Actor(self.id, self.roles, self.departments, self.responsible_for)

    def has(self, role: Role) -> bool:
        """Whether the person holds ``role`` (``executor`` too when they are in a department, directly or as a
        substitute)."""
        return role in self.roles


@dataclass(frozen=True)
class Registered:
    """The incident that has a post already (Services.find_registered)."""

    number: int
    conflict: bool = False  # the monitoring system's id came with another post than the one it names


@dataclass(frozen=True)
class Directory:
    """The directory as the pickers offer it: the active departments by name, the active topics and locations
    as ``{id: name}`` in name order."""

    departments: tuple[DepartmentRecord, ...]
    topics: dict[int, str]
    locations: dict[int, str]

    def department_name(self, department_id: int | None) -> str:
        """The department's name; "—" for None or an id that is not an active department."""
        for d in self.departments:
            if d.id == department_id:
                return d.name
        return "—"


class RegisterOptions(TypedDict, total=False):
    """The options of one incident registered by machine input (bot.intake_rules, register_many): the keyword
    arguments of ``Services.register`` that a row may carry; a key left out takes that method's default."""

    importance: Importance
    kind: Kind
    topic_ids: Iterable[int]
    location_id: int | None
    detected_at: datetime | None


@dataclass
class _Batch:
    """What one transaction that registers many incidents (an import) looks up once instead of for
    each incident: the directory does not change within it."""

    audience: Audience | None = None
    names: dict[str, dict[int, str]] = field(default_factory=dict)
    surges: set[str] = field(default_factory=set)  # surge alerts' dedupe keys queued in this transaction

    async def audience_of(self, services: Services, session: AsyncSession) -> Audience:
        if self.audience is None:
            self.audience = await services.audience(session)
        return self.audience


class Services:
    """Everything handlers may call, built once per process and handed to the dispatcher.

    A method that changes something runs in one transaction with the notices it causes (the outbox) and wakes
    the sender (``outbox_ready``). Run for a Telegram update (``CURRENT_UPDATE``), it also records the update
    as applied, so a redelivered update raises IllegalTransition ``already_done`` instead of applying twice.
    Refusals are DomainErrors with the keys each method lists; nothing is saved then. Any method may also raise
    SQLAlchemy's database errors (``OperationalError``: unreachable or locked; ``IntegrityError``: an id that
    names nothing, where a method says so): not the person's fault, they reach the dispatcher's error handler.
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        workflow: Workflow,
        clock: Clock,
        settings: Settings | None = None,
    ) -> None:
        self.sessions = sessions
        self.workflow = workflow
        self.clock = clock
        self.settings = settings
        self.outbox_ready = asyncio.Event()  # the sender wakes when a transaction queued something
        # The draft pre-check ([assistant] precheck; off without settings): app.running starts its load.
        self.assistant = PrecheckService(settings.assistant.precheck if settings is not None else False)

    # ------------------------------------------------------------------ people

    async def identify(self, telegram_id: int) -> Person | None:
        """The active user with this Telegram user id, with the departments of the people they stand in for at
        the clock's now (Отрадная п. 8.2, Боровичи п. 6); None for an unknown or deactivated user."""
        async with self.sessions() as session:
            repo = DirectoryRepository(session)
            user = await repo.get_by_telegram_id(telegram_id)
            if user is None or not user.is_active:
                return None
            return await self._person(repo, user)

    async def _person(self, repo: DirectoryRepository, user: UserRecord) -> Person:
        now = self.clock.now()
        departments = {d.id for d in await repo.departments_of(user.id)}
        for absent_id in await repo.substituted_by(user.id, now):
            departments |= {d.id for d in await repo.departments_of(absent_id)}
        roles = set(user.roles)
        if departments:
            roles.add(Role.executor)
        responsible = frozenset(d.id for d in await repo.list_departments() if d.responsible_user_id == user.id)
        return Person(
            user.id,
            user.telegram_id,
            user.full_name,
            user.locale,
            frozenset(roles),
            frozenset(departments),
            responsible,
        )

    async def join(self, code: str, telegram_id: int, full_name: str, username: str | None, locale: str) -> Person:
        """Redeem an invite link: the new person gets the role (and department) it names.

        Returns the person as ``identify`` sees them now. A user already known by ``telegram_id`` keeps their
        roles and is reactivated; a new one is stored with ``full_name`` (cut to 255 characters; the Telegram id
        when empty), ``username`` and ``locale``. An executor's or a responsible official's invite adds the
        membership of its department; a responsible official's also makes them the department's responsible one.

        Raises InvalidInput ``invite_unknown`` (no such code), ``invite_used`` (claimed before, or by someone
        else at the same moment), ``invite_expired`` (its ``expires_at`` passed); nothing is saved then.
        """
        now = self.clock.now()
        async with self.sessions() as session, session.begin():
            repo = DirectoryRepository(session)
            invite = await repo.get_invite(code)
            if invite is None:
                raise InvalidInput("unknown invite", key="invite_unknown")
            if invite.used_by is not None:
                raise InvalidInput("invite already used", key="invite_used")
            if invite.expires_at is not None and invite.expires_at < now:
                raise InvalidInput("invite expired", key="invite_expired")
            user = await repo.get_by_telegram_id(telegram_id)
            if user is None:
                # A name is free text from Telegram: without what no column can store (bot.domain.incident).
                name = storable(full_name)[:255] or str(telegram_id)
                user = await repo.add_user(telegram_id, name, username, locale=locale)
            if not await repo.mark_invite_used(invite.id, user.id, now):
                raise InvalidInput("invite already used", key="invite_used")
            roles = set(user.roles)
            if invite.role is Role.responsible and invite.department_id is not None:
                await repo.set_responsible(invite.department_id, user.id)
                await repo.add_membership(user.id, invite.department_id)
            elif invite.role is Role.executor and invite.department_id is not None:
                await repo.add_membership(user.id, invite.department_id)
            if invite.role not in (Role.responsible,):
                roles.add(invite.role)
            await repo.set_roles(user.id, roles)
            await repo.set_user_active(user.id, True)
            return await self._person(repo, await repo.get_user(user.id))

    async def create_invite(self, admin: Person, role: Role, department_id: int | None) -> InviteRecord:
        """A new invite for ``role`` (and ``department_id``, needed for an executor or a responsible official),
        valid for INVITE_TTL (7 days) from the clock's now; its ``code`` is 16 URL-safe characters, fit for a
        ``t.me/<bot>?start=<code>`` link (Telegram Bot API «Deep linking»: up to 64 of A-Z, a-z, 0-9, _ and -).

        Raises NotAllowed ``role_required`` (param ``role="admin"``) unless ``admin`` is an administrator;
        InvalidInput ``department_needed``; NotFound (param ``department_id``) for an unknown department.
        """
        if not admin.has(Role.admin):
            raise NotAllowed("only admins invite", key="role_required", role="admin")
        if role in (Role.executor, Role.responsible) and department_id is None:
            raise InvalidInput("an executor or responsible official needs a department", key="department_needed")
        now = self.clock.now()
        async with self.sessions() as session, session.begin():
            repo = DirectoryRepository(session)
            if department_id is not None:
                await repo.get_department(department_id)  # NotFound for a forged id
            return await repo.create_invite(
                secrets.token_urlsafe(12),
                role,
                created_by=admin.id,
                department_id=department_id,
                expires_at=now + INVITE_TTL,
                created_at=now,
            )

    async def set_locale(self, person: Person, locale: str) -> None:
        """Store the person's interface language. Raises InvalidInput ``bad_locale`` for anything but "ru" or
        "en"; NotFound (param ``id``) when the user no longer exists."""
        if locale not in ("ru", "en"):
            raise InvalidInput("unsupported language", key="bad_locale")
        async with self.sessions() as session, session.begin():
            await DirectoryRepository(session).set_locale(person.id, locale)

    async def directory(self) -> Directory:
        """The departments, topics and locations the pickers offer (active ones only; see Directory)."""
        async with self.sessions() as session:
            repo = DirectoryRepository(session)
            return Directory(
                tuple(await repo.list_departments()),
                {t.id: t.name for t in await repo.list_topics()},
                {loc.id: loc.name for loc in await repo.list_locations()},
            )

    async def all_departments(self) -> list[DepartmentRecord]:
        """Every department, deactivated ones included (a report may cover a month they were active), by name."""
        async with self.sessions() as session:
            return await DirectoryRepository(session).list_departments(active_only=False)

    async def department_members(self, department_id: int) -> list[UserRecord]:
        """The department's members, active or not, by user id (empty for an unknown department); the people
        standing in for them are not included."""
        async with self.sessions() as session:
            return await DirectoryRepository(session).members(department_id)

    async def user_names(self, user_ids: Iterable[int]) -> dict[int, str]:
        """``{user id: full name}`` for these ids, each once; an id of no user is left out."""
        async with self.sessions() as session:
            repo = DirectoryRepository(session)
            names: dict[int, str] = {}
            for user_id in set(user_ids):
                try:
                    names[user_id] = (await repo.get_user(user_id)).full_name
                except NotFound:
                    continue
            return names

    # ------------------------------------------------------------------ absences

    def _check_absence_manager(self, viewer: Person) -> None:
        if not (viewer.has(Role.admin) or viewer.responsible_for):
            raise NotAllowed("only administrators and responsible officials record absences", key="role_required")

    async def absence_departments(self, viewer: Person) -> list[DepartmentRecord]:
        """The departments whose people this viewer may record as absent: every active one for an administrator,
        those they are responsible for otherwise; by name. Raises NotAllowed ``role_required`` for anybody else."""
        self._check_absence_manager(viewer)
        directory = await self.directory()
        return [d for d in directory.departments if viewer.has(Role.admin) or d.id in viewer.responsible_for]

    async def absences(self, viewer: Person) -> list[AbsenceRecord]:
        """Absences running or to come at the clock's now, as far as this viewer manages them: every one for an
        administrator, those of their departments' people for a responsible official; the earliest start first,
        ``[starts_at, ends_at)`` aware UTC. Raises NotAllowed ``role_required`` for anybody else."""
        self._check_absence_manager(viewer)
        async with self.sessions() as session:
            repo = DirectoryRepository(session)
            found = await repo.list_absences(self.clock.now())
            if viewer.has(Role.admin):
                return found
            mine = await self._people_of(repo, viewer.responsible_for)
            return [a for a in found if a.user_id in mine]

    async def add_absence(
        self, viewer: Person, user_id: int, first: date, last: date, substitute_id: int
    ) -> AbsenceRecord:
        """Record that ``substitute_id`` stands in for ``user_id`` over whole local days ``first``…``last`` (the
        organisation's zone); both are told, in the same transaction (Отрадная п. 8.2, Боровичи п. 6).

        Returns the stored absence: ``[starts_at, ends_at)`` are the local midnights that begin ``first`` and end
        ``last``, as aware datetimes. Raises NotAllowed ``role_required`` (neither an administrator nor a
        responsible official), ``not_your_people`` (a responsible official naming someone outside their
        departments; they may name themselves as the substitute); InvalidInput ``period_past`` (the period has
        ended), ``self_substitute``, ``person_inactive`` (either has left), ``absence_overlaps`` (the person is
        away then already), ``substitute_absent`` (the substitute is away then), ``absent_substitutes`` (the person
        stands in for someone then); NotFound ``person_gone`` (no such user); IllegalTransition ``already_done``.
        """
        self._check_absence_manager(viewer)
        starts, ends = day_bounds(first, last, self.workflow.calendar.tz)
        if ends <= self.clock.now():
            raise InvalidInput("the period is over", key="period_past")
        if substitute_id == user_id:
            raise InvalidInput("nobody stands in for themselves", key="self_substitute")
        async with self.sessions() as session, session.begin():
            await self._claim_update(session)
            repo = DirectoryRepository(session)
            try:
                person, substitute = await repo.get_user(user_id), await repo.get_user(substitute_id)
            except NotFound:
                raise NotFound("no such person", key="person_gone") from None
            if not (person.is_active and substitute.is_active):
                raise InvalidInput("a person who left cannot be recorded", key="person_inactive")
            if not viewer.has(Role.admin):
                mine = await self._people_of(repo, viewer.responsible_for)
                if user_id not in mine or substitute_id not in mine | {viewer.id}:
                    raise NotAllowed("not a person of the official's departments", key="not_your_people")
            for other in await repo.list_absences(starts):
                if other.starts_at >= ends:
                    continue
                if other.user_id == user_id:
                    raise InvalidInput("overlaps an absence already recorded", key="absence_overlaps")
                if other.user_id == substitute_id:
                    raise InvalidInput("the substitute is away then", key="substitute_absent")
                if other.substitute_id == user_id:
                    raise InvalidInput("the person stands in for someone then", key="absent_substitutes")
            record = await repo.add_absence(user_id, substitute_id, starts, ends)
            params = {
                "name": person.full_name,
                "substitute": substitute.full_name,
                "first": first.isoformat(),
                "last": last.isoformat(),
            }
            outbox = OutboxRepository(session)
            for chat, key in ((substitute.telegram_id, "absence_substitute"), (person.telegram_id, "absence_recorded")):
                payload = {"kind": "text", "key": key, "params": params}
                await outbox.add(chat, payload, dedupe_key=f"absence:{record.id}:{key}")
        self.outbox_ready.set()
        return record

    async def cancel_absence(self, viewer: Person, absence_id: int) -> AbsenceRecord:
        """Remove an absence (recorded by mistake, or the person came back early); the substitute is told.

        Returns the absence as it was. Raises NotAllowed ``role_required`` (as add_absence),
        ``not_your_people`` (a responsible official, for someone outside their departments); NotFound
        ``absence_gone`` (removed meanwhile); IllegalTransition ``already_done``.
        """
        self._check_absence_manager(viewer)
        async with self.sessions() as session, session.begin():
            await self._claim_update(session)
            repo = DirectoryRepository(session)
            record = await repo.get_absence(absence_id)
            if not viewer.has(Role.admin) and record.user_id not in await self._people_of(repo, viewer.responsible_for):
                raise NotAllowed("not a person of the official's departments", key="not_your_people")
            await repo.delete_absence(absence_id)
            person, substitute = await repo.get_user(record.user_id), await repo.get_user(record.substitute_id)
            first, last = days_of(record.starts_at, record.ends_at, self.workflow.calendar.tz)
            params = {"name": person.full_name, "first": first.isoformat(), "last": last.isoformat()}
            payload = {"kind": "text", "key": "absence_cancelled", "params": params}
            await OutboxRepository(session).add(
                substitute.telegram_id, payload, dedupe_key=f"absence:{record.id}:absence_cancelled"
            )
        self.outbox_ready.set()
        return record

    @staticmethod
    async def _people_of(repo: DirectoryRepository, department_ids: Iterable[int]) -> set[int]:
        return {u.id for d in department_ids for u in await repo.members(d)}

    async def seed(self, settings: Settings) -> None:
        """Make the directory hold what the config names, matched by code (bot.config.Department, Entry).

        A department, topic or location is found by its code — else by its name, and then takes the config's
        code (rows from before codes, migration 0012) — and gets the config's name (a rename: its incidents and
        history stay with it), is activated, and (departments) bound to its ``chat_id``, read through recorded
        supergroup upgrades; one the config does not name is added. Rows the config no longer names are
        deactivated, never deleted — unless the config names none of their kind (bot.directory_sync). Gives the
        configured admins, curators, heads and external approvers their role (a person new to the bot is stored
        with their Telegram id as the name). Idempotent.
        """
        async with self.sessions() as session, session.begin():
            repo = DirectoryRepository(session)
            await sync_departments(repo, settings)
            await sync_entries(
                settings.topics, await repo.list_topics(active_only=False), repo.add_topic, repo.update_topic
            )
            await sync_entries(
                settings.locations,
                await repo.list_locations(active_only=False),
                repo.add_location,
                repo.update_location,
            )
            people = settings.people
            for role, ids in (
                (Role.admin, people.admins),
                (Role.curator, people.curators),
                (Role.head, people.heads),
                (Role.external_approver, people.external_approvers),
            ):
                for telegram_id in ids:
                    user = await repo.get_by_telegram_id(telegram_id)
                    if user is None:
                        user = await repo.add_user(telegram_id, str(telegram_id), locale=settings.bot.default_locale)
                    if role not in user.roles:
                        await repo.set_roles(user.id, {*user.roles, role})

    # --------------------------------------------------------------- incidents

    async def register(
        self,
        person: Person,
        sources: Sequence[Source],
        *,
        importance: Importance = Importance.normal,
        kind: Kind = Kind.incident,
        topic_ids: Iterable[int] = (),
        location_id: int | None = None,
        detected_at: datetime | None = None,
        repeat_of_id: int | None = None,
        via: str | None = None,
        not_processable: str | None = None,
    ) -> Incident:
        """Register the posts as a new incident by ``person`` (a curator), with its notices, in one transaction
        (SPEC §2, §7: every intake path ends here or in register_many).

        ``sources``: the posts, the first one the incident's own. ``importance`` (SPEC §2: high = socially
        significant or urgent; it picks the answer term), ``kind`` (``publication``: found by the administration
        itself, Отрадная п. 2), ``topic_ids`` (kept in order, repeats dropped) and ``location_id`` are the
        directory's ids. ``detected_at``: the moment of detection (aware; default the clock's now, when the post
        reached the bot), where every deadline starts (SPEC §4). ``repeat_of_id``: the number of the earlier
        incident on the same question (SPEC §3 «Repeat message»). ``via``: the channel when it is not the curator's
        own message — "api" (the intake API: every curator gets the card) or "import" (a file).
        ``not_processable``: a reason to close it at once as not to be answered (issue 13 §2: the curator
        confirmed the screening's flag), in the same transaction (Workflow.mark_not_processable's errors).
        Returns the stored incident, ``id`` set, deadlines computed.

        Raises (nothing is saved then): NotAllowed ``role_required`` (param ``role="curator"``); InvalidInput
        ``no_source``, ``empty_source`` (neither a link nor a text), ``long_source``, ``long_author`` (over
        MAX_POST_TEXT / MAX_AUTHOR characters), ``naive_datetime``, ``detected_in_future`` (after the clock's
        now); BadLink (an InvalidInput: ``link_scheme``, ``link_host``, ``link_spaces``, ``link_length``);
        NotFound (param ``incident_id``) when ``repeat_of_id`` names no incident; IllegalTransition
        ``already_registered`` when a post is registered already — also by another process at the same moment
        (the database's unique post key decides) — and ``already_done``; IntegrityError for a topic or location
        id the directory does not hold.
        """
        async with self.sessions() as session, session.begin():
            await self._claim_update(session)
            options = RegisterOptions(
                importance=importance, kind=kind, topic_ids=topic_ids, location_id=location_id, detected_at=detected_at
            )
            incident = await self._register(
                session, person, sources, options, repeat_of_id=repeat_of_id, via=via, not_processable=not_processable
            )
        bind_incident(incident.id)  # log lines from here on name it (bot.logs)
        self.outbox_ready.set()
        return incident

    async def register_many(
        self,
        person: Person,
        items: Sequence[tuple[Source, RegisterOptions]],
        *,
        via: str,
        progress: Callable[[int], None] | None = None,
    ) -> list[tuple[int, bool]]:
        """Register each (post, options) as its own incident by ``person`` (a curator) with ``via`` ("import"),
        all in ONE transaction (an import: all or nothing, on every database); a post registered already —
        before, or earlier in ``items`` — is not registered again. The options are ``register``'s. Returns
        (incident number, created) per item, in order; ``progress(n)`` is called after the n-th item.

        Registrations in bulk wait for each other (two imports of one file at once: the second finds
        every post of the first). Raises IllegalTransition ``already_registered`` when another path
        registered one of the posts meanwhile; nothing is saved then and the caller may run it again.
        A row that breaks a rule raises as ``register`` does and nothing is saved: check the rows with
        bot.intake_rules first (a row that passes there registers). On SQLite, waiting longer than
        BULK_WAIT_SECONDS (900 s) for another long writer raises ``OperationalError`` ("database is locked").
        """
        keys = [post_key(source) for source, _ in items]
        results: list[tuple[int, bool]] = []
        batch = _Batch()
        async with bulk_writer(self.sessions, BULK_WAIT_SECONDS) as session, session.begin():
            posts = PostRepository(session)
            await posts.wait_for_bulk_registrations()
            known = await posts.registered(keys)
            for done, ((source, options), key) in enumerate(zip(items, keys, strict=True), start=1):
                if key in known:
                    results.append((known[key], False))
                else:
                    # A copy: a transaction rolled back must leave the caller's sources as they were (no ids).
                    copy = replace(source, attachments=list(source.attachments))
                    incident = await self._register(session, person, [copy], options, via=via, batch=batch)
                    assert incident.id is not None
                    known[key] = incident.id
                    results.append((incident.id, True))
                if progress is not None:
                    progress(done)
        self.outbox_ready.set()
        return results

    async def _register(
        self,
        session: AsyncSession,
        person: Person,
        sources: Sequence[Source],
        options: RegisterOptions,
        *,
        repeat_of_id: int | None = None,
        via: str | None = None,
        batch: _Batch | None = None,
        not_processable: str | None = None,
    ) -> Incident:
        """``register`` within the caller's transaction (``batch``: what an import looks up once)."""
        now = self.clock.now()
        repo = IncidentRepository(session)
        earlier = await repo.get(repeat_of_id) if repeat_of_id is not None else None
        incident, events = self.workflow.register(person.actor, now, sources, repeat_of=earlier, via=via, **options)
        if not_processable is not None:
            events = [*events, *self.workflow.mark_not_processable(incident, person.actor, now, not_processable)]
        await repo.add(incident, events)
        assert incident.id is not None
        await PostRepository(session).claim_posts(incident.id, {post_key(s): s.id for s in incident.sources}.items())
        await remember_text(self, session, incident)
        await self._after_change(session, [(incident, events)], person, batch)
        await self._surge_check(session, incident, batch)
        return incident

    async def find_registered(self, source: Source) -> Registered | None:
        """The incident that has this post already, if any.

        With the monitoring system's id (``source.external_id``) the incident holding that id answers,
        and ``conflict`` says whether the id came with another post (SPEC §7: idempotent on the
        source's id). Otherwise the post's key decides (bot.domain.links.post_key: the same link in any form;
        without a link, the same text at the same moment), whatever source id it came with.
        Raises BadLink (an InvalidInput) when ``source.url`` is not a usable link.
        """
        key = post_key(source)
        async with self.sessions() as session:
            posts = PostRepository(session)
            if source.external_id:
                found = await posts.by_external_id(source.external_id)
                if found is not None:
                    number, stored = found
                    return Registered(number, conflict=post_key(stored) != key)
            number = (await posts.registered([key])).get(key)
        return Registered(number) if number is not None else None

    async def registered_posts(self, sources: Sequence[Source]) -> list[int | None]:
        """For each post, in order, the number of the incident that has it already (bot.domain.links.post_key:
        its link in any form; without a link, the same text at the same moment), or None; any number of posts,
        in one read."""
        keys = [post_key(source) for source in sources]
        async with self.sessions() as session:
            known = await PostRepository(session).registered(keys)
        return [known.get(key) for key in keys]

    async def get(self, incident_id: int, viewer: Person | None = None) -> Incident:
        """The whole incident (sources, assignments, drafts, pauses; datetimes aware UTC as stored); with
        ``viewer``, only if they may see it (check_can_see).

        Raises NotFound (param ``incident_id``) when there is none, and NotFound ``not_found`` (param ``id``)
        when ``viewer`` may not see it: both read "no such incident", so an executor learns nothing of other
        departments' incidents (SPEC §8).
        """
        async with self.sessions() as session:
            incident = await IncidentRepository(session).get(incident_id)
        if viewer is not None:
            self.check_can_see(viewer, incident)
        return incident

    def check_can_see(self, viewer: Person, incident: Incident) -> None:
        """An executor sees only incidents routed to their department (SPEC §8).

        Curators, heads, administrators and external approvers see every incident; anybody else one with an
        assignment (in any state) to a department they belong to, stand in for or are responsible for.
        Returns None when ``viewer`` may see it; raises NotFound ``not_found`` (param ``id``) otherwise.
        """
        if viewer.roles & {Role.curator, Role.head, Role.admin, Role.external_approver}:
            return
        mine = viewer.departments | viewer.responsible_for
        if not any(a.department_id in mine for a in incident.assignments):
            raise NotFound("no such incident", key="not_found", id=incident.id)

    async def history(self, incident_id: int) -> list[Event]:
        """The incident's audit trail, oldest first (empty for an unknown incident); ``at`` aware UTC,
        ``work_clock`` in working seconds (Workflow.work_clock). Checks no rights: call ``get(incident_id,
        viewer)`` first."""
        async with self.sessions() as session:
            return await IncidentRepository(session).events(incident_id)

    async def repeat_candidates(self, url: str | None, author: str | None, topic_ids: Sequence[int]) -> list[Incident]:
        """The same question asked before: the same post (its link in any form, bot.domain.links), the same
        author on the same topic recently, or an open incident on the same topic (a further post joins
        it as a source).

        Up to 5 incidents, each once, in that order: the post's (at any time), the author's on these topics by
        number, then up to 3 open ones per topic, most urgent first; "recently" is REPEAT_WINDOW (30 days)
        before the clock's now. An unusable ``url`` is not looked up. Checks no rights (the caller is a curator).
        """
        since = self.clock.now() - REPEAT_WINDOW
        try:
            key = parse_link(url).key if url else None
        except BadLink:
            key = None
        async with self.sessions() as session:
            repo = IncidentRepository(session)
            ids = await repo.find_repeat_candidates(key, author, list(topic_ids), since)
            for topic_id in topic_ids:
                same_topic, _ = await repo.search(
                    states=[s for s in State if s not in CLOSED_STATES],
                    topic_id=topic_id,
                    detected_since=since,
                    limit=3,
                )
                ids += [i.id for i in same_topic if i.id is not None]
            return [await repo.get(i) for i in list(dict.fromkeys(ids))[:5]]

    def actions(self, person: Person, incident: Incident) -> list[Action]:
        """What ``person`` may do with ``incident`` at the clock's now, in Action's order: each transition tried
        on a copy (Workflow.actions_for), so a button is offered only where the action would pass."""
        return self.workflow.actions_for(incident, person.actor, self.clock.now())

    async def act(
        self,
        person: Person,
        incident_id: int,
        transition: Callable[[Incident, datetime], Any],
        posts: Sequence[Source] = (),
        also: Callable[[AsyncSession, Incident, datetime], Awaitable[None]] | None = None,
    ) -> Incident:
        """Apply `transition(incident, now)`, save it with its events and notices in one transaction.

        The transition returns its events, (draft, events) as submit_draft does, or a Transition.
        The incident row is written first, so a lost race fails before any other write. ``posts``: the
        sources the transition added, recorded as registered for this incident (IllegalTransition
        ``already_registered`` when one is registered already). Returns the incident as saved (``version``
        bumped; split children are stored beside it). ``also(session, incident, now)``: a further write in the same
        transaction, after the incident's (the routing suggestion's record).

        Raises NotFound (param ``incident_id``) for an unknown incident, NotFound ``not_found`` when ``person``
        may not see it (check_can_see); whatever DomainError the transition raises; ConcurrentUpdate (param
        ``incident_id``) when another change to the incident committed since it was loaded — of two
        simultaneous actions exactly one wins; IllegalTransition ``already_done`` when the update being
        handled was applied before. Nothing is saved when it raises. The action methods below say "raises as
        act" for these.
        """
        bind_incident(incident_id)  # log lines from here on name it (bot.logs)
        now = self.clock.now()
        async with self.sessions() as session, session.begin():
            await self._claim_update(session)
            repo = IncidentRepository(session)
            incident = await repo.get(incident_id)
            self.check_can_see(person, incident)
            result = transition(incident, now)
            touched: list[tuple[Incident, list[Event]]] = []
            if isinstance(result, Transition):
                await repo.save(incident, result.events)
                touched.append((incident, result.events))
                for child, events in zip(result.children, result.child_events, strict=True):
                    await repo.add(child, events)
                    touched.append((child, events))
            else:
                events = result[1] if isinstance(result, tuple) else result
                await repo.save(incident, events)
                touched.append((incident, events))
            await PostRepository(session).claim_posts(incident_id, [(post_key(s), s.id) for s in posts])
            if also is not None:
                await also(session, incident, now)
            await self._after_change(session, touched, person)
        self.outbox_ready.set()
        return incident

    async def _claim_update(self, session: AsyncSession) -> None:
        update_id = CURRENT_UPDATE.get()
        if update_id is not None and not await ProcessedUpdates(session).first_time(update_id, self.clock.now()):
            raise IllegalTransition("this update was already applied", key="already_done")

    async def _after_change(
        self,
        session: AsyncSession,
        touched: list[tuple[Incident, list[Event]]],
        person: Person,
        batch: _Batch | None = None,
    ) -> None:
        """In the same transaction as the change: its notices, and when to look for reminders next."""
        card = CURRENT_CARD.get()
        if card is not None and touched and touched[0][0].id is not None:
            await CardRepository(session).remember(card[0], touched[0][0].id, card[1])
        await self._queue_notices(session, touched, person, batch)
        ids = [i.id for i, _ in touched if i.id is not None]
        reminders_repo = ReminderRepository(session)
        sent = await reminders_repo.sent_marks(ids)
        now = self.clock.now()
        await reminders_repo.set_next_reminders(
            {i.id: reminders.next_fire(i, self.workflow, sent.get(i.id, set()), now) for i, _ in touched if i.id}
        )

    async def _surge_check(self, session: AsyncSession, incident: Incident, batch: _Batch | None = None) -> None:
        """Many incidents on one topic or location in a short window: alert the curators and the head."""
        settings = self.settings.reminders if self.settings is not None else None
        if settings is None or settings.surge_count <= 0:
            return
        window = timedelta(minutes=settings.surge_window_minutes)
        since = incident.detected_at - window
        repo = IncidentRepository(session)
        checks: list[tuple[str, int, dict[str, Any]]] = [("topic", t, {"topic_id": t}) for t in incident.topic_ids]
        if incident.location_id is not None:
            checks.append(("location", incident.location_id, {"location_id": incident.location_id}))
        directory = DirectoryRepository(session)
        batch = batch or _Batch()
        for kind, key, filters in checks:
            count = await repo.count_detected_since(since, **filters)
            if count < settings.surge_count:
                continue
            audience = await batch.audience_of(self, session)
            if kind not in batch.names:
                batch.names[kind] = (
                    {t.id: t.name for t in await directory.list_topics()}
                    if kind == "topic"
                    else {loc.id: loc.name for loc in await directory.list_locations()}
                )
            names = batch.names[kind]
            bucket = int(incident.detected_at.timestamp() // window.total_seconds())
            payload = {
                "kind": "text",
                "key": "surge",
                "params": {
                    "what": kind,
                    "name": names.get(key, "?"),
                    "count": count,
                    "minutes": settings.surge_window_minutes,
                    "number": incident.id,
                },
            }
            outbox = OutboxRepository(session)
            for chat in sorted(audience.curators | audience.heads):
                dedupe_key = f"surge:{kind}:{key}:{bucket}:{chat}"
                if dedupe_key not in batch.surges:  # queued earlier in this transaction: the outbox keeps one
                    batch.surges.add(dedupe_key)
                    await outbox.add(chat, payload, incident_id=incident.id, dedupe_key=dedupe_key)

    # One method per action, so a handler calls one service function (STYLE: handlers stay thin).

    async def route(
        self,
        p: Person,
        incident_id: int,
        departments: Sequence[int],
        mode: MultiMode | None = None,
        suggested: Sequence[int] | None = None,
    ) -> Incident:
        """Send the incident to ``departments`` (directory ids): one, or several in ``mode`` (None: the preset's
        joint mode), in the order given (SPEC §3 «Several departments»); a re-route replaces the earlier set.
        ``suggested``: the departments the picker pre-ticked (issue 13 §4), recorded with whether the curator
        kept them, in the same transaction (the first routing's record stays).

        Raises as act, and NotAllowed ``role_required`` (param ``role="curator"``); IllegalTransition
        ``illegal_transition`` (param ``state``) unless the incident is detected or returned; InvalidInput
        ``no_department``, ``mode_needed`` (``single`` for several), ``use_split`` (a split goes through
        ``split``); IntegrityError for an id that is no department.
        """
        record = None if suggested is None else record_suggestion(suggested, departments)
        transition = lambda i, now: self.workflow.route(i, p.actor, now, departments, mode)  # noqa: E731
        return await self.act(p, incident_id, transition, also=record)

    async def split(self, p: Person, incident_id: int, departments: Sequence[int]) -> Incident:
        """Divide the incident between ``departments`` (Боровичи п. 17): it closes as ``split``, and each
        department gets a child incident of its own, routed, with the parent's posts and topics and deadlines
        from the same detection; each answers the author separately. Returns the parent.

        Raises as act, and NotAllowed ``role_required`` (curator); IllegalTransition ``illegal_transition``
        (already routed); InvalidInput ``split_parts`` (fewer than two departments, or one named twice);
        IntegrityError for an id that is no department.
        """
        parts = [SplitPart(d) for d in departments]
        return await self.act(p, incident_id, lambda i, now: self.workflow.split(i, p.actor, now, parts))

    async def not_processable(self, p: Person, incident_id: int, reason: str) -> Incident:
        """Close the incident without an answer, with ``reason`` (intent to harm, obscenity, threats: SPEC §2,
        all seeds); open assignments are cancelled.

        Raises as act, and NotAllowed ``role_required`` (curator); IllegalTransition ``closed``, or
        ``illegal_transition`` once an answer is approved or an intermediate one published; InvalidInput
        ``empty_reason``, ``long_reason`` (param ``limit``: 1000 characters).
        """
        return await self.act(
            p, incident_id, lambda i, now: self.workflow.mark_not_processable(i, p.actor, now, reason)
        )

    async def change_importance(self, p: Person, incident_id: int, importance: Importance) -> Incident:
        """Set ``importance``: every deadline is recomputed from detection with the preset's term for it, paused
        time kept (SLA edge case 14). Raises as act, and NotAllowed ``role_required`` (curator); IllegalTransition
        ``closed``, ``unchanged`` (the incident has this importance already)."""
        return await self.act(
            p, incident_id, lambda i, now: self.workflow.change_importance(i, p.actor, now, importance)
        )

    async def add_source(self, p: Person, incident_id: int, source: Source) -> Incident:
        """A further post joins the incident; IllegalTransition ``already_registered`` when the post is
        registered already (as another incident, or as a source of this one).

        Raises as act, and NotAllowed ``role_required`` (curator); IllegalTransition ``closed``; InvalidInput
        ``duplicate_source`` (the same post in another link form is a source already) and the post checks of
        ``register`` (``empty_source``, ``long_source``, ``long_author``, ``naive_datetime``, BadLink).
        """
        return await self.act(
            p, incident_id, lambda i, now: self.workflow.add_source(i, p.actor, now, source), posts=[source]
        )

    async def return_not_ours(self, p: Person, incident_id: int, reason: str) -> Incident:
        """The executor's department returns the incident as not its competence, with ``reason`` (SPEC §3); when
        no department is left working on it, it is back with the curator (``returned``) for re-routing.

        Raises as act, and the executor's refusals of ``accept``; IllegalTransition ``draft_exists`` (the
        department has submitted a draft); InvalidInput ``empty_reason``, ``long_reason`` (param ``limit``: 1000).
        """
        return await self.act(p, incident_id, lambda i, now: self.workflow.return_not_ours(i, p.actor, now, reason))

    async def accept(self, p: Person, incident_id: int, department_id: int | None = None) -> Incident:
        """The executor takes the incident into work for their department (``department_id``; None: whichever
        of theirs it waits on); ``routed`` becomes ``in_work``.

        Raises as act, and IllegalTransition ``closed``; NotAllowed ``not_executor`` (in no department),
        ``not_your_department`` (not routed to theirs); IllegalTransition ``not_your_turn`` (joint_sequential:
        an earlier department's turn, Удмуртия п. 16), ``already_returned`` (theirs returned it),
        ``already_done`` (accepted already).
        """
        return await self.act(p, incident_id, lambda i, now: self.workflow.accept(i, p.actor, now, department_id))

    async def assign(self, p: Person, incident_id: int, department_id: int, executor_id: int) -> Incident:
        """The department's responsible official hands the incident to ``executor_id`` (a user id; membership is
        not checked — the picker offers the department's members); a routed assignment counts as accepted.

        Raises as act, and NotAllowed ``not_responsible``; IllegalTransition ``closed``, ``illegal_transition``
        (the department has no open assignment on it); IntegrityError for an id that is no user.
        """
        return await self.act(
            p, incident_id, lambda i, now: self.workflow.assign_executor(i, p.actor, now, department_id, executor_id)
        )

    async def designate(self, p: Person, incident_id: int, department_id: int) -> Incident:
        """joint_parallel: the curator names the department that writes the joint answer (Отрадная п. 19).

        Raises as act, and NotAllowed ``role_required`` (curator); IllegalTransition ``not_joint``,
        ``illegal_transition`` (param ``state``: past drafting); InvalidInput ``unknown_department`` (it takes no
        part in the incident).
        """
        return await self.act(
            p, incident_id, lambda i, now: self.workflow.designate_consolidator(i, p.actor, now, department_id)
        )

    async def submit_draft(
        self, p: Person, incident_id: int, kind: DraftKind, text: str, attachments: Sequence[Attachment] = ()
    ) -> Incident:
        """An executor submits a draft of ``kind`` with ``text`` and ``attachments`` (Telegram file ids; SPEC §3
        «Drafts»): an answer, an intermediate answer or a clarification question goes to the curator for
        approval; a contribution is the department's part of a joint answer, taken at once. Returns the
        incident; the new draft is ``incident.drafts[-1]``, with the pre-check's findings on its text in
        ``precheck`` (precheck_draft; None when not checked).

        Raises as act, and InvalidInput ``empty_text``, ``long_text`` (param ``limit``: 10,000 characters); the
        executor's refusals of ``accept``; NotFound as ``get``; for an answer-track draft IllegalTransition
        ``illegal_transition`` (the incident waits for no draft), ``no_consolidator``, NotAllowed
        ``not_consolidator``, ``not_last`` (joint answers: Отрадная п. 19, Удмуртия п. 16), InvalidInput
        ``final_only`` (after an intermediate answer); for a contribution IllegalTransition ``not_joint``,
        ``illegal_transition``, InvalidInput ``last_writes_answer``.
        """
        findings = await self.precheck_draft(p, incident_id, kind, text, len(attachments))

        def transition(incident: Incident, now: datetime) -> Any:
            result = self.workflow.submit_draft(incident, p.actor, now, kind, text, attachments)
            if isinstance(result, tuple) and isinstance(result[0], Draft):
                result[0].precheck = findings  # kept with the draft: the curator's card and the report read it
            return result

        return await self.act(p, incident_id, transition)

    async def precheck_draft(
        self, p: Person, incident_id: int, kind: DraftKind, text: str, attachments: int
    ) -> list[Finding] | None:
        """The draft pre-check (issue 13 §1) on ``text`` with ``attachments`` files, as an answer of ``kind`` to
        the incident's post: the findings (empty: nothing to advise), or None when ``[assistant] precheck`` is
        off or ``kind`` is no answer to the citizen (bot.draft_check.CHECKED_KINDS). Runs in a worker thread,
        ~25 ms; waits for the start-up load of the language tools if it is still under way. Changes nothing.

        Raises NotFound as ``get`` (an unknown incident, or one ``p`` may not see).
        """
        if not self.assistant.enabled or kind not in CHECKED_KINDS:
            return None
        incident = await self.get(incident_id, p)
        return await self.assistant.check(post_text(incident), text, attachments, kind)

    async def approve(self, p: Person, incident_id: int, draft_number: int | None = None) -> Incident:
        """Approve the pending draft: the curator, and with a two-level chain the external approver after them
        (Петровский п. 10); an approved clarification question pauses the answer clock where the preset says so
        (Боровичи п. 10; the default of every preset).
        ``draft_number``: the draft the button was drawn for (None: whichever is pending).

        Raises as act, and IllegalTransition ``illegal_transition`` (no draft waits), ``stale_draft`` (another
        draft is pending now); NotAllowed ``role_required`` (curator; external_approver at the second level).
        """
        return await self.act(p, incident_id, lambda i, now: self.workflow.approve(i, p.actor, now, draft_number))

    async def return_draft(
        self,
        p: Person,
        incident_id: int,
        reasons: Sequence[ReturnReason],
        comment: str | None = None,
        draft_number: int | None = None,
    ) -> Incident:
        """Return the pending draft for revision with ``reasons`` from the checklist (Отрадная п. 14; several
        may apply) and ``comment``; ``draft_number`` as for ``approve``.

        Raises as act, and IllegalTransition ``illegal_transition``, ``stale_draft`` and NotAllowed
        ``role_required`` as ``approve``; InvalidInput ``no_reason``, ``other_needs_comment``, ``long_comment``
        (param ``limit``: 1000 characters).
        """
        return await self.act(
            p,
            incident_id,
            lambda i, now: self.workflow.return_draft(i, p.actor, now, reasons, comment, draft_number),
        )

    async def author_reply(self, p: Person, incident_id: int, text: str | None = None) -> Incident:
        """The author answered the clarification question: the answer clock runs again (Боровичи п. 10).
        ``text``: what they wrote, if recorded. A curator or an executor of a department that accepted it records
        it. Raises as act, and NotAllowed ``not_allowed``; IllegalTransition ``illegal_transition`` (no
        clarification is pending); InvalidInput ``long_text`` (param ``limit``: 10,000 characters)."""
        return await self.act(p, incident_id, lambda i, now: self.workflow.record_author_reply(i, p.actor, now, text))

    async def publish(self, p: Person, incident_id: int, url: str, draft_number: int | None = None) -> Incident:
        """The approved answer was posted in the network; ``url`` (http(s), up to 2048 characters) is the
        published comment (SPEC §3 «Publication»). The incident closes as published, or after an intermediate
        answer waits for the final one (the preset's ``final_after_intermediate``, 7 working days in every
        seed); the event records whether it was on time and, when late, by how many working seconds.

        Raises as act, and IllegalTransition ``illegal_transition`` (nothing approved), ``stale_draft``
        (``draft_number`` is not the approved draft); NotAllowed ``role_required`` (the preset has the curator
        publish) or ``not_publisher`` (another department's answer); InvalidInput ``bad_url``.
        """
        return await self.act(p, incident_id, lambda i, now: self.workflow.publish(i, p.actor, now, url, draft_number))

    async def _queue_notices(
        self,
        session: AsyncSession,
        touched: list[tuple[Incident, list[Event]]],
        person: Person,
        batch: _Batch | None = None,
    ) -> None:
        audience = await (batch or _Batch()).audience_of(self, session)
        outbox = OutboxRepository(session)
        for incident, events in touched:
            for notice in notices(incident, events, audience, person.telegram_id):
                await outbox.add(notice.chat_id, notice.payload(), incident_id=notice.incident_id)

    async def audience(self, session: AsyncSession) -> Audience:
        """Who receives an incident's notices and reminders, as Telegram chat ids: curators, the regional centre,
        each department's members, responsible official and bound group chat, every user's private chat, heads.
        An absent person's notices go to their substitute (Отрадная п. 8.2, Боровичи п. 6) at this moment of the
        clock. Read within the caller's transaction `session`; raises nothing of its own (database errors pass)."""
        repo = DirectoryRepository(session)
        chat_map = await repo.chat_map(self.clock.now())
        chats = chat_map.chats

        def of(user_ids: Iterable[int]) -> frozenset[int]:
            return frozenset(chats[u] for u in user_ids if u in chats)

        departments = await repo.list_departments()
        return Audience(
            curators=of(u.id for u in await repo.users_with_role(Role.curator)),
            external_approvers=of(u.id for u in await repo.users_with_role(Role.external_approver)),
            members={d.id: of(chat_map.members.get(d.id, ())) for d in departments},
            responsible={
                d.id: chats[d.responsible_user_id]
                for d in departments
                if d.responsible_user_id is not None and d.responsible_user_id in chats
            },
            group_chats={d.id: d.chat_id for d in departments if d.chat_id is not None},
            users=chats,
            publisher=self.workflow.preset.publisher.value,
            heads=of(u.id for u in await repo.users_with_role(Role.head)),
            report_high_to_head=bool(self.workflow.preset.report_high_to_head.value),
        )

    async def queue(self, person: Person, view: str, page: int, page_size: int = 8) -> tuple[list[Incident], int]:
        """One page of a queue: mine, department, approval, overdue (scoped by the person's rights).

        ``view``: "mine" (a curator: what waits for a curator — detected, returned, on approval, clarification;
        anybody else: open incidents they accepted or were assigned), "department" (open, live in their
        departments), "approval" (a draft on approval at either level; everyone's for curators, heads and
        administrators, else their departments'), "overdue" (the answer or final deadline passed before the
        clock's now; scoped likewise). ``page`` counts from 0 (a negative one reads as 0), ``page_size``
        incidents each. Returns (the page, most urgent deadline first and none last; the count of all matches).
        Raises InvalidInput ``bad_queue`` for another view.
        """
        open_states = [s for s in State if s not in CLOSED_STATES]
        wide = bool(person.roles & {Role.curator, Role.head, Role.admin})
        filters: dict[str, Any] = {"states": open_states}
        if view == "mine":
            if person.has(Role.curator):
                filters["states"] = [State.detected, State.returned, State.on_approval, State.clarification]
            else:
                filters["executor_id"] = person.id
        elif view == "department":
            filters["department_ids"] = sorted(person.departments | person.responsible_for)
        elif view == "approval":
            filters["states"] = [State.on_approval, State.on_external_approval]
            if not wide:
                filters["department_ids"] = sorted(person.departments | person.responsible_for)
        elif view == "overdue":
            filters["overdue_at"] = self.clock.now()
            if not wide:
                filters["department_ids"] = sorted(person.departments | person.responsible_for)
        else:
            raise InvalidInput("unknown queue", key="bad_queue")
        async with self.sessions() as session:
            return await IncidentRepository(session).search(**filters, limit=page_size, offset=max(page, 0) * page_size)

    # ----------------------------------------------------------------- cards

    async def card_message(self, chat_id: int, incident_id: int) -> int | None:
        """The Telegram message id of the incident's card in this chat, or None when it has none there."""
        async with self.sessions() as session:
            return await CardRepository(session).get(chat_id, incident_id)

    async def remember_card(
        self,
        chat_id: int,
        incident_id: int,
        message_id: int,
        version: int | None = None,
        outbox_id: int | None = None,
    ) -> None:
        """Remember that Telegram message ``message_id`` in ``chat_id`` is the incident's card there, showing
        ``version`` (None: not drawn yet), sent by outbox row ``outbox_id`` (None: by a handler); it replaces the
        chat's earlier card of the incident. Raises IntegrityError for an unknown incident."""
        async with self.sessions() as session, session.begin():
            await CardRepository(session).remember(chat_id, incident_id, message_id, version, outbox_id)

    async def card_sent_by(self, chat_id: int, incident_id: int, outbox_id: int) -> bool:
        """Did this outbox row already send the chat's card (a retry after a crash)?"""
        async with self.sessions() as session:
            return await CardRepository(session).drawn_by(chat_id, incident_id) == outbox_id

    async def card_is_current(self, chat_id: int, incident_id: int, version: int) -> bool:
        """Whether the chat's card of the incident shows ``version`` (Incident.version) or a later one; False
        when there is no card there or it is not drawn yet."""
        async with self.sessions() as session:
            shown = await CardRepository(session).shown_version(chat_id, incident_id)
        return shown is not None and shown >= version

    async def update_seen(self, update_id: int) -> bool:
        """Whether this Telegram ``update_id`` is recorded as applied (by a change it made, or by update_done);
        records nothing."""
        async with self.sessions() as session:
            return await ProcessedUpdates(session).seen(update_id)

    async def update_done(self, update_id: int) -> None:
        """Record ``update_id`` as applied at the clock's now (nothing happens if it is recorded already), so a
        redelivery of it is skipped."""
        async with self.sessions() as session, session.begin():
            await ProcessedUpdates(session).first_time(update_id, self.clock.now())
