"""Reminders, escalation and alerts driven by a hand-moved clock (no sleeping): who hears what, when."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.domain.clock import ManualClock
from bot.domain.incident import DraftKind, Importance, Network, Role, Source
from bot.domain.presets import get_preset
from bot.domain.workflow import Workflow
from bot.domain.worktime import WeeklySchedule, WorkCalendar
from bot.services import Person, Services
from bot.sweep import ReminderSweep
from storage.directory import DirectoryRepository
from storage.outbox import OutboxRepository

CURATOR_CHAT, EXEC_CHAT, HEAD_CHAT, RESPONSIBLE_CHAT, DEPUTY_CHAT, BOSS_CHAT = 1001, 1002, 1003, 1004, 1005, 1006


@dataclass
class Office:
    svc: Services
    sweep: ReminderSweep
    clock: ManualClock
    curator: Person
    executor: Person
    department: int
    tz: ZoneInfo

    def at(self, text: str) -> datetime:
        return datetime.fromisoformat(f"2026-03-{text}").replace(tzinfo=self.tz)

    async def tick(self, text: str) -> list[tuple[int, str]]:
        """Move the clock, run the sweep, return the new (chat, note) notices."""
        self.clock.set(self.at(text))
        before = await queued(self.svc.sessions)
        await self.sweep.tick()
        after = await queued(self.svc.sessions)
        return [(chat, note) for chat, note in after[len(before) :]]


async def queued(sessions: async_sessionmaker[AsyncSession]) -> list[tuple[int, str]]:
    async with sessions() as session:
        rows = await OutboxRepository(session).pending(10_000)
    return [(r.chat_id, str(r.payload.get("note") or r.payload.get("key"))) for r in rows]


async def office(
    sessions: async_sessionmaker[AsyncSession], preset: str = "otradnaya", start: str = "10T10:00", **reminders: int
) -> Office:
    p = get_preset(preset)
    tz = ZoneInfo(p.timezone)
    clock = ManualClock(datetime.fromisoformat(f"2026-03-{start}").replace(tzinfo=tz))
    async with sessions() as session, session.begin():
        repo = DirectoryRepository(session)
        curator = await repo.add_user(CURATOR_CHAT, "Куратор", roles=[Role.curator])
        executor = await repo.add_user(EXEC_CHAT, "Исполнитель", roles=[Role.executor])
        await repo.add_user(HEAD_CHAT, "Глава", roles=[Role.head])
        responsible = await repo.add_user(RESPONSIBLE_CHAT, "Начальник отдела", roles=[])
        department = await repo.add_department("ЖКХ", responsible_user_id=responsible.id)
        await repo.add_membership(executor.id, department.id)
        topic = await repo.add_topic("Мусор")
    settings = Settings.model_validate({"organisation": {"preset": preset}, "reminders": reminders})
    svc = Services(sessions, Workflow(p, WorkCalendar(tz, WeeklySchedule.standard())), clock, settings)
    assert topic.id == 1
    return Office(
        svc,
        ReminderSweep(svc),
        clock,
        Person(curator.id, CURATOR_CHAT, "Куратор", "ru", frozenset({Role.curator}), frozenset(), frozenset()),
        Person(
            executor.id, EXEC_CHAT, "Исп.", "ru", frozenset({Role.executor}), frozenset({department.id}), frozenset()
        ),
        department.id,
        tz,
    )


def post(o: Office, n: int = 1) -> Source:
    return Source(Network.vk, f"https://vk.com/wall-1_{n}", f"Автор {n}", "Мусор не вывозят", o.clock.now())


async def sweep_day(o: Office, start: str, end: str, step_minutes: int = 5) -> list[tuple[str, int, str]]:
    """Tick every few minutes between two moments; the fired notices with their local time."""
    fired: list[tuple[str, int, str]] = []
    moment, stop = o.at(start), o.at(end)
    while moment <= stop:
        for chat, note in await o.tick(moment.strftime("%dT%H:%M")):
            fired.append((moment.strftime("%d %H:%M"), chat, note))
        moment += timedelta(minutes=step_minutes)
    return fired


async def test_each_mark_fires_once_in_working_time_for_otradnaya(sessions: async_sessionmaker[AsyncSession]) -> None:
    o = await office(sessions)
    incident = await o.svc.register(o.curator, [post(o)])
    o.clock.set(o.at("10T10:20"))  # routed after half of the 30-minute routing window
    fired = await sweep_day(o, "10T10:00", "10T10:20")
    await o.svc.route(o.curator, incident.id, [o.department])
    fired += await sweep_day(o, "10T10:25", "10T10:40")
    o.clock.set(o.at("10T10:40"))
    await o.svc.accept(o.executor, incident.id)
    fired += await sweep_day(o, "10T10:45", "11T10:30")
    assert fired == [
        ("10 10:15", CURATOR_CHAT, "reminder:routing_half"),  # п. 10: 30 working minutes, half-time
        ("10 10:35", EXEC_CHAT, "reminder:not_ours_half"),  # п. 11: 30 minutes to return "not ours"
        ("10 16:00", EXEC_CHAT, "reminder:draft_due"),  # п. 12: 3 working hours before the deadline
        ("11 09:00", EXEC_CHAT, "reminder:answer_1h"),  # one working hour before (18:00 → 09:00 is night)
        ("11 10:00", EXEC_CHAT, "reminder:answer_due"),
        ("11 10:00", CURATOR_CHAT, "reminder:answer_overdue"),  # escalation: curator and responsible
        ("11 10:00", RESPONSIBLE_CHAT, "reminder:answer_overdue"),
    ]


@pytest.mark.parametrize(
    ("preset", "expected"),
    [
        # Ключи sets no routing term: the first reminder is the draft mark, 4 h before 9 W-h.
        ("kluchi", [("10 16:00", "reminder:draft_due"), ("11 10:00", "reminder:answer_1h")]),
        ("borovichi", [("10 10:15", "reminder:routing_half"), ("10 15:00", "reminder:draft_due")]),
        ("petrovsky", [("10 10:30", "reminder:routing_half"), ("10 14:00", "reminder:draft_due")]),
        ("udmurtia", [("10 10:30", "reminder:routing_half"), ("11 15:00", "reminder:draft_due")]),
    ],
)
async def test_marks_follow_each_preset(
    sessions: async_sessionmaker[AsyncSession], preset: str, expected: list[tuple[str, str]]
) -> None:
    o = await office(sessions, preset)
    incident = await o.svc.register(o.curator, [post(o)])
    fired = await sweep_day(o, "10T10:00", "10T10:40")
    o.clock.set(o.at("10T10:40"))
    await o.svc.route(o.curator, incident.id, [o.department])
    await o.svc.accept(o.executor, incident.id)
    fired += await sweep_day(o, "10T10:45", "11T16:00")
    got = [(when, note) for when, _, note in fired]
    for item in expected:
        assert item in got, got
    assert not [w for w, _ in got if not "09:00" <= w[3:] <= "18:00"]  # nothing at night


async def test_bot_down_overnight_catches_up_with_one_reminder_in_the_morning(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    o = await office(sessions, start="10T16:30")
    incident = await o.svc.register(o.curator, [post(o)])
    # The bot was down from 16:30 to 21:00: the routing half (16:45) and expiry (17:00) passed.
    assert await o.tick("10T21:00") == []  # night: nobody is woken up
    morning = await o.tick("11T09:00")
    assert morning == [(CURATOR_CHAT, "reminder:routing_expiry")]  # one catch-up, not a flood
    assert await o.tick("11T09:05") == []
    assert incident.id is not None


async def test_high_importance_reminds_even_at_night(sessions: async_sessionmaker[AsyncSession]) -> None:
    o = await office(sessions, start="10T17:30")
    await o.svc.register(o.curator, [post(o)], importance=Importance.high)
    # The routing window closed at 18:00 while the bot was down; at 21:00 it does not wait for morning.
    assert await o.tick("10T21:00") == [(CURATOR_CHAT, "reminder:routing_expiry")]


async def test_reminders_of_an_absent_executor_go_to_the_substitute(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    o = await office(sessions)
    async with sessions() as session, session.begin():
        repo = DirectoryRepository(session)
        deputy = await repo.add_user(DEPUTY_CHAT, "Заместитель", roles=[Role.executor])
        await repo.add_absence(o.executor.id, deputy.id, o.at("01T00:00"), o.at("31T00:00"), "отпуск")
    incident = await o.svc.register(o.curator, [post(o)])
    await o.svc.route(o.curator, incident.id, [o.department])
    assert await o.tick("10T10:15") == [(DEPUTY_CHAT, "reminder:not_ours_half")]
    assert await o.tick("10T10:30") == [(DEPUTY_CHAT, "reminder:not_ours_expiry")]
    assert EXEC_CHAT not in [chat for chat, _ in await queued(sessions)]  # the absent executor is left alone


async def test_importance_raised_replaces_the_reminders_of_the_old_deadline(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    o = await office(sessions)
    incident = await o.svc.register(o.curator, [post(o)])
    await o.svc.route(o.curator, incident.id, [o.department])
    await o.svc.accept(o.executor, incident.id)
    o.clock.set(o.at("10T11:00"))
    await o.svc.change_importance(o.curator, incident.id, Importance.high)
    fired = await sweep_day(o, "10T11:05", "11T11:00")
    notes = [(when, chat, note) for when, chat, note in fired if chat == EXEC_CHAT]
    # The answer is now due at 15:00 (4 W-h from 10:00): one hour before at 13:00 (lunch) → 14:00.
    assert ("10 14:00", EXEC_CHAT, "reminder:answer_1h") in notes
    assert ("10 15:00", EXEC_CHAT, "reminder:answer_due") in notes
    assert not [n for n in notes if n[0].startswith("11")]  # the old Wednesday marks are gone


async def test_high_importance_incident_is_reported_to_the_head_at_once(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    o = await office(sessions)  # Отрадная п. 24
    await o.svc.register(o.curator, [post(o)], importance=Importance.high)
    assert (HEAD_CHAT, "high_importance") in await queued(sessions)
    other = await office_like(sessions, o, "kluchi")
    await other.svc.register(other.curator, [post(other, 2)], importance=Importance.high)
    assert [c for c, n in await queued(sessions) if n == "high_importance"] == [HEAD_CHAT]  # not for Ключи


async def office_like(sessions: async_sessionmaker[AsyncSession], o: Office, preset: str) -> Office:
    p = get_preset(preset)
    svc = Services(
        sessions,
        Workflow(p, WorkCalendar(p.timezone, WeeklySchedule.standard())),
        o.clock,
        Settings.model_validate({"organisation": {"preset": preset}}),
    )
    return Office(svc, ReminderSweep(svc), o.clock, o.curator, o.executor, o.department, o.tz)


async def test_surge_on_one_topic_alerts_curator_and_head_once(sessions: async_sessionmaker[AsyncSession]) -> None:
    o = await office(sessions, surge_count=3, surge_window_minutes=60)
    for n in range(5):
        o.clock.set(o.at(f"10T10:{10 * n:02d}"))
        await o.svc.register(o.curator, [post(o, n)], topic_ids=[1])
    alerts = [chat for chat, note in await queued(sessions) if note == "surge"]
    assert sorted(alerts) == [CURATOR_CHAT, HEAD_CHAT]


async def test_morning_digest_once_at_the_start_of_the_working_day(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    o = await office(sessions, start="10T10:00")
    incident = await o.svc.register(o.curator, [post(o)])
    await o.svc.route(o.curator, incident.id, [o.department])
    await o.svc.accept(o.executor, incident.id)
    await o.svc.submit_draft(o.executor, incident.id, DraftKind.answer, "Ответ")
    o.clock.set(o.at("11T08:59"))
    assert await o.sweep.digest() == 0
    o.clock.set(o.at("11T09:00"))
    assert await o.sweep.digest() == 2  # the curator and the department's responsible official
    assert await o.sweep.digest() == 0
    async with sessions() as session:
        rows = [r for r in await OutboxRepository(session).pending(100) if r.payload.get("key") == "digest"]
    curator_digest = next(r for r in rows if r.chat_id == CURATOR_CHAT).payload["params"]
    assert curator_digest["due_today"] == [incident.id] and curator_digest["approval"] == [incident.id]


async def test_the_digest_is_computed_once_a_working_day_per_scope_not_on_every_tick(
    sessions: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch
) -> None:
    from storage.incidents import IncidentRepository

    o = await office(sessions, start="10T10:00")
    async with sessions() as session, session.begin():
        await DirectoryRepository(session).add_user(DEPUTY_CHAT, "Второй куратор", roles=[Role.curator])
    first = await o.svc.register(o.curator, [post(o)])
    searches: list[object] = []
    search = IncidentRepository.search

    async def counted(self: IncidentRepository, **filters: object) -> object:
        searches.append(filters.get("department_ids"))
        return await search(self, **filters)  # type: ignore[arg-type]

    monkeypatch.setattr(IncidentRepository, "search", counted)
    o.clock.set(o.at("11T09:00"))
    assert await o.sweep.digest() == 3  # two curators and the responsible official
    assert sorted(map(str, searches)) == ["None", f"[{o.department}]"]  # the curators' lists are read once
    await o.svc.register(o.curator, [post(o, 2)])
    o.clock.set(o.at("11T09:30"))  # later ticks of the same morning read nothing
    assert await o.sweep.digest() == 0 and len(searches) == 2
    assert await ReminderSweep(o.svc).digest() == 0  # a restart: the queued rows say the day is done
    assert len(searches) == 2
    async with sessions() as session:
        rows = [r for r in await OutboxRepository(session).pending(100) if r.payload.get("key") == "digest"]
    assert sorted(r.chat_id for r in rows) == [CURATOR_CHAT, RESPONSIBLE_CHAT, DEPUTY_CHAT]
    assert {r.payload["params"]["date"] for r in rows} == {"2026-03-11"}
    assert next(r for r in rows if r.chat_id == DEPUTY_CHAT).payload["params"]["due_today"] == [first.id]
    o.clock.set(o.at("12T09:00"))  # the next working day: computed again
    assert await o.sweep.digest() == 3 and len(searches) == 4


async def test_two_sweepers_on_one_database_send_each_reminder_once(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    o = await office(sessions)
    for n in range(20):
        await o.svc.register(o.curator, [post(o, n)])
    second = ReminderSweep(o.svc)
    o.clock.set(o.at("10T10:15"))
    results = await asyncio.gather(o.sweep.tick(), second.tick(), return_exceptions=True)
    sent = [r for r in results if isinstance(r, int)]
    assert sum(sent) == 20, results
    assert len([n for _, n in await queued(sessions) if n == "reminder:routing_half"]) == 20


async def test_monthly_report_goes_to_the_preset_recipient_once_on_the_first_working_day(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    o = await office(sessions, start="10T10:00")  # Отрадная п. 23: to the first deputy (head role) by the 10th
    await o.svc.register(o.curator, [post(o)])  # the organisation works in the bot in March
    o.clock.set(datetime(2026, 4, 1, 8, 30, tzinfo=o.tz))
    assert await o.sweep.monthly_report() == 0  # before the working day starts
    o.clock.set(datetime(2026, 4, 1, 9, 0, tzinfo=o.tz))
    assert await o.sweep.monthly_report() == 1
    assert await o.sweep.monthly_report() == 0  # once
    async with sessions() as session:
        rows = [r for r in await OutboxRepository(session).pending(100) if r.payload.get("kind") == "report"]
    assert [(r.chat_id, r.payload["month"]) for r in rows] == [(HEAD_CHAT, "2026-03")]
    kluchi = await office_like(sessions, o, "kluchi")  # Ключи sets no monthly summary
    assert await kluchi.sweep.monthly_report() == 0
