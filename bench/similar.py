"""Repeats by meaning (issue 13 §3): time of one check of a new post against N open incidents.

    python bench/similar.py [--open 10000] [--checks 30]

Builds (once, cached in bench/.cache/) a SQLite database with N open incidents of demo-like text — the
posts of bot/demo.py with streets, houses, times and remarks varied — stored through the real repository
with their lemmas, as registration stores them. Then times, for reworded posts:

- the whole check as the registration card runs it (bot.assistant.similar_incidents: the new post's
  lemmas, the pool of open incidents' lemmas brought up to date from the database — the first check
  loads it whole, later ones read only what changed — and rapidfuzz over them);
- the comparison alone (bot.domain.similar.find_similar over the lemmas in memory).

Prints the wall-clock median and 95th percentile, and the CPU time per check (the cores may be shared
with other work: the load average is printed too), against the target (< 50 ms per check), PASS or MISS.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from bot import assistant  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.demo import POSTS  # noqa: E402
from bot.domain.clock import ManualClock  # noqa: E402
from bot.domain.incident import Network, Role, Source  # noqa: E402
from bot.domain.presets import get_preset  # noqa: E402
from bot.domain.similar import find_similar, normalise  # noqa: E402
from bot.domain.workflow import Actor, Workflow  # noqa: E402
from bot.domain.worktime import WeeklySchedule, WorkCalendar  # noqa: E402
from bot.services import Services  # noqa: E402
from storage.assistant import AssistantRepository  # noqa: E402
from storage.db import make_engine, make_session_factory, upgrade_async  # noqa: E402
from storage.directory import DirectoryRepository  # noqa: E402
from storage.incidents import IncidentRepository  # noqa: E402
from storage.tables import incidents  # noqa: E402

CACHE = ROOT / "bench" / ".cache"
TZ = ZoneInfo("Europe/Moscow")
START = datetime(2026, 3, 10, 10, 0, tzinfo=TZ)
TARGET_MS = 50.0

STREETS = ("Ленина", "Мира", "Гагарина", "Советской", "Школьной", "Садовой", "Полевой", "Комсомольской", "Кирова")
REMARKS = (
    "Сколько можно ждать?",
    "Просим принять меры.",
    "Жалуемся уже не первый раз.",
    "Фото прилагаю.",
    "Администрация бездействует.",
    "Когда это закончится?",
    "Жители возмущены.",
    "",
)
REWORDED = (
    "Мусор на улице {street} не вывозят уже три недели, все контейнеры переполнены",
    "На дороге по улице {street} яма, вчера пробили колесо",
    "Батареи в школе на {street} еле тёплые, детям холодно",
    "На улице {street} не горит ни один фонарь",
)


def demo_text(rng: random.Random) -> str:
    """A post like the demo data's: a complaint, a street and house, sometimes a remark."""
    post = rng.choice(POSTS)
    return f"{post}. Улица {rng.choice(STREETS)}, дом {rng.randint(1, 120)}. {rng.choice(REMARKS)}".strip()


def make_services(sessions, clock: ManualClock) -> Services:  # type: ignore[no-untyped-def]
    workflow = Workflow(get_preset("otradnaya"), WorkCalendar(TZ, WeeklySchedule.standard()))
    return Services(sessions, workflow, clock, Settings.model_validate({"organisation": {"preset": "otradnaya"}}))


async def build(path: Path, count: int) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{path}")
    await upgrade_async(engine)
    sessions = make_session_factory(engine)
    svc = make_services(sessions, ManualClock(START))
    rng = random.Random(13)
    async with sessions() as session, session.begin():
        curator = await DirectoryRepository(session).add_user(1, "Куратор", roles=[Role.curator])
        actor = Actor(curator.id, frozenset({Role.curator}), frozenset(), frozenset())
        repo, lemmas = IncidentRepository(session), AssistantRepository(session)
        rows: list[tuple[int, str]] = []
        for n in range(count):
            detected = START - timedelta(minutes=n)
            text = demo_text(rng)
            source = Source(Network.vk, f"https://vk.com/wall-1_{n + 1}", None, text, detected)
            incident, events = svc.workflow.register(actor, START, [source], detected_at=detected)
            await repo.add(incident, events)
            assert incident.id is not None
            rows.append((incident.id, normalise(text)))
        await lemmas.put_lemmas(rows)
        # Open incidents accumulate over days: each was last changed when it was detected, not at build time.
        await session.execute(sa.update(incidents).values(updated_at=incidents.c.detected_at))
    await engine.dispose()


async def measure(path: Path, checks: int) -> tuple[list[float], list[float], int]:
    engine = make_engine(f"sqlite+aiosqlite:///{path}")
    sessions = make_session_factory(engine)
    svc = make_services(sessions, ManualClock(START + timedelta(minutes=1)))
    rng = random.Random(7)
    posts = [rng.choice(REWORDED).format(street=rng.choice(STREETS)) for _ in range(checks)]
    started = time.perf_counter()
    await assistant.similar_incidents(svc, posts[0])  # cold: pymorphy3's dictionary, the pool's first load
    print(f"first check (loads the pool): {(time.perf_counter() - started) * 1000:.0f} ms")
    whole: list[float] = []
    found = 0
    cpu = time.process_time()
    for post in posts:
        started = time.perf_counter()
        result = await assistant.similar_incidents(svc, post)
        whole.append((time.perf_counter() - started) * 1000)
        found += bool(result)
    cpu_ms = (time.process_time() - cpu) * 1000 / len(posts)
    verdict = "PASS" if cpu_ms < TARGET_MS else "MISS"
    print(f"whole check CPU time: {cpu_ms:.1f} ms per check, target < {TARGET_MS:.0f} ms  {verdict}")
    async with sessions() as session:
        rows, _ = await AssistantRepository(session).pool_rows(START - timedelta(days=30))
    stored = {row.id: row.lemmas or "" for row in rows}
    alone: list[float] = []
    cpu = time.process_time()
    for post in posts:
        started = time.perf_counter()
        find_similar(normalise(post), stored)
        alone.append((time.perf_counter() - started) * 1000)
    cpu_ms = (time.process_time() - cpu) * 1000 / len(posts)
    verdict = "PASS" if cpu_ms < TARGET_MS else "MISS"
    print(f"compare alone CPU time: {cpu_ms:.1f} ms per check, target < {TARGET_MS:.0f} ms  {verdict}")
    await engine.dispose()
    return whole, alone, found


def line(name: str, times: list[float]) -> str:
    median = statistics.median(times)
    p95 = sorted(times)[max(0, int(len(times) * 0.95) - 1)]
    verdict = "PASS" if median < TARGET_MS else "MISS"
    return (
        f"{name:<34} median {median:7.1f} ms  p95 {p95:7.1f} ms  "
        f"target < {TARGET_MS:.0f} ms  ratio {median / TARGET_MS:4.2f}  {verdict}"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--open", type=int, default=10_000, help="open incidents in the database")
    parser.add_argument("--checks", type=int, default=30, help="reworded posts checked")
    args = parser.parse_args()
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"similar-{args.open}.sqlite3"
    if not path.exists():
        started = time.perf_counter()
        partial = path.with_suffix(".partial")
        partial.unlink(missing_ok=True)
        await build(partial, args.open)
        partial.rename(path)
        print(f"built {args.open} open incidents in {time.perf_counter() - started:.0f} s ({path})")
    whole, alone, found = await measure(path, args.checks)
    print(f"{args.open} open incidents, {args.checks} reworded posts checked, {found} found a similar one")
    print(f"load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(line("whole check (database + compare)", whole))
    print(line("compare alone (in memory)", alone))


if __name__ == "__main__":
    asyncio.run(main())
