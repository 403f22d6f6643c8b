"""Sending to a chat within Telegram's limits: a text of any length in parts, photos and documents as albums, and
an incident's card — edited in place where it already is, or sent anew.

Every call goes the bot's one paced path (handlers/calls.py); the texts come from handlers/render.py and the
buttons from handlers/keyboards.py.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import InlineKeyboardMarkup, InputMediaDocument, InputMediaPhoto, InputMediaVideo, Message

from bot.domain.incident import Attachment, Incident
from bot.domain.message_size import CAPTION_LIMIT, TEXT_LIMIT, split, units
from bot.services import Person, Services
from handlers.keyboards import card_keyboard, group_keyboard
from handlers.render import render_card

log = logging.getLogger(__name__)


async def send_long(bot: Bot, chat_id: int, text: str, reply_markup: InlineKeyboardMarkup | None = None) -> Message:
    """Send a text of any length; the keyboard goes with the last piece, which is returned."""
    pieces = split(text, TEXT_LIMIT)
    message: Message | None = None
    for index, piece in enumerate(pieces):
        markup = reply_markup if index == len(pieces) - 1 else None
        message = await bot.send_message(chat_id, piece, reply_markup=markup)
    assert message is not None
    return message


async def send_attachments(
    bot: Bot, chat_id: int, attachments: Sequence[Attachment], caption: str | None = None
) -> None:
    """Photos, videos and documents as one album (up to 10 a message); a caption over Telegram's
    1024 characters goes in a message of its own."""
    if not attachments:
        if caption:
            await send_long(bot, chat_id, caption)
        return
    separate = caption is not None and units(caption) > CAPTION_LIMIT
    media_caption = None if separate else caption
    for start in range(0, len(attachments), 10):
        chunk = attachments[start : start + 10]
        first_caption = media_caption if start == 0 else None
        if len(chunk) == 1:
            await _send_one(bot, chat_id, chunk[0], first_caption)
            continue
        media = []
        for index, item in enumerate(chunk):
            cap = first_caption if index == 0 else None
            if item.type == "photo":
                media.append(InputMediaPhoto(media=item.file_id, caption=cap))
            elif item.type == "video":
                media.append(InputMediaVideo(media=item.file_id, caption=cap))
            else:
                media.append(InputMediaDocument(media=item.file_id, caption=cap))
        try:
            await bot.send_media_group(chat_id, media)
        except TelegramBadRequest:
            # Documents cannot share an album with photos: fall back to one message each.
            for item in chunk:
                await _send_one(bot, chat_id, item, None)
    if separate and caption:
        await send_long(bot, chat_id, caption)


async def _send_one(bot: Bot, chat_id: int, item: Attachment, caption: str | None) -> None:
    """One photo, video or document with its caption (at most CAPTION_LIMIT units)."""
    if item.type == "photo":
        await bot.send_photo(chat_id, item.file_id, caption=caption)
    elif item.type == "video":
        await bot.send_video(chat_id, item.file_id, caption=caption)
    else:
        await bot.send_document(chat_id, item.file_id, caption=caption)


async def show_card(
    bot: Bot,
    services: Services,
    chat_id: int,
    incident: Incident,
    viewer: Person | None,
    locale: str,
    *,
    note: str | None = None,
    fresh: bool = False,
    edit: Message | int | None = None,
    group_department: int | None = None,
    outbox_id: int | None = None,
) -> None:
    """Show the incident's card in a chat: edit the card already there, or send a new one.

    `fresh` sends a new message (it rings) and strips the buttons off the old card; `edit` is the
    message a button was pressed on.
    """
    assert incident.id is not None
    directory = await services.directory()
    names = await services.user_names(a.executor_id for a in incident.assignments if a.executor_id)
    view = render_card(incident, directory, services, locale, note=note, names=names)
    text = view.text
    if group_department is not None:
        markup = group_keyboard(incident, group_department, full=view.shortened)
    elif viewer is not None:
        markup = card_keyboard(incident, services.actions(viewer, incident), full=view.shortened)
    else:
        markup = None
    if isinstance(edit, Message):
        edit = edit.message_id
    previous = edit if edit is not None else await services.card_message(chat_id, incident.id)
    if previous is not None and not fresh:
        try:
            await bot.edit_message_text(text=text, chat_id=chat_id, message_id=previous, reply_markup=markup)
            await services.remember_card(chat_id, incident.id, previous, incident.version)
            return
        except TelegramBadRequest as exc:
            if "not modified" in str(exc):
                await services.remember_card(chat_id, incident.id, previous, incident.version)
                return
            log.info("card %s in chat %s cannot be edited (%s); sending a new one", previous, chat_id, exc)
    if fresh and previous is not None:
        # The old card keeps its text and loses its buttons: only the newest card acts.
        with contextlib.suppress(TelegramBadRequest):
            await bot.edit_message_reply_markup(chat_id=chat_id, message_id=previous, reply_markup=None)
    if view.draft_apart is not None:  # the draft under decision is never cut: its own messages, then the card
        await send_long(bot, chat_id, view.draft_apart)
    message = await send_long(bot, chat_id, text, markup)
    await services.remember_card(chat_id, incident.id, message.message_id, incident.version, outbox_id)
