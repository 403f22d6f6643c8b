"""What every update needs before a handler runs: order per chat, once-only, the person, the locale."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, Update, User
from aiogram.utils.i18n import I18n

from bot.i18n import locale_of
from bot.services import CURRENT_CARD, CURRENT_UPDATE, Services

log = logging.getLogger(__name__)
Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


def _origin(update: Update) -> tuple[User | None, int | None]:
    """The user and chat an update comes from, whatever its kind."""
    event = update.event
    user = getattr(event, "from_user", None)
    chat = getattr(event, "chat", None)
    if chat is None and update.callback_query is not None and update.callback_query.message is not None:
        chat = update.callback_query.message.chat
    return user, chat.id if chat is not None else None


class OnceMiddleware(BaseMiddleware):
    """An update Telegram delivers again after a crash is handled once.

    A state change records the update id in its own transaction (Services._claim_update): after a
    crash past the commit the redelivered update is skipped here; a crash before the commit lets it
    run again, so nothing is lost. Updates that change nothing are recorded when handled.
    """

    def __init__(self, services: Services) -> None:
        self.services = services

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        assert isinstance(event, Update)
        if await self.services.update_seen(event.update_id):
            log.info("update %s was already handled; skipped", event.update_id)
            return None
        token = CURRENT_UPDATE.set(event.update_id)
        message = event.callback_query.message if event.callback_query is not None else None
        card = CURRENT_CARD.set((message.chat.id, message.message_id) if message is not None else None)
        try:
            return await handler(event, data)
        finally:
            CURRENT_CARD.reset(card)
            CURRENT_UPDATE.reset(token)
            await self.services.update_done(event.update_id)  # harmless if the change recorded it


class PersonMiddleware(BaseMiddleware):
    """Puts `person` (None for unknown users) and `locale` into the handler data, and sets the
    I18n context so `_()` speaks the person's language."""

    def __init__(self, services: Services, i18n: I18n) -> None:
        self.services = services
        self.i18n = i18n

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        assert isinstance(event, Update)
        user, _ = _origin(event)
        person = await self.services.identify(user.id) if user is not None and not user.is_bot else None
        locale = person.locale if person is not None else locale_of(user.language_code if user else None)
        data["person"] = person
        data["locale"] = locale
        with self.i18n.context(), self.i18n.use_locale(locale):
            if person is None and not _open_to_strangers(event):
                # Unknown people get one polite sentence and nothing else: no incident data leaks.
                await _refuse(event)
                return None
            return await handler(event, data)


OPEN_COMMANDS = ("/start", "/help", "/lang")


def _open_to_strangers(update: Update) -> bool:
    message = update.message
    if message is not None:
        if message.chat.type != "private":
            return False  # group chatter is not for the bot
        words = (message.text or "").split()
        return bool(words) and words[0].split("@")[0] in OPEN_COMMANDS  # "/start@otklik_bot code" too
    return update.callback_query is None and update.edited_message is None


async def _refuse(update: Update) -> None:
    from handlers.common import unknown_user_text

    if update.message is not None and update.message.chat.type == "private":
        await update.message.answer(unknown_user_text())
    elif update.callback_query is not None:
        await update.callback_query.answer(unknown_user_text(), show_alert=True)
