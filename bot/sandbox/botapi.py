"""The embedded Bot API server: a real aiohttp server speaking the Telegram Bot API as aiogram uses it (the
methods the bot calls, Telegram's limits and error texts, files), with a driver API that plays the users.

One implementation serves the tests (``tests/botapi.py`` re-exports it) and the training sandbox
(``python -m bot sandbox``, README «Sandbox (training)»). It listens on loopback only and never talks to the
internet."""

from __future__ import annotations

import asyncio
import contextlib
import html
import itertools
import json
import logging
import math
import re
import time
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from aiogram import Bot, Dispatcher

__all__ = [
    "Alert",
    "BotAPIServer",
    "ChatHandle",
    "ChatMessage",
    "GroupChat",
    "Limits",
    "Media",
    "RecordedRequest",
    "UserChat",
    "WaitTimeout",
]

# Telegram's limits, in UTF-16 code units: the Bot API says "characters" and counts entity offsets in UTF-16;
# whether an astral emoji is one character or two is reported both ways, so the stand-in takes the stricter
# reading (two) and a bot that passes here passes under either.
MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_ALERT = 200
MAX_CALLBACK_DATA = 64
MAX_ALBUM = 10
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)
QUERY_INVALID = "Bad Request: query is too old and response timeout expired or query ID is invalid"

# Form fields that are plain strings on the wire; every other field is JSON-encoded by aiogram (numbers,
# booleans, objects), so decoding these would turn a text like "123" into an int.
_STRING_FIELDS = frozenset(
    {
        "text",
        "caption",
        "parse_mode",
        "callback_query_id",
        "url",
        "photo",
        "video",
        "document",
        "audio",
        "animation",
        "voice",
        "sticker",
        "thumbnail",
        "file_id",
        "inline_message_id",
        "language_code",
        "action",
        "description",
        "short_description",
        "title",
        "message_effect_id",
        "business_connection_id",
        "emoji",
        "secret_token",
        "name",
        "data",
    }
)
# Methods that put a new message into a chat: these are the ones blocking and rate limits apply to.
_SENDING = frozenset(
    m.lower()
    for m in (
        "sendMessage",
        "sendPhoto",
        "sendVideo",
        "sendDocument",
        "sendMediaGroup",
        "copyMessage",
        "forwardMessage",
    )
)
_HTML_TAGS = frozenset(
    {
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "span",
        "tg-spoiler",
        "a",
        "code",
        "pre",
        "blockquote",
        "tg-emoji",
    }
)
_COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")
# What Telegram delivers when getUpdates names no allowed_updates.
_DEFAULT_UPDATE_TYPES = frozenset(
    {
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "business_connection",
        "business_message",
        "edited_business_message",
        "deleted_business_messages",
        "inline_query",
        "chosen_inline_result",
        "callback_query",
        "shipping_query",
        "pre_checkout_query",
        "purchased_paid_media",
        "poll",
        "poll_answer",
        "my_chat_member",
        "chat_join_request",
        "chat_boost",
        "removed_chat_boost",
    }
)


class WaitTimeout(AssertionError, TimeoutError):
    """A driver wait gave up; an AssertionError so pytest shows the explanation, a TimeoutError by nature."""


class _ErrorCollector(logging.Handler):
    """Catches exceptions aiogram's Dispatcher swallows (it only logs them) so a test can fail on them."""

    def __init__(self, errors: list[BaseException]) -> None:
        super().__init__(logging.ERROR)
        self.errors = errors

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info and record.exc_info[1] is not None:
            self.errors.append(record.exc_info[1])


class ApiError(Exception):
    """An error answer of the Bot API: raised inside method handlers, turned into JSON by the server."""

    def __init__(
        self, status: int, description: str, retry_after: int | None = None, migrate_to_chat_id: int | None = None
    ) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after
        self.migrate_to_chat_id = migrate_to_chat_id


def _bad(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


@dataclass(frozen=True)
class Limits:
    """Telegram's documented flood limits; `scale` multiplies the window lengths so tests can run faster."""

    global_per_second: int = 30
    per_chat_per_second: int = 1
    per_group_per_minute: int = 20
    scale: float = 1.0


@dataclass
class RecordedRequest:
    """One HTTP call the bot made, with its decoded parameters and the status the stand-in answered."""

    method: str
    params: dict[str, Any]
    time: float  # time.monotonic() on arrival, for measuring pacing
    files: dict[str, bytes] = field(default_factory=dict)
    status: int = 0
    description: str | None = None
    unknown: bool = False


@dataclass(frozen=True)
class Media:
    """A file attached to a message: its kind ("photo", "video" or "document") and Telegram-style ids."""

    kind: str  # "photo", "video" or "document"
    file_id: str
    file_unique_id: str
    file_name: str | None = None


@dataclass
class ChatMessage:
    """A message in a chat as the user sees it now (later edits and deletion update it in place)."""

    chat_id: int
    message_id: int
    date: int
    from_bot: bool
    sender: dict[str, Any]
    text: str | None = None  # what the user reads: HTML tags stripped, entities unescaped
    caption: str | None = None
    source: str | None = None  # text or caption exactly as the bot sent it, before parse_mode
    parse_mode: str | None = None
    entities: list[dict[str, Any]] | None = None
    reply_markup: dict[str, Any] | None = None
    media: Media | None = None
    media_group_id: str | None = None
    forward_origin: dict[str, Any] | None = None
    reply_to_message_id: int | None = None
    edit_date: int | None = None
    edits: int = 0
    deleted: bool = False
    service: dict[str, Any] | None = None  # a service message's own fields, e.g. {"migrate_to_chat_id": …}

    @property
    def content(self) -> str:
        """Text or caption, whichever the message has ("" for neither)."""
        return self.text if self.text is not None else (self.caption or "")

    @property
    def inline_keyboard(self) -> list[list[dict[str, Any]]]:
        """The inline keyboard as rows of button objects (``text`` with ``callback_data`` or ``url``); [] for none."""
        if self.reply_markup and "inline_keyboard" in self.reply_markup:
            return self.reply_markup["inline_keyboard"]
        return []

    @property
    def buttons(self) -> list[list[str]]:
        """Inline keyboard as rows of button texts."""
        return [[button["text"] for button in row] for row in self.inline_keyboard]

    def button(self, text: str) -> dict[str, Any]:
        """The inline button with exactly this text."""
        for row in self.inline_keyboard:
            for button in row:
                if button["text"] == text:
                    return button
        raise AssertionError(f"no button {text!r} on message {self.message_id}; buttons: {self.buttons}")

    def __repr__(self) -> str:
        state = " deleted" if self.deleted else ""
        media = f" {self.media.kind}" if self.media else ""
        return f"<ChatMessage {self.chat_id}/{self.message_id}{media}{state} {self.content[:60]!r} {self.buttons}>"


@dataclass
class Alert:
    """The bot's answerCallbackQuery to one press."""

    callback_query_id: str
    text: str | None
    show_alert: bool
    url: str | None = None


@dataclass
class _File:
    file_id: str
    file_unique_id: str
    kind: str
    data: bytes
    file_name: str | None = None
    mime_type: str | None = None

    @property
    def path(self) -> str:
        return f"{self.kind}s/{self.file_unique_id}"

    def media(self) -> Media:
        return Media(self.kind, self.file_id, self.file_unique_id, self.file_name)


@dataclass
class _Chat:
    id: int
    type: str  # "private", "group", "supergroup", "channel"
    title: str | None = None
    first_name: str | None = None
    username: str | None = None
    language_code: str | None = None
    messages: dict[int, ChatMessage] = field(default_factory=dict)
    next_message_id: int = 1
    members: dict[int, str] = field(default_factory=dict)  # user id -> ChatMember status
    bot_status: str = "member"
    actions: list[str] = field(default_factory=list)
    migrated_to: int | None = None  # a group Telegram upgraded to this supergroup

    def json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "type": self.type}
        if self.type == "private":
            data["first_name"] = self.first_name
        else:
            data["title"] = self.title
        if self.username:
            data["username"] = self.username
        return data

    def take_message_id(self) -> int:
        message_id = self.next_message_id
        self.next_message_id += 1
        return message_id


class _HTMLText(HTMLParser):
    """Strips Telegram-HTML to the text a user reads and rejects what Telegram's parser rejects."""

    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=True)
        self.source = source
        self.parts: list[str] = []
        self.stack: list[str] = []
        self.error: str | None = None

    def _offset(self) -> int:
        line, column = self.getpos()
        lines = self.source.split("\n")
        return len("\n".join(lines[: line - 1]).encode()) + (line > 1) + len(lines[line - 1][:column].encode())

    def _fail(self, message: str) -> None:
        if self.error is None:
            self.error = f"can't parse entities: {message}"

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _HTML_TAGS:
            self._fail(f'Unsupported start tag "{tag}" at byte offset {self._offset()}')
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            expected = f'"</{self.stack[-1]}>"' if self.stack else "nothing"
            self._fail(f'Unmatched end tag at byte offset {self._offset()}, expected {expected}, found "</{tag}>"')
            return
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.parts.append(data)

    @classmethod
    def plain(cls, source: str) -> str:
        parser = cls(source)
        parser.feed(source)
        parser.close()
        if parser.stack:
            parser._fail(f'Can\'t find end tag corresponding to start tag "{parser.stack[-1]}"')
        if parser.error:
            raise _bad(parser.error)
        return html.unescape("".join(parser.parts))


def _units(text: str) -> int:
    """Length in UTF-16 code units (see MAX_TEXT)."""
    return len(text.encode("utf-16-le")) // 2


def _plain_text(source: str, parse_mode: str | None) -> str:
    # Only HTML is parsed: Markdown(V2) text is kept as sent, which is enough for asserting on content.
    if parse_mode and parse_mode.upper() == "HTML":
        return _HTMLText.plain(source)
    return source


def _command_entities(text: str) -> list[dict[str, Any]] | None:
    # Telegram marks a leading "/command[@bot]" so that aiogram's Command filter and CommandStart see it.
    match = re.match(r"/[A-Za-z0-9_]+(@[A-Za-z0-9_]+)?", text)
    if not match:
        return None
    return [{"type": "bot_command", "offset": 0, "length": len(match.group(0).encode("utf-16-le")) // 2}]


class _Windows:
    """Sliding windows of hit timestamps keyed by anything."""

    def __init__(self) -> None:
        self._hits: dict[Any, deque[float]] = defaultdict(deque)

    def wait(self, key: Any, limit: int, window: float, now: float, count: int) -> float:
        hits = self._hits[key]
        while hits and hits[0] <= now - window:
            hits.popleft()
        excess = len(hits) + count - limit
        if excess <= 0:
            return 0.0
        if excess > len(hits):  # more than the limit in one call: wait a whole window
            return window
        return hits[excess - 1] + window - now

    def add(self, key: Any, now: float, count: int) -> None:
        self._hits[key].extend([now] * count)


class ChatHandle:
    """Driver for one chat: what the bot shows there and waiting for it."""

    def __init__(self, api: BotAPIServer, chat: _Chat) -> None:
        self.api = api
        self._chat = chat
        self._mark = 0  # event sequence number at the last action in this chat

    @property
    def chat_id(self) -> int:
        """The chat's Telegram id (a user's id for a private chat, negative for groups)."""
        return self._chat.id

    @property
    def messages(self) -> list[ChatMessage]:
        """The bot's messages the chat shows now (not deleted), oldest first, with their current content."""
        return [m for m in self._chat.messages.values() if m.from_bot and not m.deleted]

    @property
    def history(self) -> list[ChatMessage]:
        """Every message of the chat, the users' and deleted ones included."""
        return list(self._chat.messages.values())

    @property
    def last(self) -> ChatMessage:
        """The bot's newest message shown here; AssertionError when it has sent none."""
        messages = self.messages
        if not messages:
            raise AssertionError(f"the bot has no messages in chat {self.chat_id}")
        return messages[-1]

    @property
    def actions(self) -> list[str]:
        """sendChatAction actions the bot sent here."""
        return list(self._chat.actions)

    def mark(self) -> int:
        """A point in time for `wait_message(since=...)`."""
        return self.api._seq

    def message(self, message_id: int) -> ChatMessage:
        """The message with this id (also deleted or the user's own); AssertionError when there is none."""
        try:
            return self._chat.messages[message_id]
        except KeyError:
            raise AssertionError(f"no message {message_id} in chat {self.chat_id}") from None

    async def wait_message(
        self,
        contains: str | None = None,
        *,
        timeout: float = 5.0,
        where: Callable[[ChatMessage], bool] | None = None,
        since: int | None = None,
    ) -> ChatMessage:
        """Wait for a bot message sent or edited here since the last action in this chat (or `since`)
        whose text/caption contains `contains` and which satisfies `where`; returns the live message."""
        start = self._mark if since is None else since

        def find() -> ChatMessage | None:
            for message in self._touched_since(start):
                if message.deleted or not message.from_bot:
                    continue
                if contains is not None and contains not in message.content:
                    continue
                if where is not None and not where(message):
                    continue
                return message
            return None

        try:
            return await self.api._wait_for(find, timeout)
        except TimeoutError:
            seen = "\n  ".join(repr(m) for m in self._touched_since(start)) or "(none)"
            raise WaitTimeout(
                f"chat {self.chat_id}: no bot message containing {contains!r} within {timeout} s; "
                f"sent or edited since the last action:\n  {seen}{self.api._errors_note()}"
            ) from None

    def _touched_since(self, seq: int) -> list[ChatMessage]:
        seen: dict[int, ChatMessage] = {}
        for event_seq, chat_id, message_id in self.api._events:
            if event_seq > seq and chat_id == self.chat_id and message_id not in seen:
                seen[message_id] = self._chat.messages[message_id]
        return list(seen.values())

    async def _enqueue_message(self, message: ChatMessage, key: str = "message") -> ChatMessage:
        self._chat.messages[message.message_id] = message
        self._mark = self.api._seq
        await self.api.enqueue({key: self.api._message_json(message)})
        return message

    def _user_message(
        self,
        sender: UserChat,
        text: str | None,
        *,
        photo: bool | bytes = False,
        document: bool | str = False,
        video: bool = False,
        reply_to: ChatMessage | int | None = None,
        entities: list[dict[str, Any]] | None = None,
        media_group_id: str | None = None,
        forward_origin: dict[str, Any] | None = None,
    ) -> ChatMessage:
        if text is None and not (photo or document or video):
            raise ValueError("a message needs text or media")
        media: Media | None = None
        if photo:  # bytes: the picture itself (the sandbox page uploads one); True: a stand-in file
            data = photo if isinstance(photo, bytes) else None
            media = self.api._new_file("photo", data, mime_type="image/jpeg" if data else None).media()
        elif video:
            media = self.api._new_file("video", file_name="video.mp4", mime_type="video/mp4").media()
        elif document:
            name = document if isinstance(document, str) else "document.pdf"
            media = self.api._new_file("document", file_name=name, mime_type="application/octet-stream").media()
        message = ChatMessage(
            chat_id=self.chat_id,
            message_id=self._chat.take_message_id(),
            date=int(time.time()),
            from_bot=False,
            sender=sender.user_json(),
            media=media,
            media_group_id=media_group_id,
            forward_origin=forward_origin,
            reply_to_message_id=reply_to.message_id if isinstance(reply_to, ChatMessage) else reply_to,
        )
        if text is not None:
            if media is None:
                message.text = text
            else:
                message.caption = text
            message.source = text
            message.entities = entities if entities is not None else _command_entities(text)
        return message

    async def _press(self, sender: UserChat, message: ChatMessage | int, data: str) -> str:
        target = message if isinstance(message, ChatMessage) else self.message(message)
        if target.deleted:
            raise AssertionError(f"message {target.message_id} in chat {self.chat_id} was deleted")
        query_id = f"cq{next(self.api._ids)}"
        self.api._presses[query_id] = sender.user_id
        sender._last_press = query_id
        self._mark = self.api._seq
        await self.api.enqueue(
            {
                "callback_query": {
                    "id": query_id,
                    "from": sender.user_json(),
                    "message": self.api._message_json(target),
                    "chat_instance": f"ci{self.chat_id}",
                    "data": data,
                }
            }
        )
        return query_id


class UserChat(ChatHandle):
    """A Telegram user and their private chat with the bot."""

    def __init__(self, api: BotAPIServer, chat: _Chat, last_name: str | None = None) -> None:
        super().__init__(api, chat)
        self.last_name = last_name
        self._last_press: str | None = None

    @property
    def user_id(self) -> int:
        """The user's Telegram id (the same as their private chat's)."""
        return self._chat.id

    @property
    def first_name(self) -> str:
        """The user's first name as Telegram shows it ("" when unset)."""
        return self._chat.first_name or ""

    def user_json(self) -> dict[str, Any]:
        """The user as a Bot API ``User`` object (id, names, username, language)."""
        data: dict[str, Any] = {"id": self.user_id, "is_bot": False, "first_name": self.first_name}
        if self.last_name:
            data["last_name"] = self.last_name
        if self._chat.username:
            data["username"] = self._chat.username
        if self._chat.language_code:
            data["language_code"] = self._chat.language_code
        return data

    def block(self) -> None:
        """The user blocks the bot: sending here answers 403 from now on."""
        self.api.blocked_chats.add(self.user_id)

    def unblock(self) -> None:
        """The user unblocks the bot: sending here works again."""
        self.api.blocked_chats.discard(self.user_id)

    def deactivate(self) -> None:
        """The user deletes their account: sending here answers 403 "user is deactivated"."""
        self.api.deactivated_chats.add(self.user_id)

    async def send(
        self,
        text: str | None = None,
        *,
        photo: bool | bytes = False,
        document: bool | str = False,
        video: bool = False,
        reply_to: ChatMessage | int | None = None,
        entities: list[dict[str, Any]] | None = None,
    ) -> ChatMessage:
        """The user writes to the bot; with photo/document/video the text becomes the caption (``photo``: True for
        a stand-in picture, or the picture's bytes)."""
        message = self._user_message(
            self, text, photo=photo, document=document, video=video, reply_to=reply_to, entities=entities
        )
        return await self._enqueue_message(message)

    async def send_media_group(self, captions: Iterable[str | None], kind: str = "photo") -> list[ChatMessage]:
        """An album: one update per item, all sharing a media_group_id (as Telegram delivers them)."""
        group_id = f"mg{next(self.api._ids)}"
        options = {"photo": kind == "photo", "video": kind == "video", "document": kind == "document"}
        if not any(options.values()):
            raise ValueError(f"unsupported media group kind {kind!r}")
        return [
            await self._enqueue_message(self._user_message(self, caption, media_group_id=group_id, **options))
            for caption in captions
        ]

    async def forward(
        self,
        text: str | None = None,
        *,
        from_chat_title: str | None = None,
        from_chat_username: str | None = None,
        from_chat_id: int | None = None,
        from_message_id: int = 1,
        from_user: UserChat | None = None,
        sender_name: str | None = None,
        photo: bool | bytes = False,
        sent_at: int | None = None,
    ) -> ChatMessage:
        """The user forwards a post to the bot: from a channel by default, from `from_user`, or from a user
        who hides their account (`sender_name`). `sent_at`: the original message's date (Unix seconds) that
        Telegram gives as `forward_origin.date` — the same for every forward of one message; default a minute
        ago."""
        date = int(time.time()) - 60 if sent_at is None else sent_at
        origin: dict[str, Any]
        if from_user is not None:
            origin = {"type": "user", "date": date, "sender_user": from_user.user_json()}
        elif sender_name is not None:
            origin = {"type": "hidden_user", "date": date, "sender_user_name": sender_name}
        else:
            chat: dict[str, Any] = {
                "id": from_chat_id if from_chat_id is not None else -1009000000000 - next(self.api._ids),
                "type": "channel",
                "title": from_chat_title or "Channel",
            }
            if from_chat_username:
                chat["username"] = from_chat_username
            origin = {"type": "channel", "date": date, "chat": chat, "message_id": from_message_id}
        # A forwarded command is not a command: Telegram keeps the original entities, which we do not model.
        message = self._user_message(self, text, photo=photo, forward_origin=origin, entities=[])
        return await self._enqueue_message(message)

    async def press(self, message: ChatMessage | int, text: str) -> str:
        """Press the inline button with this text on a bot message; returns the callback query id."""
        target = message if isinstance(message, ChatMessage) else self.message(message)
        button = target.button(text)
        if "callback_data" not in button:
            raise AssertionError(f"button {text!r} has no callback_data: {button}")
        return await self._press(self, target, button["callback_data"])

    async def press_data(self, message: ChatMessage | int, data: str) -> str:
        """A callback query with arbitrary data on a message, as a modified client could send."""
        return await self._press(self, message, data)

    async def wait_alert(self, timeout: float = 5.0) -> Alert:
        """Wait for the bot's answer to this user's latest press (in any chat)."""
        query_id = self._last_press
        if query_id is None:
            raise AssertionError(f"user {self.user_id} has pressed nothing")
        try:
            return await self.api._wait_for(lambda: self.api.alerts.get(query_id), timeout)
        except TimeoutError:
            raise WaitTimeout(
                f"the bot did not answer callback query {query_id} within {timeout} s{self.api._errors_note()}"
            ) from None


class GroupChat(ChatHandle):
    """A group or supergroup with the bot in it."""

    async def send(
        self,
        user: UserChat,
        text: str | None = None,
        *,
        photo: bool = False,
        document: bool | str = False,
        video: bool = False,
        reply_to: ChatMessage | int | None = None,
        entities: list[dict[str, Any]] | None = None,
    ) -> ChatMessage:
        """`user` writes into the group (and so becomes a member of it)."""
        self._chat.members.setdefault(user.user_id, "member")
        message = self._user_message(
            user, text, photo=photo, document=document, video=video, reply_to=reply_to, entities=entities
        )
        return await self._enqueue_message(message)

    async def press(self, user: UserChat, message: ChatMessage | int, text: str) -> str:
        """``user`` presses the inline button with this text on a bot message here; returns the callback query id."""
        target = message if isinstance(message, ChatMessage) else self.message(message)
        button = target.button(text)
        if "callback_data" not in button:
            raise AssertionError(f"button {text!r} has no callback_data: {button}")
        return await self._press(user, target, button["callback_data"])

    async def press_data(self, user: UserChat, message: ChatMessage | int, data: str) -> str:
        """A callback query from ``user`` with arbitrary data on a message here, as a modified client could send."""
        return await self._press(user, message, data)

    def set_member(self, user: UserChat | int, status: str = "member") -> None:
        """Set what getChatMember answers: "creator", "administrator", "member", "left" or "kicked"."""
        self._chat.members[user.user_id if isinstance(user, UserChat) else user] = status

    def set_bot_status(self, status: str) -> None:
        """What the bot is in the group: "member", "administrator", or "kicked" / "left" — then sending and
        editing there answer 403, as Telegram does once the bot is removed."""
        self._chat.bot_status = status


Handler = Callable[["_Call"], Any]


@dataclass
class _Call:
    token: str
    params: dict[str, Any]
    files: dict[str, web.FileField]

    @property
    def bot_id(self) -> int:
        head = self.token.split(":", 1)[0]
        return int(head) if head.isdigit() else 1

    def get(self, name: str, default: Any = None) -> Any:
        return self.params.get(name, default)

    def require(self, name: str) -> Any:
        if self.params.get(name) in (None, ""):
            raise _bad(f'parameter "{name}" is required')
        return self.params[name]


class BotAPIServer:
    """The stand-in: serves `/bot{token}/{method}` on 127.0.0.1 and keeps what a test needs to assert."""

    def __init__(
        self,
        *,
        limits: Limits | None = None,
        token: str | None = None,
        bot_username: str = "otklik_test_bot",
        bot_first_name: str = "Otklik",
        strict_chats: bool = True,
    ) -> None:
        self.limits = limits  # None: no flood control
        self.token = token  # None accepts any token; otherwise others get 401
        self.bot_username = bot_username
        self.bot_first_name = bot_first_name
        # Telegram refuses chats the bot has never met; keep that so a test notices a wrong chat id.
        self.strict_chats = strict_chats
        self.blocked_chats: set[int] = set()
        self.deactivated_chats: set[int] = set()  # users whose account is deleted
        self._holds: dict[str, asyncio.Event] = {}  # method -> released when set (see hold())
        self.requests: list[RecordedRequest] = []
        self.updates: list[dict[str, Any]] = []  # every update ever enqueued
        self.alerts: dict[str, Alert] = {}
        self.commands_by_scope: dict[tuple[str, str], list[tuple[str, str]]] = {}
        self.menu_buttons: dict[int | None, dict[str, Any]] = {}
        self.files: dict[str, _File] = {}
        self.handler_errors: list[BaseException] = []  # exceptions the Dispatcher swallowed, see running()
        # Whether the bot still works on updates it has confirmed (an inbox handles them after the offset
        # moved): idle() waits for it too. See serving().
        self.busy: Callable[[], bool] | None = None
        self.dropped_updates: list[dict[str, Any]] = []  # not in the bot's allowed_updates, never delivered
        self._allowed_updates: frozenset[str] = _DEFAULT_UPDATE_TYPES
        self._fetched: set[int] = set()  # update ids delivered to the bot or dropped
        self._chats: dict[int, _Chat] = {}
        self._handles: dict[int, ChatHandle] = {}
        self._faults: dict[str, deque[tuple[ApiError, int | None]]] = defaultdict(deque)  # with the chat it is for
        self._pending: list[dict[str, Any]] = []  # enqueued, not yet confirmed by offset
        self.webhook: dict[str, Any] | None = None  # what setWebhook asked for; updates are then pushed
        self.webhook_failures = 0  # pushes the bot did not answer with 2xx (Telegram retries them)
        self._pusher: asyncio.Task[None] | None = None
        self._next_update_id = 1
        self._events: list[tuple[int, int, int]] = []  # (seq, chat_id, message_id) for sends, edits, deletions
        self._seq = 0
        self._ids = itertools.count(1)
        self._presses: dict[str, int] = {}
        self._tick = asyncio.Event()
        self._poll_generation = 0
        self._polls = 0
        self._in_flight = 0
        self._last_activity = 0.0
        self._windows = _Windows()
        self._closing = False
        self._runner: web.AppRunner | None = None
        self.base_url = ""
        self._methods: dict[str, Handler] = {
            name.lower(): getattr(self, f"_m_{name}")
            for name in (
                "getMe",
                "setWebhook",
                "deleteWebhook",
                "getWebhookInfo",
                "getUpdates",
                "close",
                "logOut",
                "sendMessage",
                "sendPhoto",
                "sendVideo",
                "sendDocument",
                "sendMediaGroup",
                "copyMessage",
                "forwardMessage",
                "editMessageText",
                "editMessageCaption",
                "editMessageReplyMarkup",
                "deleteMessage",
                "answerCallbackQuery",
                "setMyCommands",
                "getMyCommands",
                "deleteMyCommands",
                "setChatMenuButton",
                "getChatMenuButton",
                "sendChatAction",
                "getChat",
                "getChatMember",
                "getFile",
            )
        }

    # ----- lifecycle -------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Listen on 127.0.0.1 at a free port (``base_url`` says which)."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)
        # Short shutdown: a long poll still parked at close time is woken by `_closing` anyway.
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.base_url = f"http://{host}:{port}"

    async def close(self) -> None:
        """Wake long polls, stop pushing webhooks and stop listening."""
        self._closing = True
        self._changed()
        if self._pusher is not None:
            self._pusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pusher
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> BotAPIServer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def bot(self, token: str = "42:TEST") -> Bot:
        """A real aiogram Bot whose real AiohttpSession talks to this server."""
        from aiogram import Bot
        from aiogram.client.session.aiohttp import AiohttpSession
        from aiogram.client.telegram import TelegramAPIServer

        return Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(self.base_url)))

    @contextlib.asynccontextmanager
    async def running(
        self,
        dp: Dispatcher,
        bot: Bot | None = None,
        *,
        polling_timeout: int = 1,
        fail_on_handler_errors: bool = True,
        **kwargs: Any,
    ) -> AsyncIterator[Bot]:
        """Run `dp.start_polling` in a task until the block ends; entered once the first poll arrived.

        The Dispatcher only logs exceptions no error handler took; with `fail_on_handler_errors` the block
        ends by raising the first of them instead of letting the test pass or time out puzzlingly."""
        bot = bot or self.bot()
        polls = self._polls
        collector = _ErrorCollector(self.handler_errors)
        event_logger = logging.getLogger("aiogram.event")
        event_logger.addHandler(collector)
        task = asyncio.create_task(
            dp.start_polling(bot, polling_timeout=polling_timeout, handle_signals=False, **kwargs)
        )
        try:
            await self._wait_for(lambda: self._polls > polls or task.done(), 5.0)
            if task.done():
                await task  # polling died on start-up: show why
                raise AssertionError("polling stopped on start-up")
            yield bot
        finally:
            try:
                if not task.done():
                    await dp.stop_polling()
                await task
            finally:
                event_logger.removeHandler(collector)
        if fail_on_handler_errors and self.handler_errors:
            first = self.handler_errors[0]
            raise AssertionError(f"a handler raised {type(first).__name__}: {first}") from first

    @contextlib.asynccontextmanager
    async def serving(
        self,
        poll: Coroutine[Any, Any, Any],
        *,
        busy: Callable[[], bool] | None = None,
        fail_on_handler_errors: bool = True,
    ) -> AsyncIterator[None]:
        """Run the bot's own polling coroutine (e.g. ``UpdateInbox.poll``) in a task until the block ends;
        entered once the first poll arrived. ``busy`` tells idle() that confirmed updates are still being
        handled. Handler errors fail the block as in running()."""
        polls = self._polls
        collector = _ErrorCollector(self.handler_errors)
        event_logger = logging.getLogger("aiogram.event")
        event_logger.addHandler(collector)
        self.busy = busy
        task = asyncio.create_task(poll)
        try:
            await self._wait_for(lambda: self._polls > polls or task.done(), 5.0)
            if task.done():
                await task
                raise AssertionError("polling stopped on start-up")
            yield
        finally:
            self.busy = None
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            event_logger.removeHandler(collector)
        if fail_on_handler_errors and self.handler_errors:
            first = self.handler_errors[0]
            raise AssertionError(f"a handler raised {type(first).__name__}: {first}") from first

    # ----- driver ----------------------------------------------------------------------------------------

    def user(
        self,
        user_id: int,
        first_name: str = "User",
        *,
        language_code: str | None = "ru",
        username: str | None = None,
        last_name: str | None = None,
    ) -> UserChat:
        """The user with this id (created on first call) and their private chat with the bot."""
        handle = self._handles.get(user_id)
        if isinstance(handle, UserChat):
            return handle
        chat = _Chat(user_id, "private", first_name=first_name, username=username, language_code=language_code)
        self._chats[user_id] = chat
        chat.members[user_id] = "member"
        handle = UserChat(self, chat, last_name=last_name)
        self._handles[user_id] = handle
        return handle

    def group(
        self, chat_id: int, title: str = "Group", *, type: str = "supergroup", username: str | None = None
    ) -> GroupChat:
        """The group with this id (created on first call); `type` is "group" or "supergroup"."""
        handle = self._handles.get(chat_id)
        if isinstance(handle, GroupChat):
            return handle
        chat = _Chat(chat_id, type, title=title, username=username)
        self._chats[chat_id] = chat
        handle = GroupChat(self, chat)
        self._handles[chat_id] = handle
        return handle

    def chat(self, chat_id: int) -> ChatHandle:
        """The driver handle of a chat made with ``user()`` or ``group()``; AssertionError for any other id."""
        try:
            return self._handles[chat_id]
        except KeyError:
            raise AssertionError(f"no chat {chat_id}: create it with api.user() or api.group()") from None

    def commands(self, language_code: str = "", scope: str | dict[str, Any] = "default") -> list[tuple[str, str]]:
        """What setMyCommands registered for this language and scope, as (command, description) pairs."""
        key = scope if isinstance(scope, str) else _scope_key(scope)
        return list(self.commands_by_scope.get((key, language_code), []))

    def calls(self, method: str | None = None) -> list[RecordedRequest]:
        """Recorded requests, optionally of one method (case-insensitive)."""
        if method is None:
            return list(self.requests)
        return [r for r in self.requests if r.method.lower() == method.lower()]

    @property
    def methods_called(self) -> set[str]:
        """Names of every Bot API method the bot called, as it spelled them."""
        return {r.method for r in self.requests}

    @property
    def unknown_calls(self) -> list[RecordedRequest]:
        """Calls of methods the server does not implement (answered 404)."""
        return [r for r in self.requests if r.unknown]

    def fail_next(
        self,
        method: str,
        status: int = 429,
        description: str | None = None,
        retry_after: int | None = None,
        count: int = 1,
        chat_id: int | None = None,
    ) -> None:
        """Make the next `count` calls of `method` (to `chat_id` only, if given) fail with this status (429
        gets a retry_after, default 1)."""
        if status == 429:
            retry_after = 1 if retry_after is None else retry_after
            description = description or f"Too Many Requests: retry after {retry_after}"
        else:
            defaults = {500: "Internal Server Error", 502: "Bad Gateway", 403: "Forbidden: bot was blocked by the user"}
            description = description or defaults.get(status, f"Error {status}")
        for _ in range(count):
            self._faults[method.lower()].append((ApiError(status, description, retry_after), chat_id))

    def hold(self, method: str) -> Callable[[], None]:
        """Calls of `method` arrive (and are recorded) but get no answer until the returned function is
        called: a request in flight at a chosen moment, e.g. while the bot is told to stop."""
        event = self._holds[method.lower()] = asyncio.Event()

        def release() -> None:
            self._holds.pop(method.lower(), None)
            event.set()

        return release

    def unhold(self, method: str) -> None:
        """Calls of `method` are answered again from now on; those held so far stay unanswered for good (as
        for a bot killed while waiting: nobody is left to answer)."""
        self._holds.pop(method.lower(), None)

    async def upgrade_group(
        self, chat_id: int, new_chat_id: int, by: UserChat | None = None, *, notify: bool = True
    ) -> GroupChat:
        """Telegram upgrades a group to a supergroup: the supergroup gets a new id, members and the bot's
        status; every call naming the old id is refused with 400 and ``migrate_to_chat_id``; and (unless not
        `notify`, as when the bot misses them) the bot receives the two service messages
        (``migrate_to_chat_id`` in the old group, ``migrate_from_chat_id`` in the new one)."""
        old = self._chats.get(chat_id)
        if old is None or old.type != "group":
            raise AssertionError(f"chat {chat_id} is not a group the stand-in knows")
        new = self.group(new_chat_id, old.title or "Group", type="supergroup")
        new._chat.members.update(old.members)
        new._chat.bot_status = old.bot_status
        old.migrated_to = new_chat_id
        sender = by.user_json() if by is not None else {"id": 1, "is_bot": False, "first_name": "Admin"}
        notes = ((old, {"migrate_to_chat_id": new_chat_id}), (new._chat, {"migrate_from_chat_id": chat_id}))
        for chat, fields in notes if notify else ():
            message = ChatMessage(
                chat.id, chat.take_message_id(), int(time.time()), from_bot=False, sender=sender, service=fields
            )
            chat.messages[message.message_id] = message
            await self.enqueue({"message": self._message_json(message)})
        return new

    async def enqueue(self, update: dict[str, Any]) -> int:
        """Queue a raw update (without update_id) for getUpdates; returns its update_id."""
        update = {"update_id": self._next_update_id, **update}
        self._next_update_id += 1
        self.updates.append(update)
        self._pending.append(update)
        self._changed()
        return update["update_id"]

    async def idle(self, timeout: float = 5.0, quiet: float = 0.1) -> None:
        """Wait until the bot fetched and confirmed every enqueued update and made no request for
        `quiet` seconds.

        With `start_polling(handle_as_tasks=False)` a confirmation (the next getUpdates offset) means
        the update was handled; with an inbox (serving()) `busy` says when it was; otherwise quiet time
        is the heuristic, and a handler that works longer
        than `quiet` between two requests without calling the API looks idle."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            try:
                await self._wait_for(
                    lambda: (
                        len(self._fetched) >= self._next_update_id - 1
                        and self._in_flight == 0
                        and not self._pending
                        and not (self.busy is not None and self.busy())
                    ),
                    remaining,
                    poll=0.05 if self.busy is not None else None,
                )
            except TimeoutError:
                raise WaitTimeout(
                    f"not idle after {timeout} s: {len(self._fetched)} of {self._next_update_id - 1} updates "
                    f"fetched, {self._in_flight} requests in flight (is polling running?){self._errors_note()}"
                ) from None
            left = quiet - (time.monotonic() - self._last_activity)
            if left <= 0:
                return
            if time.monotonic() + left > deadline:
                raise WaitTimeout(f"not idle after {timeout} s: the bot keeps making requests")
            await asyncio.sleep(left)

    # ----- internals -------------------------------------------------------------------------------------

    def _errors_note(self) -> str:
        if not self.handler_errors:
            return ""
        return "\nhandler errors so far: " + "; ".join(f"{type(e).__name__}: {e}" for e in self.handler_errors)

    def _changed(self) -> None:
        # Wake every waiter; each re-checks its own condition and parks on the fresh event.
        self._tick.set()
        self._tick = asyncio.Event()

    async def _wait_for(self, predicate: Callable[[], Any], timeout: float, poll: float | None = None) -> Any:
        """Until ``predicate`` holds, re-checked at every change here (and every ``poll`` s when it also
        depends on something else)."""
        deadline = time.monotonic() + timeout
        while True:
            tick = self._tick
            result = predicate()
            if result:
                return result
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(tick.wait(), remaining if poll is None else min(poll, remaining))

    def _event(self, message: ChatMessage) -> None:
        self._seq += 1
        self._events.append((self._seq, message.chat_id, message.message_id))
        self._changed()

    def _new_file(
        self, kind: str, data: bytes | None = None, file_name: str | None = None, mime_type: str | None = None
    ) -> _File:
        n = next(self._ids)
        stored = _File(
            f"{kind.upper()}-{n:06d}-fileid", f"uq{n:06d}", kind, data or f"{kind} {n}".encode(), file_name, mime_type
        )
        self.files[stored.file_id] = stored
        return stored

    def _bot_user(self, bot_id: int) -> dict[str, Any]:
        return {"id": bot_id, "is_bot": True, "first_name": self.bot_first_name, "username": self.bot_username}

    def _message_json(self, message: ChatMessage) -> dict[str, Any]:
        chat = self._chats[message.chat_id]
        data: dict[str, Any] = {
            "message_id": message.message_id,
            "date": message.date,
            "chat": chat.json(),
            "from": message.sender,
        }
        if message.text is not None:
            data["text"] = message.text
            if message.entities:
                data["entities"] = message.entities
        if message.caption is not None:
            data["caption"] = message.caption
            if message.entities:
                data["caption_entities"] = message.entities
        if message.media is not None:
            stored = self.files[message.media.file_id]
            base = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id, "file_size": len(stored.data)}
            if stored.kind == "photo":
                data["photo"] = [{**base, "width": 1280, "height": 960}]
            elif stored.kind == "video":
                data["video"] = {**base, "width": 1280, "height": 720, "duration": 10, "mime_type": "video/mp4"}
            else:
                data["document"] = {
                    **base,
                    "file_name": stored.file_name or "file",
                    "mime_type": stored.mime_type or "application/octet-stream",
                }
        if message.media_group_id:
            data["media_group_id"] = message.media_group_id
        if message.forward_origin:
            data["forward_origin"] = message.forward_origin
        if message.reply_to_message_id is not None:
            replied = chat.messages.get(message.reply_to_message_id)
            if replied is not None and replied is not message:
                data["reply_to_message"] = {
                    k: v for k, v in self._message_json(replied).items() if k != "reply_to_message"
                }
        if message.reply_markup and "inline_keyboard" in message.reply_markup:
            data["reply_markup"] = message.reply_markup  # Telegram echoes only inline keyboards
        if message.edit_date:
            data["edit_date"] = message.edit_date
        if message.service:
            data.update(message.service)
        return data

    async def _download(self, request: web.Request) -> web.Response:
        path = request.match_info["path"]
        for stored in self.files.values():
            if stored.path == path:
                return web.Response(body=stored.data, content_type=stored.mime_type or "application/octet-stream")
        return web.json_response({"ok": False, "error_code": 404, "description": "Not Found"}, status=404)

    async def _handle(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        method = request.match_info["method"]
        params, files = await self._read_params(request)
        record = RecordedRequest(method, params, time.monotonic(), {k: v.file.read() for k, v in files.items()})
        for upload in files.values():
            upload.file.seek(0)
        self.requests.append(record)
        # Long polls are the bot waiting, not working: they must not keep `idle()` from returning.
        counts = method.lower() != "getupdates"
        if counts:
            self._in_flight += 1
            self._last_activity = time.monotonic()
        self._changed()
        try:
            if self.token is not None and token != self.token:
                raise ApiError(401, "Unauthorized")
            handler = self._methods.get(method.lower())
            if handler is None:
                record.unknown = True
                raise ApiError(404, "Not Found: method not found")
            held = self._holds.get(method.lower())
            if held is not None:
                await held.wait()
            faults = self._faults.get(method.lower())
            if faults:
                fault = next((f for f in faults if f[1] is None or str(f[1]) == str(params.get("chat_id"))), None)
                if fault is not None:
                    faults.remove(fault)
                    raise fault[0]
            result = await handler(_Call(token, params, files))
            record.status = 200
            return web.json_response({"ok": True, "result": result})
        except ApiError as error:
            record.status = error.status
            record.description = error.description
            body: dict[str, Any] = {"ok": False, "error_code": error.status, "description": error.description}
            if error.retry_after is not None:
                body["parameters"] = {"retry_after": error.retry_after}
            if error.migrate_to_chat_id is not None:
                body["parameters"] = {"migrate_to_chat_id": error.migrate_to_chat_id}
            return web.json_response(body, status=error.status)
        finally:
            if counts:
                self._in_flight -= 1
                self._last_activity = time.monotonic()
            self._changed()

    async def _read_params(self, request: web.Request) -> tuple[dict[str, Any], dict[str, web.FileField]]:
        raw: list[tuple[str, Any]] = list(request.query.items())
        if request.method == "POST":
            if request.content_type == "application/json":
                body = await request.json()
                return {**dict(raw), **body}, {}
            raw.extend((await request.post()).items())
        params: dict[str, Any] = {}
        files: dict[str, web.FileField] = {}
        for key, value in raw:
            if isinstance(value, web.FileField):
                files[key] = value
            elif key in _STRING_FIELDS:
                params[key] = value
            else:
                try:
                    params[key] = json.loads(value)
                except ValueError:
                    params[key] = value
        return params, files

    # ----- checks shared by methods ----------------------------------------------------------------------

    def _chat_for(self, chat_id: Any, *, sending: bool = False) -> _Chat:
        if isinstance(chat_id, str) and chat_id.startswith("@"):
            found = next((c for c in self._chats.values() if c.username and f"@{c.username}" == chat_id), None)
        else:
            try:
                found = self._chats.get(int(chat_id))
            except (TypeError, ValueError):
                raise _bad("chat not found") from None
            if found is None and not self.strict_chats:
                found = self.user(int(chat_id))._chat if int(chat_id) > 0 else self.group(int(chat_id))._chat
        if found is None:
            raise _bad("chat not found")
        if found.migrated_to is not None:
            # Every call naming an upgraded group is refused with the supergroup's id (Bot API ResponseParameters).
            raise ApiError(
                400, "Bad Request: group chat was upgraded to a supergroup chat", migrate_to_chat_id=found.migrated_to
            )
        if sending and found.id in self.blocked_chats:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        if sending and found.id in self.deactivated_chats:
            raise ApiError(403, "Forbidden: user is deactivated")
        if sending and found.type in ("group", "supergroup") and found.bot_status in ("kicked", "left"):
            where = "supergroup chat" if found.type == "supergroup" else "group chat"
            if found.bot_status == "kicked":
                raise ApiError(403, f"Forbidden: bot was kicked from the {where}")
            raise ApiError(403, f"Forbidden: bot is not a member of the {where}")
        return found

    def _check_limits(self, chat: _Chat, count: int) -> None:
        limits = self.limits
        if limits is None:
            return
        now = time.monotonic()
        second, minute = 1.0 * limits.scale, 60.0 * limits.scale
        checks: list[tuple[Any, int, float]] = [
            ("global", limits.global_per_second, second),
            (("chat", chat.id), limits.per_chat_per_second, second),
        ]
        if chat.type in ("group", "supergroup"):
            checks.append((("group", chat.id), limits.per_group_per_minute, minute))
        wait = max(self._windows.wait(key, limit, window, now, count) for key, limit, window in checks)
        if wait > 0:
            retry_after = max(1, math.ceil(wait))
            raise ApiError(429, f"Too Many Requests: retry after {retry_after}", retry_after)
        for key, _, _ in checks:
            self._windows.add(key, now, count)

    @staticmethod
    def _check_markup(markup: Any) -> dict[str, Any] | None:
        if markup in (None, ""):
            return None
        if not isinstance(markup, dict):
            raise _bad("object expected as reply markup")
        for row in markup.get("inline_keyboard", []):
            for button in row:
                if not button.get("text"):
                    raise _bad("text buttons are unallowed in the inline keyboard")
                data = button.get("callback_data")
                if data is not None and not 1 <= len(str(data).encode()) <= MAX_CALLBACK_DATA:
                    raise _bad("BUTTON_DATA_INVALID")
                url = button.get("url")
                if url is not None and not re.match(r"^(https?|tg)://\S+$", url):
                    raise _bad("BUTTON_URL_INVALID")
        return markup

    def _reply_to(self, call: _Call, chat: _Chat) -> int | None:
        reply = call.get("reply_parameters")
        message_id = reply.get("message_id") if isinstance(reply, dict) else call.get("reply_to_message_id")
        if message_id is None:
            return None
        allow = (reply or {}).get("allow_sending_without_reply") if isinstance(reply, dict) else None
        if message_id not in chat.messages and not (allow or call.get("allow_sending_without_reply")):
            raise _bad("message to be replied not found")
        return int(message_id)

    def _bot_message(self, call: _Call, chat: _Chat, **fields: Any) -> ChatMessage:
        message = ChatMessage(
            chat_id=chat.id,
            message_id=chat.take_message_id(),
            date=int(time.time()),
            from_bot=True,
            sender=self._bot_user(call.bot_id),
            **fields,
        )
        chat.messages[message.message_id] = message
        self._event(message)
        return message

    def _caption(self, call: _Call, caption: str | None = None) -> tuple[str | None, str | None]:
        source = call.get("caption") if caption is None else caption
        if source in (None, ""):
            return None, None
        plain = _plain_text(source, call.get("parse_mode"))
        if _units(plain) > MAX_CAPTION:
            raise _bad("message caption is too long")
        return source, plain

    def _text(self, call: _Call) -> tuple[str, str]:
        source = call.get("text")
        if source is None or not str(source).strip():
            raise _bad("message text is empty")
        plain = _plain_text(source, call.get("parse_mode"))
        if not plain.strip():
            raise _bad("message text is empty")
        if _units(plain) > MAX_TEXT:
            raise _bad("message is too long")
        return source, plain

    def _input_file(self, call: _Call, kind: str, value: Any) -> _File:
        """A file given as an uploaded part, `attach://name`, a known file_id or a URL."""
        if isinstance(value, str) and value.startswith("attach://"):
            value = call.files.get(value.removeprefix("attach://"))
            if value is None:
                raise _bad("can't parse InputMedia: media not found")
        if isinstance(value, web.FileField):
            data = value.file.read()
            if not data:
                raise _bad("file must be non-empty")
            return self._new_file(kind, data, value.filename, value.content_type)
        if not isinstance(value, str) or not value:
            raise _bad(f'parameter "{kind}" is required')
        if value in self.files:
            return self.files[value]
        if value.startswith(("http://", "https://")):
            return self._new_file(kind, file_name=value.rsplit("/", 1)[-1])
        raise _bad("wrong file identifier/HTTP URL specified")

    def _edit_target(self, call: _Call) -> tuple[_Chat, ChatMessage]:
        if call.get("inline_message_id"):
            raise _bad("inline messages are not supported by the test stand-in")
        chat = self._chat_for(call.require("chat_id"), sending=True)
        message = chat.messages.get(int(call.require("message_id")))
        if message is None or message.deleted:
            raise _bad("message to edit not found")
        if not message.from_bot:
            raise _bad("message can't be edited")
        return chat, message

    def _edited(self, message: ChatMessage) -> dict[str, Any]:
        message.edits += 1
        message.edit_date = int(time.time())
        self._event(message)
        return self._message_json(message)

    # ----- methods ---------------------------------------------------------------------------------------

    async def _m_getMe(self, call: _Call) -> Any:
        return {
            **self._bot_user(call.bot_id),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    async def _m_setWebhook(self, call: _Call) -> Any:
        url = str(call.get("url") or "")
        if not url:
            return await self._m_deleteWebhook(call)
        secret = call.get("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", str(secret)):
            raise _bad("secret token contains unallowed characters")
        allowed = call.get("allowed_updates")
        if isinstance(allowed, list):
            self._allowed_updates = frozenset(allowed) or _DEFAULT_UPDATE_TYPES
        self.webhook = {"url": url, "secret_token": secret, "max_connections": call.get("max_connections")}
        if self._pusher is None or self._pusher.done():
            self._pusher = asyncio.create_task(self._push_updates(), name="botapi-webhook")
        self._changed()
        return True

    async def _m_deleteWebhook(self, call: _Call) -> Any:
        self.webhook = None
        self._changed()
        return True

    async def _m_getWebhookInfo(self, call: _Call) -> Any:
        url = self.webhook["url"] if self.webhook else ""
        return {"url": url, "has_custom_certificate": False, "pending_update_count": len(self._pending)}

    async def _push_updates(self) -> None:
        """Telegram's side of a webhook: each pending update is POSTed, one at a time, in order, with the
        secret header, until the bot answers 2xx; an update it does not take is tried again."""
        from aiohttp import ClientError, ClientSession

        async with ClientSession() as http:
            while self.webhook is not None and not self._closing:
                with contextlib.suppress(TimeoutError):
                    await self._wait_for(lambda: self._pending or self.webhook is None or self._closing, 1.0)
                if self.webhook is None or self._closing or not self._pending:
                    continue
                update, hook = self._pending[0], self.webhook
                if not self._allowed_updates & update.keys():
                    self._pending.pop(0)
                    self.dropped_updates.append(update)
                    self._fetched.add(update["update_id"])
                    continue
                headers = {"X-Telegram-Bot-Api-Secret-Token": hook["secret_token"]} if hook["secret_token"] else {}
                self._in_flight += 1
                try:
                    async with http.post(hook["url"], json=update, headers=headers) as answer:
                        delivered = answer.status < 300
                except ClientError:
                    delivered = False
                finally:
                    self._in_flight -= 1
                    self._last_activity = time.monotonic()
                if delivered:
                    self._pending.remove(update)
                    self._fetched.add(update["update_id"])
                else:
                    self.webhook_failures += 1
                    await asyncio.sleep(0.05)
                self._changed()

    async def _m_close(self, call: _Call) -> Any:
        return True

    async def _m_logOut(self, call: _Call) -> Any:
        return True

    async def _m_getUpdates(self, call: _Call) -> Any:
        if self.webhook is not None:
            raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook")
        offset = int(call.get("offset") or 0)
        limit = max(1, min(100, int(call.get("limit") or 100)))
        timeout = float(call.get("timeout") or 0)
        if offset > 0:
            # Confirmation: updates below offset are forgotten for good, as in Telegram.
            self._pending = [u for u in self._pending if u["update_id"] >= offset]
        elif offset < 0:
            self._pending = self._pending[offset:]
        allowed = call.get("allowed_updates")
        if isinstance(allowed, list):
            # Remembered until changed, and an empty list means the default set, as in Telegram.
            self._allowed_updates = frozenset(allowed) or _DEFAULT_UPDATE_TYPES
        # A newer poll ends an older one (Telegram answers 409 to the older; an empty answer is gentler for
        # an aiogram poll that was cancelled client-side and whose handler is still parked here).
        self._poll_generation += 1
        generation = self._poll_generation
        self._polls += 1
        self._changed()
        if timeout > 0:
            with contextlib.suppress(TimeoutError):
                await self._wait_for(
                    lambda: self._pending or self._closing or self._poll_generation != generation, timeout
                )
        if self._poll_generation != generation or self._closing:
            return []
        # Telegram discards updates of types the bot did not ask for; so must we, or a handler the
        # Dispatcher never subscribed to would pass here and starve in production.
        for update in [u for u in self._pending if not self._allowed_updates & u.keys()]:
            self._pending.remove(update)
            self.dropped_updates.append(update)
            self._fetched.add(update["update_id"])
        batch = self._pending[:limit]
        self._fetched.update(u["update_id"] for u in batch)
        self._changed()
        return batch

    async def _m_sendMessage(self, call: _Call) -> Any:
        source, plain = self._text(call)
        markup = self._check_markup(call.get("reply_markup"))
        chat = self._chat_for(call.require("chat_id"), sending=True)
        reply_to = self._reply_to(call, chat)
        self._check_limits(chat, 1)
        message = self._bot_message(
            call,
            chat,
            text=plain,
            source=source,
            parse_mode=call.get("parse_mode"),
            entities=call.get("entities"),
            reply_markup=markup,
            reply_to_message_id=reply_to,
        )
        return self._message_json(message)

    async def _send_media(self, call: _Call, kind: str) -> Any:
        source, caption = self._caption(call)
        markup = self._check_markup(call.get("reply_markup"))
        chat = self._chat_for(call.require("chat_id"), sending=True)
        value = call.files.get(kind) or call.get(kind)
        stored = self._input_file(call, kind, value)
        reply_to = self._reply_to(call, chat)
        self._check_limits(chat, 1)
        message = self._bot_message(
            call,
            chat,
            caption=caption,
            source=source,
            parse_mode=call.get("parse_mode"),
            entities=call.get("caption_entities"),
            reply_markup=markup,
            media=stored.media(),
            reply_to_message_id=reply_to,
        )
        return self._message_json(message)

    async def _m_sendPhoto(self, call: _Call) -> Any:
        return await self._send_media(call, "photo")

    async def _m_sendVideo(self, call: _Call) -> Any:
        return await self._send_media(call, "video")

    async def _m_sendDocument(self, call: _Call) -> Any:
        return await self._send_media(call, "document")

    async def _m_sendMediaGroup(self, call: _Call) -> Any:
        media = call.get("media")
        if not media:
            raise _bad("there are no messages to send")
        if not isinstance(media, list):
            raise _bad("can't parse media JSON object")
        if len(media) > MAX_ALBUM:
            raise _bad("too many messages to send as an album")
        kinds = {item.get("type") for item in media}
        if not kinds <= {"photo", "video", "document", "audio"}:
            raise _bad(f"can't parse InputMedia: unsupported type {sorted(map(str, kinds))}")
        if "document" in kinds and kinds != {"document"}:
            raise _bad("document can't be mixed with other media types")
        if "audio" in kinds and kinds != {"audio"}:
            raise _bad("audio can't be mixed with other media types")
        chat = self._chat_for(call.require("chat_id"), sending=True)
        prepared = []
        for item in media:
            source = item.get("caption")
            caption = _plain_text(source, item.get("parse_mode")) if source else None
            if caption is not None and _units(caption) > MAX_CAPTION:
                raise _bad("message caption is too long")
            prepared.append((self._input_file(call, item["type"], item.get("media")), source, caption, item))
        reply_to = self._reply_to(call, chat)
        self._check_limits(chat, len(prepared))
        # Telegram sends a one-item "album" as an ordinary message, outside any media group.
        group_id = f"{next(self._ids)}0000" if len(prepared) > 1 else None
        return [
            self._message_json(
                self._bot_message(
                    call,
                    chat,
                    caption=caption,
                    source=source,
                    parse_mode=item.get("parse_mode"),
                    entities=item.get("caption_entities"),
                    media=stored.media(),
                    media_group_id=group_id,
                    reply_to_message_id=reply_to,
                )
            )
            for stored, source, caption, item in prepared
        ]

    def _source_message(self, call: _Call, what: str) -> ChatMessage:
        source_chat = self._chat_for(call.require("from_chat_id"))
        message = source_chat.messages.get(int(call.require("message_id")))
        if message is None or message.deleted:
            raise _bad(f"message to {what} not found")
        return message

    async def _m_copyMessage(self, call: _Call) -> Any:
        original = self._source_message(call, "copy")
        markup = self._check_markup(call.get("reply_markup"))
        chat = self._chat_for(call.require("chat_id"), sending=True)
        source, caption = original.source, original.caption
        if "caption" in call.params and original.media is not None:
            source, caption = self._caption(call)
        self._check_limits(chat, 1)
        message = self._bot_message(
            call,
            chat,
            text=original.text,
            caption=caption,
            source=source,
            entities=original.entities,
            media=original.media,
            reply_markup=markup,
            reply_to_message_id=self._reply_to(call, chat),
        )
        return {"message_id": message.message_id}

    async def _m_forwardMessage(self, call: _Call) -> Any:
        original = self._source_message(call, "forward")
        chat = self._chat_for(call.require("chat_id"), sending=True)
        origin = original.forward_origin or {"type": "user", "date": original.date, "sender_user": original.sender}
        self._check_limits(chat, 1)
        message = self._bot_message(
            call,
            chat,
            text=original.text,
            caption=original.caption,
            source=original.source,
            entities=original.entities,
            media=original.media,
            forward_origin=origin,
        )
        return self._message_json(message)

    async def _m_editMessageText(self, call: _Call) -> Any:
        source, plain = self._text(call)
        markup = self._check_markup(call.get("reply_markup"))
        _, message = self._edit_target(call)
        if message.text is None:
            raise _bad("there is no text in the message to edit")
        if message.source == source and message.reply_markup == markup:
            raise _bad(NOT_MODIFIED.removeprefix("Bad Request: "))
        # As in Telegram, an edit without reply_markup removes the inline keyboard.
        message.text, message.source, message.reply_markup = plain, source, markup
        message.parse_mode, message.entities = call.get("parse_mode"), call.get("entities")
        return self._edited(message)

    async def _m_editMessageCaption(self, call: _Call) -> Any:
        source, caption = self._caption(call)
        markup = self._check_markup(call.get("reply_markup"))
        _, message = self._edit_target(call)
        if message.media is None:
            raise _bad("there is no caption in the message to edit")
        if message.source == source and message.reply_markup == markup:
            raise _bad(NOT_MODIFIED.removeprefix("Bad Request: "))
        message.caption, message.source, message.reply_markup = caption, source, markup
        message.parse_mode, message.entities = call.get("parse_mode"), call.get("caption_entities")
        return self._edited(message)

    async def _m_editMessageReplyMarkup(self, call: _Call) -> Any:
        markup = self._check_markup(call.get("reply_markup"))
        _, message = self._edit_target(call)
        if message.reply_markup == markup:
            raise _bad(NOT_MODIFIED.removeprefix("Bad Request: "))
        message.reply_markup = markup
        return self._edited(message)

    async def _m_deleteMessage(self, call: _Call) -> Any:
        chat = self._chat_for(call.require("chat_id"))
        message = chat.messages.get(int(call.require("message_id")))
        if message is None or message.deleted:
            raise _bad("message to delete not found")
        if not message.from_bot and chat.type != "private" and chat.bot_status not in ("administrator", "creator"):
            raise _bad("message can't be deleted")
        message.deleted = True
        self._event(message)
        return True

    async def _m_answerCallbackQuery(self, call: _Call) -> Any:
        query_id = str(call.require("callback_query_id"))
        if query_id not in self._presses or query_id in self.alerts:
            raise _bad(QUERY_INVALID.removeprefix("Bad Request: "))
        text = call.get("text")
        if text is not None and _units(text) > MAX_ALERT:
            raise _bad("MESSAGE_TOO_LONG")
        self.alerts[query_id] = Alert(query_id, text, bool(call.get("show_alert")), call.get("url"))
        self._changed()
        return True

    async def _m_setMyCommands(self, call: _Call) -> Any:
        commands = call.require("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise _bad("can't parse commands JSON object")
        pairs = []
        for item in commands:
            command = str(item.get("command", "")).removeprefix("/")
            if not _COMMAND_RE.match(command):
                raise _bad("BOT_COMMAND_INVALID")
            description = str(item.get("description", ""))
            if not 1 <= len(description) <= 256:
                raise _bad("command description must be non-empty")
            pairs.append((command, description))
        self.commands_by_scope[(_scope_key(call.get("scope")), call.get("language_code") or "")] = pairs
        return True

    async def _m_getMyCommands(self, call: _Call) -> Any:
        key = (_scope_key(call.get("scope")), call.get("language_code") or "")
        return [{"command": c, "description": d} for c, d in self.commands_by_scope.get(key, [])]

    async def _m_deleteMyCommands(self, call: _Call) -> Any:
        self.commands_by_scope.pop((_scope_key(call.get("scope")), call.get("language_code") or ""), None)
        return True

    async def _m_setChatMenuButton(self, call: _Call) -> Any:
        chat_id = call.get("chat_id")
        if chat_id is not None:
            chat_id = self._chat_for(chat_id).id
        self.menu_buttons[chat_id] = call.get("menu_button") or {"type": "default"}
        return True

    async def _m_getChatMenuButton(self, call: _Call) -> Any:
        chat_id = call.get("chat_id")
        return self.menu_buttons.get(chat_id, self.menu_buttons.get(None, {"type": "default"}))

    async def _m_sendChatAction(self, call: _Call) -> Any:
        chat = self._chat_for(call.require("chat_id"), sending=True)
        chat.actions.append(str(call.require("action")))
        return True

    async def _m_getChat(self, call: _Call) -> Any:
        chat = self._chat_for(call.require("chat_id"))
        gifts = {
            k: False
            for k in ("unlimited_gifts", "limited_gifts", "unique_gifts", "premium_subscription", "gifts_from_channels")
        }
        return {**chat.json(), "accent_color_id": 0, "max_reaction_count": 11, "accepted_gift_types": gifts}

    async def _m_getChatMember(self, call: _Call) -> Any:
        chat = self._chat_for(call.require("chat_id"))
        user_id = int(call.require("user_id"))
        if user_id == call.bot_id:
            return _member_json(self._bot_user(user_id), chat.bot_status)
        status = chat.members.get(user_id)
        handle = self._handles.get(user_id)
        if not isinstance(handle, UserChat):
            if status is None:
                raise _bad("user not found")
            user = {"id": user_id, "is_bot": False, "first_name": "User"}
        else:
            user = handle.user_json()
        return _member_json(user, status or "left")

    async def _m_getFile(self, call: _Call) -> Any:
        stored = self.files.get(str(call.require("file_id")))
        if stored is None:
            raise _bad("invalid file_id")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
            "file_path": stored.path,
        }


def _scope_key(scope: Any) -> str:
    if not scope:
        return "default"
    kind = scope.get("type", "default")
    if kind in ("chat", "chat_administrators"):
        return f"{kind}:{scope.get('chat_id')}"
    if kind == "chat_member":
        return f"chat_member:{scope.get('chat_id')}:{scope.get('user_id')}"
    return str(kind)


def _member_json(user: dict[str, Any], status: str) -> dict[str, Any]:
    if status == "creator":
        return {"status": status, "user": user, "is_anonymous": False}
    if status == "administrator":
        rights = (
            "can_manage_chat",
            "can_delete_messages",
            "can_manage_video_chats",
            "can_restrict_members",
            "can_change_info",
            "can_invite_users",
            "can_post_stories",
            "can_edit_stories",
            "can_delete_stories",
            "can_send_welcome_messages",
        )
        return {
            "status": status,
            "user": user,
            "can_be_edited": False,
            "is_anonymous": False,
            "can_promote_members": False,
            **dict.fromkeys(rights, True),
        }
    if status == "kicked":
        return {"status": status, "user": user, "until_date": 0}
    if status in ("member", "left"):
        return {"status": status, "user": user}
    raise _bad(f"the test stand-in does not model member status {status!r}")
