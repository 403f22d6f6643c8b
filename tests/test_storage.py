"""Storage: migrations match the models, incidents survive a full lifecycle, races are caught."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, fields, is_dataclass, replace
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.exc import StatementError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.demo import fill
from bot.domain.errors import ConcurrentUpdate, IllegalTransition, NotFound
from bot.domain.incident import (
    Assignment,
    AssignmentDeadline,
    AssignmentState,
    Attachment,
    DeadlineKind,
    Draft,
    DraftKind,
    DraftStatus,
    Event,
    Importance,
    Incident,
    MultiMode,
    Network,
    Pause,
    ReturnReason,
    Role,
    Source,
    State,
)
from bot.domain.links import parse_link, post_key
from bot.domain.presets import get_preset
from bot.domain.workflow import Workflow
from bot.domain.worktime import WeeklySchedule, WorkCalendar
from storage.db import (
    SQLITE_BUSY_TIMEOUT_MS,
    alembic_config,
    make_engine,
    make_session_factory,
    parallel_sessions,
    upgrade_async,
)
from storage.directory import DirectoryRepository
from storage.incidents import IncidentRepository
from storage.models import Base, OutboxStatus
from storage.outbox import OutboxRepository
from storage.posts import PostRepository
from storage.reminders import ReminderRepository
from storage.types import UTCDateTime
from storage.updates import ProcessedUpdates
from tests.conftest import MigratedDatabase

Sessions = async_sessionmaker[AsyncSession]

T0 = datetime(2025, 3, 3, 6, 30, tzinfo=UTC)  # Monday 09:30 in Moscow
MSK = timezone(timedelta(hours=3))


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


@dataclass(frozen=True)
class Seed:
    curator: int
    executor: int
    department: int
    other_department: int
    topics: tuple[int, int]
    location: int


async def seed(sessions: Sessions) -> Seed:
    async with sessions() as session, session.begin():
        directory = DirectoryRepository(session)
        curator = await directory.add_user(1001, "Анна Куратор", "anna", roles=[Role.curator])
        executor = await directory.add_user(1002, "Иван Исполнитель", roles=[Role.executor])
        roads = await directory.add_department("Дорожное хозяйство", chat_id=-100123)
        housing = await directory.add_department("ЖКХ")
        await directory.add_membership(executor.id, roads.id)
        pits = await directory.add_topic("Ямы на дорогах")
        lights = await directory.add_topic("Освещение")
        centre = await directory.add_location("Центр")
        return Seed(curator.id, executor.id, roads.id, housing.id, (lights.id, pits.id), centre.id)


async def seed_before_codes(sessions: Sessions) -> Seed:
    """The directory of ``seed`` written as a database from before migration 0012 holds it (no codes)."""
    async with sessions() as session, session.begin():

        async def insert(sql: str, **values: object) -> int:
            return (await session.execute(sa.text(sql + " RETURNING id"), values)).scalar_one()

        curator = await insert("INSERT INTO users (telegram_id, full_name, locale) VALUES (1001, 'Анна', 'ru')")
        role = sa.text("INSERT INTO user_roles (user_id, role) VALUES (:u, :r)")
        await session.execute(role, {"u": curator, "r": "curator"})
        executor = await insert("INSERT INTO users (telegram_id, full_name, locale) VALUES (1002, 'Иван', 'ru')")
        await session.execute(role, {"u": executor, "r": "executor"})
        roads = await insert("INSERT INTO departments (name, chat_id) VALUES ('Дорожное хозяйство', -100123)")
        housing = await insert("INSERT INTO departments (name) VALUES ('ЖКХ')")
        await session.execute(
            sa.text("INSERT INTO memberships (user_id, department_id) VALUES (:u, :d)"), {"u": executor, "d": roads}
        )
        pits = await insert("INSERT INTO topics (name) VALUES ('Ямы на дорогах')")
        lights = await insert("INSERT INTO topics (name) VALUES ('Освещение')")
        centre = await insert("INSERT INTO locations (name) VALUES ('Центр')")
        return Seed(curator, executor, roads, housing, (lights, pits), centre)


def new_incident(s: Seed) -> Incident:
    return Incident(
        organisation="Администрация города",
        detected_at=at(0),
        sources=[
            Source(
                network=Network.vk,
                url="https://vk.com/wall-1_100",
                author="Пётр Жалобин",
                text="Яма на Ленина, 5",
                detected_at=at(0),
                attachments=[
                    Attachment(file_id="photo-1", type="photo", file_unique_id="u1"),
                    Attachment(file_id="video-1", type="video"),
                ],
            ),
            Source(
                network=Network.telegram,
                url=None,
                author="Пётр Жалобин",
                text="И ещё одна рядом",
                detected_at=at(5).astimezone(MSK),  # any zone in, UTC out
            ),
        ],
        importance=Importance.high,
        topic_ids=[s.topics[1], s.topics[0]],  # order chosen by the curator is kept
        location_id=s.location,
        created_by=s.curator,
        deadlines={DeadlineKind.routing: at(60)},
    )


def event(name: str, minutes: int, actor: int | None, before: State | None, after: State) -> Event:
    return Event(name=name, at=at(minutes), actor_id=actor, from_state=before, to_state=after)


def datetimes_in(value: object) -> list[datetime]:
    """Every datetime inside a (nested) dataclass, list or dict."""
    if isinstance(value, datetime):
        return [value]
    if is_dataclass(value) and not isinstance(value, type):
        return [d for f in fields(value) for d in datetimes_in(getattr(value, f.name))]
    if isinstance(value, list | tuple):
        return [d for item in value for d in datetimes_in(item)]
    if isinstance(value, dict):
        return [d for item in value.values() for d in datetimes_in(item)]
    return []


async def load(sessions: Sessions, incident_id: int) -> Incident:
    async with sessions() as session, session.begin():
        return await IncidentRepository(session).get(incident_id)


async def save(sessions: Sessions, incident: Incident, *events: Event) -> None:
    async with sessions() as session, session.begin():
        await IncidentRepository(session).save(incident, events)


async def assert_stored_as(sessions: Sessions, incident: Incident) -> None:
    assert incident.id is not None
    stored = await load(sessions, incident.id)
    assert stored == incident
    assert all(d.tzinfo is UTC for d in datetimes_in(stored))


# --- migrations ---------------------------------------------------------------------------------


async def test_migrations_upgrade_empty_database_to_exactly_the_models_schema(
    engine: AsyncEngine,
) -> None:
    def differences(connection: sa.Connection) -> list[object]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))

    async with engine.connect() as connection:
        assert await connection.run_sync(differences) == []
        tables = await connection.run_sync(lambda c: set(sa.inspect(c).get_table_names()))
    assert tables == set(Base.metadata.tables) | {"alembic_version"}


async def test_sqlite_pragmas_are_on(database: MigratedDatabase, engine: AsyncEngine) -> None:
    if database.backend != "sqlite":
        pytest.skip("SQLite only")
    async with engine.connect() as connection:
        pragma = connection.exec_driver_sql
        assert (await pragma("PRAGMA journal_mode")).scalar() == "wal"
        assert (await pragma("PRAGMA foreign_keys")).scalar() == 1
        assert (await pragma("PRAGMA busy_timeout")).scalar() == SQLITE_BUSY_TIMEOUT_MS == 120_000
        assert (await pragma("PRAGMA synchronous")).scalar() == 1  # NORMAL


async def test_in_memory_sqlite_is_one_shared_database() -> None:
    engine = make_engine("sqlite+aiosqlite:///:memory:")
    try:
        await upgrade_async(engine)
        sessions = make_session_factory(engine)
        async with sessions() as session, session.begin():
            assert await ProcessedUpdates(session).first_time(1)
        async with sessions() as session, session.begin():
            assert not await ProcessedUpdates(session).first_time(1)
    finally:
        await engine.dispose()


# --- the incident aggregate ---------------------------------------------------------------------


async def test_incident_survives_a_full_lifecycle_field_for_field(sessions: Sessions) -> None:
    s = await seed(sessions)
    incident = new_incident(s)
    async with sessions() as session, session.begin():
        await IncidentRepository(session).add(incident, [event("registered", 0, s.curator, None, State.detected)])
    assert incident.id is not None
    assert all(source.id is not None for source in incident.sources)
    await assert_stored_as(sessions, incident)

    # Routed jointly to two departments.
    incident.state = State.routed
    incident.mode = MultiMode.joint_parallel
    incident.consolidator_department_id = s.department
    incident.deadlines = {DeadlineKind.answer: at(24 * 60), DeadlineKind.draft: at(20 * 60)}
    for order, department in enumerate((s.department, s.other_department)):
        incident.assignments.append(
            Assignment(
                department_id=department,
                received_at=at(10),
                order=order,
                deadlines={
                    AssignmentDeadline.not_ours: at(70),
                    AssignmentDeadline.clarification: at(130),
                },
            )
        )
    await save(sessions, incident, event("routed", 10, s.curator, State.detected, State.routed))
    assert incident.version == 1
    assert all(a.id is not None for a in incident.assignments)
    await assert_stored_as(sessions, incident)

    # One department accepts, the other says "not ours".
    incident.assignments[0].state = AssignmentState.accepted
    incident.assignments[0].executor_id = s.executor
    incident.assignments[1].state = AssignmentState.returned
    incident.assignments[1].return_reason = "Не наша компетенция"
    incident.assignments[1].returned_at = at(16)
    incident.assignments[1].deadlines = {}
    incident.state = State.in_work
    await save(
        sessions,
        incident,
        event("accepted", 15, s.executor, State.routed, State.in_work),
        Event(
            name="not_ours",
            at=at(16),
            actor_id=None,
            from_state=State.in_work,
            to_state=State.in_work,
            comment="Не наша компетенция",
            department_id=s.other_department,
            data={"reason": "competence", "assignment": incident.assignments[1].id},
        ),
    )
    await assert_stored_as(sessions, incident)

    # A clarification pause opens and closes.
    incident.pauses.append(Pause(started_at=at(20)))
    incident.state = State.clarification
    await save(sessions, incident, event("paused", 20, s.executor, State.in_work, State.clarification))
    await assert_stored_as(sessions, incident)
    incident.pauses[0].ended_at = at(90)
    incident.state = State.in_work
    await save(sessions, incident, event("resumed", 90, s.executor, State.clarification, State.in_work))
    await assert_stored_as(sessions, incident)

    # A draft goes to approval and comes back with reasons.
    first = Draft(
        kind=DraftKind.answer,
        text="Яма будет заделана.",
        author_id=s.executor,
        department_id=s.department,
        submitted_at=at(100),
        attachments=[Attachment(file_id="doc-1", type="document", file_unique_id="d1")],
    )
    incident.drafts.append(first)
    incident.state = State.on_approval
    incident.deadlines[DeadlineKind.approval] = at(160)
    await save(sessions, incident, event("draft_submitted", 100, s.executor, State.in_work, State.on_approval))
    assert first.id is not None
    first.status = DraftStatus.returned
    first.return_reasons = [ReturnReason.no_date, ReturnReason.no_evidence]
    first.return_comment = "Когда? Нужна фотография."
    first.decided_by = s.curator
    first.decided_at = at(120)
    incident.state = State.in_work
    del incident.deadlines[DeadlineKind.approval]
    incident.deadlines[DeadlineKind.revision] = at(240)
    await save(sessions, incident, event("draft_returned", 120, s.curator, State.on_approval, State.in_work))
    await assert_stored_as(sessions, incident)

    # The second draft is approved and published.
    second = Draft(
        kind=DraftKind.answer,
        text="Яма будет заделана до 10 марта, фото прилагаем.",
        author_id=s.executor,
        department_id=s.department,
        submitted_at=at(200),
        number=2,
        is_final=True,
        attachments=[
            Attachment(file_id="photo-2", type="photo"),
            Attachment(file_id="photo-3", type="photo", file_unique_id="p3"),
        ],
    )
    incident.drafts.append(second)
    incident.state = State.on_approval
    await save(sessions, incident, event("draft_submitted", 200, s.executor, State.in_work, State.on_approval))
    second.status = DraftStatus.published
    second.decided_by = s.curator
    second.decided_at = at(210)
    second.published_url = "https://vk.com/wall-1_100?reply=7"
    second.published_at = at(230)
    incident.assignments[0].state = AssignmentState.contributed
    incident.state = State.published
    incident.published_at = at(230)
    incident.closed_reason = "answered"
    incident.deadlines = {DeadlineKind.answer: at(24 * 60)}
    await save(
        sessions,
        incident,
        event("approved", 210, s.curator, State.on_approval, State.approved),
        event("published", 230, s.curator, State.approved, State.published),
    )
    assert incident.version == 8
    await assert_stored_as(sessions, incident)

    stored = await load(sessions, incident.id)
    assert stored.topic_ids == [s.topics[1], s.topics[0]]
    assert stored.sources[1].detected_at == at(5)
    assert [a.file_id for a in stored.sources[0].attachments] == ["photo-1", "video-1"]
    assert [a.file_id for a in stored.drafts[1].attachments] == ["photo-2", "photo-3"]
    assert stored.drafts[0].return_reasons == [ReturnReason.no_date, ReturnReason.no_evidence]
    assert stored.pauses == [Pause(at(20), at(90))]
    assert stored.closed

    async with sessions() as session, session.begin():
        log = await IncidentRepository(session).events(incident.id)
    assert [e.name for e in log] == [
        "registered",
        "routed",
        "accepted",
        "not_ours",
        "paused",
        "resumed",
        "draft_submitted",
        "draft_returned",
        "draft_submitted",
        "approved",
        "published",
    ]
    assert log[3].data == {"reason": "competence", "assignment": incident.assignments[1].id}
    assert log[3].department_id == s.other_department
    assert log[0].from_state is None and log[-1].to_state is State.published
    assert all(e.at.tzinfo is UTC for e in log)


async def test_get_unknown_incident_raises_not_found(sessions: Sessions) -> None:
    async with sessions() as session, session.begin():
        with pytest.raises(NotFound):
            await IncidentRepository(session).get(404)


async def test_two_editors_save_the_same_version_only_the_first_wins(sessions: Sessions) -> None:
    s = await seed(sessions)
    async with sessions() as session, session.begin():
        incident = await IncidentRepository(session).add(new_incident(s))
    assert incident.id is not None
    mine, theirs = await load(sessions, incident.id), await load(sessions, incident.id)

    mine.state = State.routed
    mine.assignments.append(Assignment(department_id=s.department, received_at=at(10)))
    theirs.state = State.not_processable
    theirs.closed_reason = "spam"

    await save(sessions, mine, event("routed", 10, s.curator, State.detected, State.routed))
    with pytest.raises(ConcurrentUpdate):
        await save(sessions, theirs, event("closed", 11, s.curator, State.detected, State.not_processable))

    stored = await load(sessions, incident.id)
    assert stored == mine
    assert stored.version == 1
    async with sessions() as session, session.begin():
        assert [e.name for e in await IncidentRepository(session).events(incident.id)] == ["routed"]


async def test_racing_transactions_exactly_one_raises_concurrent_update(
    sessions: Sessions,
) -> None:
    """Both read the incident before either writes; the second writer loses.

    On PostgreSQL both read inside open transactions, as services do. On SQLite a unit of work holds the
    write lock from its BEGIN (storage.db), so a second one cannot even read until the first commits; its
    stale copy is one read before that (a card drawn a moment ago)."""
    s = await seed(sessions)
    async with sessions() as session, session.begin():
        incident = await IncidentRepository(session).add(new_incident(s))
    assert incident.id is not None
    incident_id = incident.id
    sqlite = sessions.kw["bind"].dialect.name == "sqlite"

    async with sessions() as first, sessions() as second:
        await first.begin()
        mine = await IncidentRepository(first).get(incident_id)
        if sqlite:
            async with sessions() as reader:  # a plain read: it never waits for the writer
                theirs = await IncidentRepository(reader).get(incident_id)
            await second.begin()
        else:
            await second.begin()
            theirs = await IncidentRepository(second).get(incident_id)
        mine.state = State.routed
        theirs.state = State.not_processable

        await IncidentRepository(first).save(mine, [event("routed", 1, None, State.detected, State.routed)])
        # The loser blocks on the winner's lock (PostgreSQL row lock, SQLite write lock)...
        losing = asyncio.create_task(
            IncidentRepository(second).save(theirs, [event("closed", 2, None, State.detected, State.not_processable)])
        )
        await asyncio.sleep(0.2)
        assert not losing.done()
        await first.commit()
        # ...and finds the version moved on once the winner commits.
        with pytest.raises(ConcurrentUpdate):
            await losing
        await second.rollback()

    stored = await load(sessions, incident_id)
    assert stored.state is State.routed
    assert stored.version == 1


async def test_find_repeat_candidates_by_post_key_or_by_author_on_topic(sessions: Sessions) -> None:
    s = await seed(sessions)
    async with sessions() as session, session.begin():
        repository = IncidentRepository(session)
        earlier = await repository.add(new_incident(s))
        assert earlier.id is not None
        await PostRepository(session).claim_posts(earlier.id, [(post_key(earlier.sources[0]), earlier.sources[0].id)])

        key = parse_link("https://m.vk.com/wall-1_100/?utm_source=tg").key  # another form of the same link
        assert await repository.find_repeat_candidates(key, None, [], at(1000)) == [earlier.id]
        assert await repository.find_repeat_candidates(None, "Пётр Жалобин", [s.topics[0]], at(-60)) == [earlier.id]
        # The author counts only on the same topic and within the period.
        assert await repository.find_repeat_candidates(None, "Пётр Жалобин", [], at(-60)) == []
        assert await repository.find_repeat_candidates(None, "Пётр Жалобин", [s.topics[0]], at(60)) == []
        other = parse_link("https://ok.ru/group/1/topic/2").key
        assert await repository.find_repeat_candidates(other, "Другой", [s.topics[0]], at(-60)) == []


async def test_a_post_key_is_registered_once_and_the_database_refuses_it_again(sessions: Sessions) -> None:
    """What every intake path relies on when two processes register one post at the same moment."""
    s = await seed(sessions)
    async with sessions() as session, session.begin():
        repository = IncidentRepository(session)
        first = await repository.add(new_incident(s))
        assert first.id is not None
        await PostRepository(session).claim_posts(first.id, [(post_key(src), src.id) for src in first.sources])
        second = await repository.add(new_incident(s))
        assert second.id is not None
    key = post_key(first.sources[0])
    async with sessions() as session:
        assert await PostRepository(session).registered([key, "https://vk.com/wall-9_9"]) == {key: first.id}
    async with sessions() as session:
        with pytest.raises(IllegalTransition) as refused:
            async with session.begin():
                await PostRepository(session).claim_posts(second.id, [(key, second.sources[0].id)])
    assert refused.value.key == "already_registered"


async def test_list_by_state_pages_oldest_first(sessions: Sessions) -> None:
    s = await seed(sessions)
    async with sessions() as session, session.begin():
        repository = IncidentRepository(session)
        ids = []
        for minutes in (30, 10, 20):
            incident = new_incident(s)
            incident.detected_at = at(minutes)
            await repository.add(incident)
            ids.append(incident.id)
        closed = new_incident(s)
        closed.state = State.published
        await repository.add(closed)

        page = await repository.list_by_state([State.detected, State.routed], limit=2)
        rest = await repository.list_by_state([State.detected], limit=2, offset=2)
    assert [i.id for i in page] == [ids[1], ids[2]]
    assert [i.id for i in rest] == [ids[0]]
    assert len(page[0].sources) == 2 and page[0].sources[0].attachments


async def test_next_reminder_does_not_bump_the_version(sessions: Sessions) -> None:
    s = await seed(sessions)
    async with sessions() as session, session.begin():
        repository = IncidentRepository(session)
        incident = await repository.add(new_incident(s))
        assert incident.id is not None
        await ReminderRepository(session).set_next_reminders({incident.id: at(30)})
        assert await ReminderRepository(session).claim_due(at(29)) == []
        assert [i.id for i in await ReminderRepository(session).claim_due(at(30))] == [incident.id]
    assert (await load(sessions, incident.id)).version == 0


# --- directory ----------------------------------------------------------------------------------


async def test_directory_users_departments_absences_invites(sessions: Sessions) -> None:
    s = await seed(sessions)
    async with sessions() as session, session.begin():
        directory = DirectoryRepository(session)
        user = await directory.get_by_telegram_id(1002)
        assert user is not None and user.roles == {Role.executor} and user.locale == "ru"
        assert user.created_at.tzinfo is UTC
        await directory.set_roles(user.id, [Role.executor, Role.responsible])
        await directory.set_locale(user.id, "en")
        await directory.set_responsible(s.department, user.id)
        await directory.bind_chat(s.other_department, -100777)
        await directory.add_membership(user.id, s.department)  # already a member: no error
        await directory.add_membership(user.id, s.other_department)
        await directory.remove_membership(user.id, s.other_department)

        substitute = await directory.add_user(1003, "Ольга Замена")
        await directory.add_absence(user.id, substitute.id, at(0), at(7 * 24 * 60), "отпуск")

        invite = await directory.create_invite(
            "abc123",
            Role.executor,
            created_by=s.curator,
            department_id=s.department,
            expires_at=at(60),
            created_at=at(0),
        )

    async with sessions() as session, session.begin():
        directory = DirectoryRepository(session)
        user = await directory.get_user(user.id)
        assert user.roles == {Role.executor, Role.responsible} and user.locale == "en"
        assert [u.id for u in await directory.users_with_role(Role.curator)] == [s.curator]
        assert (await directory.get_department(s.department)).responsible_user_id == user.id
        bound = await directory.department_by_chat(-100777)
        assert bound is not None and bound.id == s.other_department
        assert [d.id for d in await directory.departments_of(user.id)] == [s.department]
        assert [u.id for u in await directory.members(s.department)] == [user.id]
        assert [d.name for d in await directory.list_departments()] == ["Дорожное хозяйство", "ЖКХ"]
        assert [t.name for t in await directory.list_topics()] == ["Освещение", "Ямы на дорогах"]
        assert [loc.name for loc in await directory.list_locations()] == ["Центр"]

        assert await directory.active_substitute(user.id, at(60)) == substitute.id
        assert await directory.active_substitute(user.id, at(8 * 24 * 60)) is None
        assert await directory.active_substitute(user.id, at(-1)) is None

        stored = await directory.get_invite("abc123")
        assert stored == invite and stored.expires_at == at(60)
        assert await directory.mark_invite_used(invite.id, substitute.id, at(5))
        assert not await directory.mark_invite_used(invite.id, user.id, at(6))
        used = await directory.get_invite("abc123")
        assert used is not None and used.used_by == substitute.id and used.used_at == at(5)
        assert await directory.get_invite("nope") is None
        with pytest.raises(NotFound):
            await directory.get_department(9999)


# --- outbox and processed updates ---------------------------------------------------------------


async def test_outbox_add_pending_mark_sent_and_failed(sessions: Sessions) -> None:
    async with sessions() as session, session.begin():
        outbox = OutboxRepository(session)
        first = await outbox.add(-100123, {"text": "Новый инцидент № 1"}, dedupe_key="new:1")
        assert first is not None
        assert await outbox.add(-100123, {"text": "again"}, dedupe_key="new:1") is None
        later = await outbox.add(42, {"text": "Напоминание"}, not_before=at(60))
        third = await outbox.add(43, {"text": "x"})

    async with sessions() as session, session.begin():
        outbox = OutboxRepository(session)
        pending = await outbox.pending(10, now=at(0))
        assert [m.id for m in pending] == [first, third]
        assert pending[0].payload == {"text": "Новый инцидент № 1"}
        assert pending[0].status is OutboxStatus.pending and pending[0].attempts == 0
        assert [m.id for m in await outbox.pending(10)] == [first, later, third]
        await outbox.mark_sent(first, at(1))
        assert third is not None and later is not None
        await outbox.mark_failed(third, "Forbidden: bot was blocked by the user")
        await outbox.mark_failed(later, "Too Many Requests", retry_at=at(90))

    async with sessions() as session, session.begin():
        outbox = OutboxRepository(session)
        assert await outbox.pending(10, now=at(60)) == []
        (retry,) = await outbox.pending(10, now=at(90))
        assert retry.id == later and retry.attempts == 1 and retry.last_error == "Too Many Requests"
        row = (await session.execute(sa.text("SELECT status, attempts FROM outbox WHERE id = :i"), {"i": third})).one()
        assert tuple(row) == ("failed", 1)


async def test_processed_update_is_new_only_the_first_time(sessions: Sessions) -> None:
    async with sessions() as session, session.begin():
        updates = ProcessedUpdates(session)
        assert await updates.first_time(7_000_000_001)
        assert not await updates.first_time(7_000_000_001)
        # The duplicate did not spoil the transaction.
        assert await updates.first_time(7_000_000_002)
    async with sessions() as session, session.begin():
        assert not await ProcessedUpdates(session).first_time(7_000_000_002)


async def test_rolled_back_transaction_forgets_the_processed_update(sessions: Sessions) -> None:
    """The savepoint belongs to the caller's transaction (SQLite needs our own BEGIN for that)."""
    async with sessions() as session:
        transaction = await session.begin()
        assert await ProcessedUpdates(session).first_time(5)
        await transaction.rollback()
    async with sessions() as session, session.begin():
        assert await ProcessedUpdates(session).first_time(5)


# --- time ---------------------------------------------------------------------------------------


def test_naive_datetime_is_refused_by_the_column_type() -> None:
    with pytest.raises(ValueError, match="naive"):
        UTCDateTime().process_bind_param(datetime(2025, 3, 3, 9, 30), sa.create_engine("sqlite://").dialect)


async def test_naive_datetime_is_refused_on_write(sessions: Sessions) -> None:
    s = await seed(sessions)
    incident = new_incident(s)
    incident.detected_at = datetime(2025, 3, 3, 9, 30)
    async with sessions() as session:
        with pytest.raises(StatementError) as raised:
            async with session.begin():
                await IncidentRepository(session).add(incident)
    assert isinstance(raised.value.orig, ValueError)


async def _demo_database(url: str) -> tuple[AsyncEngine, Sessions, Workflow]:
    """A SQLite database at head for bot.demo.fill, with the Отрадная workflow on a standard week."""
    await upgrade_async(url)
    engine = make_engine(url)
    preset = get_preset("otradnaya")
    return (
        engine,
        make_session_factory(engine),
        Workflow(preset, WorkCalendar(preset.timezone, WeeklySchedule.standard())),
    )


async def test_migration_0007_fills_the_milestones_of_existing_incidents_from_their_events(tmp_path: Path) -> None:
    """A database from before 0007 gets the same milestones the workflow now keeps as it goes."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'old.sqlite3'}"
    engine, sessions, flow = await _demo_database(url)
    await fill(sessions, flow, incidents=80, months=2, seed=7, now=datetime(2025, 5, 20, 12, tzinfo=UTC))

    async def milestones() -> dict[int, object]:
        async with sessions() as session:
            repo = IncidentRepository(session)
            ids = (await session.scalars(sa.text("SELECT id FROM incidents ORDER BY id"))).all()
            return {i: (await repo.get(i)).milestones for i in ids}

    kept = await milestones()
    assert any(m.late_at is not None for m in kept.values()), "the sample needs a late publication"
    assert any(m.publish is not None and m.late_at is None for m in kept.values())
    assert any(m.publish is None for m in kept.values())
    await engine.dispose()

    await asyncio.to_thread(command.downgrade, alembic_config(url), "0006")  # the columns are gone
    await upgrade_async(url)  # ... and 0007 fills them again from the events
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    try:
        assert await milestones() == kept
    finally:
        await engine.dispose()


async def test_migration_0010_registers_the_posts_of_existing_incidents_once(tmp_path: Path) -> None:
    """A database from before 0010 — with the same post registered twice under two link forms, a split
    and a post without a link — gets one key per post, held by the incident that registered it first."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'old.sqlite3'}"
    await asyncio.to_thread(command.upgrade, alembic_config(url), "0008")
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    try:
        s = await seed_before_codes(sessions)
        async with sessions() as session, session.begin():
            repository = IncidentRepository(session)
            first = await repository.add(new_incident(s))
            again = new_incident(s)
            again.sources = [replace(again.sources[0], url="http://m.vk.com/wall-1_100/?utm_source=tg", attachments=[])]
            again = await repository.add(again)
            part = new_incident(s)
            part.parent_id = first.id  # a split's part shares its parent's posts
            part = await repository.add(part)
    finally:
        await engine.dispose()
    await upgrade_async(url)
    engine = make_engine(url)
    try:
        async with make_session_factory(engine)() as session:
            rows = (await session.execute(sa.text("SELECT key, incident_id FROM posts ORDER BY id"))).all()
    finally:
        await engine.dispose()
    assert [(key, incident) for key, incident in rows] == [
        ("https://vk.com/wall-1_100", first.id),
        (post_key(first.sources[1]), first.id),  # without a link: its text and moment
    ]
    assert rows[1][0].startswith("text:")


async def test_reports_use_two_connections_except_on_in_memory_sqlite(tmp_path: Path) -> None:
    memory, file = make_engine("sqlite+aiosqlite://"), make_engine(f"sqlite+aiosqlite:///{tmp_path / 'f.sqlite3'}")
    try:
        assert not parallel_sessions(make_session_factory(memory))  # one shared connection
        assert parallel_sessions(make_session_factory(file))
    finally:
        await memory.dispose()
        await file.dispose()


async def test_demo_data_at_the_first_minutes_of_a_month_says_how_many_it_made(tmp_path: Path) -> None:
    """At 00:05 on the 1st in Moscow (21:05 UTC the day before) one month has no past to fill: demo-data makes
    nothing and says 0, not the number asked for; two months fill the previous one."""
    engine, sessions, flow = await _demo_database(f"sqlite+aiosqlite:///{tmp_path / 'demo.sqlite3'}")
    now = datetime(2026, 11, 30, 21, 5, tzinfo=UTC)
    try:
        first, last, made = await fill(sessions, flow, incidents=5, months=1, seed=7, now=now)
        assert (first, last, made) == (date(2026, 12, 1), date(2026, 12, 1), 0)
        first, last, made = await fill(sessions, flow, incidents=5, months=2, seed=7, now=now)
        assert (first, last) == (date(2026, 11, 1), date(2026, 12, 1)) and made == 5
        async with sessions() as session:
            assert (await session.scalar(sa.text("SELECT count(*) FROM incidents"))) == 5
    finally:
        await engine.dispose()
