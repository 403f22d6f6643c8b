"""Reminder sweep tick time with many open incidents and few due: the cost must follow what is due.

    python bench/sweep.py [--open 100000] [--due 100 1000] [--ticks 15]

Builds (once, cached in bench/.cache/) a SQLite database with N open incidents routed to
departments and accepted — rows made from one incident produced by the real workflow, copied with
shifted ids and detection moments — then, for each "due" figure, makes that many incidents due and
times real ReminderSweep.tick() calls. Prints the median and the ratio between the due figures.
Target: a tick under 50 ms median with 100 due.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from bot.config import Settings  # noqa: E402
from bot.domain.clock import ManualClock  # noqa: E402
from bot.domain.incident import Network, Role, Source  # noqa: E402
from bot.domain.presets import get_preset  # noqa: E402
from bot.domain.workflow import Workflow  # noqa: E402
from bot.domain.worktime import WeeklySchedule, WorkCalendar  # noqa: E402
from bot.services import Person, Services  # noqa: E402
from bot.sweep import ReminderSweep  # noqa: E402
from storage.db import make_engine, make_session_factory, upgrade_async  # noqa: E402
from storage.directory import DirectoryRepository  # noqa: E402

CACHE = ROOT / "bench" / ".cache"
TZ = ZoneInfo("Europe/Moscow")
START = datetime(2026, 3, 10, 10, 0, tzinfo=TZ)


def services(sessions, clock: ManualClock) -> Services:  # type: ignore[no-untyped-def]
    preset = get_preset("otradnaya")
    workflow = Workflow(preset, WorkCalendar(TZ, WeeklySchedule.standard()))
    return Services(sessions, workflow, clock, Settings.model_validate({"organisation": {"preset": "otradnaya"}}))


async def build(path: Path, count: int) -> None:
    url = f"sqlite+aiosqlite:///{path}"
    engine = make_engine(url)
    await upgrade_async(engine)
    sessions = make_session_factory(engine)
    clock = ManualClock(START)
    svc = services(sessions, clock)
    async with sessions() as session, session.begin():
        repo = DirectoryRepository(session)
        curator = await repo.add_user(1, "Куратор", roles=[Role.curator])
        departments = [await repo.add_department(f"Отдел {n}") for n in range(40)]
        executors = []
        for n in range(400):  # a large region: ~400 executors (SPEC §8)
            user = await repo.add_user(1000 + n, f"Исполнитель {n}", roles=[Role.executor])
            await repo.add_membership(user.id, departments[n % 40].id)
            executors.append(user)
    person = Person(curator.id, 1, "Куратор", "ru", frozenset({Role.curator}), frozenset(), frozenset())
    template = await svc.register(person, [Source(Network.vk, "https://vk.com/wall-1_1", "a", "text", START)])
    await svc.route(person, template.id, [departments[0].id])
    executor = executors[0]
    worker = Person(
        executor.id,
        executor.telegram_id,
        "e",
        "ru",
        frozenset({Role.executor}),
        frozenset({departments[0].id}),
        frozenset(),
    )
    await svc.accept(worker, template.id)
    far = START + timedelta(days=365)
    async with engine.begin() as conn:
        # Copy the template's rows: same shape as real data, without running the workflow 100k times.
        incident = (
            (await conn.execute(sa.text("select * from incidents where id = :i"), {"i": template.id})).mappings().one()
        )
        source = (
            (await conn.execute(sa.text("select * from sources where incident_id = :i"), {"i": template.id}))
            .mappings()
            .one()
        )
        assignment = (
            (await conn.execute(sa.text("select * from assignments where incident_id = :i"), {"i": template.id}))
            .mappings()
            .one()
        )
        batch = 5000
        for first in range(2, count + 1, batch):
            ids = range(first, min(first + batch, count + 1))
            await conn.execute(
                sa.text(
                    "insert into incidents ("
                    + ",".join(f'"{k}"' for k in incident)
                    + ") values ("
                    + ",".join(":" + k for k in incident)
                    + ")"
                ),
                [
                    {**incident, "id": i, "next_reminder_at": far.astimezone(ZoneInfo("UTC")).replace(tzinfo=None)}
                    for i in ids
                ],
            )
            await conn.execute(
                sa.text(
                    "insert into sources ("
                    + ",".join(f'"{k}"' for k in source if k != "id")
                    + ") values ("
                    + ",".join(":" + k for k in source if k != "id")
                    + ")"
                ),
                [{**source, "incident_id": i} for i in ids],
            )
            await conn.execute(
                sa.text(
                    "insert into assignments ("
                    + ",".join(f'"{k}"' for k in assignment if k != "id")
                    + ") values ("
                    + ",".join(":" + k for k in assignment if k != "id")
                    + ")"
                ),
                [{**assignment, "incident_id": i, "department_id": departments[i % 40].id} for i in ids],
            )
    await engine.dispose()


async def measure(path: Path, due: int, ticks: int) -> list[float]:
    engine = make_engine(f"sqlite+aiosqlite:///{path}")
    sessions = make_session_factory(engine)
    clock = ManualClock(START + timedelta(days=1, hours=1))  # the answer deadlines have passed: marks fire
    sweep = ReminderSweep(services(sessions, clock))
    far = (START + timedelta(days=365)).astimezone(ZoneInfo("UTC")).replace(tzinfo=None)
    timings = []
    for _ in range(ticks):
        async with engine.begin() as conn:  # make `due` incidents due again; nothing else changes
            await conn.execute(sa.text("delete from reminders_sent"))
            await conn.execute(sa.text("delete from outbox"))
            await conn.execute(
                sa.text("update incidents set next_reminder_at = :far where next_reminder_at is null"), {"far": far}
            )
            await conn.execute(
                sa.text(
                    "update incidents set next_reminder_at = :now where id in "
                    "(select id from incidents order by id desc limit :n)"
                ),
                {"now": START.astimezone(ZoneInfo("UTC")).replace(tzinfo=None), "n": due},
            )
        began = time.perf_counter()
        queued = await sweep.tick()
        timings.append((time.perf_counter() - began) * 1000)
        assert queued > 0
    await engine.dispose()
    return timings


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--open", type=int, default=100_000, help="open incidents in the database")
    parser.add_argument("--due", type=int, nargs="+", default=[100, 1000], help="due incidents per tick")
    parser.add_argument("--ticks", type=int, default=15)
    args = parser.parse_args()
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"sweep-{args.open}.sqlite3"
    if not path.exists():
        began = time.perf_counter()
        await build(path, args.open)
        print(f"built {args.open:,} open incidents in {time.perf_counter() - began:.1f} s → {path}")
    results = {}
    for due in args.due:
        timings = await measure(path, due, args.ticks)
        results[due] = statistics.median(timings)
        print(
            f"{args.open:>9,} open, {due:>5,} due: tick median {results[due]:7.1f} ms "
            f"(min {min(timings):.1f}, max {max(timings):.1f}, {args.ticks} ticks)"
        )
    base = args.due[0]
    for due in args.due[1:]:
        print(
            f"ratio {due}/{base} due: time ×{results[due] / results[base]:.1f} for ×{due / base:.0f} due "
            "(it follows what is due, not what is open)"
        )
    met = results.get(100, results[base]) < 50
    print(f"Target: tick under 50 ms median with 100 due — {'MET' if met else 'NOT MET'}")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
