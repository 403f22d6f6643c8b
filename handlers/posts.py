"""What a curator's message says about a post (SPEC §7): its link, network, author, text and media — from a
forwarded channel post, or from the first link Telegram marks in the message — and, for a message forwarded
from a person or a group, where Telegram says it came from."""

from __future__ import annotations

from typing import Any

from aiogram.types import (
    Message,
    MessageEntity,
    MessageOriginChannel,
    MessageOriginChat,
    MessageOriginHiddenUser,
    MessageOriginUser,
)

from bot.domain.incident import MAX_AUTHOR, MAX_POST_TEXT, Network, storable
from bot.domain.links import BadLink, cut_link, find_links, network_of, parse_link
from handlers.media import attachment_of


def parse_post(message: Message) -> dict[str, Any] | None:
    """What a curator's message says about the post: link, network, author, text, media, origin — as a
    JSON-able dict (it waits in the registration dialog's state), or None for a message with nothing.

    A post forwarded from a channel is that channel's message (t.me/name/123, or t.me/c/… for a
    private channel) and its text stays whole. Otherwise the post's link is the first link in the
    message, as Telegram's own entities mark it — a ``url`` (also without a scheme: vk.com/wall-1_2)
    or a ``text_link`` (a hyperlinked word); without entities, found in the text (bot.domain.links). A
    ``url`` is cut out of the text, which is tidied ("Яма во дворе (https://…)" → "Яма во дворе");
    a hyperlinked word stays in it. A message forwarded from a person or a group, without a link, has
    ``origin``: its sender and original date as Telegram gives them (``forward_origin``, Bot API
    MessageOrigin), so the same message forwarded again is the same post (bot.domain.links.post_key).
    Characters no database can store (NUL, a lone surrogate) are dropped from the text and the author:
    they show nothing (bot.domain.incident.storable).
    """
    text = message.text or message.caption or ""  # as the entities' offsets count it
    entities = message.entities if message.text else message.caption_entities
    author, url, origin = _origin(message)
    if url is None:
        found = _first_link(text, entities or [])
        if found is not None:
            url, text = found
            origin = None  # the link names the post
    text = storable(text).strip()[:MAX_POST_TEXT]
    network = network_of(url) if url else (Network.telegram if message.forward_origin else Network.other)
    attachment = attachment_of(message)
    if not text.strip() and url is None and attachment is None:
        return None
    return {
        "network": network.value,
        "url": url,
        "author": storable(author)[:MAX_AUTHOR] if author else None,
        "text": text,
        "attachments": [vars(attachment)] if attachment else [],
        "media_group": message.media_group_id,
        "origin": origin,
    }


def _origin(message: Message) -> tuple[str | None, str | None, str | None]:
    """The author of a forwarded post; for a channel's post, its link; for a message of a person or a
    group, its origin: who sent it (a user's id; the name of one who hides their account; a group's id
    and the signature of its anonymous admin) and its original date in Unix seconds, e.g.
    ``user:777@1795510800``. A message that is not forwarded has none of them."""
    origin = message.forward_origin
    if origin is None:
        return None, None, None
    sent = f"@{int(origin.date.timestamp())}"
    if isinstance(origin, MessageOriginUser):
        return origin.sender_user.full_name, None, f"user:{origin.sender_user.id}{sent}"
    if isinstance(origin, MessageOriginHiddenUser):
        return origin.sender_user_name, None, f"hidden:{origin.sender_user_name}{sent}"
    if isinstance(origin, MessageOriginChat):
        signature = origin.author_signature or ""
        return origin.sender_chat.title, None, f"chat:{origin.sender_chat.id}:{signature}{sent}"
    if isinstance(origin, MessageOriginChannel):
        chat = origin.chat
        if chat.username:
            return chat.title, f"https://t.me/{chat.username}/{origin.message_id}", None
        private = str(chat.id).removeprefix("-100")  # Bot API ids of channels are -100<id>; links use <id>
        if private.isdigit():
            return chat.title, f"https://t.me/c/{private}/{origin.message_id}", None
        return chat.title, None, f"channel:{chat.id}:{origin.message_id}"
    return None, None, None


def _first_link(text: str, entities: list[MessageEntity]) -> tuple[str, str] | None:
    """The first usable link in the message and the text that remains without it."""
    marked = [e for e in entities if e.type in ("url", "text_link")]
    spans: list[tuple[int, int, str | None]] = []
    if marked:
        for entity in sorted(marked, key=lambda e: e.offset):
            start, end = _python_span(text, entity.offset, entity.length)
            spans.append((start, end, entity.url if entity.type == "text_link" else None))
    else:  # a client that sent no entities: find the links ourselves
        spans = [(start, end, None) for start, end in find_links(text)]
    for start, end, hyperlink in spans:
        try:
            link = parse_link(storable(hyperlink or text[start:end]))
        except BadLink:
            continue  # not a post's link (mailto:, a bare word): try the next one
        return link.url, text if hyperlink else cut_link(text, start, end)
    return None


def _python_span(text: str, offset: int, length: int) -> tuple[int, int]:
    """An entity's offset and length count UTF-16 code units (Telegram Bot API, MessageEntity); the
    same place in a Python string, which counts code points (an emoji is two units, one point)."""
    units = text.encode("utf-16-le")
    start = len(units[: offset * 2].decode("utf-16-le", errors="ignore"))
    return start, start + len(units[offset * 2 : (offset + length) * 2].decode("utf-16-le", errors="ignore"))
