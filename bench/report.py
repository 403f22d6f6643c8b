"""Benchmark the monthly report over many incidents on SQLite: SQL aggregates against a naive Python version.

Run from the repository root: ``python bench/report.py [--incidents 1000000] [--template 2000]``.

The database is generated once into ``bench/.cache/`` and reused. Generation does not run the workflow a
million times: ``--template`` incidents are made through the domain (bot.demo's stories: Workflow
transitions on a moving clock, stored with IncidentRepository) over four weeks, then their rows are
copied with SQL, each copy shifted by whole four-week periods (dates, due moments and working-time clocks
alike) over a year. Durations, deadlines and on-time marks inside each copy are therefore the domain's.
The naive version loads the month's incidents through IncidentRepository and computes in Python; both
run in the same process on the same file, and their headline figures must agree.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import sqlite3
import statistics
import sys
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic.script import ScriptDirectory

# Allow ``python bench/report.py`` without installing the package.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.app import freeze_startup_objects
from bot.demo import Story, detection_moments, ensure_directory
from bot.domain.incident import CLOSED_STATES, AssignmentState, DeadlineKind, DraftKind, DraftStatus, State
from bot.domain.presets import get_preset
from bot.domain.workflow import Workflow
from bot.domain.worktime import WeeklySchedule, WorkCalendar
from bot.report import MonthlyReport, build_report, month_bounds, previous_month
from storage.db import alembic_config, make_engine, make_session_factory, upgrade
from storage.incidents import IncidentRepository
from storage.tables import events, incidents

CACHE = Path(__file__).resolve().parent / ".cache"
TZ = ZoneInfo("Europe/Moscow")
TEMPLATE_START = datetime(2025, 1, 13, tzinfo=TZ)  # a Monday, after the New Year holidays
PERIOD = timedelta(weeks=4)
PERIODS = 13  # 52 weeks: 2025-01-13 … 2026-01-12
WEEK_CLOCK = 40 * 3600  # working seconds in a standard week: copies shift their clocks by whole weeks
MONTH = date(2025, 7, 1)  # a month in the middle of the year, with June before it
TABLES = ("incidents", "incident_topics", "sources", "assignments", "drafts", "pauses", "events")
INCIDENT_REFS = ("incident_id", "parent_id", "repeat_of")
CLOCKS = ("work_clock", "detected_clock", "route_clock", "response_clock", "draft_clock", "publish_clock")


def workflow() -> Workflow:
    preset = get_preset("otradnaya")
    return Workflow(preset, WorkCalendar(preset.timezone, WeeklySchedule.standard()), organisation="Бенчмарк")


# --- generation ------------------------------------------------------------------------------------


async def make_template(path: Path, count: int, seed: int) -> None:
    """``count`` incidents over four weeks, through the domain."""
    url = f"sqlite+aiosqlite:///{path}"
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    flow = workflow()
    rng = random.Random(seed)
    cast = await ensure_directory(sessions)
    end = TEMPLATE_START + PERIOD
    until = end + timedelta(weeks=3)  # most stories finish; a few stay open, as in life
    for detected in detection_moments(flow, rng, count, TEMPLATE_START, end):
        story = Story(flow, cast, rng, until)
        if story.play(detected) is None:
            continue
        async with sessions() as session, session.begin():
            incident = story.records[0][0]
            await IncidentRepository(session).add(incident, [e for _, evs in story.records for e in evs])
    await engine.dispose()


def copy_rows(template: Path, target: Path, total: int) -> int:
    """Fill ``target`` (migrated, with the template's directory) with ``total`` incidents copied from the template."""
    db = sqlite3.connect(target)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=OFF")
    db.execute(f"ATTACH DATABASE '{template}' AS t")
    for table in ("users", "user_roles", "departments", "memberships", "topics", "locations"):
        db.execute(f"INSERT INTO main.{table} SELECT * FROM t.{table}")
    per_copy = db.execute("SELECT count(*) FROM t.incidents").fetchone()[0]
    spans = {
        table: (db.execute(f"SELECT coalesce(max(rowid), 0) FROM t.{table}").fetchone()[0] + 1) for table in TABLES
    }
    copies = math.ceil(total / per_copy)
    columns = {table: db.execute(f"PRAGMA t.table_info({table})").fetchall() for table in TABLES}
    for k in range(copies):
        days = 28 * (k % PERIODS)
        clock = (days // 7) * WEEK_CLOCK
        for table in TABLES:
            select = []
            for _, name, kind, *_rest in columns[table]:
                if name == "id":
                    select.append(f"id + {k * spans[table]}")
                elif name in INCIDENT_REFS:
                    select.append(f"{name} + {k * spans['incidents']}")
                elif kind.upper().startswith("DATETIME"):
                    select.append(f"datetime({name}, '+{days} days')")
                elif name in CLOCKS:
                    select.append(f"{name} + {clock}")
                elif table == "events" and name == "data":
                    select.append(
                        "CASE WHEN json_extract(data, '$.due') IS NOT NULL THEN json_set(data, '$.due', "
                        f"strftime('%Y-%m-%dT%H:%M:%S+00:00', json_extract(data, '$.due'), '+{days} days')) "
                        "ELSE data END"
                    )
                else:
                    select.append(f'"{name}"')
            db.execute(f"INSERT INTO main.{table} SELECT {', '.join(select)} FROM t.{table}")
        if k % 20 == 19:
            db.commit()
            print(f"  copied {(k + 1) * per_copy:,} incidents", flush=True)
    db.commit()
    db.execute("DETACH DATABASE t")
    db.execute("ANALYZE")
    db.commit()
    made = db.execute("SELECT count(*) FROM incidents").fetchone()[0]
    db.close()
    return made


def ensure_database(total: int, template_size: int, seed: int) -> Path:
    CACHE.mkdir(exist_ok=True)
    schema = ScriptDirectory.from_config(alembic_config()).get_current_head()  # a new revision: new files
    target = CACHE / f"report-{total}-{template_size}-{seed}-r{schema}.sqlite3"
    if target.exists():
        print(f"Reusing {target.relative_to(CACHE.parent.parent)}")
        return target
    template = CACHE / f"template-{template_size}-{seed}-r{schema}.sqlite3"
    if not template.exists():
        started = time.perf_counter()
        upgrade(f"sqlite+aiosqlite:///{template}")
        asyncio.run(make_template(template, template_size, seed))
        print(f"Template: {template_size} incidents through the domain in {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    partial = target.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    upgrade(f"sqlite+aiosqlite:///{partial}")
    made = copy_rows(template, partial, total)
    partial.rename(target)
    print(f"Generated {made:,} incidents by copying the template in {time.perf_counter() - started:.1f} s")
    return target


# --- the naive version --------------------------------------------------------------------------


def _quantile(values: list[float], p: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    position = p * (len(values) - 1)
    low = math.floor(position)
    high = min(low + 1, len(values) - 1)
    return values[low] + (values[high] - values[low]) * (position - low)


async def naive_month(sessions: Any, start: datetime, end: datetime, cutoff: datetime) -> dict[str, Any]:
    """Load the month's incidents (with their events) through the repository, count in Python."""
    async with sessions() as session:
        repo = IncidentRepository(session)
        rows = (
            await session.execute(
                sa.select(incidents).where(incidents.c.detected_at >= start, incidents.c.detected_at < end)
            )
        ).all()
        loaded = []
        for i in range(0, len(rows), 2000):
            chunk = await repo.assemble(rows[i : i + 2000])  # the repository's own loading, in batches
            trail: dict[int, list[Any]] = {}
            for event in await session.execute(
                sa.select(events).where(events.c.incident_id.in_([c.id for c in chunk])).order_by(events.c.id)
            ):
                trail.setdefault(event.incident_id, []).append(event)
            loaded += [(incident, trail.get(incident.id, [])) for incident in chunk]
    cohort = [(i, e) for i, e in loaded if i.state is not State.split]
    networks = Counter(i.network.value for i, _ in cohort)
    departments: Counter[int] = Counter()
    durations: dict[str, list[float]] = {"route": [], "response": [], "draft": [], "publish": []}
    names = {
        "route": {"routed", "rerouted", "split_from"},
        "response": {"accepted", "executor_assigned", "contribution_submitted"},
        "draft": {"draft_submitted"},
        "publish": {"published"},
    }
    answered = on_time = overdue = 0
    approved = first_time = 0
    for incident, trail in cohort:
        for dep in {a.department_id for a in incident.assignments if a.state not in _GONE}:
            departments[dep] += 1
        for metric, wanted in names.items():
            clocks = [e.work_clock for e in trail if e.name in wanted]
            if clocks:
                durations[metric].append(min(clocks) - (incident.detected_clock or 0))
        published = [e for e in trail if e.name == "published"]
        late = any((e.data or {}).get("on_time") is False for e in published)
        answered += bool(published)
        on_time += bool(published) and not late
        due = incident.deadlines.get(_ANSWER) or incident.deadlines.get(_FINAL)
        overdue += late or (incident.state not in CLOSED_STATES and due is not None and due < cutoff)
        returned_numbers = [d.number for d in incident.drafts if d.kind in _TRACK and d.status is DraftStatus.returned]
        for d in incident.drafts:
            if d.kind in _TRACK and d.status in (DraftStatus.approved, DraftStatus.published):
                approved += 1
                first_time += not any(n < d.number for n in returned_numbers)
    return {
        "total": len(cohort),
        "networks": dict(networks),
        "departments": dict(departments),
        "answered": answered,
        "on_time": on_time,
        "overdue": overdue,
        "approved": approved,
        "first_time": first_time,
        "publish_mean": statistics.fmean(durations["publish"]) if durations["publish"] else None,
        "publish_median": _quantile(durations["publish"], 0.5),
        "route_p90": _quantile(durations["route"], 0.9),
    }


_GONE = (AssignmentState.cancelled, AssignmentState.returned)
_TRACK = (DraftKind.answer, DraftKind.intermediate)
_ANSWER, _FINAL = DeadlineKind.answer, DeadlineKind.final


def headline(report: MonthlyReport) -> dict[str, Any]:
    whole = report.timeliness.whole
    return {
        "total": report.volumes.total,
        "networks": {r.key: r.current for r in report.volumes.by["network"] if r.current},
        "departments": {r.key: r.current for r in report.volumes.by["department"] if r.current and r.key},
        "answered": whole.answered,
        "on_time": whole.answered_on_time,
        "overdue": whole.overdue,
        "approved": report.quality.approved,
        "first_time": report.quality.approved_first_time,
        "publish_mean": whole.durations["publish"].average,
        "publish_median": whole.durations["publish"].median,
        "route_p90": whole.durations["route"].p90,
    }


async def run(path: Path, repeats: int) -> None:
    freeze_startup_objects()  # as the bot and `python -m bot report` do once started
    engine = make_engine(f"sqlite+aiosqlite:///{path}")
    sessions = make_session_factory(engine)
    flow = workflow()
    now = datetime(2026, 6, 1, tzinfo=UTC)
    async with sessions() as session:
        count = await session.scalar(sa.select(sa.func.count()).select_from(incidents))
    print(f"Database: {count:,} incidents; report for {MONTH:%Y-%m} (and {previous_month(MONTH):%Y-%m} beside it)")

    sql_times = []
    report = None
    for _ in range(repeats):
        started = time.perf_counter()
        report = await build_report(sessions, flow, MONTH, None, now)
        sql_times.append(time.perf_counter() - started)
    assert report is not None
    print(
        f"SQL report:   {min(sql_times):.2f} s best, {sql_times[0]:.2f} s first run "
        f"({report.volumes.total:,} incidents in the month, {len(report.timeliness.overdue):,} overdue listed)"
    )

    start, end, _ = month_bounds(MONTH, flow.calendar.tz)
    p_start, p_end, _ = month_bounds(previous_month(MONTH), flow.calendar.tz)
    started = time.perf_counter()
    naive = await naive_month(sessions, start, end, min(end, now))
    await naive_month(sessions, p_start, p_end, min(p_end, now))  # the report shows the previous month too
    naive_time = time.perf_counter() - started
    print(f"Naive (ORM + Python, both months): {naive_time:.2f} s")
    print(f"Ratio: the SQL report is {naive_time / min(sql_times):.1f}× faster")
    ours = headline(report)
    disagree = {
        key: (ours[key], naive[key]) for key in ours if not (ours[key] == naive[key] or _close(ours[key], naive[key]))
    }
    print("Figures agree." if not disagree else f"FIGURES DISAGREE: {disagree}")
    print(f"Target: under 3 s — {'met' if min(sql_times) < 3 else 'NOT met'}")
    await engine.dispose()
    if disagree:
        sys.exit(1)


def _close(a: Any, b: Any) -> bool:
    return isinstance(a, float | int) and isinstance(b, float | int) and math.isclose(a, b, rel_tol=1e-9)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=1_000_000)
    parser.add_argument("--template", type=int, default=2000, help="incidents made through the domain")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    path = ensure_database(args.incidents, min(args.template, args.incidents), args.seed)
    asyncio.run(run(path, args.repeats))


if __name__ == "__main__":
    main()
