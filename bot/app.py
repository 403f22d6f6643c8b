"""Application wiring: database, services, the aiogram dispatcher, the outbox sender."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import re
import secrets
import signal
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.fsm.storage.base import BaseEventIsolation, BaseStorage
from aiogram.fsm.storage.memory import SimpleEventIsolation
from aiogram.utils.i18n import I18n
from aiohttp import web
from pydantic import ValidationError
from sqlalchemy import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.assistant import preload_similar, warm_up_assistant
from bot.backup import schedule_backups
from bot.config import ConfigError, Settings, cannot_listen
from bot.domain.clock import Clock, SystemClock
from bot.domain.workflow import Workflow
from bot.i18n import make_i18n
from bot.inbox import UpdateInbox, default_instance
from bot.metrics import Metrics, TelegramHealth, install_meter
from bot.outbox import OutboxSender, Pacer
from bot.report_files import warm_up
from bot.services import Services
from bot.sweep import ReminderSweep, start_scheduler
from bot.tasks import cut_off, finish
from bot.texts import Text

log = logging.getLogger(__name__)


def make_bot(settings: Settings, token: str) -> Bot:
    """The bot, with every call it makes on one paced, retried path (``handlers.calls``) and the process's
    one ``Pacer`` built from ``[delivery]``; the outbox sender shares that pacer (``running``)."""
    from handlers.calls import install_calls

    session = None
    if settings.bot.api_base_url:
        # Organisations may run their own Bot API server (and tests run a local stand-in).
        session = AiohttpSession(api=TelegramAPIServer.from_base(settings.bot.api_base_url.rstrip("/")))
    bot = Bot(token, session=session, default=DefaultBotProperties(parse_mode=None))
    install_calls(bot, Pacer(settings.delivery.build()))
    return bot


def make_services(settings: Settings, engine: AsyncEngine, clock: Clock | None = None) -> Services:
    """The services over ``engine``: the workflow of the configured preset and calendars, ``clock`` (default the
    system clock, aware UTC). Raises what ``Settings.preset()`` and ``Settings.calendar()`` raise for a config
    they cannot resolve."""
    from storage.db import make_session_factory

    workflow = Workflow(
        settings.preset(),
        settings.calendar(),
        settings.curator_work_calendar(),
        organisation=settings.organisation.name,
    )
    return Services(make_session_factory(engine), workflow, clock or SystemClock(), settings)


def make_fsm(settings: Settings | None, services: Services) -> tuple[BaseStorage, BaseEventIsolation]:
    """Dialog state in our database (embedded) or in Redis (several instances)."""
    from storage.fsm import SqlStorage

    url = settings.bot.fsm_storage if settings is not None else "database"
    if url == "database":
        # Events isolation: updates of one user in one chat run one after another, the FSM state
        # read under the lock (a fast second press or an album never sees a half-written dialog).
        return SqlStorage(services.sessions), SimpleEventIsolation()
    from aiogram.fsm.storage.redis import RedisStorage

    from bot.isolation import RenewedRedisIsolation

    redis = RedisStorage.from_url(url)
    # Not aiogram's own isolation: its lock outlives a killed instance by a minute (bot.isolation).
    return redis, RenewedRedisIsolation(redis.redis, redis.key_builder)


def make_dispatcher(
    services: Services, i18n: I18n, storage: BaseStorage | None = None, metrics: Metrics | None = None
) -> Dispatcher:
    """A fresh dispatcher (fresh routers, so every test may build one) with the middlewares every update goes
    through, in order — once-only, the press it carries, the flood limit, the person and locale — and the error
    handler; dialogs in ``storage`` or where the config says (``make_fsm``)."""
    from bot.flood import FloodLimits
    from handlers import build_routers
    from handlers.common import on_error
    from handlers.middlewares import CallbackMiddleware, FloodMiddleware, OnceMiddleware, PersonMiddleware, UpdateLog

    fsm_storage, isolation = make_fsm(services.settings, services)
    dispatcher = Dispatcher(
        storage=storage or fsm_storage,
        events_isolation=isolation,
        services=services,
        i18n=i18n,
    )
    dispatcher.update.outer_middleware(UpdateLog(metrics))  # first: every update is logged and timed
    dispatcher.update.outer_middleware(OnceMiddleware(services))
    dispatcher.update.outer_middleware(CallbackMiddleware())
    # Inside Once, so a skipped update is recorded. People may send as fast as the bot may answer one chat:
    # against a stand-in whose limits run `rate_scale` times faster, so do they (bot.flood).
    scale = services.settings.delivery.rate_scale if services.settings is not None else 1.0
    limits = FloodLimits(per_second=scale, press_per_second=2 * scale)
    dispatcher.update.outer_middleware(FloodMiddleware(services, limits))
    dispatcher.update.outer_middleware(PersonMiddleware(services, i18n))
    for router in build_routers():
        dispatcher.include_router(router)
    dispatcher.errors.register(on_error)
    return dispatcher


@dataclass
class Running:
    """What ``running`` started: the bot (its one paced call path), the dispatcher, the services, the outbox
    sender, the reminder sweep and the inbox of updates (``bot.inbox``: polling and the webhook feed it)."""

    bot: Bot
    dispatcher: Dispatcher
    services: Services
    sender: OutboxSender
    sweep: ReminderSweep
    updates: UpdateInbox
    metrics: Metrics | None = None


@dataclass
class Opened:
    """What start-up opens before it waits for Telegram (``open_database``): the database's engine, the services
    over it, the bot's metrics, and the server of ``/metrics`` and ``/api/v1/health`` (None when off), which
    answers while Telegram is awaited. ``running`` takes it over; ``close`` is for a start that ends before."""

    engine: AsyncEngine
    services: Services
    metrics: Metrics
    server: web.AppRunner | None = None

    async def close(self) -> None:
        """Stop the health server and close the database's connections."""
        if self.server is not None:
            await self.server.cleanup()
        await self.engine.dispose()


async def open_database(settings: Settings, clock: Clock | None = None, *, serve: bool = True) -> Opened:
    """The first step of a start: the database opened, upgraded when ``[database] upgrade_on_start``, asked
    ``SELECT 1``; the services over it (``clock``: default the system clock); with ``serve``, the health and
    metrics server started as configured (``health_server``). Raises bot.config.ConfigError in one line naming
    the database (password hidden) when it cannot be opened or upgraded (no server, no such database, refused
    login, unreadable file) or when the server cannot listen on its address; nothing is left open then."""
    from sqlalchemy.exc import SQLAlchemyError

    from bot.db_errors import database_errors, database_problem
    from storage.db import make_engine, upgrade_async
    from storage.health import ping

    url = settings.database.url
    pool = {} if _in_memory(url) else {"pool_size": settings.bot.update_concurrency + 5}
    with database_errors([url]):  # the PostgreSQL driver not installed: the same line as every command's
        engine = make_engine(url, **pool)  # a connection for each update handled at once
    opened = Opened(engine, make_services(settings, engine, clock), Metrics())
    try:
        try:
            if settings.database.upgrade_on_start:
                await upgrade_async(engine)
            async with opened.services.sessions() as session:
                await ping(session)
        except (SQLAlchemyError, OSError) as exc:
            # No database, no server: said as every database command says it (bot.db_errors); else the driver's line.
            known = database_problem(exc, [url])
            if known is not None:
                raise known from None
            raise ConfigError(
                "the database {url} cannot be opened: {reason}",
                url=make_url(url).render_as_string(hide_password=True),
                reason=_database_error(exc),
            ) from None
        if serve:
            opened.server = await health_server(settings, opened.services, opened.metrics)
    except BaseException:
        await opened.close()
        raise
    return opened


async def health_server(settings: Settings, services: Services, metrics: Metrics) -> web.AppRunner | None:
    """The server of ``/api/v1/health`` and ``/metrics`` for start-up, before the intake API: on the intake API's
    address when it is enabled (``_start_intake`` puts the intake API there in its place), else on ``[metrics]
    host:port`` when metrics are enabled (``running`` keeps it); None when neither is on."""
    from bot import metrics as ops

    intake, config = settings.intake, settings.metrics
    if intake.enabled:
        host, port, setting = intake.host, intake.port, "[intake] port"
    elif config.enabled:
        host, port, setting = config.host, config.port, "[metrics] port"
    else:
        return None
    app = web.Application()
    ops.add_routes(app, services, metrics, config, with_health=True)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except OSError as exc:
        await runner.cleanup()
        raise cannot_listen(host, port, exc, setting) from None
    log.info("Metrics and health on http://%s:%d (/metrics, /api/v1/health)", host, port)
    return runner


@contextlib.asynccontextmanager
async def running(
    settings: Settings,
    token: str,
    clock: Clock | None = None,
    *,
    start_jobs: bool = True,
    opened: Opened | None = None,
) -> AsyncIterator[Running]:
    """Everything the bot needs, started; polling is the caller's. Tests with a hand-driven clock
    pass start_jobs=False and call the sweep themselves. ``opened``: what ``open_database`` opened before the
    wait for Telegram (default: opened here, with ``clock``); ``running`` owns it from then on and closes it.
    Raises ConfigError when the database cannot be opened (``open_database``)."""
    from bot.chats import follow_migration
    from handlers.calls import install_calls
    from handlers.common import set_commands
    from handlers.delivery import make_deliver

    if opened is None:
        opened = await open_database(settings, clock, serve=False)
    engine, services, metrics = opened.engine, opened.services, opened.metrics
    services.assistant.start()  # the draft pre-check's language tools load in a thread meanwhile, when on
    await _seed(services, settings)
    await asyncio.to_thread(warm_up_assistant, settings)
    await preload_similar(services)
    for status in settings.calendar_years(services.clock.now()):
        log.log(logging.INFO if status.official else logging.WARNING, "Production calendar %s", status.describe())
    i18n = make_i18n()
    bot = make_bot(settings, token)
    calls = install_calls(bot)
    install_meter(bot, metrics)  # inside the paced path: it sees every request

    async def follow(old_chat_id: int, new_chat_id: int) -> None:
        await follow_migration(services.sessions, services.clock, old_chat_id, new_chat_id)
        services.outbox_ready.set()

    calls.on_migrate = follow
    dispatcher = make_dispatcher(services, i18n, metrics=metrics)
    sender = OutboxSender(
        services.sessions,
        make_deliver(bot, services, i18n, settings.bot.default_locale),
        services.clock,
        services.outbox_ready,
        settings=settings.delivery.build(),
        pacer=calls.pacer,  # one pacer: replies and notices to a chat share its limit
    )
    sender_task = asyncio.create_task(sender.run(), name="outbox-sender")
    # openpyxl and matplotlib load now, not on the first /report; in a thread, so polling need not wait.
    warming = asyncio.create_task(asyncio.to_thread(warm_up), name="report-warm-up")
    sweep = ReminderSweep(services)
    webhook_port = settings.bot.webhook_port if settings.bot.webhook_url else None
    updates = UpdateInbox(
        dispatcher,
        bot,
        services.sessions,
        instance=settings.bot.instance or default_instance(webhook_port),
        concurrency=settings.bot.update_concurrency,
        lease=timedelta(seconds=settings.bot.update_lease_seconds),
    )
    await updates.start()
    sweep.observer = metrics.observe_sweep
    metrics.watch(calls, sender)
    scheduler = start_scheduler(sweep, settings.reminders.sweep_seconds) if start_jobs else None
    schedule_backups(scheduler, settings)  # the daily backup, when [database] backup_dir is set
    intake = await _start_intake(settings, services, metrics, opened.server)
    try:
        with i18n.context():
            await set_commands(bot, i18n)
        yield Running(bot, dispatcher, services, sender, sweep, updates, metrics)
    finally:
        await updates.stop()  # the update being handled finishes and its notices are queued; the rest waits
        if intake is not None:
            await intake.cleanup()
        if scheduler is not None:
            scheduler.shutdown(wait=False)
        # A normal stop: the part in flight is finished and recorded, claimed rows go back at once.
        await sender.stop()
        await finish(sender_task, SENDER_STOP_SECONDS)  # stopped, it ends at its next look: not cut off in a query
        await bot.session.close()
        await engine.dispose()
        with contextlib.suppress(Exception):
            await warming  # a thread cannot be cut short: let it finish


def _in_memory(url: str) -> bool:
    parsed = make_url(url)
    return parsed.get_backend_name() == "sqlite" and parsed.database in (None, "", ":memory:")


async def _seed(services: Services, settings: Settings) -> None:
    """``Services.seed``, again if another instance starting at the same moment added the same rows first (a
    unique name or Telegram id refused): the seed is idempotent, so the second pass finds them and adds the rest."""
    from sqlalchemy.exc import IntegrityError

    for attempt in range(5):
        try:
            await services.seed(settings)
            return
        except IntegrityError:
            if attempt == 4:
                raise
            log.info("another instance seeded the directory at the same moment; seeding again")
            await asyncio.sleep(0.1 * (attempt + 1))


async def _start_intake(
    settings: Settings, services: Services, metrics: Metrics, early: web.AppRunner | None
) -> web.AppRunner | None:
    """The HTTP intake API, when the config enables it, with ``/metrics`` and ``/api/v1/health`` beside it;
    else their own small server when ``[metrics]`` is enabled (bot.metrics). ``early``: the server
    ``health_server`` started before the wait for Telegram: kept when it is the metrics server, stopped just
    before the intake API takes its address."""
    from bot import metrics as ops

    config = settings.intake
    if not config.enabled:
        return early or await health_server(settings, services, metrics)
    if early is not None:
        await early.cleanup()
    from bot import intake_api

    curator = config.curator if config.curator is not None else next(iter(settings.people.curators), None)
    health = ops.health_handler(services, metrics, settings.metrics)
    app = intake_api.make_app(services, [t.get_secret_value() for t in config.tokens], curator, health=health)
    ops.add_routes(app, services, metrics, settings.metrics, with_health=False)
    runner = await intake_api.start(app, config.host, config.port)
    log.info("Intake API listens on http://%s:%d/api/v1/incidents", config.host, config.port)
    return runner


async def run_webhook(settings: Settings, token: str, opened: Opened | None = None) -> None:
    """Webhook mode: Telegram pushes each update to ``bot.webhook_url``; a TLS proxy forwards it to
    ``webhook_listen:webhook_port``. A push is answered 200 once the update is committed to the inbox
    (``bot.inbox``), before it is handled: a crash after that handles it at restart; a crash before it leaves
    Telegram pushing it again. ``max_connections=1`` keeps Telegram's pushes in order. Runs until SIGTERM or
    SIGINT, then stops cleanly (``running``, which takes over ``opened``)."""
    config = settings.bot
    secret = config.webhook_secret.get_secret_value() if config.webhook_secret else secrets.token_urlsafe(32)
    async with _stop_signals() as stop:
        await _serve_webhook(settings, token, secret, stop, opened)


@contextlib.asynccontextmanager
async def _stop_signals() -> AsyncIterator[asyncio.Event]:
    """An event set by SIGTERM or SIGINT (a clean stop; the bot runs on Unix)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    stopping = [signal.SIGINT, signal.SIGTERM]
    for signal_number in stopping:
        loop.add_signal_handler(signal_number, stop.set)
    try:
        yield stop
    finally:
        for signal_number in stopping:
            loop.remove_signal_handler(signal_number)


def webhook_app(updates: UpdateInbox, path: str, secret: str) -> web.Application:
    """The aiohttp app Telegram pushes to at ``path``: a push without ``secret`` in Telegram's header gets 401,
    one that is not an update 400; an update is answered 200 once recorded in the inbox (a database error gives
    500, and Telegram pushes it again)."""

    async def receive(request: web.Request) -> web.Response:
        given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
        if not secrets.compare_digest(given.encode(), secret.encode()):
            return web.Response(status=401, text="Unauthorized")
        try:
            payload = await request.json()
            if not isinstance(payload, dict):
                raise ValueError("not an object")
            await updates.receive_raw(payload)
        except (ValueError, ValidationError) as error:
            log.warning("A webhook push that is not an update was refused: %s", error)
            return web.Response(status=400, text="Bad Request")
        return web.json_response({})

    app = web.Application()
    app.router.add_post(path, receive)
    return app


async def _serve_webhook(
    settings: Settings, token: str, secret: str, stop: asyncio.Event, opened: Opened | None
) -> None:
    config = settings.bot
    assert config.webhook_url is not None
    async with running(settings, token, opened=opened) as app:
        freeze_startup_objects()
        web_app = webhook_app(app.updates, urlsplit(config.webhook_url).path or "/", secret)
        runner = web.AppRunner(web_app, access_log=None)
        await runner.setup()
        try:
            await web.TCPSite(runner, config.webhook_listen, config.webhook_port).start()
            await app.bot.set_webhook(
                config.webhook_url,
                secret_token=secret,
                max_connections=1,
                allowed_updates=app.dispatcher.resolve_used_update_types(),
            )
            log.info(
                "Otklik starts (webhook %s, listening on %s:%d): preset %s",
                config.webhook_url,
                config.webhook_listen,
                config.webhook_port,
                settings.preset().name,
            )
            await stop.wait()
        finally:
            # Nothing more is taken; ``running`` then lets the update being handled and the sender's call in
            # flight finish. The webhook stays set: Telegram keeps the updates until we are back.
            await runner.cleanup()


def freeze_startup_objects() -> None:
    """Put what start-up made (modules, classes, aiogram's pydantic schemas: some 250,000 objects) out
    of the garbage collector's reach. Otherwise every full collection walks them again: building the
    15,000-row overdue list of a 1M-incident report took twice as long because of it."""
    gc.freeze()


async def run_polling(settings: Settings, token: str, opened: Opened | None = None) -> None:
    """Long polling (``UpdateInbox.poll``) until SIGTERM or SIGINT: each batch of updates is committed to the
    inbox before the next ``getUpdates`` confirms it to Telegram, so a crash never finds an update confirmed and
    not recorded; a clean stop lets the updates being handled and the sender's call in flight finish.
    ``running`` takes over ``opened``."""
    async with running(settings, token, opened=opened) as app, _stop_signals() as stop:
        freeze_startup_objects()
        log.info("Otklik starts: preset %s, time zone %s", settings.preset().name, settings.calendar().tz.key)
        polling = asyncio.create_task(app.updates.poll(), name="polling")
        stopped = asyncio.create_task(stop.wait())
        try:
            await asyncio.wait({polling, stopped}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            await cut_off((polling, stopped), POLL_STOP_SECONDS)


POLL_STOP_SECONDS = 10.0  # the polling task, cut off at a stop, may take this long to end (a batch being recorded)
SENDER_STOP_SECONDS = 10.0  # a stopped outbox sender's last look may take this long before it is cut off
START_BACKOFF = (1.0, 60.0)  # seconds: the first wait for Telegram at start, doubling up to the second


async def wait_for_telegram(
    settings: Settings,
    token: str,
    *,
    backoff: tuple[float, float] = START_BACKOFF,
    health: TelegramHealth | None = None,
) -> str:
    """At start, once the database is open (``open_database``): ask Telegram who the bot is (getMe) until it
    answers, and return the bot's @username. Each failure is one log line saying what failed — the network,
    Telegram's servers, or the own Bot API server of ``bot.api_base_url`` — and the attempt is repeated after
    ``backoff[0]`` seconds, doubling up to ``backoff[1]`` (a bot started before the network is up waits for it).
    ``health`` (the running bot's ``Metrics.telegram``) says meanwhile that Telegram is awaited and why, so
    ``/api/v1/health`` answers 503; the answer clears it. A token Telegram refuses (401, or 404: no such bot)
    raises bot.config.ConfigError saying so: retrying cannot help."""
    from dataclasses import replace

    from aiogram.exceptions import (
        TelegramNetworkError,
        TelegramNotFound,
        TelegramServerError,
        TelegramUnauthorizedError,
    )

    from handlers.calls import install_calls

    server = settings.bot.api_base_url
    where = f"the own Bot API server {server}" if server else "Telegram (api.telegram.org)"
    delay = backoff[0]
    bot = make_bot(settings, token)
    pacer = install_calls(bot).pacer
    pacer.settings = replace(pacer.settings, server_retries=0)  # this loop retries, with one line per failure
    if health is not None:
        health.awaited = f"waiting for the first answer of {where}"
    try:
        while True:
            try:
                me = await bot.get_me()
                if health is not None:
                    health.succeeded()
                return me.username or str(me.id)
            except (TelegramUnauthorizedError, TelegramNotFound):
                # Built apart: pybabel misses a message nested in another one's arguments across lines.
                refuser = (
                    Text("the own Bot API server {url}", url=server) if server else Text("Telegram (api.telegram.org)")
                )
                raise ConfigError(  # said by the command line in its language (--locale, else default_locale)
                    "{where} refused the bot token (401/404): it is wrong or revoked. Take the token from "
                    "@BotFather and set it in OTKLIK_BOT_TOKEN or bot.token.",
                    where=refuser,
                ) from None
            except TelegramNetworkError as exc:
                what = f"{where} does not answer (network: {_first_line(exc)})"
            except TelegramServerError as exc:
                what = f"{where} answers with a server error ({_first_line(exc)})"
            if health is not None:
                health.failed()
                health.awaited = what
            log.warning("%s; trying again in %.0f s", what, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, backoff[1])
    finally:
        await bot.session.close()


def _first_line(exc: BaseException) -> str:
    text = str(exc).removeprefix("HTTP Client says - ").strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


def _database_error(exc: BaseException) -> str:
    """The first line of a database error without SQLAlchemy's "(driver.Error) " prefix (the exception's class
    name when it says nothing): ``database "otklik" does not exist``."""
    line = re.sub(r"^\([\w.]+\) ", "", _first_line(exc))
    return line or type(exc).__name__
