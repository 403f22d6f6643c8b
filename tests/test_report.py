"""The monthly report: a hand-built March 2026 whose every figure is worked out by hand below.

The incidents go through the Workflow with a hand-set clock and are stored with the repositories,
on SQLite and (with OTKLIK_TEST_PG_URL) PostgreSQL. Working time: Europe/Moscow, Monday–Friday
9:00–18:00 with lunch 13:00–14:00; preset otradnaya (answer 8 working hours, 4 for high importance).
Every action happens before lunch, so within one morning working seconds are wall-clock seconds.
"""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain.errors import InvalidInput, NotAllowed
from bot.domain.incident import DraftKind, Importance, Incident, Kind, MultiMode, Network, ReturnReason, Role, Source
from bot.domain.presets import get_preset
from bot.domain.workflow import Actor, Workflow
from bot.domain.worktime import WeeklySchedule, WorkCalendar
from bot.report import (
    MonthlyReport,
    build_report,
    build_stats,
    parse_month,
    report_scopes,
    stats_text,
    summary_text,
)
from bot.report_files import chart_png, workbook_xlsx
from bot.texts import message_of, said
from storage.directory import DirectoryRepository
from storage.incidents import IncidentRepository

MSK = ZoneInfo("Europe/Moscow")


def at(day: str, hm: str = "10:00") -> datetime:
    return datetime.fromisoformat(f"2026-{day} {hm}").replace(tzinfo=MSK)


def workflow() -> Workflow:
    preset = get_preset("otradnaya")
    return Workflow(preset, WorkCalendar(preset.timezone, WeeklySchedule.standard()), organisation="Отрадная")


@dataclass
class Office:
    """The curator and two departments acting through the workflow; each action is one transaction."""

    sessions: async_sessionmaker[AsyncSession]
    flow: Workflow
    curator: Actor = field(init=False)
    a: Actor = field(init=False)  # executor of department A (ЖКХ)
    b: Actor = field(init=False)  # executor of department B (Дороги)
    dep: dict[str, int] = field(default_factory=dict)
    topic: dict[str, int] = field(default_factory=dict)
    location: int = 0

    async def setup(self) -> Office:
        async with self.sessions() as session, session.begin():
            repo = DirectoryRepository(session)
            curator = await repo.add_user(1, "Куратор", roles=[Role.curator])
            ea = await repo.add_user(2, "Исполнитель А", roles=[Role.executor])
            eb = await repo.add_user(3, "Исполнитель Б", roles=[Role.executor])
            self.dep = {"A": (await repo.add_department("ЖКХ")).id, "B": (await repo.add_department("Дороги")).id}
            self.topic = {"T1": (await repo.add_topic("Мусор")).id, "T2": (await repo.add_topic("Ямы")).id}
            self.location = (await repo.add_location("ст. Отрадная")).id
            await repo.add_membership(ea.id, self.dep["A"])
            await repo.add_membership(eb.id, self.dep["B"])
        self.curator = Actor(curator.id, frozenset({Role.curator}))
        self.a = Actor(ea.id, frozenset({Role.executor}), frozenset({self.dep["A"]}))
        self.b = Actor(eb.id, frozenset({Role.executor}), frozenset({self.dep["B"]}))
        return self

    async def register(
        self, now: datetime, network: Network, *, detected: datetime | None = None, **options: Any
    ) -> int:
        source = Source(network, None, "Автор", "Текст поста", detected or now)
        incident, events = self.flow.register(self.curator, now, [source], detected_at=detected, **options)
        async with self.sessions() as session, session.begin():
            await IncidentRepository(session).add(incident, events)
        assert incident.id is not None
        return incident.id

    async def act(self, incident_id: int, transition: Callable[[Incident], Any]) -> None:
        async with self.sessions() as session, session.begin():
            repo = IncidentRepository(session)
            incident = await repo.get(incident_id)
            result = transition(incident)
            await repo.save(incident, result[1] if isinstance(result, tuple) else result)

    async def answer(
        self,
        number: int,
        who: Actor,
        times: dict[str, str],
        *,
        kind: DraftKind = DraftKind.answer,
        returned: tuple[list[ReturnReason], str, str] | None = None,
    ) -> None:
        """Accept, draft (optionally returned with reasons, then redrafted), approve and publish,
        at the given "MM-DD HH:MM" moments."""
        f = self.flow
        if "accept" in times:
            await self.act(number, lambda i: f.accept(i, who, at(*times["accept"].split())))
        await self.act(number, lambda i: f.submit_draft(i, who, at(*times["draft"].split()), kind, "Ответ"))
        if returned is not None:
            reasons, when_returned, when_redrafted = returned
            await self.act(
                number,
                lambda i: f.return_draft(i, self.curator, at(*when_returned.split()), reasons, comment="Дополнить"),
            )
            await self.act(number, lambda i: f.submit_draft(i, who, at(*when_redrafted.split()), kind, "Ответ 2"))
        await self.act(number, lambda i: f.approve(i, self.curator, at(*times["approve"].split())))
        await self.act(
            number, lambda i: f.publish(i, who, at(*times["publish"].split()), "https://vk.com/wall-1_1?reply=2")
        )

    async def route(self, number: int, when: str, *deps: str, mode: MultiMode | None = None) -> None:
        ids = [self.dep[d] for d in deps]
        await self.act(number, lambda i: self.flow.route(i, self.curator, at(*when.split()), ids, mode))


async def build_march(sessions: async_sessionmaker[AsyncSession]) -> tuple[Office, dict[str, int]]:
    """Nine March incidents (0–8), two in February (P1, P2) and one in April (X)."""
    o = await Office(sessions, workflow()).setup()
    f, n = o.flow, {}
    T1, T2 = o.topic["T1"], o.topic["T2"]

    # February. P1: A, vk, T1 — routed +10 min, accepted +20, draft +30, published +40 min: on time.
    n["P1"] = await o.register(at("02-10"), Network.vk, topic_ids=[T1])
    await o.route(n["P1"], "02-10 10:10", "A")
    await o.answer(n["P1"], o.a, {"accept": "02-10 10:20", "draft": "02-10 10:30", "approve": "02-10 10:35",
                                  "publish": "02-10 10:40"})  # fmt: skip
    # P2: telegram, closed as not processable before routing.
    n["P2"] = await o.register(at("02-11"), Network.telegram)
    await o.act(n["P2"], lambda i: f.mark_not_processable(i, o.curator, at("02-11", "10:05"), "угрозы"))

    # 0: detected on Sunday 1 March 01:00 Moscow (28 February 22:00 UTC): March in the organisation's zone.
    # Its clock starts Monday 09:00 (no working time on Sunday). B, telegram, no topic. Registered Mon 09:00,
    # routed 09:30 (route 1800 s), accepted 09:40 (response 2400), draft 10:00 (3600), published 10:20 (4800).
    n["0"] = await o.register(at("03-02", "09:00"), Network.telegram, detected=at("03-01", "01:00"))
    await o.route(n["0"], "03-02 09:30", "B")
    await o.answer(n["0"], o.b, {"accept": "03-02 09:40", "draft": "03-02 10:00", "approve": "03-02 10:10",
                                 "publish": "03-02 10:20"})  # fmt: skip
    # 1: Tue 10 March 10:00, A, vk, T1: route 600, response 1800, draft 3600, publish 5400; first-time approval.
    n["1"] = await o.register(at("03-10"), Network.vk, topic_ids=[T1])
    await o.route(n["1"], "03-10 10:10", "A")
    await o.answer(n["1"], o.a, {"accept": "03-10 10:30", "draft": "03-10 11:00", "approve": "03-10 11:10",
                                 "publish": "03-10 11:30"})  # fmt: skip
    # 2: Wed 11 March, B, telegram, T2, high importance (due 15:00), location: route 1200, response 2400,
    # draft 3600 returned for spelling + no evidence, redrafted, approved, published 12:00 (7200), on time.
    n["2"] = await o.register(
        at("03-11"), Network.telegram, topic_ids=[T2], importance=Importance.high, location_id=o.location
    )
    await o.route(n["2"], "03-11 10:20", "B")
    await o.answer(
        n["2"],
        o.b,
        {"accept": "03-11 10:40", "draft": "03-11 11:00", "approve": "03-11 11:30", "publish": "03-11 12:00"},
        returned=([ReturnReason.spelling, ReturnReason.no_evidence], "03-11 11:10", "03-11 11:20"),
    )
    # 3: Thu 12 March, A, vk, T1, due Fri 13 March 10:00; route 1800, response 3600, draft 7200, published
    # Fri 11:00: Thu 10–13 + 14–18 + Fri 9–11 = 9 h = 32400 s, one working hour late.
    n["3"] = await o.register(at("03-12"), Network.vk, topic_ids=[T1])
    await o.route(n["3"], "03-12 10:30", "A")
    await o.answer(n["3"], o.a, {"accept": "03-12 11:00", "draft": "03-12 12:00", "approve": "03-12 12:30",
                                 "publish": "03-13 11:00"})  # fmt: skip
    # 4: Mon 30 March, B, ok, T2: intermediate answer published 11:00 (route 300, response 900, draft 2700,
    # publish 3600), on time; the final is due 8 April, after the month: awaiting_final, not overdue.
    n["4"] = await o.register(at("03-30"), Network.ok, topic_ids=[T2])
    await o.route(n["4"], "03-30 10:05", "B")
    await o.answer(
        n["4"],
        o.b,
        {"accept": "03-30 10:15", "draft": "03-30 10:45", "approve": "03-30 10:50", "publish": "03-30 11:00"},
        kind=DraftKind.intermediate,
    )
    # 5: Tue 17 March, joint A + B, site, topics T1 and T2: route 600; B's contribution 10:30 is the first
    # response (1800); A consolidates, accepts 10:50, drafts 11:10 (4200), published 11:40 (6000). Both
    # departments hold it.
    n["5"] = await o.register(at("03-17"), Network.site, topic_ids=[T1, T2])
    await o.route(n["5"], "03-17 10:10", "A", "B", mode=MultiMode.joint_parallel)
    await o.act(n["5"], lambda i: f.submit_draft(i, o.b, at("03-17", "10:30"), DraftKind.contribution, "Часть Б"))
    await o.act(n["5"], lambda i: f.designate_consolidator(i, o.curator, at("03-17", "10:40"), o.dep["A"]))
    await o.answer(n["5"], o.a, {"accept": "03-17 10:50", "draft": "03-17 11:10", "approve": "03-17 11:20",
                                 "publish": "03-17 11:40"})  # fmt: skip
    # 6: Wed 18 March, vk, a publication found by the administration, closed as not processable: no department.
    n["6"] = await o.register(at("03-18"), Network.vk, kind=Kind.publication)
    await o.act(n["6"], lambda i: f.mark_not_processable(i, o.curator, at("03-18", "10:05"), "оскорбления"))
    # 7: Thu 19 March, A, vk, T1: routed 600, accepted 1200, then nothing. Due Fri 20 March 10:00, still in
    # work at the end of the month: overdue by Fri 10–13, 14–18 (7 h) + 23–27 March (40 h) + 30–31 March
    # (16 h) = 63 working hours = 226800 s.
    n["7"] = await o.register(at("03-19"), Network.vk, topic_ids=[T1])
    await o.route(n["7"], "03-19 10:10", "A")
    await o.act(n["7"], lambda i: f.accept(i, o.a, at("03-19", "10:20")))
    # 8: Mon 23 March, ok, T2: routed to B 10:10 (route 600), B returns "not ours", re-routed to A 10:30,
    # A accepts 10:40 (2400), draft 11:00 (3600) returned (other), redrafted, published 11:50 (6600).
    n["8"] = await o.register(at("03-23"), Network.ok, topic_ids=[T2])
    await o.route(n["8"], "03-23 10:10", "B")
    await o.act(n["8"], lambda i: f.return_not_ours(i, o.b, at("03-23", "10:20"), "Не наша компетенция"))
    await o.route(n["8"], "03-23 10:30", "A")
    await o.answer(
        n["8"],
        o.a,
        {"accept": "03-23 10:40", "draft": "03-23 11:00", "approve": "03-23 11:30", "publish": "03-23 11:50"},
        returned=([ReturnReason.other], "03-23 11:10", "03-23 11:20"),
    )
    # X: detected Wed 1 April 01:00 Moscow = 31 March 22:00 UTC: April in the organisation's zone.
    n["X"] = await o.register(at("04-01", "09:00"), Network.vk, detected=at("04-01", "01:00"))
    return o, n


NOW = at("04-05", "12:00")


def volumes(report: MonthlyReport, dimension: str) -> dict[Any, tuple[int, int]]:
    return {r.key: (r.current, r.previous) for r in report.volumes.by[dimension]}


async def test_every_figure_of_the_hand_built_month(sessions: async_sessionmaker[AsyncSession]) -> None:
    o, n = await build_march(sessions)
    report = await build_report(sessions, o.flow, parse_month("2026-03"), None, NOW)
    A, B = o.dep["A"], o.dep["B"]

    # Volumes: incidents 0–8 in March (X is April), P1 and P2 in February.
    assert (report.volumes.total, report.volumes.previous_total) == (9, 2)
    # vk: 1, 3, 6, 7; telegram: 0, 2; ok: 4, 8; site: 5. February: P1 vk, P2 telegram.
    assert volumes(report, "network") == {"vk": (4, 1), "telegram": (2, 1), "ok": (2, 0), "site": (1, 0)}
    # T1: 1, 3, 5, 7; T2: 2, 4, 5, 8 (5 has both); February: P1 on T1.
    assert volumes(report, "topic") == {o.topic["T1"]: (4, 1), o.topic["T2"]: (4, 0)}
    assert volumes(report, "location") == {o.location: (1, 0), None: (8, 2)}
    # A holds 1, 3, 5, 7, 8 (B returned 8); B holds 0, 2, 4, 5; 6 and P2 nobody.
    assert volumes(report, "department") == {A: (5, 1), B: (4, 0), None: (1, 1)}
    assert volumes(report, "importance") == {"normal": (8, 2), "high": (1, 0)}
    assert volumes(report, "kind") == {"incident": (8, 2), "publication": (1, 0)}
    daily = {d.day: c for d, c in report.volumes.daily if c}
    assert daily == {1: 1, 10: 1, 11: 1, 12: 1, 17: 1, 18: 1, 19: 1, 23: 1, 30: 1}
    assert len(report.volumes.daily) == 31

    # Timeliness, whole organisation: 8 to answer (9 less the not processable 6); answered 0–5 and 8 less
    # 6 = 7; late: 3 → on time 6 of 7; overdue: 3 (late) and 7 (open past its due) = 2 of 8.
    whole = report.timeliness.whole
    assert (whole.incidents, whole.answered, whole.answered_on_time, whole.overdue) == (8, 7, 6, 2)
    assert whole.on_time_share == pytest.approx(6 / 7) and whole.overdue_share == pytest.approx(2 / 8)
    # February: P1 answered on time, 1 of 1.
    assert report.timeliness.previous.on_time_share == 1.0
    d = whole.durations
    # Route: 300 600 600 600 600 1200 1800 1800 → mean 7500/8; median (600+600)/2; p90 at 0.9·7 = 6.3 → 1800.
    assert (d["route"].count, d["route"].average, d["route"].median, d["route"].p90) == (8, 937.5, 600, 1800)
    # Response: 900 1200 1800 1800 2400 2400 2400 3600 → 16500/8; median (1800+2400)/2; p90 2400 + 0.3·1200.
    assert (d["response"].average, d["response"].median, d["response"].p90) == (2062.5, 2100, pytest.approx(2760))
    # Draft: 2700 3600 3600 3600 3600 4200 7200 (7 never drafted) → 28500/7; median 3600; p90 at 5.4:
    # 4200 + 0.4·3000 = 5400.
    assert d["draft"].count == 7 and d["draft"].average == pytest.approx(28500 / 7)
    assert (d["draft"].median, d["draft"].p90) == (3600, pytest.approx(5400))
    # Publish: 3600 4800 5400 6000 6600 7200 32400 → 66000/7; median 6000; p90 7200 + 0.4·25200 = 17280.
    assert d["publish"].average == pytest.approx(66000 / 7)
    assert (d["publish"].median, d["publish"].p90) == (6000, pytest.approx(17280))

    # Ranking by average answer time: B (4800 7200 3600 6000 → 5400) before A (5400 32400 6000 6600 → 12600).
    ranking = {g.name: g for g in report.timeliness.ranking}
    assert [g.name for g in report.timeliness.ranking] == ["Дороги", "ЖКХ"]
    assert ranking["Дороги"].durations["publish"].average == 5400 and ranking["Дороги"].overdue == 0
    # A: 5 to answer, answered 1, 3, 5, 8 (4), on time 3, overdue 3 and 7 (2 of 5).
    a = ranking["ЖКХ"]
    assert (a.incidents, a.answered, a.answered_on_time, a.overdue) == (5, 4, 3, 2)
    assert a.durations["publish"].average == 12600 and a.overdue_share == pytest.approx(0.4)

    # Overdue list: 3 (published an hour late) and 7 (still open, 63 working hours past its due).
    late = report.timeliness.overdue
    assert [item.incident_id for item in late] == [n["3"], n["7"]]
    assert late[0].due == at("03-13") and late[0].published_at == at("03-13", "11:00")
    assert late[0].late_seconds == 3600 and late[0].departments == ("ЖКХ",)
    assert late[1].due == at("03-20") and late[1].published_at is None and late[1].late_seconds == 63 * 3600
    assert late[1].state == "in_work"

    # Quality: approved answer-track drafts 0, 1, 2 (2nd), 3, 4 (intermediate), 5 (A's, not B's
    # contribution), 8 (2nd) = 7; at first submission 0, 1, 3, 4, 5 = 5. Returned: 2's and 8's first drafts.
    q = report.quality
    assert (q.approved, q.approved_first_time, q.returned) == (7, 5, 2)
    assert (q.previous_approved, q.previous_approved_first_time, q.previous_returned) == (1, 1, 0)
    returns = {r.key: r.current for r in q.returns if r.current}
    assert returns == {"spelling": 1, "no_evidence": 1, "other": 1}
    assert (q.awaiting_final.current, q.not_processable.current, q.not_processable.previous) == (1, 1, 1)

    data = json.loads(report.to_json())
    assert data["month"] == "2026-03" and data["volumes"]["total"] == 9
    assert data["timeliness"]["whole"]["on_time_share"] == pytest.approx(6 / 7)

    text = summary_text(report, "en")
    assert "Incidents: 9 (+7 vs previous month)" in text
    assert "Answered on time: 86% (−14 pp); overdue: 2" in text
    assert f"Overdue: No. {n['3']}, No. {n['7']}" in text
    assert summary_text(report, "ru")  # renders in Russian too (msgids until the catalogs have them)


async def test_responsible_officials_report_holds_only_their_department(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    o, _ = await build_march(sessions)
    report = await build_report(sessions, o.flow, parse_month("2026-03"), o.dep["B"], NOW)
    # B holds 0, 2, 4, 5 (not 8: it returned it): telegram 0, 2; ok 4; site 5.
    assert report.scope_name == "Дороги" and report.volumes.total == 4
    assert volumes(report, "network") == {"telegram": (2, 0), "ok": (1, 0), "site": (1, 0)}
    assert volumes(report, "department") == {o.dep["B"]: (4, 0)}  # no other department is named
    assert [g.department_id for g in report.timeliness.ranking] == [o.dep["B"]]
    whole = report.timeliness.whole
    assert (whole.incidents, whole.answered, whole.answered_on_time, whole.overdue) == (4, 4, 4, 0)
    assert report.timeliness.overdue == []
    # B's own drafts: 0, 2 (returned, then approved), 4; the answer of 5 is A's.
    q = report.quality
    assert (q.approved, q.approved_first_time, q.returned) == (3, 2, 1)
    assert {r.key: r.current for r in q.returns if r.current} == {"spelling": 1, "no_evidence": 1}
    assert "ЖКХ" not in report.to_json()


async def test_a_month_without_incidents_gives_zeros_not_errors(sessions: async_sessionmaker[AsyncSession]) -> None:
    o = await Office(sessions, workflow()).setup()
    report = await build_report(sessions, o.flow, parse_month("2026-06"), None, NOW)
    assert report.volumes.total == 0 and report.timeliness.whole.on_time_share is None
    assert report.timeliness.whole.durations["publish"].median is None
    assert report.timeliness.overdue == [] and report.quality.first_time_share is None
    assert "No incidents this month." not in summary_text(report, "en")  # June has not begun on 5 April
    assert "The month has not begun yet: there are no figures for it." in summary_text(report, "en")
    begun = await build_report(sessions, o.flow, parse_month("2026-02"), None, NOW)
    assert begun.volumes.total == 0 and "No incidents this month." in summary_text(begun, "en")
    assert "has not begun" not in summary_text(begun, "en")
    assert workbook_xlsx(report, "ru")[:2] == b"PK"
    assert chart_png(report, "en")[:8] == b"\x89PNG\r\n\x1a\n"


async def test_live_stats(sessions: async_sessionmaker[AsyncSession]) -> None:
    o, _ = await build_march(sessions)
    # Wed 1 April 09:30, the day X was registered.
    stats = await build_stats(sessions, o.flow, at("04-01", "09:30"))
    f = stats.figures
    # Open: 4 (awaiting_final, final due 8 April), 7 (in work, overdue since 20 March), X (registered, due
    # 1 April 18:00: 8 working hours from 09:00 = 09:00–13:00 + 14:00–18:00).
    assert f.open_by_state == {"awaiting_final": 1, "in_work": 1, "detected": 1}
    assert f.open_by_department == {o.dep["A"]: 1, o.dep["B"]: 1}
    assert f.overdue_now == 1  # 7
    assert f.due_within == 0
    assert f.intake_today == 1  # X, detected 01:00 today
    assert f.average_answer_seconds is None  # nothing of April answered yet
    later = await build_stats(sessions, o.flow, at("04-01", "17:30"))
    assert later.figures.due_within == 1  # X is due 18:00, within the next working hour
    assert "Registered today: 1" in stats_text(stats, "en")


async def test_workbook_holds_the_figures_and_the_chart_is_a_png(sessions: async_sessionmaker[AsyncSession]) -> None:
    from openpyxl import load_workbook

    o, n = await build_march(sessions)
    report = await build_report(sessions, o.flow, parse_month("2026-03"), None, NOW)
    book = load_workbook(io.BytesIO(workbook_xlsx(report, "en")))
    assert {"Summary", "Volumes", "Daily", "Timeliness", "Overdue", "Quality"} <= set(book.sheetnames)
    volumes_sheet = book["Volumes"]
    assert volumes_sheet.freeze_panes == "A2" and volumes_sheet["A1"].font.bold
    rows = {(r[0], r[1]): r[2:4] for r in volumes_sheet.iter_rows(min_row=2, values_only=True)}
    assert rows[("Network", "VKontakte")] == (4, 1)
    timeliness = book["Timeliness"]
    header = [c.value for c in timeliness[1]]
    first = dict(zip(header, [c.value for c in timeliness[2]], strict=True))
    assert first["Answered on time, share"] == pytest.approx(6 / 7)
    share_cell = timeliness.cell(row=2, column=header.index("Answered on time, share") + 1)
    assert "%" in share_cell.number_format
    overdue = [r[0] for r in book["Overdue"].iter_rows(min_row=2, values_only=True)]
    assert overdue == [n["3"], n["7"]]
    png = chart_png(report, "ru")
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000


def test_a_responsible_official_may_not_ask_for_another_department() -> None:
    # Curators and heads read the organisation or any department; a responsible official only their own.
    assert report_scopes(frozenset({Role.curator}), frozenset()) == [None]
    assert report_scopes(frozenset({Role.head}), frozenset(), 7) == [7]
    assert report_scopes(frozenset({Role.executor}), frozenset({3, 5})) == [3, 5]
    assert report_scopes(frozenset({Role.executor}), frozenset({3}), 3) == [3]
    with pytest.raises(NotAllowed) as refused:
        report_scopes(frozenset({Role.executor}), frozenset({3}), 4)
    assert refused.value.key == "not_your_department_report"
    with pytest.raises(NotAllowed) as refused:
        report_scopes(frozenset({Role.executor}), frozenset())
    # The refusal is a sentence of the catalogs, as the command line says it (bot.texts.said)
    refusal = message_of(refused.value)
    assert said(refusal, "ru") == "отчёт доступен кураторам, руководителям и ответственным должностным лицам"
    assert said(refusal, "en") == "the report is for curators, heads and responsible officials"


def test_month_is_parsed_or_refused() -> None:
    assert parse_month("2026-03").month == 3
    for bad in ("2026-13", "2026", "march", "2026-00", ""):
        with pytest.raises(InvalidInput):
            parse_month(bad)
    with pytest.raises(InvalidInput) as refused:
        parse_month("2026-13")
    assert said(message_of(refused.value), "ru") == "'2026-13' — не месяц: укажите его в виде ГГГГ-ММ, например 2026-03"


def _cli(*args: str, db: Path) -> subprocess.CompletedProcess[str]:
    """``python -m bot ARGS`` on the database ``db``, run in this process (a new interpreter spends seconds importing
    the bot; the command line's own tests in test_cli.py and test_setup.py run it as a separate process)."""
    from bot.cli import main

    out, err = io.StringIO(), io.StringIO()
    with (
        pytest.MonkeyPatch.context() as env,
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
    ):
        env.setenv("OTKLIK_DATABASE_URL", f"sqlite+aiosqlite:///{db}")
        env.delenv("OTKLIK_CONFIG", raising=False)
        try:
            code = main(list(args))
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 2
    return subprocess.CompletedProcess(["python", "-m", "bot", *args], code, out.getvalue(), err.getvalue())


def test_cli_report_json_after_demo_data_and_a_bad_month(tmp_path: Path) -> None:
    db = tmp_path / "demo.sqlite3"
    made = _cli("demo-data", "--incidents", "60", "--months", "2", "--seed", "7", db=db)
    assert made.returncode == 0, made.stderr
    # The last line names the months: the first is whole (the current one may have just begun, at midnight in Moscow).
    month = made.stdout.strip().splitlines()[-1].split()[1]
    result = _cli("report", "--month", month, "--format", "json", db=db)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["month"] == month and data["volumes"]["total"] > 0
    xlsx = tmp_path / "r.xlsx"
    assert _cli("report", "--month", month, "--format", "xlsx", "--output", str(xlsx), db=db).returncode == 0
    assert xlsx.read_bytes()[:2] == b"PK"
    bad = _cli("report", "--month", "2026-13", db=db)
    assert bad.returncode == 2 and "ГГГГ-ММ" in bad.stderr and "Traceback" not in bad.stderr  # the CLI's Russian


async def test_names_that_look_like_formulas_are_written_as_text(sessions: async_sessionmaker[AsyncSession]) -> None:
    """A department or topic named like a formula (from the config, by anyone who edits it) must not run when the
    head opens the workbook: every such string cell is text, in every sheet."""
    from openpyxl import load_workbook
    from sqlalchemy import text

    o, _ = await build_march(sessions)
    hostile = {
        "departments": (o.dep["A"], '=HYPERLINK("http://evil.example","нажми")'),
        "topics": (o.topic["T1"], "=1+2"),
        "locations": (o.location, "@SUM(1+1)\x07"),  # with a control character XLSX cannot hold
    }
    async with sessions() as session, session.begin():
        for table, (row_id, name) in hostile.items():
            await session.execute(text(f"UPDATE {table} SET name = :name WHERE id = :id"), {"name": name, "id": row_id})
    report = await build_report(sessions, o.flow, parse_month("2026-03"), None, NOW)
    book = load_workbook(io.BytesIO(workbook_xlsx(report, "ru")))
    cells = [cell for sheet in book.worksheets for line in sheet.iter_rows() for cell in line]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    values = {c.value for c in cells}
    assert {'=HYPERLINK("http://evil.example","нажми")', "=1+2", "@SUM(1+1)"} <= values
