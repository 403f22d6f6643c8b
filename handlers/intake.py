"""Curator: a forwarded post, or a link with text and photos, becomes an incident (SPEC §7)."""

from __future__ import annotations

from typing import Any

from aiogram import Bot, F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    MessageEntity,
    MessageOriginChannel,
    MessageOriginChat,
    MessageOriginHiddenUser,
    MessageOriginUser,
)
from aiogram.utils.i18n import gettext as _

from bot.domain.errors import IllegalTransition
from bot.domain.incident import MAX_POST_TEXT, Attachment, Importance, Kind, Network, Role, Source
from bot.domain.links import BadLink, cut_link, find_links, network_of, parse_link
from bot.domain.message_size import Block, Elastic, button_text, cut, fit, line, template
from bot.services import Person, Services
from handlers.callbacks import IntakeCb
from handlers.filters import HasRole
from handlers.render import NAME_FLOOR, POST_FLOOR, URL_FLOOR, importance_label, kind_label, network_label, show_card
from handlers.states import Intake

MAX_ATTACHMENTS = 10
INTAKE_EXCERPT = 1000  # the post's text on the registration card (the curator has the post right above it)


def _attachment(message: Message) -> Attachment | None:
    if message.photo:
        best = message.photo[-1]
        return Attachment(best.file_id, "photo", best.file_unique_id)
    if message.video:
        return Attachment(message.video.file_id, "video", message.video.file_unique_id)
    if message.document:
        return Attachment(message.document.file_id, "document", message.document.file_unique_id)
    return None


def parse_post(message: Message) -> dict[str, Any] | None:
    """What a curator's message says about the post: link, network, author, text, media.

    A post forwarded from a channel is that channel's message (t.me/name/123, or t.me/c/… for a
    private channel) and its text stays whole. Otherwise the post's link is the first link in the
    message, as Telegram's own entities mark it — a ``url`` (also without a scheme: vk.com/wall-1_2)
    or a ``text_link`` (a hyperlinked word); without entities, found in the text (bot.domain.links). A
    ``url`` is cut out of the text, which is tidied ("Яма во дворе (https://…)" → "Яма во дворе");
    a hyperlinked word stays in it.
    """
    text = message.text or message.caption or ""
    entities = message.entities if message.text else message.caption_entities
    author, origin_url = _origin(message)
    url = origin_url
    if url is None:
        found = _first_link(text, entities or [])
        if found is not None:
            url, text = found
    network = network_of(url) if url else (Network.telegram if message.forward_origin else Network.other)
    attachment = _attachment(message)
    if not text.strip() and url is None and attachment is None:
        return None
    return {
        "network": network.value,
        "url": url,
        "author": author,
        "text": text.strip()[:MAX_POST_TEXT],
        "attachments": [vars(attachment)] if attachment else [],
        "media_group": message.media_group_id,
    }


def _origin(message: Message) -> tuple[str | None, str | None]:
    """The author of a forwarded post and, for a channel's post, its link."""
    origin = message.forward_origin
    if isinstance(origin, MessageOriginUser):
        return origin.sender_user.full_name, None
    if isinstance(origin, MessageOriginHiddenUser):
        return origin.sender_user_name, None
    if isinstance(origin, MessageOriginChat):
        return origin.sender_chat.title, None
    if isinstance(origin, MessageOriginChannel):
        chat = origin.chat
        if chat.username:
            return chat.title, f"https://t.me/{chat.username}/{origin.message_id}"
        private = str(chat.id).removeprefix("-100")  # Bot API ids of channels are -100<id>; links use <id>
        return chat.title, f"https://t.me/c/{private}/{origin.message_id}" if private.isdigit() else None
    return None, None


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
            link = parse_link(hyperlink or text[start:end])
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


def intake_text(data: dict[str, Any], names: dict[str, dict[int, str]]) -> str:
    """The registration card, within one message: the post's text up to INTAKE_EXCERPT, and the link,
    author and names shortened when they are long (bot/domain/message_size.py)."""
    post = data["post"]
    author = post.get("author")
    blocks: list[Block] = [
        line(_("New incident — check and register:")),
        line(""),
        line(network_label(Network(post["network"])), *((" · ", Elastic(author, NAME_FLOOR)) if author else ())),
    ]
    if post.get("url"):
        blocks.append(line(Elastic(post["url"], URL_FLOOR)))
    if post.get("text"):
        blocks.append(line("«", Elastic(cut(post["text"], INTAKE_EXCERPT), POST_FLOOR, weight=4), "»"))
    if post["attachments"]:
        blocks.append(line(_("Attachments: {count}").format(count=len(post["attachments"]))))
    blocks.append(line(""))
    topic = names["topics"].get(data.get("topic") or 0)
    location = names["locations"].get(data.get("location") or 0)
    blocks.append(template(_("Topic: {topic}"), topic=Elastic(topic or "—", NAME_FLOOR)))
    blocks.append(template(_("Location: {location}"), location=Elastic(location or "—", NAME_FLOOR)))
    blocks.append(line(importance_label(Importance(data["importance"])) + " · " + kind_label(Kind(data["kind"]))))
    if data.get("repeat_of"):
        blocks.append(line(_("Will be linked as a repeat of No. {number}.").format(number=data["repeat_of"])))
    candidates = data.get("candidates") or []
    if candidates and not data.get("repeat_of"):
        blocks.append(line(""))
        numbers = ", ".join(f"№ {c['id']}" for c in candidates)
        blocks.append(line(_("Possibly the same question: {numbers}").format(numbers=numbers)))
    return fit(blocks).text


def intake_keyboard(data: dict[str, Any], names: dict[str, dict[int, str]]) -> InlineKeyboardMarkup:
    topic = names["topics"].get(data.get("topic") or 0, "—")
    location = names["locations"].get(data.get("location") or 0, "—")
    rows = [
        [
            InlineKeyboardButton(
                text=button_text(template(_("Topic: {topic}"), topic=Elastic(topic, 8))),
                callback_data=IntakeCb(what="topics").pack(),
            ),
            InlineKeyboardButton(
                text=button_text(template(_("Location: {location}"), location=Elastic(location, 8))),
                callback_data=IntakeCb(what="locations").pack(),
            ),
        ],
        [
            InlineKeyboardButton(
                text=importance_label(Importance(data["importance"])), callback_data=IntakeCb(what="importance").pack()
            ),
            InlineKeyboardButton(text=kind_label(Kind(data["kind"])), callback_data=IntakeCb(what="kind").pack()),
        ],
    ]
    for candidate in (data.get("candidates") or [])[:3]:
        number = candidate["id"]
        row = [
            InlineKeyboardButton(
                text=_("Repeat of No. {number}").format(number=number),
                callback_data=IntakeCb(what="repeat", v=number).pack(),
            )
        ]
        if candidate["open"]:  # a further post on a question still being answered joins it
            row.append(
                InlineKeyboardButton(
                    text=_("Add to No. {number} as a source").format(number=number),
                    callback_data=IntakeCb(what="attach", v=number).pack(),
                )
            )
        rows.append(row)
    rows.append(
        [
            InlineKeyboardButton(text=_("Register"), callback_data=IntakeCb(what="save").pack()),
            InlineKeyboardButton(text=_("Cancel"), callback_data=IntakeCb(what="cancel").pack()),
        ]
    )
    return InlineKeyboardMarkup(inline_keyboard=rows)


def choice_keyboard(what: str, options: dict[int, str]) -> InlineKeyboardMarkup:
    rows = [
        [InlineKeyboardButton(text=button_text(name), callback_data=IntakeCb(what=what, v=key).pack())]
        for key, name in sorted(options.items(), key=lambda kv: kv[1])
    ]
    rows.append(
        [
            InlineKeyboardButton(text=_("— none —"), callback_data=IntakeCb(what=what, v=0).pack()),
            InlineKeyboardButton(text=_("Back"), callback_data=IntakeCb(what="back").pack()),
        ]
    )
    return InlineKeyboardMarkup(inline_keyboard=rows)


async def _names(services: Services) -> dict[str, dict[int, str]]:
    directory = await services.directory()
    return {"topics": directory.topics, "locations": directory.locations}


def build_router() -> Router:
    router = Router(name="intake")
    curator_private = F.chat.type == "private"

    @router.message(Intake.card, curator_private, HasRole(Role.curator), F.media_group_id)
    async def more_media(message: Message, state: FSMContext, services: Services, bot: Bot) -> None:
        """The next photos of a forwarded album join the post being registered."""
        data = await state.get_data()
        if data.get("post", {}).get("media_group") != message.media_group_id:
            await start_intake(message, state, services, bot)  # another album: a new post
            return
        attachment = _attachment(message)
        post = data["post"]
        if attachment is not None and len(post["attachments"]) < MAX_ATTACHMENTS:
            post["attachments"].append(vars(attachment))
        if not post.get("text") and (message.caption or "").strip():
            post["text"] = message.caption.strip()
        await state.update_data(post=post)
        await _redraw(bot, message.chat.id, data | {"post": post}, services)

    @router.message(curator_private, HasRole(Role.curator), F.func(lambda m: not (m.text or "").startswith("/")))
    async def start_intake(message: Message, state: FSMContext, services: Services, bot: Bot, person: Person) -> None:
        post = parse_post(message)
        if post is None:
            await message.answer(_("Forward a post, or send a link to it with its text and photos."))
            return
        if post["url"] and await _show_registered(message.chat.id, _source(post, services), services, bot, person):
            await state.clear()
            return
        candidates = _candidates(await services.repeat_candidates(post["url"], post["author"], []))
        data = {
            "post": post,
            "topic": None,
            "location": None,
            "importance": "normal",
            "kind": "incident",
            "candidates": candidates,
            "repeat_of": None,
        }
        names = await _names(services)
        await state.set_state(Intake.card)
        await state.set_data(data)
        card = await message.answer(intake_text(data, names), reply_markup=intake_keyboard(data, names))
        await state.update_data(card=card.message_id)

    @router.callback_query(Intake.card, HasRole(Role.curator), IntakeCb.filter())
    async def intake_button(
        callback: CallbackQuery,
        callback_data: IntakeCb,
        state: FSMContext,
        services: Services,
        person: Person,
        bot: Bot,
    ) -> None:
        data = await state.get_data()
        names = await _names(services)
        what, value = callback_data.what, callback_data.v
        message = callback.message
        assert isinstance(message, Message)
        if what == "topics":
            await message.edit_reply_markup(reply_markup=choice_keyboard("topic", names["topics"]))
        elif what == "locations":
            await message.edit_reply_markup(reply_markup=choice_keyboard("location", names["locations"]))
        elif what in ("topic", "location"):
            if value and value not in names[what + "s"]:
                await callback.answer(_("This button is no longer valid."), show_alert=True)
                return
            data[what] = value or None
            if what == "topic" and value:
                post = data["post"]
                found = await services.repeat_candidates(post["url"], post["author"], [value])
                data["candidates"] = _candidates(found)
            await state.update_data(**{what: data[what], "candidates": data.get("candidates")})
            await message.edit_text(intake_text(data, names), reply_markup=intake_keyboard(data, names))
        elif what == "importance":
            data["importance"] = "high" if data["importance"] == "normal" else "normal"
            await state.update_data(importance=data["importance"])
            await message.edit_text(intake_text(data, names), reply_markup=intake_keyboard(data, names))
        elif what == "kind":
            data["kind"] = "publication" if data["kind"] == "incident" else "incident"
            await state.update_data(kind=data["kind"])
            await message.edit_text(intake_text(data, names), reply_markup=intake_keyboard(data, names))
        elif what == "repeat":
            data["repeat_of"] = value if value in _ids(data) else None
            await state.update_data(repeat_of=data["repeat_of"])
            await message.edit_text(intake_text(data, names), reply_markup=intake_keyboard(data, names))
        elif what == "back":
            await message.edit_reply_markup(reply_markup=intake_keyboard(data, names))
        elif what == "cancel":
            await state.clear()
            await message.edit_text(_("Registration cancelled. Nothing was saved."))
        elif what in ("attach", "save"):
            if what == "attach" and value not in _ids(data):
                await callback.answer(_("This button is no longer valid."), show_alert=True)
                return
            source = _source(data["post"], services)
            try:
                if what == "attach":
                    incident = await services.add_source(person, value, source)
                else:
                    incident = await services.register(
                        person,
                        [source],
                        importance=Importance(data["importance"]),
                        kind=Kind(data["kind"]),
                        topic_ids=[data["topic"]] if data.get("topic") else [],
                        location_id=data.get("location"),
                        repeat_of_id=data.get("repeat_of"),
                    )
            except IllegalTransition as exc:
                # Registered by someone else (another curator, the API, an import) while this card was open.
                if exc.key != "already_registered" or not await _show_registered(
                    message.chat.id, source, services, bot, person
                ):
                    raise
                await state.clear()
                await message.edit_text(_("Registration cancelled. Nothing was saved."))
                await callback.answer()
                return
            await state.clear()
            note = "source_added" if what == "attach" else None
            await show_card(bot, services, message.chat.id, incident, person, person.locale, edit=message, note=note)
        await callback.answer()

    @router.callback_query(IntakeCb.filter())
    async def stale_intake(callback: CallbackQuery) -> None:
        await callback.answer(_("This registration is already finished or cancelled."), show_alert=True)

    return router


async def _redraw(bot: Bot, chat_id: int, data: dict[str, Any], services: Services) -> None:
    names = await _names(services)
    if data.get("card"):
        await bot.edit_message_text(
            text=intake_text(data, names),
            chat_id=chat_id,
            message_id=data["card"],
            reply_markup=intake_keyboard(data, names),
        )


async def _show_registered(chat_id: int, source: Source, services: Services, bot: Bot, person: Person) -> bool:
    """When the post (its link in any form) is registered already: say so and show that incident's
    card instead of a registration card. Whether it was."""
    found = await services.find_registered(source)
    if found is None:
        return False
    incident = await services.get(found.number)
    await bot.send_message(chat_id, _("This post is already registered: No. {number}.").format(number=found.number))
    await show_card(bot, services, chat_id, incident, person, person.locale, fresh=True)
    return True


def _candidates(found: list[Any]) -> list[dict[str, Any]]:
    return [{"id": i.id, "open": not i.closed} for i in found]


def _ids(data: dict[str, Any]) -> list[int]:
    return [c["id"] for c in data.get("candidates") or []]


def _source(post: dict[str, Any], services: Services) -> Source:
    return Source(
        network=Network(post["network"]),
        url=post.get("url"),
        author=post.get("author"),
        text=post.get("text") or "",
        detected_at=services.clock.now(),
        attachments=[Attachment(**a) for a in post.get("attachments", [])],
    )
