"""The reminder sweep and the morning digest: one scheduler job, the database says what is due.

A tick claims the incidents whose `next_reminder_at` has come (an indexed query: its cost grows
with what is due, not with what is open), fires their due marks as outbox notices, records them,
and sets the next moment — all in one transaction, so a crash repeats the tick instead of losing
or doubling a reminder, and a second instance on the same database finds the rows already taken.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from time import perf_counter as time_now

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.domain import reminders
from bot.domain.incident import CLOSED_STATES, DeadlineKind, Role, State
from bot.services import Services
from storage.db import snapshot
from storage.directory import DirectoryRepository
from storage.incidents import IncidentRepository
from storage.outbox import OutboxRepository
from storage.reminders import ReminderRepository

log = logging.getLogger(__name__)

BATCH = 500
DIGEST_WINDOW = timedelta(hours=1)  # the morning digest goes out in the first working hour of the day, or not at all


class ReminderSweep:
    """The scheduler's one job (:meth:`run_once`): reminders and escalations (:meth:`tick`), the morning
    digest, the monthly report and the provisional-calendar warning, each queued through the outbox in the
    transaction that records it. ``batch``: incidents claimed per tick."""

    def __init__(self, services: Services, batch: int = BATCH) -> None:
        self.services = services
        self.batch = batch
        self._calendar_checked: date | None = None
        self._digest_day: date | None = None  # the working day whose digests are all queued
        self.observer: Callable[[float, bool], None] | None = None  # (seconds, failed) per run: bot.metrics

    async def tick(self) -> int:
        """Fire every due reminder; returns how many notices were queued."""
        now = self.services.clock.now()
        workflow = self.services.workflow
        queued = 0
        async with self.services.sessions() as session, session.begin():
            reminders_repo = ReminderRepository(session)
            due = await reminders_repo.claim_due(now, self.batch)
            if not due:
                return 0
            audience = await self.services.audience(session)
            sent = await reminders_repo.sent_marks(i.id for i in due if i.id is not None)
            rows: list[dict[str, object]] = []
            recorded: list[tuple[int, str]] = []
            next_at: dict[int, datetime | None] = {}
            for incident in due:
                assert incident.id is not None
                result = reminders.plan(incident, workflow, sent.get(incident.id, set()), now)
                for mark in result.fired:
                    for chat in sorted(audience.reminder_chats(mark.audience, incident)):
                        rows.append(
                            {
                                "chat_id": chat,
                                "incident_id": incident.id,
                                "payload": {
                                    "kind": "card",
                                    "incident_id": incident.id,
                                    "fresh": True,
                                    "note": f"reminder:{mark.note}",
                                },
                            }
                        )
                recorded += [(incident.id, m.dedupe) for m in [*result.fired, *result.folded]]
                next_at[incident.id] = result.next_at
            await OutboxRepository(session).add_many(rows)
            await reminders_repo.record_marks(recorded, now)
            await reminders_repo.set_next_reminders(next_at)
            queued = len(rows)
        if queued:
            self.services.outbox_ready.set()
        return queued

    def _working_day_begun(self, now: datetime) -> date | None:
        """Today in the curators' zone, if it is a working day and its working hours have begun."""
        cal = self.services.workflow.curator_calendar
        today = now.astimezone(cal.tz).date()
        spans = cal.spans(today)
        if not spans or now < datetime.combine(today, spans[0].start, tzinfo=cal.tz):
            return None
        return today

    def _start_of_working_day(self, now: datetime) -> date | None:
        """Today in the curators' zone, if ``now`` lies in the first DIGEST_WINDOW of working time of a working
        day: a "good morning" belongs to the morning, not to a bot (re)started at 14:30."""
        today = self._working_day_begun(now)
        if today is None:
            return None
        cal = self.services.workflow.curator_calendar
        opening = datetime.combine(today, cal.spans(today)[0].start, tzinfo=cal.tz)
        return today if now < cal.add(opening, DIGEST_WINDOW) else None

    async def digest(self) -> int:
        """At the start of their working day (its first working hour) curators and responsible officials get
        one summary: due today, overdue, waiting for approval. Once a day per person; a bot that was down all
        that hour sends none that day — the cards and reminders still come. Returns how many were queued.

        Computed once per recipient per working day, not on every tick: the outbox row's dedupe key
        (``digest:<chat>:<local date>``) records "sent for day D" and is read first; once every recipient has
        theirs, the sweep remembers the day and later ticks cost nothing. The lists are read in a snapshot
        (no write lock held while up to 1,000 incidents per scope are read), and the rows are written in one
        short unit of work (``storage.db``), so concurrent writers wait their turn instead of failing with
        "database is locked"."""
        now = self.services.clock.now()
        cal = self.services.workflow.curator_calendar
        today = self._start_of_working_day(now)
        if today is None or self._digest_day == today:
            return 0
        spans = cal.spans(today)
        day_end = datetime.combine(today, spans[-1].end, tzinfo=cal.tz)
        async with snapshot(self.services.sessions) as session, session.begin():
            directory = DirectoryRepository(session)
            recipients: list[tuple[int, tuple[int, ...] | None]] = [
                (u.telegram_id, None) for u in await directory.users_with_role(Role.curator)
            ]
            for department in await directory.list_departments():
                if department.responsible_user_id is not None:
                    head = await directory.get_user(department.responsible_user_id)
                    recipients.append((head.telegram_id, (department.id,)))
            keys = {chat: f"digest:{chat}:{today.isoformat()}" for chat, _ in recipients}
            done = await OutboxRepository(session).existing_keys(keys.values())
            waiting = [(chat, scope) for chat, scope in recipients if keys[chat] not in done]
            lists: dict[tuple[int, ...] | None, dict[str, list[int]]] = {}
            for _, scope in waiting:
                if scope not in lists:  # every curator reads the same lists: computed once
                    lists[scope] = await self._digest_lists(IncidentRepository(session), scope, now, day_end)
        queued = 0
        if waiting:
            async with self.services.sessions() as session, session.begin():
                outbox = OutboxRepository(session)
                for chat, scope in waiting:
                    payload = {"kind": "text", "key": "digest", "params": {"date": today.isoformat(), **lists[scope]}}
                    if await outbox.add(chat, payload, dedupe_key=keys[chat]) is not None:
                        queued += 1
        self._digest_day = today
        if queued:
            self.services.outbox_ready.set()
        return queued

    @staticmethod
    async def _digest_lists(
        repo: IncidentRepository, scope: tuple[int, ...] | None, now: datetime, day_end: datetime
    ) -> dict[str, list[int]]:
        """One digest's numbers for a scope (department ids; None: every department): answer due by
        ``day_end``, overdue, waiting for approval."""
        open_states = [s for s in State if s not in CLOSED_STATES]
        items, _ = await repo.search(
            states=open_states, department_ids=list(scope) if scope is not None else None, limit=1000
        )
        return {
            "due_today": [i.id for i in items if (d := i.deadlines.get(DeadlineKind.answer)) and now <= d <= day_end],
            "overdue": [
                i.id
                for i in items
                if any(d < now for k, d in i.deadlines.items() if k in (DeadlineKind.answer, DeadlineKind.final))
            ],
            "approval": [i.id for i in items if i.state in (State.on_approval, State.on_external_approval)],
        }

    async def monthly_report(self) -> int:
        """The preset's monthly summary to its recipients (Отрадная п. 23: to the first deputy by the
        10th; Боровичи п. 22, Удмуртия п. 21: monthly, no day set — the first working day)."""
        preset = self.services.workflow.preset
        if preset.monthly_report_to.value is None:
            return 0
        cal = self.services.workflow.curator_calendar
        today = self._working_day_begun(self.services.clock.now())
        if today is None:
            return 0
        # Sent on the first working day of the month, so it arrives by the preset's day at the latest.
        month_start = today.replace(day=1)
        first_working = next(
            (month_start + timedelta(days=d) for d in range(31) if cal.spans(month_start + timedelta(days=d))),
            month_start,
        )
        if today < first_working:
            return 0
        previous = (month_start - timedelta(days=1)).replace(day=1)
        queued = 0
        async with self.services.sessions() as session, session.begin():
            # Only a month the organisation worked in the bot: on a fresh database the month before the
            # bot existed has nothing to report (the first recorded action must precede this month).
            first = await IncidentRepository(session).first_activity()
            if first is None or first >= datetime.combine(month_start, time(0), tzinfo=cal.tz):
                return 0
            outbox = OutboxRepository(session)
            for user in await DirectoryRepository(session).users_with_role(preset.monthly_report_to.value):
                key = f"report:{previous:%Y-%m}:{user.telegram_id}"
                payload = {"kind": "report", "month": f"{previous:%Y-%m}"}
                if await outbox.add(user.telegram_id, payload, dedupe_key=key) is not None:
                    queued += 1
        if queued:
            self.services.outbox_ready.set()
        return queued

    async def calendar_warning(self) -> int:
        """Tell the administrators, once per year, when an open deadline runs into a year whose production
        calendar is provisional (no government decree known: Labour Code art. 112 moves only), so they enter
        the decree in the config or update the ``holidays`` package. Looked at once a day."""
        now = self.services.clock.now()
        cal = self.services.workflow.calendar
        today = now.astimezone(cal.tz).date()
        if self._calendar_checked == today:
            return 0
        self._calendar_checked = today
        provisional = [y for y in (today.year, today.year + 1) if cal.year_status(y).provisional]
        if not provisional:
            return 0
        queued = 0
        async with self.services.sessions() as session, session.begin():
            latest = await IncidentRepository(session).latest_open_deadline()
            if latest is None:
                return 0
            reached = [y for y in provisional if y <= latest.astimezone(cal.tz).year]
            outbox = OutboxRepository(session)
            for year in reached:
                log.warning("open deadlines run into %s", cal.year_status(year).describe())
                for user in await DirectoryRepository(session).users_with_role(Role.admin):
                    payload = {"kind": "text", "key": "calendar_provisional", "params": {"year": year}}
                    key = f"calendar-provisional:{year}:{user.telegram_id}"
                    if await outbox.add(user.telegram_id, payload, dedupe_key=key) is not None:
                        queued += 1
        if queued:
            self.services.outbox_ready.set()
        return queued

    async def run_once(self) -> None:
        """The scheduler job: reminders, then (once a day) the digest, the monthly report and the calendar check."""
        started, failed = time_now(), True
        try:
            await self.tick()
            settings = self.services.settings
            if settings is None or settings.reminders.morning_digest:
                await self.digest()
            await self.monthly_report()
            await self.calendar_warning()
            failed = False
        except Exception:  # the next tick retries; a job must not die silently
            log.exception("reminder sweep failed")
        finally:
            if self.observer is not None:
                self.observer(time_now() - started, failed)


def start_scheduler(sweep: ReminderSweep, seconds: int) -> AsyncIOScheduler:
    """One job for everything, in the running loop (STYLE: never one job per incident)."""
    scheduler = AsyncIOScheduler(timezone="UTC")
    scheduler.add_job(
        sweep.run_once,
        "interval",
        seconds=seconds,
        id="reminder-sweep",
        max_instances=1,
        coalesce=True,
        misfire_grace_time=max(60, seconds * 10),
        next_run_time=datetime.now(tz=scheduler.timezone),
    )
    scheduler.start()
    return scheduler
