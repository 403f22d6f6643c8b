"""Application wiring: database, services, the aiogram dispatcher, the outbox sender."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import secrets
import signal
from collections.abc import AsyncIterator
from dataclasses import dataclass
from urllib.parse import urlsplit

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.fsm.storage.base import BaseEventIsolation, BaseStorage
from aiogram.fsm.storage.memory import SimpleEventIsolation
from aiogram.utils.i18n import I18n
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config import Settings
from bot.domain.clock import Clock, SystemClock
from bot.domain.workflow import Workflow
from bot.i18n import make_i18n
from bot.outbox import OutboxSender, Pacer
from bot.services import Services
from bot.sweep import ReminderSweep, start_scheduler

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

    redis = RedisStorage.from_url(url)
    return redis, redis.create_isolation()


def make_dispatcher(services: Services, i18n: I18n, storage: BaseStorage | None = None) -> Dispatcher:
    from bot.flood import FloodLimits
    from handlers import build_routers
    from handlers.common import on_error
    from handlers.middlewares import CallbackMiddleware, FloodMiddleware, OnceMiddleware, PersonMiddleware

    fsm_storage, isolation = make_fsm(services.settings, services)
    dispatcher = Dispatcher(
        storage=storage or fsm_storage,
        events_isolation=isolation,
        services=services,
        i18n=i18n,
    )
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
    bot: Bot
    dispatcher: Dispatcher
    services: Services
    sender: OutboxSender
    sweep: ReminderSweep


@contextlib.asynccontextmanager
async def running(
    settings: Settings, token: str, clock: Clock | None = None, *, start_jobs: bool = True
) -> AsyncIterator[Running]:
    """Everything the bot needs, started; polling is the caller's. Tests with a hand-driven clock
    pass start_jobs=False and call the sweep themselves."""
    from bot.chats import follow_migration
    from handlers.calls import install_calls
    from handlers.common import set_commands
    from handlers.delivery import make_deliver
    from storage.db import make_engine, upgrade_async

    engine = make_engine(settings.database.url)
    if settings.database.upgrade_on_start:
        await upgrade_async(engine)
    services = make_services(settings, engine, clock)
    services.assistant.start()  # the draft pre-check's language tools load in a thread meanwhile, when on
    await services.seed(settings)
    for status in settings.calendar_years(services.clock.now()):
        log.log(logging.INFO if status.official else logging.WARNING, "Production calendar %s", status.describe())
    i18n = make_i18n()
    bot = make_bot(settings, token)
    calls = install_calls(bot)

    async def follow(old_chat_id: int, new_chat_id: int) -> None:
        await follow_migration(services.sessions, services.clock, old_chat_id, new_chat_id)
        services.outbox_ready.set()

    calls.on_migrate = follow
    dispatcher = make_dispatcher(services, i18n)
    sender = OutboxSender(
        services.sessions,
        make_deliver(bot, services, i18n, settings.bot.default_locale),
        services.clock,
        services.outbox_ready,
        settings=settings.delivery.build(),
        pacer=calls.pacer,  # one pacer: replies and notices to a chat share its limit
    )
    sender_task = asyncio.create_task(sender.run(), name="outbox-sender")
    sweep = ReminderSweep(services)
    scheduler = start_scheduler(sweep, settings.reminders.sweep_seconds) if start_jobs else None
    intake = await _start_intake(settings, services)
    try:
        with i18n.context():
            await set_commands(bot, i18n)
        yield Running(bot, dispatcher, services, sender, sweep)
    finally:
        if intake is not None:
            await intake.cleanup()
        if scheduler is not None:
            scheduler.shutdown(wait=False)
        # A normal stop: the part in flight is finished and recorded, claimed rows go back at once.
        await sender.stop()
        sender_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sender_task
        await bot.session.close()
        await engine.dispose()


async def _start_intake(settings: Settings, services: Services) -> web.AppRunner | None:
    """The HTTP intake API, when the config enables it."""
    config = settings.intake
    if not config.enabled:
        return None
    from bot import intake_api

    curator = config.curator if config.curator is not None else next(iter(settings.people.curators), None)
    app = intake_api.make_app(services, [t.get_secret_value() for t in config.tokens], curator)
    runner = await intake_api.start(app, config.host, config.port)
    log.info("Intake API listens on http://%s:%d/api/v1/incidents", config.host, config.port)
    return runner


async def run_webhook(settings: Settings, token: str) -> None:
    """Webhook mode: Telegram pushes each update to ``bot.webhook_url``; a TLS proxy forwards it to
    ``webhook_listen:webhook_port``. ``max_connections=1`` keeps updates one at a time, in order, as
    polling does; an update is answered only once handled (its change committed), so one cut short by a
    crash is pushed again by Telegram and recognised as processed."""
    config = settings.bot
    secret = config.webhook_secret.get_secret_value() if config.webhook_secret else secrets.token_urlsafe(32)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    stopping = [signal.SIGINT, signal.SIGTERM]
    for signal_number in stopping:
        loop.add_signal_handler(signal_number, stop.set)  # a clean stop; the bot runs on Unix
    try:
        await _serve_webhook(settings, token, secret, stop)
    finally:
        for signal_number in stopping:
            loop.remove_signal_handler(signal_number)


async def _serve_webhook(settings: Settings, token: str, secret: str, stop: asyncio.Event) -> None:
    config = settings.bot
    assert config.webhook_url is not None
    from aiogram.webhook.aiohttp_server import SimpleRequestHandler

    async with running(settings, token) as app:
        freeze_startup_objects()
        web_app = web.Application()
        handler = SimpleRequestHandler(app.dispatcher, app.bot, handle_in_background=False, secret_token=secret)
        handler.register(web_app, path=urlsplit(config.webhook_url).path or "/")
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
            # First the sender's call in flight (the web app's shutdown closes the bot's session), then the
            # web app; the webhook stays set: Telegram keeps the updates until we are back.
            await app.sender.stop()
            await runner.cleanup()


def freeze_startup_objects() -> None:
    """Put what start-up made (modules, classes, aiogram's pydantic schemas: some 250,000 objects) out
    of the garbage collector's reach. Otherwise every full collection walks them again: building the
    15,000-row overdue list of a 1M-incident report took twice as long because of it."""
    gc.freeze()


async def run_polling(settings: Settings, token: str) -> None:
    async with running(settings, token) as app:
        freeze_startup_objects()
        log.info("Otklik starts: preset %s, time zone %s", settings.preset().name, settings.calendar().tz.key)
        # Updates are handled one at a time: Telegram forgets an update once the next poll confirms
        # it, so a crash must never find updates confirmed but not yet handled.
        # On SIGTERM/SIGINT aiogram stops polling; the session stays open (``close_bot_session=False``) until
        # ``running`` has let the sender finish the call in flight.
        await app.dispatcher.start_polling(app.bot, handle_as_tasks=False, close_bot_session=False)
