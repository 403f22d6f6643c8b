"""Use cases: each is one transaction — load, apply a workflow transition, save it with its events
and the notifications it causes (outbox). Handlers call these and get plain values back."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable, Iterable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.domain import reminders
from bot.domain.absence import day_bounds, days_of
from bot.domain.clock import Clock
from bot.domain.errors import IllegalTransition, InvalidInput, NotAllowed, NotFound
from bot.domain.incident import (
    CLOSED_STATES,
    Attachment,
    DraftKind,
    Event,
    Importance,
    Incident,
    ReturnReason,
    Role,
    Source,
    State,
    storable,
)
from bot.domain.links import BadLink, parse_link, post_key
from bot.domain.notifications import Audience, notices
from bot.domain.workflow import Action, Actor, SplitPart, Transition, Workflow
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
        return Actor(self.id, self.roles, self.departments, self.responsible_for)

    def has(self, role: Role) -> bool:
        return role in self.roles


@dataclass(frozen=True)
class Registered:
    """The incident that has a post already (Services.find_registered)."""

    number: int
    conflict: bool = False  # the monitoring system's id came with another post than the one it names


@dataclass(frozen=True)
class Directory:
    departments: tuple[DepartmentRecord, ...]
    topics: dict[int, str]
    locations: dict[int, str]

    def department_name(self, department_id: int | None) -> str:
        for d in self.departments:
            if d.id == department_id:
                return d.name
        return "—"


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
    """Everything handlers may call, built once per process and handed to the dispatcher."""

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

    # ------------------------------------------------------------------ people

    async def identify(self, telegram_id: int) -> Person | None:
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
        """Redeem an invite link: the new person gets the role (and department) it names."""
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
        if locale not in ("ru", "en"):
            raise InvalidInput("unsupported language", key="bad_locale")
        async with self.sessions() as session, session.begin():
            await DirectoryRepository(session).set_locale(person.id, locale)

    async def directory(self) -> Directory:
        async with self.sessions() as session:
            repo = DirectoryRepository(session)
            return Directory(
                tuple(await repo.list_departments()),
                {t.id: t.name for t in await repo.list_topics()},
                {loc.id: loc.name for loc in await repo.list_locations()},
            )

    async def department_members(self, department_id: int) -> list[UserRecord]:
        async with self.sessions() as session:
            return await DirectoryRepository(session).members(department_id)

    async def user_names(self, user_ids: Iterable[int]) -> dict[int, str]:
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
        """The departments whose people this viewer may record as absent."""
        self._check_absence_manager(viewer)
        directory = await self.directory()
        return [d for d in directory.departments if viewer.has(Role.admin) or d.id in viewer.responsible_for]

    async def absences(self, viewer: Person) -> list[AbsenceRecord]:
        """Absences running or to come, as far as this viewer manages them: every one for an administrator,
        those of their departments' people for a responsible official."""
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
        """Record that ``substitute_id`` stands in for ``user_id`` over whole local days ``first``…``last``;
        both are told, in the same transaction."""
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
        """Remove an absence (recorded by mistake, or the person came back early); the substitute is told."""
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
        """Make the directory hold what the config names (idempotent: existing rows are kept)."""
        async with self.sessions() as session, session.begin():
            repo = DirectoryRepository(session)
            existing = {d.name: d for d in await repo.list_departments(active_only=False)}
            for dep in settings.departments:
                # A group Telegram upgraded to a supergroup keeps its old id in the config: read it as the new one.
                chat_id = await repo.current_chat(dep.chat_id) if dep.chat_id is not None else None
                if dep.name not in existing:
                    await repo.add_department(dep.name, chat_id=chat_id)
                elif chat_id is not None and existing[dep.name].chat_id != chat_id:
                    await repo.bind_chat(existing[dep.name].id, chat_id)
            known_topics = {t.name for t in await repo.list_topics(active_only=False)}
            for name in settings.topics:
                if name not in known_topics:
                    await repo.add_topic(name)
            known_locations = {loc.name for loc in await repo.list_locations(active_only=False)}
            for name in settings.locations:
                if name not in known_locations:
                    await repo.add_location(name)
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

    async def register(self, person: Person, sources: Sequence[Source], **options: Any) -> Incident:
        """Register the posts as a new incident (Workflow.register's ``options``; ``repeat_of_id``: the
        earlier incident's number), with its notices, in one transaction.

        Raises IllegalTransition ``already_registered`` when a post is registered already — also by
        another process at the same moment (the database's unique post key decides); nothing is saved.
        """
        async with self.sessions() as session, session.begin():
            await self._claim_update(session)
            incident = await self._register(session, person, sources, dict(options))
        self.outbox_ready.set()
        return incident

    async def register_many(
        self,
        person: Person,
        items: Sequence[tuple[Source, dict[str, Any]]],
        *,
        via: str,
        progress: Callable[[int], None] | None = None,
    ) -> list[tuple[int, bool]]:
        """Register each (post, options) as its own incident, all in ONE transaction (an import: all or
        nothing, on every database); a post registered already — before, or earlier in ``items`` — is
        not registered again. Returns (incident number, created) per item, in order; ``progress(n)``
        is called after each item.

        Registrations in bulk wait for each other (two imports of one file at once: the second finds
        every post of the first). Raises IllegalTransition ``already_registered`` when another path
        registered one of the posts meanwhile; nothing is saved then and the caller may run it again.
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
                    incident = await self._register(session, person, [copy], {**options, "via": via}, batch)
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
        options: dict[str, Any],
        batch: _Batch | None = None,
    ) -> Incident:
        now = self.clock.now()
        repeat_of = options.pop("repeat_of_id", None)
        repo = IncidentRepository(session)
        earlier = await repo.get(repeat_of) if repeat_of is not None else None
        incident, events = self.workflow.register(person.actor, now, sources, repeat_of=earlier, **options)
        await repo.add(incident, events)
        assert incident.id is not None
        await PostRepository(session).claim_posts(incident.id, {post_key(s): s.id for s in incident.sources}.items())
        await self._after_change(session, [(incident, events)], person, batch)
        await self._surge_check(session, incident, batch)
        return incident

    async def find_registered(self, source: Source) -> Registered | None:
        """The incident that has this post already, if any.

        With the monitoring system's id (``source.external_id``) the incident holding that id answers,
        and ``conflict`` says whether the id came with another post (SPEC §7: idempotent on the
        source's id). Otherwise the post's key decides (bot.domain.links.post_key: the same link in any form;
        without a link, the same text at the same moment), whatever source id it came with.
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
        async with self.sessions() as session:
            incident = await IncidentRepository(session).get(incident_id)
        if viewer is not None:
            self.check_can_see(viewer, incident)
        return incident

    def check_can_see(self, viewer: Person, incident: Incident) -> None:
        """An executor sees only incidents routed to their department (SPEC §8)."""
        if viewer.roles & {Role.curator, Role.head, Role.admin, Role.external_approver}:
            return
        mine = viewer.departments | viewer.responsible_for
        if not any(a.department_id in mine for a in incident.assignments):
            raise NotFound("no such incident", key="not_found", id=incident.id)

    async def history(self, incident_id: int) -> list[Event]:
        async with self.sessions() as session:
            return await IncidentRepository(session).events(incident_id)

    async def repeat_candidates(self, url: str | None, author: str | None, topic_ids: Sequence[int]) -> list[Incident]:
        """The same question asked before: the same post (its link in any form, bot.domain.links), the same
        author on the same topic recently, or an open incident on the same topic (a further post joins
        it as a source)."""
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
        return self.workflow.actions_for(incident, person.actor, self.clock.now())

    async def act(
        self,
        person: Person,
        incident_id: int,
        transition: Callable[[Incident, datetime], Any],
        posts: Sequence[Source] = (),
    ) -> Incident:
        """Apply `transition(incident, now)`, save it with its events and notices in one transaction.

        The transition returns its events, (draft, events) as submit_draft does, or a Transition.
        The incident row is written first, so a lost race fails before any other write. ``posts``: the
        sources the transition added, recorded as registered for this incident (IllegalTransition
        ``already_registered`` when one is registered already).
        """
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

    async def route(self, p: Person, incident_id: int, departments: Sequence[int], mode: Any = None) -> Incident:
        return await self.act(p, incident_id, lambda i, now: self.workflow.route(i, p.actor, now, departments, mode))

    async def split(self, p: Person, incident_id: int, departments: Sequence[int]) -> Incident:
        parts = [SplitPart(d) for d in departments]
        return await self.act(p, incident_id, lambda i, now: self.workflow.split(i, p.actor, now, parts))

    async def not_processable(self, p: Person, incident_id: int, reason: str) -> Incident:
        return await self.act(
            p, incident_id, lambda i, now: self.workflow.mark_not_processable(i, p.actor, now, reason)
        )

    async def change_importance(self, p: Person, incident_id: int, importance: Importance) -> Incident:
        return await self.act(
            p, incident_id, lambda i, now: self.workflow.change_importance(i, p.actor, now, importance)
        )

    async def add_source(self, p: Person, incident_id: int, source: Source) -> Incident:
        """A further post joins the incident; IllegalTransition ``already_registered`` when the post is
        registered already (as another incident, or as a source of this one)."""
        return await self.act(
            p, incident_id, lambda i, now: self.workflow.add_source(i, p.actor, now, source), posts=[source]
        )

    async def return_not_ours(self, p: Person, incident_id: int, reason: str) -> Incident:
        return await self.act(p, incident_id, lambda i, now: self.workflow.return_not_ours(i, p.actor, now, reason))

    async def accept(self, p: Person, incident_id: int, department_id: int | None = None) -> Incident:
        return await self.act(p, incident_id, lambda i, now: self.workflow.accept(i, p.actor, now, department_id))

    async def assign(self, p: Person, incident_id: int, department_id: int, executor_id: int) -> Incident:
        return await self.act(
            p, incident_id, lambda i, now: self.workflow.assign_executor(i, p.actor, now, department_id, executor_id)
        )

    async def designate(self, p: Person, incident_id: int, department_id: int) -> Incident:
        return await self.act(
            p, incident_id, lambda i, now: self.workflow.designate_consolidator(i, p.actor, now, department_id)
        )

    async def submit_draft(
        self, p: Person, incident_id: int, kind: DraftKind, text: str, attachments: Sequence[Attachment] = ()
    ) -> Incident:
        return await self.act(
            p, incident_id, lambda i, now: self.workflow.submit_draft(i, p.actor, now, kind, text, attachments)
        )

    async def approve(self, p: Person, incident_id: int, draft_number: int | None = None) -> Incident:
        return await self.act(p, incident_id, lambda i, now: self.workflow.approve(i, p.actor, now, draft_number))

    async def return_draft(
        self,
        p: Person,
        incident_id: int,
        reasons: Sequence[ReturnReason],
        comment: str | None = None,
        draft_number: int | None = None,
    ) -> Incident:
        return await self.act(
            p,
            incident_id,
            lambda i, now: self.workflow.return_draft(i, p.actor, now, reasons, comment, draft_number),
        )

    async def author_reply(self, p: Person, incident_id: int, text: str | None = None) -> Incident:
        return await self.act(p, incident_id, lambda i, now: self.workflow.record_author_reply(i, p.actor, now, text))

    async def publish(self, p: Person, incident_id: int, url: str, draft_number: int | None = None) -> Incident:
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
        """One page of a queue: mine, department, approval, overdue (scoped by the person's rights)."""
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
        async with self.sessions() as session, session.begin():
            await CardRepository(session).remember(chat_id, incident_id, message_id, version, outbox_id)

    async def card_sent_by(self, chat_id: int, incident_id: int, outbox_id: int) -> bool:
        """Did this outbox row already send the chat's card (a retry after a crash)?"""
        async with self.sessions() as session:
            return await CardRepository(session).drawn_by(chat_id, incident_id) == outbox_id

    async def card_is_current(self, chat_id: int, incident_id: int, version: int) -> bool:
        async with self.sessions() as session:
            shown = await CardRepository(session).shown_version(chat_id, incident_id)
        return shown is not None and shown >= version

    async def update_seen(self, update_id: int) -> bool:
        async with self.sessions() as session:
            return await ProcessedUpdates(session).seen(update_id)

    async def update_done(self, update_id: int) -> None:
        async with self.sessions() as session, session.begin():
            await ProcessedUpdates(session).first_time(update_id, self.clock.now())
