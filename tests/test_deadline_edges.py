"""Deadlines at the edges, seen by the people: a breach kept while paused, reminders that say the real time left,
the morning digest in the morning, the monthly report only for months worked, and the warning about a
provisional calendar year (issue 10, §4–§6)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.domain import reminders
from bot.domain.clock import ManualClock
from bot.domain.incident import DeadlineKind, DraftKind, Incident, Network, Role, Source
from bot.domain.presets import get_preset
from bot.domain.workflow import Workflow
from bot.domain.worktime import WorkCalendar
from bot.i18n import make_i18n
from bot.report import build_report, build_stats, parse_month
from bot.services import Person, Services
from bot.sweep import ReminderSweep
from handlers.delivery import render_text
from handlers.render import card_text, with_locale
from storage.directory import DirectoryRepository
from storage.outbox import OutboxRepository

Sessions = async_sessionmaker[AsyncSession]
CURATOR_CHAT, EXEC_CHAT, HEAD_CHAT, RESPONSIBLE_CHAT, ADMIN_CHAT = 2001, 2002, 2003, 2004, 2005


@dataclass
class Desk:
    svc: Services
    sweep: ReminderSweep
    clock: ManualClock
    curator: Person
    executor: Person
    responsible: Person
    department: int
    tz: ZoneInfo

    def at(self, text: str) -> datetime:
        return datetime.fromisoformat(text).replace(tzinfo=self.tz)

    def set(self, text: str) -> None:
        self.clock.set(self.at(text))

    async def notices(self) -> list[tuple[int, str]]:
        async with self.svc.sessions() as session:
            rows = await OutboxRepository(session).pending(10_000)
        return [(r.chat_id, str(r.payload.get("note") or r.payload.get("key") or r.payload.get("kind"))) for r in rows]

    async def card(self, incident_id: int, note: str | None = None, locale: str = "en") -> str:
        incident = await self.svc.get(incident_id)
        with with_locale(make_i18n(), locale):
            return card_text(incident, await self.svc.directory(), self.svc, locale, note=note)

    async def new_incident(self) -> Incident:
        source = Source(
            Network.vk, f"https://vk.com/wall-1_{self.clock.now():%Y%m%d%H%M%S}", "Автор", "Яма", self.clock.now()
        )
        incident = await self.svc.register(self.curator, [source])
        assert incident.id is not None
        return incident


async def desk(sessions: Sessions, preset: str, start: str, **overrides: str) -> Desk:
    p = get_preset(preset).with_overrides(overrides)
    tz = ZoneInfo(p.timezone)
    async with sessions() as session, session.begin():
        repo = DirectoryRepository(session)
        curator = await repo.add_user(CURATOR_CHAT, "Куратор", roles=[Role.curator])
        executor = await repo.add_user(EXEC_CHAT, "Исполнитель", roles=[Role.executor])
        await repo.add_user(HEAD_CHAT, "Глава", roles=[Role.head])
        await repo.add_user(ADMIN_CHAT, "Администратор", roles=[Role.admin])
        responsible = await repo.add_user(RESPONSIBLE_CHAT, "Начальник отдела", roles=[])
        department = await repo.add_department("ЖКХ", responsible_user_id=responsible.id)
        await repo.add_membership(executor.id, department.id)
    clock = ManualClock(datetime.fromisoformat(start).replace(tzinfo=tz))
    settings = Settings.model_validate({"organisation": {"preset": preset, "overrides": overrides}})
    svc = Services(sessions, Workflow(p, WorkCalendar(tz)), clock, settings)
    return Desk(
        svc,
        ReminderSweep(svc),
        clock,
        Person(curator.id, CURATOR_CHAT, "Куратор", "en", frozenset({Role.curator}), frozenset(), frozenset()),
        Person(
            executor.id, EXEC_CHAT, "Исп.", "en", frozenset({Role.executor}), frozenset({department.id}), frozenset()
        ),
        Person(responsible.id, RESPONSIBLE_CHAT, "Нач.", "en", frozenset(), frozenset(), frozenset({department.id})),
        department.id,
        tz,
    )


# --- §4: a breach stays visible while the clock is paused ------------------------------------------------


async def test_an_incident_overdue_before_a_clarification_stays_overdue_while_paused(sessions: Sessions) -> None:
    # Боровичи: detected Mon 07.12.2026 10:00, 8 W-h (п. 8): Mon 10–13 3h + 14–18 4h, Tue 09–10 1h → due
    # Tue 08.12 10:00. The clarification is approved Tue 12:00, after the deadline (п. 10 pauses the clock);
    # the author replies Wed 12:00.
    d = await desk(sessions, "borovichi", "2026-12-07 10:00")
    incident = await d.new_incident()
    d.set("2026-12-07 10:20")
    await d.svc.route(d.curator, incident.id, [d.department])
    await d.svc.accept(d.executor, incident.id)
    due = d.at("2026-12-08 10:00")
    assert (await d.svc.get(incident.id)).deadlines[DeadlineKind.answer] == due
    d.set("2026-12-08 10:00")
    await d.sweep.tick()  # the deadline: the escalation to the responsible official and the curator
    escalated = [chat for chat, note in await d.notices() if note == "reminder:answer_overdue"]
    assert sorted(escalated) == [CURATOR_CHAT, RESPONSIBLE_CHAT]
    d.set("2026-12-08 11:30")
    await d.svc.submit_draft(d.executor, incident.id, DraftKind.clarification, "Уточните адрес, пожалуйста")
    d.set("2026-12-08 12:00")
    await d.svc.approve(d.curator, incident.id)

    d.set("2026-12-08 15:00")
    paused = await d.svc.get(incident.id)
    assert paused.open_pause is not None
    assert paused.deadlines[DeadlineKind.answer] == due  # the breach is kept, not dropped with the clock
    card = await d.card(incident.id)
    assert "Answer due: Tue, 8 December, 10:00 (overdue by 4 hours of working time)" in card
    assert "⏸ The answer clock is paused since" in card
    for person in (d.curator, d.responsible):
        items, total = await d.svc.queue(person, "overdue", 0)
        assert [i.id for i in items] == [incident.id] and total == 1
    stats = await build_stats(sessions, d.svc.workflow, d.clock.now())
    assert stats.figures.overdue_now == 1
    await d.sweep.tick()
    assert [n for _, n in await d.notices()].count("reminder:answer_overdue") == 2  # not repeated
    d.set("2026-12-09 09:00")
    await d.sweep.digest()  # the responsible official's morning: the incident is listed as overdue
    async with sessions() as session:
        rows = await OutboxRepository(session).pending(1000)
    digest = next(r for r in rows if r.chat_id == RESPONSIBLE_CHAT and r.payload.get("key") == "digest")
    assert digest.payload["params"]["overdue"] == [incident.id]
    report = await build_report(sessions, d.svc.workflow, parse_month("2026-12"), None, d.clock.now())
    assert [item.incident_id for item in report.timeliness.overdue] == [incident.id]

    d.set("2026-12-09 12:00")
    await d.svc.author_reply(d.curator, incident.id)
    assert (await d.svc.get(incident.id)).deadlines[DeadlineKind.answer] == due  # still overdue after the reply


async def test_an_incident_paused_in_time_has_no_deadline_until_the_author_replies(sessions: Sessions) -> None:
    # The same, but the clarification is approved Mon 12:00 with 6 working hours left: the clock stops.
    d = await desk(sessions, "borovichi", "2026-12-07 10:00")
    incident = await d.new_incident()
    await d.svc.route(d.curator, incident.id, [d.department])
    await d.svc.accept(d.executor, incident.id)
    await d.svc.submit_draft(d.executor, incident.id, DraftKind.clarification, "Уточните адрес, пожалуйста")
    d.set("2026-12-07 12:00")
    await d.svc.approve(d.curator, incident.id)
    d.set("2026-12-08 15:00")
    assert DeadlineKind.answer not in (await d.svc.get(incident.id)).deadlines
    assert (await d.svc.queue(d.curator, "overdue", 0))[1] == 0
    # The author replies Wed 09.12 12:00: the 6 h left run from then — 12–13 1h, 14–18 4h, Thu 09–10 1h.
    d.set("2026-12-09 12:00")
    await d.svc.author_reply(d.curator, incident.id)
    assert (await d.svc.get(incident.id)).deadlines[DeadlineKind.answer] == d.at("2026-12-10 10:00")


# --- §3: the card says which window was cut to the answer deadline -----------------------------------------


async def test_the_card_says_the_publication_window_is_cut_to_the_answer_deadline(sessions: Sessions) -> None:
    # Удмуртия, detected Tue 15.09.2026 10:00: answer Thu 17.09 10:00 (п. 10). The draft, approved Thu 09:30,
    # has 1 h to be published (п. 14), which would end 10:30: the card shows 10:00 and says why.
    d = await desk(sessions, "udmurtia", "2026-09-15 10:00")
    incident = await d.new_incident()
    await d.svc.route(d.curator, incident.id, [d.department])
    await d.svc.accept(d.executor, incident.id)
    d.set("2026-09-17 09:00")
    await d.svc.submit_draft(d.executor, incident.id, DraftKind.answer, "Яму заделают до пятницы")
    d.set("2026-09-17 09:30")
    await d.svc.approve(d.curator, incident.id)
    saved = await d.svc.get(incident.id)
    assert saved.deadlines[DeadlineKind.publication] == d.at("2026-09-17 10:00")
    card = await d.card(incident.id)
    assert "Publication due: Thu, 17 September, 10:00" in card
    assert "✂ Publication due: cut to the answer deadline (its own term would end Thu, 17 September, 10:30)" in card
    ru = await d.card(incident.id, locale="ru")
    assert "✂ Срок размещения ответа: сокращён до срока ответа (по своему сроку — чт, 17 сентября, 10:30)" in ru


# --- §6: reminders only inside their term, stating the real time left --------------------------------------


async def test_a_term_shorter_than_an_hour_has_no_one_hour_reminder(sessions: Sessions) -> None:
    d = await desk(sessions, "otradnaya", "2026-03-10 10:00", answer_normal="4m")
    incident = await d.new_incident()
    await d.svc.route(d.curator, incident.id, [d.department])
    await d.svc.accept(d.executor, incident.id)
    saved = await d.svc.get(incident.id)
    assert saved.deadlines[DeadlineKind.answer] == d.at("2026-03-10 10:04")
    keys = [m.key for m in reminders.marks(saved, d.svc.workflow)]
    assert not [k for k in keys if k.startswith("answer:1h")]
    await d.sweep.tick()
    assert "reminder:answer_1h" not in [n for _, n in await d.notices()]
    d.set("2026-03-10 10:04")
    await d.sweep.tick()
    assert (EXEC_CHAT, "reminder:answer_due") in await d.notices()


async def test_a_reminder_states_the_working_time_really_left(sessions: Sessions) -> None:
    # Отрадная, detected Tue 10.03.2026 10:00: answer Wed 11.03 10:00. The one-hour mark (Wed 09:00) goes out
    # late, at 09:30 after a restart: the reminder says 30 minutes, not an hour.
    d = await desk(sessions, "otradnaya", "2026-03-10 10:00")
    incident = await d.new_incident()
    d.set("2026-03-11 09:30")
    card = await d.card(incident.id, note="reminder:answer_1h")
    assert card.splitlines()[0] == "🔔 Reminder: the answer deadline is near — 30 minutes of working time left"
    ru = await d.card(incident.id, note="reminder:answer_1h", locale="ru")
    assert ru.splitlines()[0] == "🔔 Напоминание: приближается срок ответа — осталось 30 минут рабочего времени"


async def test_half_time_of_a_cut_window_is_the_middle_of_what_is_left(sessions: Sessions) -> None:
    # Удмуртия, answer Thu 17.09.2026 10:00; a draft submitted Thu 09:20 has until 10:00 for the decision
    # (п. 12's hour cut to the deadline): half-time is 09:40, not 09:50.
    d = await desk(sessions, "udmurtia", "2026-09-15 10:00")
    incident = await d.new_incident()
    await d.svc.route(d.curator, incident.id, [d.department])
    await d.svc.accept(d.executor, incident.id)
    d.set("2026-09-17 09:20")
    saved = await d.svc.submit_draft(d.executor, incident.id, DraftKind.answer, "Ответ")
    halves = {m.key: m.at for m in reminders.marks(saved, d.svc.workflow) if m.key.endswith(":half")}
    assert halves == {"approval:1:half": d.at("2026-09-17 09:40")}


# --- §6: the morning digest in the morning, with the reader's date ------------------------------------------


async def test_the_digest_goes_out_at_the_start_of_the_working_day_not_on_a_start_at_14_30(
    sessions: Sessions,
) -> None:
    d = await desk(sessions, "otradnaya", "2026-03-10 10:00")
    await d.new_incident()
    d.set("2026-03-11 14:30")  # the bot (re)starts in the afternoon
    assert await d.sweep.digest() == 0
    d.set("2026-03-12 09:00")
    assert await d.sweep.digest() == 2  # the curator and the responsible official
    d.set("2026-03-13 09:59")
    assert await d.sweep.digest() == 2  # within the first working hour
    d.set("2026-03-16 10:00")
    assert await d.sweep.digest() == 0  # an hour after the opening: not "good morning" any more


def test_the_digest_date_is_written_in_the_readers_language() -> None:
    payload = {"kind": "text", "key": "digest", "params": {"date": "2026-03-12", "overdue": [7]}}
    assert render_text("ru", payload).splitlines()[0] == "Доброе утро! Инциденты на 12 марта 2026:"
    assert render_text("en", payload).splitlines()[0] == "Good morning! Incidents for 12 March 2026:"


# --- §6: the monthly report only for months the organisation worked in the bot ---------------------------


async def test_a_fresh_database_sends_no_report_for_the_month_before_the_bot(sessions: Sessions) -> None:
    # Отрадная п. 23: the summary for the month, by the 10th of the next. The bot starts on 15.04.2026.
    d = await desk(sessions, "otradnaya", "2026-04-15 10:00")
    assert await d.sweep.monthly_report() == 0  # March: nothing was done in the bot
    await d.new_incident()
    assert await d.sweep.monthly_report() == 0  # still March, even with April's first incident
    d.set("2026-05-04 09:00")  # May's first working day (1 May a holiday, 2–3 a weekend)
    assert await d.sweep.monthly_report() == 1
    reports = [(chat, note) for chat, note in await d.notices() if note == "report"]
    assert reports == [(HEAD_CHAT, "report")]


# --- §5: the administrators hear once when open deadlines run into a provisional year ----------------------


async def test_administrators_are_warned_once_when_a_deadline_falls_in_a_provisional_year(sessions: Sessions) -> None:
    # Удмуртия, December 2027: 2028 has no known decree. Detected Tue 28.12.2027 10:00, 2 working days
    # (п. 10): Wed 29 and Thu 30 → due Thu 30.12.2027 10:00, within 2027: no warning.
    d = await desk(sessions, "udmurtia", "2027-12-28 10:00")
    await d.new_incident()
    assert await d.sweep.calendar_warning() == 0
    # Thu 30.12.2027 10:00: 31.12 is a day off (decree), 1–9 January 2028 too → due Tue 11.01.2028 10:00.
    d.set("2027-12-30 10:00")
    await d.new_incident()
    assert await d.sweep.calendar_warning() == 1
    assert (ADMIN_CHAT, "calendar_provisional") in await d.notices()
    assert await d.sweep.calendar_warning() == 0  # looked at once a day
    d.set("2027-12-30 10:00")
    assert await ReminderSweep(d.svc).calendar_warning() == 0  # and told once, whichever instance looks
    text = render_text("ru", {"kind": "text", "key": "calendar_provisional", "params": {"year": 2028}})
    assert text.startswith("⚠️ Открытые сроки заходят в 2028 год")
    assert "[organisation.calendar] decrees" in text
