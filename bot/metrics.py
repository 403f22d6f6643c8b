"""How the bot is doing, for Prometheus and for a load balancer: ``/metrics`` and ``GET /api/v1/health``.

``Metrics`` owns one ``prometheus_client.CollectorRegistry`` per running bot (never the global one: two bots
in one process, as in tests, keep their own figures). What it counts and where it is fed:

- updates handled and their handling time — ``handlers.middlewares.UpdateLog`` (``observe_update``);
- Bot API requests by method and outcome, messages Telegram accepted, 429s, and the time of the last
  successful call — ``TelegramMeter``, a request middleware inside the one paced path (``handlers.calls``), so
  it sees every attempt the path makes;
- retries (handlers' calls repeated after a 429 or a 5xx; outbox rows handed back for another attempt) and
  permanent failures (outbox rows given up) — read at scrape time from the path's and the sender's own
  counters (``watch``);
- the reminder sweep's duration and failures — ``observe_sweep``, around ``bot.sweep.ReminderSweep.run_once``;
- the outbox queue (rows not yet delivered, age of the oldest) and open and overdue incidents by department —
  queried at scrape time (``storage.health``), a few aggregate queries.

Health (``health``): the database answers ``SELECT 1`` within ``[metrics] database_timeout``, and Telegram
calls have not been failing (network errors, 5xx, 401) for longer than ``[metrics] telegram_seconds`` with no
success since; while start-up waits for Telegram's first answer, unhealthy. An idle bot in webhook mode makes
no calls and stays healthy.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import logging
import time
import weakref
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aiogram import Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.exceptions import (
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.methods import SendMediaGroup, TelegramMethod
from aiogram.methods.base import TelegramType
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from bot.config import MetricsSection
    from bot.services import Services

log = logging.getLogger(__name__)

UPDATE_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)  # seconds
SWEEP_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)  # seconds
UNROUTED = "(not routed)"  # the department label of open incidents with no department yet


class TelegramHealth:
    """When Bot API calls last succeeded and since when they fail (``time.time()`` seconds; None: never).

    A failure is a call Telegram did not answer (network error), answered with 5xx, or refused with 401 (the
    token was revoked). Other refusals (400, 403, 429) are answers about one chat or about pace: Telegram is
    reachable, so they neither fail nor heal."""

    def __init__(self) -> None:
        self.last_success: float | None = None
        self.failing_since: float | None = None  # the first failure after the last success
        # While start-up waits for Telegram's first answer (bot.app.wait_for_telegram): what the last attempt
        # met. Unhealthy meanwhile at once, whatever ``telegram_seconds``: the bot cannot work yet.
        self.awaited: str | None = None

    def succeeded(self, at: float | None = None) -> None:
        """A call went through at ``at`` (default now)."""
        self.last_success = time.time() if at is None else at
        self.failing_since = None
        self.awaited = None

    def failed(self, at: float | None = None) -> None:
        """A call failed at ``at`` (default now)."""
        if self.failing_since is None:
            self.failing_since = time.time() if at is None else at

    def failing_for(self, now: float | None = None) -> float:
        """Seconds calls have been failing without a success since; 0.0 when they are not failing."""
        if self.failing_since is None:
            return 0.0
        return max(0.0, (time.time() if now is None else now) - self.failing_since)


@dataclass
class Snapshot:
    """The figures queried at the last scrape (``Metrics.refresh``)."""

    outbox_waiting: int = 0
    outbox_oldest_age: float = 0.0  # seconds; 0 when nothing waits
    departments: tuple[tuple[str, int, int], ...] = ()  # (department name, open, overdue)


class Metrics:
    """The bot's metrics (see the module docstring); one per running bot, with its own registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.update_seconds = Histogram(
            "otklik_update_seconds", "Time to handle a Telegram update", ["type"], buckets=UPDATE_BUCKETS, registry=r
        )
        self.update_errors = Counter(
            "otklik_update_errors", "Updates whose handling raised an error", ["type"], registry=r
        )
        self.requests = Counter(
            "otklik_telegram_requests", "Bot API requests by method and outcome", ["method", "outcome"], registry=r
        )
        self.sends = Counter(
            "otklik_telegram_sends", "Messages Telegram accepted (an album counts each item)", registry=r
        )
        self.floods = Counter("otklik_telegram_flood_waits", "429 Too Many Requests answers from Telegram", registry=r)
        self.last_success = Gauge(
            "otklik_telegram_last_success_timestamp_seconds",
            "When a Bot API call last succeeded (Unix time)",
            registry=r,
        )
        self.sweep_seconds = Histogram(
            "otklik_sweep_seconds", "Duration of one reminder sweep run", buckets=SWEEP_BUCKETS, registry=r
        )
        self.sweep_failures = Counter("otklik_sweep_failures", "Reminder sweep runs that failed", registry=r)
        self.telegram = TelegramHealth()
        self.snapshot = Snapshot()
        self._calls: Any = None  # handlers.calls.BotCalls
        self._sender: Any = None  # bot.outbox.OutboxSender
        self.registry.register(_Live(self))

    # ----- feeding ---------------------------------------------------------------------------------------

    def watch(self, calls: Any, sender: Any) -> None:
        """Read their ``stats`` at every scrape: ``calls``, the bot's ``handlers.calls.BotCalls`` (``flood_waits``
        and ``retries``: handlers' calls repeated), ``sender``, the ``bot.outbox.OutboxSender`` (``retried``:
        rows handed back after a 5xx or network error; ``failed``: rows given up)."""
        self._calls, self._sender = calls, sender

    def observe_update(self, kind: str, seconds: float, failed: bool) -> None:
        """An update of this kind (``message``, ``callback_query``, …) was handled in ``seconds``."""
        self.update_seconds.labels(kind).observe(seconds)
        if failed:
            self.update_errors.labels(kind).inc()

    def observe_call(self, method: str, outcome: str, sent: int = 0) -> None:
        """One Bot API request: its method (``sendMessage``), outcome (``ok``, ``flood``, ``server_error``,
        ``network_error``, ``unauthorized``, ``refused``) and the messages it put into a chat."""
        self.requests.labels(method, outcome).inc()
        if outcome == "ok":
            self.telegram.succeeded()
            self.last_success.set(self.telegram.last_success or 0.0)
            if sent:
                self.sends.inc(sent)
        elif outcome == "flood":
            self.floods.inc()
        elif outcome in ("server_error", "network_error", "unauthorized"):
            self.telegram.failed()

    def observe_sweep(self, seconds: float, failed: bool) -> None:
        """One run of the reminder sweep took ``seconds``; ``failed``: it raised (and was logged)."""
        self.sweep_seconds.observe(seconds)
        if failed:
            self.sweep_failures.inc()

    # ----- reading ---------------------------------------------------------------------------------------

    async def refresh(self, services: Services) -> None:
        """Query the database for the scrape-time figures (``Snapshot``): a few aggregate queries."""
        from storage.health import department_load, outbox_backlog, unrouted

        now = services.clock.now()
        async with services.sessions() as session:
            backlog = await outbox_backlog(session)
            load = await department_load(session, now)
            waiting, waiting_late = await unrouted(session, now)
        # Rows are stamped by the database's clock: their age is wall time, whatever clock the bot runs on.
        age = (datetime.now(UTC) - backlog.oldest).total_seconds() if backlog.oldest is not None else 0.0
        rows = [(d.name, d.open, d.overdue) for d in load] + [(UNROUTED, waiting, waiting_late)]
        self.snapshot = Snapshot(backlog.waiting, max(0.0, age), tuple(rows))

    def exposition(self) -> bytes:
        """The registry in Prometheus's text format (``CONTENT_TYPE_LATEST``)."""
        return generate_latest(self.registry)


class _Live(Collector):
    """The figures that are read, not counted: the database snapshot and the watched objects' counters."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def collect(self) -> Iterator[Any]:
        snap = self.metrics.snapshot
        yield GaugeMetricFamily("otklik_outbox_waiting", "Outbox rows not yet delivered", value=snap.outbox_waiting)
        yield GaugeMetricFamily(
            "otklik_outbox_oldest_age_seconds", "Age of the oldest undelivered outbox row", value=snap.outbox_oldest_age
        )
        opened = GaugeMetricFamily("otklik_incidents_open", "Open incidents by department", labels=["department"])
        overdue = GaugeMetricFamily(
            "otklik_incidents_overdue", "Open incidents past their deadline, by department", labels=["department"]
        )
        for name, n, late in snap.departments:
            opened.add_metric([name], n)
            overdue.add_metric([name], late)
        yield opened
        yield overdue
        retries = CounterMetricFamily(
            "otklik_retries",
            "Calls repeated (handlers' calls) or rows handed back (outbox) after a failure",
            labels=["path"],
        )
        failures = CounterMetricFamily(
            "otklik_delivery_failures", "Outbox rows given up for good (blocked, no chat, …)"
        )
        calls = outbox = given_up = 0
        if self.metrics._calls is not None:
            calls = self.metrics._calls.stats.retries + self.metrics._calls.stats.flood_waits
        if self.metrics._sender is not None:
            outbox, given_up = self.metrics._sender.stats.retried, self.metrics._sender.stats.failed
        retries.add_metric(["call"], calls)
        retries.add_metric(["outbox"], outbox)
        failures.add_metric([], given_up)
        yield retries
        yield failures


# --- the request middleware ----------------------------------------------------------------------------


class TelegramMeter(BaseRequestMiddleware):
    """Counts every Bot API request as it leaves: installed inside ``handlers.calls.BotCalls`` (after it), so a
    call the path repeats counts each time."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Any:
        """Make the request and count it by outcome; raises what the request raised."""
        name = method.__api_method__
        try:
            result = await make_request(bot, method)
        except TelegramRetryAfter:
            self.metrics.observe_call(name, "flood")
            raise
        except TelegramServerError:
            self.metrics.observe_call(name, "server_error")
            raise
        except TelegramNetworkError:
            self.metrics.observe_call(name, "network_error")
            raise
        except TelegramUnauthorizedError:
            self.metrics.observe_call(name, "unauthorized")
            raise
        except Exception:
            self.metrics.observe_call(name, "refused")
            raise
        self.metrics.observe_call(name, "ok", _sent(method))
        return result


def _sent(method: TelegramMethod[Any]) -> int:
    from handlers.calls import SENDING

    if not isinstance(method, SENDING):
        return 0
    return len(method.media) if isinstance(method, SendMediaGroup) else 1


def install_meter(bot: Bot, metrics: Metrics) -> None:
    """Put ``TelegramMeter`` on the bot's session, after (inside) the paced path already there."""
    bot.session.middleware(TelegramMeter(metrics))


# --- health --------------------------------------------------------------------------------------------


_PINGS: weakref.WeakKeyDictionary[Services, asyncio.Task[None]] = weakref.WeakKeyDictionary()  # checks under way


async def _ping(services: Services) -> None:
    from storage.health import ping

    async with services.sessions() as session:
        await ping(session)


async def _database_answers(services: Services, timeout: float) -> dict[str, Any]:
    """``{"ok": True}`` when ``SELECT 1`` answers within ``timeout`` seconds, else ``{"ok": False, "error"}``.

    A late query is not cancelled: it runs on in the background and the next check waits for it instead of
    starting another. Cancelling a task inside an asyncpg query can leave the connection waiting forever, and a
    pooled connection in that state would hang whoever took it next (asyncpg issue #873; bot.tasks)."""
    task = _PINGS.get(services)
    if task is None or task.done():
        task = asyncio.create_task(_ping(services), name="health-database-check")
        task.add_done_callback(lambda t: t.cancelled() or t.exception())  # an error seen late is not "never retrieved"
        _PINGS[services] = task
    done, _ = await asyncio.wait({task}, timeout=timeout)
    if not done:
        return {"ok": False, "error": f"TimeoutError: no answer within {timeout:g} s"}
    exc = task.exception()
    if exc is not None:  # any failure to answer is the answer
        return {"ok": False, "error": f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"}
    return {"ok": True}


async def health(services: Services, metrics: Metrics | None, settings: MetricsSection) -> tuple[bool, dict[str, Any]]:
    """(healthy, the JSON body): ``{"status": "ok"|"fail", "checks": {"database": {...}, "telegram": {...}}}``.

    ``database``: ``{"ok", "error"?}`` — ``SELECT 1`` within ``settings.database_timeout`` seconds.
    ``telegram``: ``{"ok", "last_success"?: ISO 8601 UTC, "failing_seconds", "error"?}`` — not ok once calls
    have been failing for more than ``settings.telegram_seconds`` without a success since, and not ok at once
    while start-up waits for Telegram's first answer (``error`` says what the last attempt met); without
    ``metrics``: ok."""
    database = await _database_answers(services, settings.database_timeout)
    telegram: dict[str, Any] = {"ok": True, "failing_seconds": 0.0}
    if metrics is not None:
        failing = metrics.telegram.failing_for()
        telegram = {"ok": failing <= settings.telegram_seconds, "failing_seconds": round(failing, 1)}
        if metrics.telegram.awaited is not None:
            telegram.update(ok=False, error=metrics.telegram.awaited)
        if metrics.telegram.last_success is not None:
            at = datetime.fromtimestamp(metrics.telegram.last_success, UTC)
            telegram["last_success"] = at.isoformat(timespec="seconds")
    healthy = database["ok"] and telegram["ok"]
    return healthy, {"status": "ok" if healthy else "fail", "checks": {"database": database, "telegram": telegram}}


# --- the HTTP side -------------------------------------------------------------------------------------


def _loopback(request: web.Request) -> bool:
    try:
        return ipaddress.ip_address((request.remote or "").split("%")[0]).is_loopback
    except ValueError:
        return False


def health_handler(
    services: Services, metrics: Metrics | None, settings: MetricsSection
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """The handler of ``GET /api/v1/health``: 200 healthy, 503 not, the body of ``health``. Open to all: it tells
    nothing about incidents, and a load balancer asks it."""

    async def check(_: web.Request) -> web.Response:
        healthy, body = await health(services, metrics, settings)
        return web.json_response(body, status=200 if healthy else 503)

    return check


def add_routes(
    app: web.Application, services: Services, metrics: Metrics | None, settings: MetricsSection, *, with_health: bool
) -> None:
    """``GET /metrics`` on ``app``: 404 unless ``settings.enabled``; with ``settings.token`` the bearer token is
    required (401), without one only loopback clients get an answer (403 otherwise). ``with_health``: also
    ``GET /api/v1/health`` (``health_handler``)."""
    token = settings.token.get_secret_value().strip().encode() if settings.token is not None else b""

    async def scrape(request: web.Request) -> web.Response:
        if not settings.enabled or metrics is None:
            raise web.HTTPNotFound()
        if token:
            scheme, _, offered = request.headers.get("Authorization", "").strip().partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(offered.strip().encode(), token):
                return web.Response(
                    status=401,
                    text="send the header «Authorization: Bearer <token>»\n",
                    headers={"WWW-Authenticate": 'Bearer realm="otklik-metrics"'},
                )
        elif not _loopback(request):
            return web.Response(status=403, text="metrics answer loopback clients only (or set metrics.token)\n")
        try:
            await metrics.refresh(services)
        except Exception as exc:  # the counters still answer; the database's own health says what is wrong
            log.warning("metrics: the database figures could not be read: %s", exc)
        return web.Response(body=metrics.exposition(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    app.router.add_get("/metrics", scrape)
    if with_health:
        app.router.add_get("/api/v1/health", health_handler(services, metrics, settings))
