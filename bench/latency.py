"""Benchmark press → answer: people using the real bot at once, a head asking /report, a burst of posts.

Run from the repository root: ``python bench/latency.py [--incidents 20000] [--quick]``.

Everything is real except Telegram: the whole application (inbox, dispatcher, middlewares, handlers, outbox
sender, intake API, SQLite) against ``tests.botapi`` with Telegram's limits on (30 messages/s overall, 1/s per
chat; 429 beyond them), on a database of ``--incidents`` incidents (generated once into ``bench/.cache/`` as
``bench/report.py`` does). 20 people — 4 curators and 16 executors — each act every 3–8 s: ``/queue``,
``/incident N`` (open a card) or «History» on the card they opened last. *Press → answer* is the time from the
update reaching Telegram to the bot's first answer to it (the callback answer of a press, the first message
or edit in the chat for a command).

Phases: 1. the 20 people; 2. the same while a head sends ``/report`` every 5 s; 3. the same while a monitoring
system posts 300 incidents at once through the intake API: *burst known* is when every curator has received
messages naming every new incident's number (a card per incident, or a summary listing them). Targets: p99 <
250 ms in every phase, phase 2 / phase 1 p99 ≤ 1.5, the burst known within 10 s.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import socket
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import contextlib

from aiohttp import ClientSession

from bench.report import ensure_database
from bot.demo import DEMO_TELEGRAM_BASE
from bot.domain.clock import ManualClock
from bot.domain.incident import Role
from storage.directory import DirectoryRepository
from tests.botapi import BotAPIServer, ChatMessage, Limits, UserChat
from tests.world import World, world

CURATORS = [1001, 1002, 1003, 1004]
EXECUTORS = list(range(2001, 2017))
HEAD = 400
TOKEN = "bench-token"
TARGET_P99, TARGET_RATIO, TARGET_BURST = 0.250, 1.5, 10.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Person:
    """One person acting every 3–8 s, recording how long each answer took."""

    def __init__(self, api: BotAPIServer, user: UserChat, incidents: int, rng: random.Random) -> None:
        self.api, self.user, self.incidents, self.rng = api, user, incidents, rng
        self.card: ChatMessage | None = None

    async def act(self, samples: list[float]) -> None:
        api, user = self.api, self.user
        choice = self.rng.random()
        if self.card is not None and self.card.buttons and choice < 0.4 and _has(self.card, "History"):
            start = len(api.requests)
            pressed = time.monotonic()
            query = await user.press(self.card, "History")
            answered = await _wait(api, lambda: _answer_time(api, start, query), 30)
            if answered is not None:
                samples.append(answered - pressed)
            return
        text = "/queue" if choice < 0.7 else f"/incident {self.rng.randint(1, self.incidents)}"
        before, start = len(user.messages), len(api.requests)
        sent = time.monotonic()
        await user.send(text)
        answered = await _wait(api, lambda: _reply_time(api, user.user_id, start), 30)
        if answered is not None:
            samples.append(answered - sent)
        if text.startswith("/incident"):
            await _wait(api, lambda: len(user.messages) > before or None, 5)
            cards = [m for m in user.messages[before:] if m.buttons]
            if cards:
                self.card = cards[-1]

    async def run(self, samples: list[float], stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), self.rng.uniform(3, 8))
            except TimeoutError:
                await self.act(samples)


def _has(message: ChatMessage, label: str) -> bool:
    return any(label in b for row in message.buttons for b in row)


def _answer_time(api: BotAPIServer, start: int, query: str) -> float | None:
    for call in api.requests[start:]:
        if call.method == "answerCallbackQuery" and call.params.get("callback_query_id") == query:
            return call.time
    return None


def _reply_time(api: BotAPIServer, chat_id: int, start: int) -> float | None:
    for call in api.requests[start:]:
        if call.method != "getUpdates" and str(call.params.get("chat_id")) == str(chat_id):
            return call.time
    return None


async def _wait(api: BotAPIServer, probe, timeout: float):  # type: ignore[no-untyped-def]
    try:
        return await api._wait_for(probe, timeout)
    except TimeoutError:
        return None


async def head_reports(head: UserChat, stop: asyncio.Event, requested: list[float]) -> None:
    while not stop.is_set():
        requested.append(time.monotonic())
        await head.send("/report")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 5)


async def burst(w: World, port: int, count: int, patience: float) -> tuple[float | None, int]:
    """Post ``count`` incidents at once; seconds until every curator was told of every one (None: not within
    ``patience`` s; then how many each curator knows is printed)."""
    started = time.monotonic()
    curators = [w.api.user(c) for c in CURATORS]
    before = {c.user_id: len(c.messages) for c in curators}
    numbers: list[int] = []
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with ClientSession() as http:

        async def post(n: int) -> None:
            body = {"url": f"https://vk.com/wall-77_{n}", "text": f"Пост {n}: яма на дороге", "source_id": f"b-{n}"}
            async with http.post(f"http://127.0.0.1:{port}/api/v1/incidents", json=body, headers=headers) as answer:
                data = await answer.json()
                if answer.status in (200, 201):
                    numbers.append(int(data["number"]))

        await asyncio.gather(*(post(n) for n in range(count)))
    registered = time.monotonic() - started
    print(f"  intake API: {len(numbers)} of {count} registered in {registered:.1f} s")
    deadline = started + patience

    def known(curator: UserChat) -> int:
        # A card names its number; a burst summary (bot.bursts) names the range it stands for: «(№ 101–157)».
        seen = " ".join(m.text or "" for m in curator.messages[before[curator.user_id] :])
        told = {int(x) for x in re.findall(r"\d+", seen)}
        for first, last in re.findall(r"(?:No\.|№)\s*(\d+)\s*[–-]\s*(\d+)", seen):
            told.update(range(int(first), int(last) + 1))
        return len(set(numbers) & told)

    while time.monotonic() < deadline:
        if all(known(c) == len(numbers) for c in curators):
            return time.monotonic() - started, len(numbers)
        await asyncio.sleep(0.2)
    print(f"  after {patience:.0f} s the curators know " + ", ".join(f"{known(c)}" for c in curators) + " of them")
    return None, len(numbers)


async def keep_pace(clock: ManualClock, step: float = 0.05) -> None:
    """Advance ``clock`` by the real time that passes, every ``step`` seconds, until cancelled."""
    last = time.monotonic()
    while True:
        await asyncio.sleep(step)
        now = time.monotonic()
        clock.advance(timedelta(seconds=now - last))
        last = now


def figures(samples: list[float]) -> str:
    if len(samples) < 2:
        return f"n={len(samples)}"
    q = statistics.quantiles(samples, n=100, method="inclusive")
    return (
        f"n={len(samples):4d}  p50 {q[49] * 1000:6.0f} ms  p95 {q[94] * 1000:6.0f} ms  "
        f"p99 {q[98] * 1000:6.0f} ms  max {max(samples) * 1000:6.0f} ms"
    )


def p99(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[98] if len(samples) >= 2 else float("nan")


async def run(database: Path, incidents: int, seconds: float, burst_size: int, patience: float) -> bool:
    port = free_port()
    with tempfile.TemporaryDirectory() as folder:
        copy = Path(folder) / "otklik.sqlite3"
        copy.write_bytes(database.read_bytes())
        people = {"admins": [CURATORS[0]], "curators": CURATORS, "heads": [HEAD], "external_approvers": []}
        async with world(
            Path(folder),
            delivery={"rate_scale": 1},
            people=people,
            database={"url": f"sqlite+aiosqlite:///{copy}"},
            intake={"enabled": True, "port": port, "tokens": [TOKEN], "curator": CURATORS[0]},
        ) as w:
            w.api.limits = Limits()
            for offset in range(40):  # the demo data's people get notices too: let Telegram know their chats
                w.api.user(DEMO_TELEGRAM_BASE + offset, f"Демо {offset}", language_code="ru")
            async with w.app.services.sessions() as session, session.begin():
                repo = DirectoryRepository(session)
                departments = await repo.list_departments()
                for n, telegram_id in enumerate(EXECUTORS):
                    user = await repo.add_user(telegram_id, f"Исполнитель {n}", roles=[Role.executor])
                    await repo.add_membership(user.id, departments[n % len(departments)].id)
            rng = random.Random(11)
            crowd = [
                Person(w.api, w.api.user(t, f"Человек {t}", language_code="en"), incidents, random.Random(rng.random()))
                for t in CURATORS + EXECUTORS
            ]
            head = w.api.user(HEAD, "Глава", language_code="en")
            # The scenario world's clock moves only when told; here it keeps pace with the real one, as in
            # production (a burst's next summary waits `coalesce_seconds` of it).
            ticking = asyncio.create_task(keep_pace(w.clock))
            results: dict[str, list[float]] = {}
            burst_time: float | None = None
            for phase in ("1 people", "2 people + /report every 5 s", "3 people + 300-post burst"):
                samples: list[float] = []
                stop = asyncio.Event()
                tasks = [asyncio.create_task(p.run(samples, stop)) for p in crowd]
                reports: list[float] = []
                if phase.startswith("2"):
                    tasks.append(asyncio.create_task(head_reports(head, stop, reports)))
                if phase.startswith("3"):
                    await asyncio.sleep(2)
                    burst_time, _ = await burst(w, port, burst_size, patience)
                    await asyncio.sleep(max(0.0, seconds - 2 - (burst_time or patience)))
                else:
                    await asyncio.sleep(seconds)
                stop.set()
                await asyncio.gather(*tasks)
                results[phase] = samples
                extra = f"  ({len(reports)} reports asked)" if reports else ""
                print(f"phase {phase:32s} {figures(samples)}{extra}")
            await w.api.idle(timeout=120)
            ticking.cancel()
    phases = list(results.values())
    ratio = p99(phases[1]) / p99(phases[0])
    ok = True
    for name, samples in results.items():
        good = p99(samples) < TARGET_P99
        ok &= good
        print(f"  p99 phase {name[0]}: {p99(samples) * 1000:.0f} ms (target < {TARGET_P99 * 1000:.0f}) {_mark(good)}")
    print(f"  ratio phase 2 / phase 1 p99: {ratio:.2f} (target ≤ {TARGET_RATIO}) {_mark(ratio <= TARGET_RATIO)}")
    ok &= ratio <= TARGET_RATIO
    if burst_time is None:
        print(f"  burst known to every curator: not within {patience:.0f} s (target {TARGET_BURST:.0f} s) MISS")
        ok = False
    else:
        good = burst_time <= TARGET_BURST
        print(f"  burst known to every curator in {burst_time:.1f} s (target {TARGET_BURST:.0f} s) {_mark(good)}")
        ok &= good
    return ok


def _mark(good: bool) -> str:
    return "PASS" if good else "MISS"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=20_000, help="incidents in the database")
    parser.add_argument("--quick", action="store_true", help="15 s phases instead of 60 s")
    parser.add_argument("--seconds", type=float, default=None, help="length of each phase")
    parser.add_argument("--burst", type=int, default=300, help="posts in the intake burst")
    parser.add_argument("--patience", type=float, default=120.0, help="longest wait for the burst to be known")
    args = parser.parse_args()
    database = ensure_database(args.incidents, min(2000, args.incidents), 1)
    seconds = args.seconds or (15.0 if args.quick else 60.0)
    ok = asyncio.run(run(database, args.incidents, seconds, args.burst, args.patience))
    print("PASS" if ok else "MISS")


if __name__ == "__main__":
    main()
