"""What every update needs before a handler runs: its log line and timing, once-only, the press it carries, a fair
share for each person, the person and the locale. The dispatcher runs them in that order
(``bot.app.make_dispatcher``)."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import Message, TelegramObject, Update, User
from aiogram.types.update import UpdateTypeLookupError
from aiogram.utils.i18n import I18n

from bot.flood import FloodGuard, FloodLimits, queue_flood_notice
from bot.i18n import N_, locale_of, translate
from bot.logs import update_context
from bot.metrics import Metrics
from bot.services import CURRENT_CARD, CURRENT_UPDATE, Services
from handlers.calls import CallbackState, calls_of, set_current_callback

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


class UpdateLog(BaseMiddleware):
    """Every update: log records made while it is handled carry its id (and the incident once one is acted on,
    ``bot.logs``); one line says it was handled, and how long it took, which ``metrics`` also records."""

    def __init__(self, metrics: Metrics | None = None) -> None:
        self.metrics = metrics

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        assert isinstance(event, Update)
        try:
            kind = event.event_type
        except UpdateTypeLookupError:  # a kind of update this aiogram does not know yet
            kind = "unknown"
        started = time.perf_counter()
        failed = True
        with update_context(event.update_id):
            try:
                result = await handler(event, data)
                failed = False
                return result
            finally:
                seconds = time.perf_counter() - started
                if self.metrics is not None:
                    self.metrics.observe_update(kind, seconds, failed)
                log.info(
                    "update %s (%s) %s in %.3f s", event.update_id, kind, "failed" if failed else "handled", seconds
                )


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


class CallbackMiddleware(BaseMiddleware):
    """Tells the bot's one call path (``handlers.calls``) which press this update carries, so a handler that
    must wait for Telegram answers it first; and what the pressed message shows, so an edit that would change
    nothing is not sent. Every update sets it, a press or not: nothing carries over from the previous one."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        assert isinstance(event, Update)
        callback = event.callback_query
        if callback is None:
            set_current_callback(None)
        else:
            message = callback.message
            chat_id = message.chat.id if message is not None else callback.from_user.id
            set_current_callback(CallbackState(callback.id, chat_id))
            calls = calls_of(data["bot"]) if "bot" in data else None
            if calls is not None and isinstance(message, Message):
                calls.contents.observe(message, pressed=True)
        return await handler(event, data)


TOO_MANY_PRESSES = N_("Too many presses at once: this one was skipped. Press again in a moment.")


class FloodMiddleware(BaseMiddleware):
    """A person's messages to the bot and presses beyond ``bot.flood.FloodLimits`` are skipped.

    A skipped update is recorded as processed like any other (``OnceMiddleware`` runs around this one) and is
    never handled later. A skipped message goes into the person's one notice about the flood (``bot.flood``);
    a skipped press is answered at once with a short note (a callback answer is not a message: it costs none
    of the chat's limit). Group chatter and service messages pass: the bot does not answer them."""

    def __init__(self, services: Services, limits: FloodLimits | None = None) -> None:
        self.services = services
        self.guard = FloodGuard(limits)

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        assert isinstance(event, Update)
        message, callback = event.message, event.callback_query
        if message is not None and message.chat.type == "private" and message.from_user is not None:
            user, album, sent = message.from_user, message.media_group_id, message.date.timestamp()
        elif callback is not None:
            user, album, sent = callback.from_user, None, time.time()
        else:
            return await handler(event, data)
        if self.guard.admit(user.id, sent, album, press=callback is not None):
            return await handler(event, data)
        log.info("update %s from %s skipped: more than the flood limit", event.update_id, user.id)
        person = await self.services.identify(user.id)
        locale = person.locale if person is not None else locale_of(user.language_code)
        if callback is not None:
            await callback.answer(translate(locale, TOO_MANY_PRESSES))
            return None
        assert message is not None
        at = self.services.clock.now()
        text = message.text or message.caption or "📎"
        for _ in range(2):  # a second time only if the notice of this flood has already gone out
            flood = self.guard.skipped(user.id, event.update_id, text, at)
            if await queue_flood_notice(self.services.sessions, self.guard, message.chat.id, flood, at, locale):
                break
            self.guard.reported(user.id)
        self.services.outbox_ready.set()
        return None


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
        if message.migrate_to_chat_id is not None or message.migrate_from_chat_id is not None:
            return True  # a group became a supergroup: whoever did it, the bot must follow (handlers.common)
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
