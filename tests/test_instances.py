"""Several instances, really (SPEC §8, README «Several instances»): two `python -m bot` processes in webhook mode on
one PostgreSQL database and one Redis, Telegram's pushes and the intake API's posts going to either in turn (as a
TLS proxy in front would send them), the sweep and the outbox running in both, one instance killed with SIGKILL in
the middle of a burst and started again. Afterwards every notice and reminder was delivered exactly once (except
a message Telegram accepted right before the kill: the documented crash window), and no transition happened twice.

Runs only when OTKLIK_TEST_PG_URL and OTKLIK_TEST_REDIS_URL are set (`.ci/run` sets both when the servers answer);
it makes a database of its own (CREATE, then DROP DATABASE) and uses Redis database 14, flushed before and after.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from aiohttp import ClientError, ClientSession, ClientTimeout

from tests.botapi import BotAPIServer
from tests.test_crash import BotProcess, invite_executor, register_and_route
from tests.test_webhook import free_port

PG_URL = os.environ.get("OTKLIK_TEST_PG_URL")
REDIS_URL = os.environ.get("OTKLIK_TEST_REDIS_URL")
REDIS_DB = 14  # a database index of this test's own
SECRET = "two-instances_secret"
TOKEN = "intake-token"
WINDOW = 1.0  # seconds between Telegram's answer and the kill in which a message may go out again
CHAT_POSTS = 2  # per curator, through the chat
API_POSTS = 6  # through the intake API, left unrouted: their routing reminders fire in both sweeps
REMINDED = 120  # seconds after the burst within which every routing reminder must have fired
DELIVERED = 60  # seconds after that within which every notice must be out


pytestmark = [
    pytest.mark.skipif(not (PG_URL and REDIS_URL), reason="needs OTKLIK_TEST_PG_URL and OTKLIK_TEST_REDIS_URL"),
    pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL"),
]

CONFIG = """
[bot]
api_base_url = "{base_url}"
default_locale = "en"
webhook_url = "http://127.0.0.1:{hook_port}/otklik/telegram"
webhook_port = {hook_port}
fsm_storage = "{redis}"
[database]
url = "{database}"
upgrade_on_start = false
[organisation]
preset = "otradnaya"
production_calendar = "none"
[organisation.schedule]
hours = "00:00-24:00"
lunch = ""
workdays = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
[organisation.overrides]
routing = "1m"
[[departments]]
code = "zhkh"
name = "Управление ЖКХ"
[people]
admins = [100]
curators = [100, 101]
[reminders]
sweep_seconds = 5
morning_digest = false
surge_count = 0
[delivery]
rate_scale = 50
lease_seconds = 5
[intake]
enabled = true
port = {intake_port}
tokens = ["{token}"]
curator = 100
[metrics]
enabled = true
"""


class Stand(BotAPIServer):
    """The Bot API stand-in whose updates go out through the ``Balancer`` instead of its own webhook push."""

    def __init__(self) -> None:
        super().__init__()
        self.outgoing: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def enqueue(self, update: dict[str, Any]) -> int:
        update = {"update_id": self._next_update_id, **update}
        self._next_update_id += 1
        self.updates.append(update)
        await self.outgoing.put(update)
        return int(update["update_id"])


class Balancer:
    """Telegram pushing through a proxy to two instances: updates one at a time and in order (max_connections
    = 1), each to the next instance in turn; one not taken (the instance is down, or answers 5xx) goes to the
    other, until an instance answers 2xx."""

    def __init__(self, hooks: list[str]) -> None:
        self.hooks = hooks
        self.turn = 0
        self.taken: Counter[str] = Counter()
        self.failovers = 0

    async def push(self, queue: asyncio.Queue[dict[str, Any]]) -> None:
        headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
        async with ClientSession(timeout=ClientTimeout(total=60)) as http:
            while True:
                update = await queue.get()
                while True:
                    hook = self.hooks[self.turn % len(self.hooks)]
                    self.turn += 1
                    try:
                        async with http.post(hook, json=update, headers=headers) as answer:
                            if answer.status < 300:
                                self.taken[hook] += 1
                                break
                    except (ClientError, TimeoutError):
                        pass
                    self.failovers += 1
                    await asyncio.sleep(0.05)


async def post_incident(ports: list[int], n: int, detected: datetime) -> int:
    """The monitoring system posts through the proxy: to the instances in turn, again elsewhere if one fails."""
    body = {
        "url": f"https://vk.com/wall-77_{n}",
        "text": f"api{n} Нет света на улице",
        "detected_at": detected.isoformat(),
    }
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with ClientSession(timeout=ClientTimeout(total=30)) as http:
        for attempt in range(200):
            port = ports[(n + attempt) % len(ports)]
            try:
                async with http.post(f"http://127.0.0.1:{port}/api/v1/incidents", json=body, headers=headers) as a:
                    if a.status in (200, 201):
                        return int((await a.json())["number"])
            except (ClientError, TimeoutError):
                pass
            await asyncio.sleep(0.1)
    raise AssertionError(f"post {n} was never taken")


async def healthy(port: int) -> bool:
    try:
        async with (
            ClientSession(timeout=ClientTimeout(total=5)) as http,
            http.get(f"http://127.0.0.1:{port}/api/v1/health") as answer,
        ):
            return answer.status == 200
    except (ClientError, TimeoutError):
        return False


async def wait_healthy(bots: list[BotProcess], ports: list[int], timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    for bot, port in zip(bots, ports, strict=True):
        while not await healthy(port):
            if time.monotonic() > deadline or (bot.proc is not None and bot.proc.returncode is not None):
                raise AssertionError("an instance did not start: " + bot.log.read_text()[-3000:])
            await asyncio.sleep(0.2)


def _with_database(url: str, name: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(database=name).render_as_string(hide_password=False)


def _redis_db(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{REDIS_DB}", parts.query, parts.fragment))


async def test_two_instances_deliver_every_notice_and_reminder_once_through_a_kill(tmp_path: Path) -> None:
    assert PG_URL and REDIS_URL
    from redis.asyncio import Redis
    from sqlalchemy import text

    from storage.db import make_engine, upgrade_async

    name = f"otklik_instances_{uuid.uuid4().hex[:10]}"
    admin = make_engine(PG_URL, isolation_level="AUTOCOMMIT")
    async with admin.connect() as connection:
        await connection.execute(text(f'CREATE DATABASE "{name}"'))
    database = _with_database(PG_URL, name)
    redis_url = _redis_db(REDIS_URL)
    redis = Redis.from_url(redis_url)
    await redis.flushdb()
    engine = make_engine(database)
    bots: list[BotProcess] = []
    try:
        # Migrations once, before the instances start (README «Several instances»: `python -m bot db upgrade`).
        await upgrade_async(engine)
        async with Stand() as api:
            hook_ports, intake_ports = [free_port(), free_port()], [free_port(), free_port()]
            for i in range(2):
                config = tmp_path / f"config-{i}.toml"
                config.write_text(
                    CONFIG.format(
                        base_url=api.base_url,
                        hook_port=hook_ports[i],
                        redis=redis_url,
                        database=database,
                        intake_port=intake_ports[i],
                        token=TOKEN,
                    ),
                    encoding="utf-8",
                )
                bots.append(BotProcess(config, tmp_path / f"bot-{i}.log"))
            os.environ["OTKLIK_WEBHOOK_SECRET"] = SECRET  # the same for both, inherited by the processes
            try:
                await asyncio.gather(*(bot.start() for bot in bots))
            finally:
                del os.environ["OTKLIK_WEBHOOK_SECRET"]
            await wait_healthy(bots, intake_ports)
            balancer = Balancer([f"http://127.0.0.1:{port}/otklik/telegram" for port in hook_ports])
            pushing = asyncio.create_task(balancer.push(api.outgoing))
            try:
                await run_burst(api, bots, intake_ports, tmp_path)
                await check(api, engine, bots, balancer)
            finally:
                pushing.cancel()
                await asyncio.gather(*(bot.stop() for bot in bots))
    finally:
        for bot in bots:
            await bot.kill()
        await engine.dispose()
        async with admin.connect() as connection:
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()
        await redis.flushdb()
        await redis.aclose()


async def run_burst(api: Stand, bots: list[BotProcess], intake_ports: list[int], tmp_path: Path) -> None:
    curators = [api.user(100, "Curator", language_code="en"), api.user(101, "Second", language_code="en")]
    executor = api.user(200, "Executor", language_code="en")
    await invite_executor(curators[0], executor)  # while calm

    async def chat_posts(index: int) -> None:
        for n in range(CHAT_POSTS):
            await register_and_route(curators[index], f"https://vk.com/wall-{index + 1}_{n} chat{index}x{n} pothole")

    async def api_posts() -> None:
        # Detected 40 s ago: half of the 1-minute routing time has passed, the rest passes during the test.
        for n in range(API_POSTS):
            await post_incident(intake_ports, n, datetime.now(UTC) - timedelta(seconds=40))

    async def chaos() -> None:
        await asyncio.sleep(2.0)
        await bots[1].kill()  # mid-burst: its update, post or notice in flight goes to the other
        await bots[1].start()  # and it comes back, sweeping and sending again

    await asyncio.gather(chat_posts(0), chat_posts(1), api_posts(), chaos())
    assert bots[1].kills == 1


async def check(api: Stand, engine: Any, bots: list[BotProcess], balancer: Balancer) -> None:
    from sqlalchemy import text

    async def scalar(sql: str) -> Any:
        async with engine.connect() as connection:
            return (await connection.execute(text(sql))).scalar_one()

    async def rows(sql: str) -> list[Any]:
        async with engine.connect() as connection:
            return list((await connection.execute(text(sql))).all())

    # Every routing reminder of the API's incidents has fired (half-time and expiry; the last is due about 20 s
    # after the last post, later when the machine is busy), then every notice is out within DELIVERED seconds:
    # two waits, so that a slow sweep is told from a notice that stays behind.
    expected_marks = 2 * API_POSTS
    reminded = "select count(*) from reminders_sent"
    deadline = time.monotonic() + REMINDED
    while time.monotonic() < deadline and await scalar(reminded) < expected_marks:
        await asyncio.sleep(0.5)
    deadline = time.monotonic() + DELIVERED
    while time.monotonic() < deadline and await scalar("select count(*) from outbox where status != 'sent'"):
        await asyncio.sleep(0.5)
    failed = await rows(
        "select id, chat_id, status, attempts, created_at, not_before, claimed_by, claimed_until, last_error,"
        " substr(cast(payload as text), 1, 200) from outbox where status != 'sent'"
    )
    if failed:  # what each instance logged, and who holds or waits for what, to explain a row left behind
        logs = "\n".join(f"--- {bot.log.name}:\n" + bot.log.read_text(errors="replace")[-4000:] for bot in bots)
        sessions = await rows(
            "select pid, state, wait_event_type, wait_event, xact_start, pg_blocking_pids(pid), left(query, 200)"
            " from pg_stat_activity where datname = current_database() and pid != pg_backend_pid()"
        )
        raise AssertionError(f"{failed}\nnow {datetime.now(UTC)}\nsessions {sessions}\n{logs}")
    assert await scalar(reminded) >= expected_marks, await rows("select * from reminders_sent")
    assert balancer.taken and len(balancer.taken) == 2, balancer.taken  # both instances took updates

    # No transition twice; every incident once.
    assert await scalar("select count(*) from incidents") == 2 * CHAT_POSTS + API_POSTS
    twice = await rows("select incident_id, name, count(*) from events group by incident_id, name having count(*) > 1")
    assert not twice, twice
    assert await scalar("select count(*) from events where name = 'routed'") == 2 * CHAT_POSTS

    # Every message Telegram accepted, once: a (chat, text) seen twice must have gone out right before the kill.
    kills = [k for bot in bots for k in bot.killed_at]
    sent = [c for c in api.calls("sendMessage") if c.status == 200]
    seen: dict[tuple[str, str], list[float]] = {}
    for call in sent:
        seen.setdefault((str(call.params.get("chat_id")), str(call.params.get("text"))), []).append(call.time)
    for (chat, message), times in seen.items():
        for first in times[:-1]:
            assert any(0 <= k - first < WINDOW for k in kills), f"sent twice to {chat}: {message[:200]}"

    # Each API incident: one expiry routing reminder to the curator, and at most one half-time reminder (a sweep
    # that comes after both marks folds the half-time one into the expiry: one catch-up reminder, not two).
    numbers = [
        r[0] for r in await rows("select id from incidents where id not in (select incident_id from assignments)")
    ]
    assert len(numbers) == API_POSTS
    for number in numbers:
        for reminder in ("half of the routing time has passed", "the routing time is up"):
            got = [
                c
                for c in sent
                if str(c.params.get("chat_id")) == "100"
                and reminder in str(c.params.get("text"))
                and re.search(rf"No\. {number}\b", str(c.params.get("text")))
            ]
            assert len(got) >= 1 or "half" in reminder, f"incident {number}: no «{reminder}»"
            assert len(got) <= 1 or any(0 <= k - got[0].time < WINDOW for k in kills), f"{number}: «{reminder}» twice"
