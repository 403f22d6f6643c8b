"""Application wiring: database, directory seeded from config, aiogram bot and dispatcher."""

from __future__ import annotations

import logging

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from bot.config import Settings

log = logging.getLogger(__name__)


def make_bot(settings: Settings, token: str) -> Bot:
    session = None
    if settings.bot.api_base_url:
        # Organisations may run their own Bot API server (and tests run a local stand-in).
        session = AiohttpSession(api=TelegramAPIServer.from_base(settings.bot.api_base_url.rstrip("/")))
    return Bot(token, session=session, default=DefaultBotProperties(parse_mode=None))


def make_dispatcher(settings: Settings) -> Dispatcher:
    from handlers import build_routers

    dispatcher = Dispatcher(settings=settings)
    for router in build_routers():
        dispatcher.include_router(router)
    return dispatcher


async def run_polling(settings: Settings, token: str) -> None:
    from storage.db import upgrade_async

    if settings.database.upgrade_on_start:
        await upgrade_async(settings.database.url)
    bot = make_bot(settings, token)
    dispatcher = make_dispatcher(settings)
    log.info("Otklik starts: preset %s, time zone %s", settings.preset().name, settings.calendar().tz.key)
    await dispatcher.start_polling(bot)
