"""Health and metrics (README «Health and metrics»): /metrics counts what the real bot did against the stand-in,
answers only when enabled and only with the token or to loopback; /api/v1/health turns 503 when the database or
Telegram is gone, and answers 503 from the start while the bot waits for Telegram's first answer; JSON log lines
parse and name the update and the incident."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import re
import socket
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from unittest import mock

import pytest
import sqlalchemy as sa
from aiohttp import ClientConnectionError, ClientSession
from aiohttp.test_utils import make_mocked_request
from prometheus_client.parser import text_string_to_metric_families

from bot.app import open_database, running, wait_for_telegram
from bot.config import MetricsSection, load_settings
from bot.logs import configure
from bot.metrics import UNROUTED, Metrics, add_routes
from bot.services import Services
from storage.outbox import OutboxRepository
from tests.botapi import BotAPIServer
from tests.world import CURATOR_ID, DEPARTMENTS, World, incident_number, world


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def scrape(
    port: int, token: str | None = None
) -> tuple[int, dict[tuple[str, tuple[tuple[str, str], ...]], float]]:
    """GET /metrics: the status and every sample as {(name, sorted labels): value}."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with ClientSession() as http, http.get(f"http://127.0.0.1:{port}/metrics", headers=headers) as answer:
        text = await answer.text()
        if answer.status != 200:
            return answer.status, {}
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return 200, samples


async def health(port: int) -> tuple[int, dict]:
    async with ClientSession() as http, http.get(f"http://127.0.0.1:{port}/api/v1/health") as answer:
        return answer.status, await answer.json()


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def outbox_open(w: World) -> int:
    async with w.app.services.sessions() as session:
        query = sa.text("select count(*) from outbox where status in ('pending', 'sending')")
        return int((await session.execute(query)).scalar_one())


async def test_metrics_count_what_the_bot_did_through_the_stand_in(tmp_path: Path) -> None:
    port = free_port()
    async with world(tmp_path, metrics={"enabled": True, "port": port}) as w:
        executor = await w.executor(200, "Иван Исполнитель", DEPARTMENTS[0])
        card = await w.register("https://vk.com/wall-1_1 Яма на дороге у школы")
        number = incident_number(card)
        await w.route(card, DEPARTMENTS[0])
        assert await executor.wait_message(contains=f"No. {number}")
        # Telegram refuses the next reply once with 429: the path waits and repeats it, the person gets it once.
        w.api.fail_next("sendMessage", 429, retry_after=1, chat_id=CURATOR_ID)
        await w.curator.send("/help")
        await w.curator.wait_message(contains="Curator:", timeout=10.0)
        await w.settle()
        w.clock.advance(timedelta(days=3))  # past the 8 working hours of the answer (Отрадная п. 9)
        await w.app.sweep.run_once()
        await w.settle()

        status, samples = await scrape(port)
        assert status == 200
        handled = [u for u in w.api.updates if u not in w.api.dropped_updates]
        messages = [u for u in handled if "message" in u]
        presses = [u for u in handled if "callback_query" in u]
        assert value(samples, "otklik_update_seconds_count", type="message") == len(messages)
        assert value(samples, "otklik_update_seconds_count", type="callback_query") == len(presses) > 3
        assert value(samples, "otklik_update_errors_total", type="message") == 0
        accepted = [c for c in w.api.calls("sendMessage") if c.status == 200]
        assert {c.method for c in w.api.requests if c.method.startswith("send")} <= {"sendMessage", "sendChatAction"}
        assert value(samples, "otklik_telegram_sends_total") == len(accepted) > 5
        assert value(samples, "otklik_telegram_requests_total", method="sendMessage", outcome="ok") == len(accepted)
        assert value(samples, "otklik_telegram_requests_total", method="sendMessage", outcome="flood") == 1
        assert value(samples, "otklik_telegram_flood_waits_total") == 1
        assert value(samples, "otklik_retries_total", path="call") == 1
        assert value(samples, "otklik_delivery_failures_total") == 0
        assert value(samples, "otklik_telegram_last_success_timestamp_seconds") > 1.7e9
        assert value(samples, "otklik_sweep_seconds_count") == 1
        assert value(samples, "otklik_sweep_failures_total") == 0
        # One incident, routed to the first department and overdue now; the others have none.
        assert value(samples, "otklik_incidents_open", department=DEPARTMENTS[0]) == 1
        assert value(samples, "otklik_incidents_overdue", department=DEPARTMENTS[0]) == 1
        for other in (*DEPARTMENTS[1:], UNROUTED):
            assert ("otklik_incidents_open", (("department", other),)) in samples
            assert value(samples, "otklik_incidents_open", department=other) == 0
        assert value(samples, "otklik_outbox_waiting") == 0
        assert value(samples, "otklik_outbox_oldest_age_seconds") == 0
        sends_before = len(w.api.calls("sendMessage"))

        # Telegram holds the sends: two notices wait in the outbox (one in a call), and the scrape says so.
        release = w.api.hold("sendMessage")
        try:
            async with w.app.services.sessions() as session, session.begin():
                for year in (2031, 2032):
                    payload = {"kind": "text", "key": "calendar_provisional", "params": {"year": year}}
                    await OutboxRepository(session).add(CURATOR_ID, payload)
            w.app.services.outbox_ready.set()
            await w.until(lambda: len(w.api.calls("sendMessage")) > sends_before)
            await asyncio.sleep(0.2)
            waiting = await outbox_open(w)
            status, samples = await scrape(port)
            assert waiting == 2 and value(samples, "otklik_outbox_waiting") == waiting
            assert 0 < value(samples, "otklik_outbox_oldest_age_seconds") < 60
        finally:
            release()
        await w.settle()
        status, samples = await scrape(port)
        assert value(samples, "otklik_outbox_waiting") == 0 == await outbox_open(w)
        assert value(samples, "otklik_sweep_seconds_count") == 1
        assert value(samples, "otklik_telegram_sends_total") == len(accepted) + 2


async def test_metrics_are_off_by_default_and_need_the_token_or_loopback(tmp_path: Path) -> None:
    services = mock.Mock(spec=Services)
    for settings, remote, headers, expected in [
        (MetricsSection(), "127.0.0.1", {}, 404),  # off unless enabled
        (MetricsSection(enabled=True), "127.0.0.1", {}, 200),  # no token: loopback only
        (MetricsSection(enabled=True), "::1", {}, 200),
        (MetricsSection(enabled=True), "192.0.2.7", {}, 403),
        (MetricsSection(enabled=True, token="s3cret"), "127.0.0.1", {}, 401),  # a token: required everywhere
        (MetricsSection(enabled=True, token="s3cret"), "192.0.2.7", {"Authorization": "Bearer wrong"}, 401),
        (MetricsSection(enabled=True, token="s3cret"), "192.0.2.7", {"Authorization": "bearer s3cret"}, 200),
    ]:
        from aiohttp import web

        metrics = Metrics()
        metrics.refresh = mock.AsyncMock()  # type: ignore[method-assign]  # no database in this test
        app = web.Application()
        add_routes(app, services, metrics, settings, with_health=False)
        transport = mock.Mock()
        transport.get_extra_info.side_effect = lambda name, default=None, remote=remote: (
            (remote, 5555) if name == "peername" else default
        )
        request = make_mocked_request("GET", "/metrics", headers=headers, app=app, transport=transport)
        match = await app.router.resolve(request)
        try:
            answer = await match.handler(request)
            status = answer.status
        except web.HTTPException as exc:
            status = exc.status
        assert status == expected, (settings, remote, headers)
        if status == 200:
            assert b"otklik_telegram_sends_total 0.0" in answer.body


async def test_health_turns_503_when_telegram_fails_too_long_or_the_database_is_gone(tmp_path: Path) -> None:
    port = free_port()
    place = tmp_path / "db"
    place.mkdir()
    database = {"url": f"sqlite+aiosqlite:///{place / 'otklik.sqlite3'}"}
    async with world(tmp_path, database=database, metrics={"enabled": True, "port": port, "telegram_seconds": 1}) as w:
        status, body = await health(port)
        assert status == 200 and body["status"] == "ok", body
        assert body["checks"]["database"] == {"ok": True} and body["checks"]["telegram"]["ok"] is True

        # Telegram answers 502 to the long polls for a while: past 1 s without a success, the bot is unhealthy;
        # once a poll goes through, healthy again.
        w.api.fail_next("getUpdates", 502, count=3)
        seen: list[int] = []
        for _ in range(150):
            status, body = await health(port)
            seen.append(status)
            if 503 in seen and status == 200:
                break
            await asyncio.sleep(0.1)
        assert 503 in seen and seen[-1] == 200, seen

        # The database goes away (its directory moved): 503 naming it; back, and healthy again.
        engine = w.app.services.sessions.kw["bind"]
        os.rename(place, tmp_path / "away")
        try:
            await engine.dispose()
            status, body = await health(port)
            assert status == 503 and body["checks"]["database"]["ok"] is False, body
            assert "unable to open database file" in body["checks"]["database"]["error"]
            assert body["checks"]["telegram"]["ok"] is True
        finally:
            os.rename(tmp_path / "away", place)
        await engine.dispose()
        status, body = await health(port)
        assert status == 200, body


async def test_health_answers_503_naming_telegram_while_the_start_waits_for_it(tmp_path: Path) -> None:
    port = free_port()
    settings = load_settings(None, env={})
    settings.database.url = f"sqlite+aiosqlite:///{tmp_path / 'otklik.sqlite3'}"
    settings.metrics.enabled, settings.metrics.port = True, port

    # Nothing listens where the own Bot API server should be: the start waits, and health says why.
    down = f"http://127.0.0.1:{free_port()}"
    settings.bot.api_base_url = down
    opened = await open_database(settings)
    waiting = asyncio.create_task(
        wait_for_telegram(settings, "1:TOKEN", backoff=(0.05, 0.1), health=opened.metrics.telegram)
    )
    try:
        for _ in range(100):
            status, body = await health(port)
            if "does not answer" in body["checks"]["telegram"].get("error", ""):
                break
            assert status == 503, body  # from the first moment: Telegram has not answered yet
            await asyncio.sleep(0.05)
        assert status == 503 and body["status"] == "fail", body
        assert body["checks"]["database"] == {"ok": True}
        telegram = body["checks"]["telegram"]
        assert telegram["ok"] is False and "last_success" not in telegram
        assert telegram["error"].startswith(f"the own Bot API server {down} does not answer (network: "), telegram
    finally:
        waiting.cancel()  # Ctrl-C while waiting
        with contextlib.suppress(asyncio.CancelledError):
            await waiting
        await opened.close()

    # Telegram is reached but has not answered yet: still 503; once it answers, 200, and the bot starts with the
    # same server (a second one on the port would be refused).
    async with BotAPIServer() as api:
        settings.bot.api_base_url = api.base_url
        opened = await open_database(settings)
        release = api.hold("getMe")
        waiting = asyncio.create_task(wait_for_telegram(settings, "1:TOKEN", health=opened.metrics.telegram))
        try:
            await until(lambda: bool(api.calls("getMe")))
            status, body = await health(port)
            assert status == 503, body
            awaited = f"waiting for the first answer of the own Bot API server {api.base_url}"
            assert body["checks"]["telegram"]["error"] == awaited, body
            release()
            assert await waiting == "otklik_test_bot"
            status, body = await health(port)
            assert status == 200 and "error" not in body["checks"]["telegram"], body
        except BaseException:
            waiting.cancel()
            await opened.close()
            raise
        async with running(settings, "1:TOKEN", start_jobs=False, opened=opened):
            status, body = await health(port)
            assert status == 200 and body["checks"]["telegram"]["last_success"], body
            status, samples = await scrape(port)
            assert status == 200
            assert value(samples, "otklik_telegram_requests_total", method="setMyCommands", outcome="ok") >= 1
    with pytest.raises(ClientConnectionError):  # the bot stopped: so did its server
        await health(port)


async def until(condition: Callable[[], bool]) -> None:
    for _ in range(200):
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("not reached")


@pytest.mark.usefixtures("root_logging")
async def test_json_log_lines_parse_and_name_the_update_and_the_incident(tmp_path: Path) -> None:
    stream = io.StringIO()
    configure("json", "INFO", stream)
    async with world(tmp_path) as w:
        card = await w.register("https://vk.com/wall-1_2 Не работает освещение")
        number = incident_number(card)
        await w.route(card, DEPARTMENTS[0])
        # A person who blocked the bot: the reply is refused with 403, an expected condition — one line.
        w.curator.block()
        await w.curator.send("/help")
        await w.api.idle()
        w.curator.unblock()
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert lines and all({"time", "level", "logger", "message"} <= line.keys() for line in lines)
    handled = [line for line in lines if re.match(r"update \d+ \(\w+\) (handled|failed) in ", line["message"])]
    ids = {u["update_id"] for u in w.api.updates}
    assert {line["update_id"] for line in handled} == ids
    assert all(line["message"].startswith(f"update {line['update_id']} ") for line in handled)
    failed = [line["update_id"] for line in handled if " failed in " in line["message"]]
    assert failed == [w.api.updates[-1]["update_id"]]  # the reply to the person who blocked the bot
    routed = [line for line in handled if line.get("incident") == number]
    assert len(routed) >= 2, handled  # the presses that registered and routed it name it
    assert handled[0].get("incident") is None  # the post itself, before there was an incident
    blocked = [line for line in lines if "Telegram refused the reply" in line["message"]]
    assert len(blocked) == 1 and "Forbidden" in blocked[0]["message"], blocked
    assert blocked[0]["level"] == "WARNING" and "exception" not in blocked[0]
    assert blocked[0]["update_id"] == w.api.updates[-1]["update_id"]
    assert not [line for line in lines if "exception" in line], [line for line in lines if "exception" in line][:1]


async def test_a_late_database_check_is_not_cut_off_and_the_next_check_waits_for_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A database slower than `database_timeout` makes the health check fail, but its query is left to finish:
    cancelling a task inside an asyncpg query can leave the pooled connection hanging for whoever takes it next.
    The next check waits for the same query rather than piling up another."""
    import contextlib

    import storage.health
    from bot.metrics import _database_answers

    gate, queries = asyncio.Event(), []

    async def slow_ping(session: object) -> None:
        queries.append(session)
        await gate.wait()

    class Stand:
        @contextlib.asynccontextmanager
        async def sessions(self):  # type: ignore[no-untyped-def]
            yield "session"

    monkeypatch.setattr(storage.health, "ping", slow_ping)
    services = Stand()
    late = {"ok": False, "error": "TimeoutError: no answer within 0.1 s"}
    assert await _database_answers(services, 0.1) == late  # type: ignore[arg-type]
    assert await _database_answers(services, 0.1) == late  # type: ignore[arg-type]
    assert len(queries) == 1  # one query under way, not cut off, not repeated
    gate.set()
    await asyncio.sleep(0)
    assert await _database_answers(services, 0.1) == {"ok": True}  # type: ignore[arg-type]
