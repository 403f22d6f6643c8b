"""The workflow through real storage: one transaction per action, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain.clock import ManualClock
from bot.domain.errors import ConcurrentUpdate, DomainError, IllegalTransition
from bot.domain.incident import (
    DeadlineKind,
    DraftKind,
    Importance,
    Kind,
    Network,
    ReturnReason,
    Role,
    Source,
    State,
)
from bot.domain.presets import get_preset
from bot.domain.workflow import Workflow
from bot.domain.worktime import WeeklySchedule, WorkCalendar
from bot.services import Person, Services
from storage.directory import DirectoryRepository
from storage.incidents import IncidentRepository

MSK = ZoneInfo("Europe/Moscow")


async def directory(sessions: async_sessionmaker[AsyncSession]) -> tuple[Person, Person, list[int]]:
    async with sessions() as session, session.begin():
        repo = DirectoryRepository(session)
        curator = await repo.add_user(1001, "Куратор", roles=[Role.curator])
        executor = await repo.add_user(1002, "Исполнитель", roles=[Role.executor])
        deps = [(await repo.add_department(name)).id for name in ("ЖКХ", "Дороги")]
        await repo.add_membership(executor.id, deps[0])
    return (
        Person(curator.id, 1001, "Куратор", "ru", frozenset({Role.curator}), frozenset(), frozenset()),
        Person(executor.id, 1002, "Исполнитель", "ru", frozenset({Role.executor}), frozenset({deps[0]}), frozenset()),
        deps,
    )


def service(sessions: async_sessionmaker[AsyncSession], preset: str = "otradnaya") -> Services:
    p = get_preset(preset)
    clock = ManualClock(datetime(2026, 3, 10, 10, 0, tzinfo=MSK))
    return Services(sessions, Workflow(p, WorkCalendar(p.timezone, WeeklySchedule.standard())), clock)


def source() -> Source:
    return Source(
        Network.vk, "https://vk.com/wall-1_7", "Пётр", "Не вывозят мусор", datetime(2026, 3, 10, 10, 0, tzinfo=MSK)
    )


async def test_full_lifecycle_is_stored_with_its_audit_trail(sessions: async_sessionmaker[AsyncSession]) -> None:
    curator, executor, deps = await directory(sessions)
    svc = service(sessions)
    incident = await svc.register(curator, [source()])
    svc.clock.advance(timedelta(minutes=10))
    await svc.route(curator, incident.id, [deps[0]])
    await svc.accept(executor, incident.id)
    svc.clock.advance(timedelta(hours=2))
    await svc.submit_draft(executor, incident.id, DraftKind.answer, "Вывезем сегодня до 18:00.")
    await svc.return_draft(curator, incident.id, [ReturnReason.no_evidence], comment="Нужны фото")
    await svc.submit_draft(executor, incident.id, DraftKind.answer, "Вывезли, фото прилагаем.")
    stored = await svc.get(incident.id)
    assert stored.state is State.on_approval
    assert stored.deadlines[DeadlineKind.answer] == datetime(2026, 3, 11, 10, 0, tzinfo=MSK)
    assert stored.drafts[0].return_reasons == [ReturnReason.no_evidence]
    await svc.approve(curator, incident.id)
    await svc.publish(executor, incident.id, "https://vk.com/wall-1_7?reply=9")
    stored = await svc.get(incident.id)
    assert stored.state is State.published and stored.version == 7
    history = [e.name for e in await svc.history(incident.id)]
    assert history == [
        "registered",
        "routed",
        "accepted",
        "draft_submitted",
        "draft_returned",
        "draft_submitted",
        "approved",
        "published",
    ]


async def test_register_keeps_every_option_it_names(sessions: async_sessionmaker[AsyncSession]) -> None:
    """Services.register's named options reach the stored incident: a high-importance publication found at
    09:00, on two topics and a location, a repeat of an earlier incident, sent by the intake API."""
    curator, _, _ = await directory(sessions)
    async with sessions() as session, session.begin():
        repo = DirectoryRepository(session)
        roads, rubbish = (await repo.add_topic("Дороги")).id, (await repo.add_topic("Мусор")).id
        village = (await repo.add_location("с. Ключи")).id
    svc = service(sessions)
    earlier = await svc.register(curator, [source()])
    detected = datetime(2026, 3, 10, 9, 0, tzinfo=MSK)
    post = Source(Network.vk, "https://vk.com/wall-1_8", "Пётр", "Опять не вывезли", detected)
    incident = await svc.register(
        curator,
        [post],
        importance=Importance.high,
        kind=Kind.publication,
        topic_ids=[rubbish, roads, rubbish],
        location_id=village,
        detected_at=detected,
        repeat_of_id=earlier.id,
        via="api",
    )
    stored = await svc.get(incident.id)
    assert (stored.importance, stored.kind, stored.location_id) == (Importance.high, Kind.publication, village)
    assert stored.topic_ids == [rubbish, roads]
    assert stored.repeat_of == earlier.id
    assert stored.detected_at == detected
    # Отрадная: 4 working hours for a high-importance answer, counted from detection, not registration (10:00).
    assert stored.deadlines[DeadlineKind.answer] == datetime(2026, 3, 10, 13, 0, tzinfo=MSK)
    (registered,) = await svc.history(incident.id)
    assert registered.data == {"repeat_of": earlier.id, "via": "api"}


async def test_two_simultaneous_approvals_exactly_one_wins(sessions: async_sessionmaker[AsyncSession]) -> None:
    curator, executor, deps = await directory(sessions)
    svc = service(sessions)
    incident = await svc.register(curator, [source()])
    await svc.route(curator, incident.id, [deps[0]])
    await svc.accept(executor, incident.id)
    await svc.submit_draft(executor, incident.id, DraftKind.answer, "Ответ")
    other_curator = curator
    results = await asyncio.gather(
        svc.approve(curator, incident.id),
        svc.return_draft(other_curator, incident.id, [ReturnReason.spelling]),
        return_exceptions=True,
    )
    winners = [r for r in results if not isinstance(r, BaseException)]
    losers = [r for r in results if isinstance(r, BaseException)]
    assert len(winners) == 1 and len(losers) == 1
    assert isinstance(losers[0], ConcurrentUpdate | IllegalTransition)
    history = [e.name for e in await svc.history(incident.id)]
    assert history.count("approved") + history.count("draft_returned") == 1
    assert (await svc.get(incident.id)).state is winners[0].state


async def test_refused_action_leaves_the_stored_incident_untouched(sessions: async_sessionmaker[AsyncSession]) -> None:
    curator, executor, _ = await directory(sessions)
    svc = service(sessions)
    incident = await svc.register(curator, [source()])
    with pytest.raises(DomainError):
        await svc.accept(executor, incident.id)  # not routed yet
    stored = await svc.get(incident.id)
    assert stored.state is State.detected and stored.version == 0
    assert [e.name for e in await svc.history(incident.id)] == ["registered"]


async def test_split_saves_one_incident_per_department(sessions: async_sessionmaker[AsyncSession]) -> None:
    curator, _, deps = await directory(sessions)
    svc = service(sessions, "borovichi")
    incident = await svc.register(curator, [source()])
    await svc.split(curator, incident.id, deps)
    assert (await svc.get(incident.id)).state is State.split
    async with sessions() as session:
        children = await IncidentRepository(session).list_by_state([State.routed])
    assert sorted(c.assignments[0].department_id for c in children) == sorted(deps)
    assert all(c.parent_id == incident.id for c in children)


async def pending_chats(sessions: async_sessionmaker[AsyncSession]) -> list[tuple[int, bool, str]]:
    from storage.outbox import OutboxRepository

    async with sessions() as session:
        rows = await OutboxRepository(session).pending(100)
    # The actor's own card refresh (payload "refresh") is left out: these tests look at who else hears.
    return [(r.chat_id, r.payload["fresh"], r.payload["note"]) for r in rows if not r.payload.get("refresh")]


async def test_notices_are_queued_with_the_change_and_go_to_a_substitute(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    curator, executor, deps = await directory(sessions)
    svc = service(sessions)
    async with sessions() as session, session.begin():
        repo = DirectoryRepository(session)
        deputy = await repo.add_user(1003, "Заместитель", roles=[Role.executor])
        await repo.add_absence(
            executor.id, deputy.id, datetime(2026, 3, 1, tzinfo=MSK), datetime(2026, 3, 20, tzinfo=MSK)
        )
    incident = await svc.register(curator, [source()])
    await svc.route(curator, incident.id, [deps[0]])
    # The executor is on leave: the new incident goes to the deputy, not to the absent executor.
    assert await pending_chats(sessions) == [(1003, True, "routed")]
    stand_in = await svc.identify(1003)
    assert stand_in is not None and deps[0] in stand_in.departments
    await svc.accept(stand_in, incident.id)
    await svc.submit_draft(stand_in, incident.id, DraftKind.answer, "Ответ")
    assert (1001, True, "draft_submitted") in await pending_chats(sessions)
