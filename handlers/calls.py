"""Every Bot API call the bot makes, on one path: paced within Telegram's limits, retried, never wasted.

``BotCalls`` is the bot session's request middleware, installed by ``bot.app.make_bot``; it sees each call —
handlers' replies and edits, callback answers, error messages, report files and outbox deliveries:

- Messages (sendMessage, sendPhoto, albums, …) wait for the process's one ``bot.outbox.Pacer``: 30 a second
  overall, one a second per chat, 20 a minute per group (Telegram Bot FAQ, "My bot is hitting limits"), shared
  with the outbox sender. Other calls (edits, callback answers) are not spaced but wait out a chat's 429 pause.
- 429: ``retry_after`` is honoured — the chat pauses (the whole bot, when several chats flood at once). A
  handler's call waits and repeats, up to ``DeliverySettings.call_retries`` times; inside an outbox delivery the
  row is handed back instead, so its slot serves other chats meanwhile, and later continues from its next part.
- 5xx and network errors: a handler's call repeats with backoff (``server_retries``, from ``call_backoff``
  seconds, doubling); an outbox row is handed back with the sender's backoff. A file too large is not retried.
- "group chat was upgraded to a supergroup chat" (400 with ``migrate_to_chat_id``): the move is followed
  (``on_migrate``, see ``bot.chats``) and the call repeated once to the new chat.
- An edit that would change nothing — the same text and inline keyboard as the message shows — is not sent
  (Telegram would answer 400 "message is not modified"): ``MessageContents`` remembers what each message this
  process sent or edited shows, and what Telegram says a pressed message shows. Where it could not know
  (another instance, a restart), Telegram's "not modified" answer counts as done, not as an error.
- Inside an outbox delivery, a message Telegram already has (``Pacing.replay``: a retried row) is not sent
  again; its recorded message ids stand in for Telegram's answer.
- A callback query is answered before its handler's calls wait more than ``ANSWER_FIRST`` seconds, since
  Telegram forgets a query after about 15 s and the person's button spins until then; the handler's own answer
  then goes nowhere, except an alert, whose text is sent to the chat as a message. An answer Telegram refuses
  as too old is dropped quietly: there is nothing left to answer.

getUpdates, close and logOut pass untouched: the poller has its own backoff.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections import OrderedDict
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiogram import Bot
from aiogram.client.default import Default
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramEntityTooLarge,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import (
    AnswerCallbackQuery,
    Close,
    CopyMessage,
    DeleteMessage,
    EditMessageCaption,
    EditMessageReplyMarkup,
    EditMessageText,
    ForwardMessage,
    GetUpdates,
    LogOut,
    SendAnimation,
    SendAudio,
    SendDocument,
    SendMediaGroup,
    SendMessage,
    SendPhoto,
    SendSticker,
    SendVideo,
    SendVoice,
    TelegramMethod,
)
from aiogram.methods.base import TelegramType
from aiogram.types import Chat, InlineKeyboardMarkup, Message, MessageId

from bot.outbox import DeliverySettings, Pacer, Pacing, current_pacing

log = logging.getLogger(__name__)

# Calls that put a new message into a chat: the ones Telegram's flood limits count.
SENDING: tuple[type[TelegramMethod[Any]], ...] = (
    SendMessage,
    SendPhoto,
    SendVideo,
    SendDocument,
    SendAnimation,
    SendAudio,
    SendVoice,
    SendSticker,
    SendMediaGroup,
    CopyMessage,
    ForwardMessage,
)
_UNTOUCHED = (GetUpdates, Close, LogOut)
ANSWER_FIRST = 1.0  # seconds: a press whose handling would wait past this for Telegram is answered first


# --- the callback query being handled ------------------------------------------------------------------


@dataclass
class CallbackState:
    """The callback query an update carries: whether it has been answered, and whether by us, early."""

    query_id: str
    chat_id: int  # where an alert that came too late is said instead
    started: float = field(default_factory=time.monotonic)  # when the bot began handling the press
    answered: bool = False
    early: bool = False


_callback: ContextVar[CallbackState | None] = ContextVar("otklik_callback_query", default=None)


def set_current_callback(state: CallbackState | None) -> None:
    """Set by ``handlers.middlewares.CallbackMiddleware`` for every update (None when it is no press).

    Not reset when the handler ends: aiogram's error handler runs outside the update middlewares, and its
    answer to the press must still be recognised; the next update sets its own."""
    _callback.set(state)


# --- what each message shows ---------------------------------------------------------------------------


@dataclass
class _Shown:
    text: str | None
    markup: str | None
    message: Message
    at: float


def _markup_key(markup: object) -> str | None:
    if markup is None:
        return None
    if isinstance(markup, InlineKeyboardMarkup):
        return json.dumps(markup.model_dump(mode="json", exclude_none=True), sort_keys=True, ensure_ascii=False)
    return repr(markup)  # not an inline keyboard: never equal to what a message shows


class MessageContents:
    """What each message shows now — its text (or caption) and inline keyboard as Telegram reported them —
    for the messages this process sent or edited, and the pressed ones Telegram showed it.

    At most ``size`` messages, each for ``ttl`` seconds: another instance may edit a message meanwhile, and
    an edit skipped on a stale memory would leave it wrong, so the memory is short (the wasted edits it
    saves come seconds apart: a handler's redraw and the outbox's)."""

    def __init__(self, size: int = 4096, ttl: float = 120.0) -> None:
        self.size = size
        self.ttl = ttl
        self._shown: OrderedDict[tuple[int, int], _Shown] = OrderedDict()

    def observe(self, message: Message, *, pressed: bool = False) -> None:
        """Telegram says this message shows this: a call's answer, or (``pressed``) the message a button was
        pressed on — as it was at the press, so it must not replace a later edit remembered here."""
        key = (message.chat.id, message.message_id)
        known = self._shown.get(key)
        text = message.text if message.text is not None else message.caption
        if pressed and known is not None:
            seen, ours = _stamp(message), _stamp(known.message)
            if seen < ours:
                return  # edited here since the press
            if seen == ours:  # the same second: agreeing is fine; otherwise which is newer is unknown
                if (text, _markup_key(message.reply_markup)) != (known.text, known.markup):
                    self.forget(*key)
                return
        self._shown[key] = _Shown(text, _markup_key(message.reply_markup), message, time.monotonic())
        self._shown.move_to_end(key)
        while len(self._shown) > self.size:
            self._shown.popitem(last=False)

    def forget(self, chat_id: int, message_id: int) -> None:
        """Drop what is remembered of the message (Telegram ids), if anything: its next edit is sent."""
        self._shown.pop((chat_id, message_id), None)

    def unchanged(self, bot: Bot, method: TelegramMethod[Any]) -> Message | None:
        """The message as it is, if ``method`` is an edit that would not change it; otherwise None."""
        if not isinstance(method, EditMessageText | EditMessageCaption | EditMessageReplyMarkup):
            return None
        if method.inline_message_id is not None or not isinstance(method.chat_id, int) or method.message_id is None:
            return None
        shown = self._shown.get((method.chat_id, method.message_id))
        if shown is None or time.monotonic() - shown.at > self.ttl:
            return None
        if shown.markup != _markup_key(method.reply_markup):
            return None
        if isinstance(method, EditMessageText):
            same = _plain(bot, method.parse_mode, method.entities) and shown.text == method.text
        elif isinstance(method, EditMessageCaption):
            same = _plain(bot, method.parse_mode, method.caption_entities) and shown.text == method.caption
        else:
            same = True  # only the keyboard changes, and it does not
        return shown.message if same else None

    def remember(self, method: TelegramMethod[Any], result: object) -> None:
        """After a call Telegram accepted: what the message it sent or edited shows now."""
        if isinstance(result, Message):
            self.observe(result)
        elif isinstance(method, DeleteMessage) and isinstance(method.chat_id, int):
            self.forget(method.chat_id, method.message_id)
        elif (
            isinstance(method, EditMessageText | EditMessageCaption | EditMessageReplyMarkup)
            and isinstance(method.chat_id, int)
            and method.message_id is not None
        ):
            self.forget(method.chat_id, method.message_id)  # edited, but Telegram did not say to what


def _stamp(message: Message) -> datetime:
    """When Telegram last changed the message (its edit, else its sending), to the second."""
    return message.edit_date if isinstance(message.edit_date, datetime) else message.date


def _plain(bot: Bot, parse_mode: object, entities: object) -> bool:
    """Text sent as is: Telegram shows exactly these characters, so they can be compared with what it shows."""
    if isinstance(parse_mode, Default):
        parse_mode = bot.default[parse_mode.name]
    return parse_mode is None and not entities


# --- the middleware ------------------------------------------------------------------------------------


@dataclass
class CallStats:
    """What the path did since start: for logs, tests and the benchmark."""

    flood_waits: int = 0  # 429s waited out by handlers' calls
    retries: int = 0  # handlers' calls repeated after a 5xx or network error
    unchanged_edits: int = 0  # edits not sent because they would change nothing
    replayed: int = 0  # parts of retried outbox rows Telegram already had
    early_answers: int = 0  # callback queries answered before a wait
    migrations: int = 0  # calls repeated to a group's new supergroup id


def _chat_of(method: TelegramMethod[Any]) -> int | str | None:
    chat_id = getattr(method, "chat_id", None)
    return chat_id if isinstance(chat_id, int | str) else None


def _amount(method: TelegramMethod[Any]) -> int:
    return len(method.media) if isinstance(method, SendMediaGroup) else 1


def _message_ids(result: object) -> list[int]:
    if isinstance(result, list):
        return [m.message_id for m in result if isinstance(m, Message)]
    if isinstance(result, Message | MessageId):
        return [result.message_id]
    return []


def _not_modified(method: TelegramMethod[Any], exc: TelegramBadRequest) -> bool:
    """Telegram's 400 "message is not modified": an edit whose content the message already shows (another
    instance, or an edit this process did not see, got there first) — done, not failed."""
    return isinstance(method, EditMessageText | EditMessageCaption | EditMessageReplyMarkup) and (
        "message is not modified" in exc.message
    )


def _replayed(method: TelegramMethod[Any], chat_id: int | str | None, ids: list[int]) -> Any:
    """Telegram's answer to a call it already took, rebuilt from the recorded message ids."""
    private = isinstance(chat_id, int) and chat_id > 0
    chat = Chat(id=chat_id if isinstance(chat_id, int) else 0, type="private" if private else "supergroup")
    now = datetime.now(UTC)
    messages = [Message(message_id=i, date=now, chat=chat) for i in ids]
    if isinstance(method, SendMediaGroup):
        return messages
    if isinstance(method, CopyMessage):
        return MessageId(message_id=ids[0] if ids else 0)
    return messages[0] if messages else Message(message_id=0, date=now, chat=chat)


class BotCalls(BaseRequestMiddleware):
    """The one path of every Bot API call (see the module docstring). ``on_migrate(old, new)`` follows a group
    upgraded to a supergroup before the call is repeated there (``bot.app`` wires ``bot.chats``)."""

    def __init__(self, pacer: Pacer) -> None:
        self.pacer = pacer
        self.contents = MessageContents()
        self.stats = CallStats()
        self.on_migrate: Any = None  # async (old_chat_id, new_chat_id) -> None

    @property
    def settings(self) -> DeliverySettings:
        """The pacer's delivery settings: retries and backoff of handlers' calls (``call_retries``,
        ``server_retries``, ``call_backoff`` in seconds), shared with the outbox sender."""
        return self.pacer.settings

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Any:
        """Make the call on the one path (see the module docstring) and return Telegram's result — or, for an
        edit that would change nothing, the message as it is (``True`` when only Telegram's "not modified" said
        so), and inside an outbox delivery the recorded answer of a part sent before.

        A handler's call raises TelegramRetryAfter after ``call_retries`` 429s, TelegramServerError or
        TelegramNetworkError after ``server_retries`` repeats (TelegramEntityTooLarge at once), and any other
        TelegramAPIError as Telegram answered it. Inside an outbox delivery every failure is raised at once, a
        429 after pausing the chat (the sender reschedules the row and decides on retries), and
        ``bot.outbox.StopDelivery`` between parts when the sender is stopping.
        """
        if isinstance(method, _UNTOUCHED):
            return await make_request(bot, method)
        if isinstance(method, AnswerCallbackQuery):
            return await self._answer_callback(make_request, bot, method)
        same = self.contents.unchanged(bot, method)
        if same is not None:
            self.stats.unchanged_edits += 1
            return same
        pacing = current_pacing()
        if pacing is not None:
            return await self._deliver(pacing, make_request, bot, method)
        return await self._call(make_request, bot, method)

    # ----- a handler's call: wait and repeat in place ------------------------------------------------------

    async def _call(self, make_request: Any, bot: Bot, method: TelegramMethod[Any]) -> Any:
        chat_id = _chat_of(method)
        floods = failures = 0
        moved = False
        while True:
            await self._turn(make_request, bot, method, chat_id)
            try:
                result = await make_request(bot, method)
            except TelegramRetryAfter as exc:
                floods += 1
                if floods > self.settings.call_retries:
                    raise
                self.stats.flood_waits += 1
                log.info("%s to chat %s: 429, waiting %s s", type(method).__name__, chat_id, exc.retry_after)
                if chat_id is None:
                    await self._answer_first(make_request, bot, exc.retry_after)
                    await asyncio.sleep(exc.retry_after)
                else:
                    self.pacer.flooded(chat_id, exc.retry_after)  # the next turn waits it out
                continue
            except TelegramMigrateToChat as exc:
                if moved:
                    raise
                method, chat_id, moved = await self._follow(method, exc), exc.migrate_to_chat_id, True
                continue
            except TelegramBadRequest as exc:
                if _not_modified(method, exc):
                    return True  # the message shows exactly this already: what the edit wanted
                raise
            except (TelegramServerError, TelegramNetworkError) as exc:
                if isinstance(exc, TelegramEntityTooLarge) or failures >= self.settings.server_retries:
                    raise
                delay = self.settings.call_backoff * 2**failures * random.uniform(0.75, 1.0)
                failures += 1
                self.stats.retries += 1
                log.warning("%s to chat %s failed (%s); again in %.1f s", type(method).__name__, chat_id, exc, delay)
                await self._answer_first(make_request, bot, delay)
                await asyncio.sleep(delay)
                continue
            self.contents.remember(method, result)
            return result

    async def _turn(self, make_request: Any, bot: Bot, method: TelegramMethod[Any], chat_id: int | str | None) -> None:
        """Wait until Telegram's limits let this call go: a message takes its place in the buckets."""
        if isinstance(method, SENDING) and chat_id is not None:
            await self._answer_first(make_request, bot, self.pacer.expected_wait(chat_id))
            self.pacer.enter(chat_id)
            try:
                await self.pacer.acquire(chat_id, _amount(method), urgent=True)  # a person waits for it
            finally:
                self.pacer.leave(chat_id)
            return
        await self._answer_first(make_request, bot, self.pacer.expected_pause(chat_id))
        await self.pacer.unpaused(chat_id)

    # ----- an outbox row's call: each part once --------------------------------------------------------------

    async def _deliver(self, pacing: Pacing, make_request: Any, bot: Bot, method: TelegramMethod[Any]) -> Any:
        """A call of an outbox delivery: a 429 hands the row back (the sender reschedules it), a part Telegram
        has is not sent again, and a stopping sender lets the row go between parts."""
        chat_id = _chat_of(method)
        sending = isinstance(method, SENDING)
        if sending:
            recorded = pacing.replay()
            if recorded is not None:
                self.stats.replayed += 1
                return _replayed(method, chat_id, recorded)
        pacing.check_stop()
        moved = False
        while True:
            if sending and chat_id is not None:
                await pacing.pacer.acquire(chat_id, _amount(method))
            else:
                await pacing.pacer.unpaused(chat_id)
            pacing.in_call = sending
            try:
                result = await make_request(bot, method)
                if sending:
                    await pacing.sent(_message_ids(result))
            except TelegramRetryAfter as exc:
                if chat_id is not None:
                    pacing.pacer.flooded(chat_id, exc.retry_after)
                raise
            except TelegramMigrateToChat as exc:
                if moved:
                    raise
                method, chat_id, moved = await self._follow(method, exc), exc.migrate_to_chat_id, True
                pacing.chat_id = exc.migrate_to_chat_id
                continue
            except TelegramBadRequest as exc:
                if _not_modified(method, exc):
                    return True
                raise
            finally:
                pacing.in_call = False
            self.contents.remember(method, result)
            if sending:
                pacing.check_stop()
            return result

    # ----- chats that move ---------------------------------------------------------------------------------

    async def _follow(self, method: TelegramMethod[Any], exc: TelegramMigrateToChat) -> TelegramMethod[Any]:
        old, new = _chat_of(method), exc.migrate_to_chat_id
        log.warning("chat %s was upgraded to supergroup %s: following it", old, new)
        self.stats.migrations += 1
        if self.on_migrate is not None and isinstance(old, int):
            await self.on_migrate(old, new)
        return method.model_copy(update={"chat_id": new})

    # ----- callback queries ----------------------------------------------------------------------------------

    async def _answer_first(self, make_request: Any, bot: Bot, wait: float) -> None:
        """Before waiting ``wait`` seconds: if the press being handled would then have waited longer than
        ``ANSWER_FIRST`` in all, answer it now, so its spinner stops within Telegram's time."""
        state = _callback.get()
        if state is None or state.answered or time.monotonic() + wait - state.started <= ANSWER_FIRST:
            return
        state.answered = state.early = True
        self.stats.early_answers += 1
        try:
            await make_request(bot, AnswerCallbackQuery(callback_query_id=state.query_id))
        except TelegramAPIError as exc:
            log.info("could not answer callback query %s early: %s", state.query_id, exc)

    async def _answer_callback(self, make_request: Any, bot: Bot, method: AnswerCallbackQuery) -> Any:
        state = _callback.get()
        if state is not None and state.query_id == method.callback_query_id:
            if state.answered:
                # Answered already — early by us, or by the handler before it failed: an alert (an error's
                # explanation) can no longer pop up, so it is said in the chat instead of being lost.
                if method.text and method.show_alert:
                    await bot.send_message(state.chat_id, method.text)
                return True
            state.answered = True
        failures = 0
        while True:
            try:
                return await make_request(bot, method)
            except TelegramBadRequest as exc:
                if "query is too old" in exc.message or "query id is invalid" in exc.message.lower():
                    log.info("callback query %s answered too late; dropped", method.callback_query_id)
                    return True
                raise
            except (TelegramRetryAfter, TelegramServerError, TelegramNetworkError) as exc:
                if failures >= self.settings.server_retries:
                    raise
                failures += 1
                delay = exc.retry_after if isinstance(exc, TelegramRetryAfter) else self.settings.call_backoff
                await asyncio.sleep(min(delay * failures, 5.0))  # a late answer is worthless: keep it short


def install_calls(bot: Bot, pacer: Pacer | None = None) -> BotCalls:
    """Put ``BotCalls`` on the bot's session (once) and return it; ``pacer`` is used when it is put there."""
    for middleware in bot.session.middleware:
        if isinstance(middleware, BotCalls):
            return middleware
    calls = BotCalls(pacer or Pacer(DeliverySettings()))
    bot.session.middleware(calls)
    return calls


def calls_of(bot: Bot) -> BotCalls | None:
    """The bot's ``BotCalls``, if installed."""
    return next((m for m in bot.session.middleware if isinstance(m, BotCalls)), None)
