"""Curator: a forwarded post, or a link with text and photos, becomes an incident (SPEC §7) through its
registration card — topic, location, importance, kind, a repeat or one more source of an open incident."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import Bot, F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot import assistant
from bot.domain.errors import IllegalTransition
from bot.domain.incident import MAX_POST_TEXT, Attachment, Importance, Incident, Kind, Network, Role, Source, storable
from bot.domain.message_size import Block, Elastic, cut, fit, line, template
from bot.domain.workflow import MAX_REASON
from bot.services import Person, Services
from handlers.callbacks import (
    INTAKE_FAMILIES,
    IntakeAction,
    IntakeAttachCb,
    IntakeCb,
    IntakeLocationCb,
    IntakeRepeatCb,
    IntakeTopicCb,
)
from handlers.filters import HasRole
from handlers.keyboards import intake_keyboard, locations_keyboard, topics_keyboard
from handlers.media import attachment_of
from handlers.posts import parse_post
from handlers.render import (
    NAME_FLOOR,
    POST_FLOOR,
    URL_FLOOR,
    grounds,
    importance_label,
    kind_label,
    network_label,
)
from handlers.sending import show_card
from handlers.states import Intake

MAX_ATTACHMENTS = 10
INTAKE_EXCERPT = 1000  # the post's text on the registration card (the curator has the post right above it)


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
        numbers = ", ".join(
            _("No. {number}").format(number=c["id"]) + (f" ({c['score']} %)" if c.get("score") else "")
            for c in candidates
        )
        blocks.append(line(_("Possibly the same question: {numbers}").format(numbers=numbers)))
    if data.get("flags"):
        blocks.append(line(""))
        blocks.append(line("⚠️ " + _("Possibly not to be answered: {grounds}.").format(grounds=grounds(data["flags"]))))
        if data.get("exclude") is not None:
            blocks.append(line(""))
            blocks.append(template(_("Reason: {reason}"), reason=Elastic(data["exclude"], POST_FLOOR)))
            blocks.append(
                line(_("Press «Confirm» to register it closed as not to be answered, or send another reason."))
            )
    return fit(blocks).text


async def _names(services: Services) -> dict[str, dict[int, str]]:
    directory = await services.directory()
    return {"topics": directory.topics, "locations": directory.locations}


async def more_media(message: Message, state: FSMContext, services: Services, bot: Bot, person: Person) -> None:
    """The next photos of a forwarded album join the post being registered."""
    data = await state.get_data()
    if data.get("post", {}).get("media_group") != message.media_group_id:
        await start_intake(message, state, services, bot, person)  # another album: a new post
        return
    attachment = attachment_of(message)
    post = data["post"]
    if attachment is not None and len(post["attachments"]) < MAX_ATTACHMENTS:
        post["attachments"].append(vars(attachment))
    if not post.get("text") and storable(message.caption or "").strip():
        post["text"] = storable(message.caption or "").strip()[:MAX_POST_TEXT]
    await state.update_data(post=post)
    await _redraw(bot, message.chat.id, data | {"post": post}, services)


async def start_intake(message: Message, state: FSMContext, services: Services, bot: Bot, person: Person) -> None:
    """A curator's post (forwarded, or a link with text and photos): its registration card, or the incident it
    already is."""
    post = parse_post(message)
    if post is None:
        await message.answer(_("Forward a post, or send a link to it with its text and photos."))
        return
    # A link, or a forward's origin, names the post: one registered already is shown instead of registered again.
    named = post["url"] or post.get("origin")
    if named and await _show_registered(message.chat.id, _source(post, services), services, bot, person):
        await state.clear()
        return
    data: dict[str, Any] = {
        "post": post,
        "topic": None,
        "location": None,
        "importance": "normal",
        "kind": "incident",
        "repeat_of": None,
        "flags": assistant.flagged(services, post["text"]),
        "exclude": None,
    }
    data["candidates"] = await _find_candidates(services, data)
    names = await _names(services)
    await state.set_state(Intake.card)
    await state.set_data(data)
    card = await message.answer(intake_text(data, names), reply_markup=intake_keyboard(data, names))
    await state.update_data(card=card.message_id)


async def show_topics(callback: CallbackQuery, services: Services) -> None:
    """«Topic: …»: the card's buttons become the topics to choose from."""
    message = callback.message
    assert isinstance(message, Message)
    await message.edit_reply_markup(reply_markup=topics_keyboard((await _names(services))["topics"]))
    await callback.answer()


async def show_locations(callback: CallbackQuery, services: Services) -> None:
    """«Location: …»: the card's buttons become the locations to choose from."""
    message = callback.message
    assert isinstance(message, Message)
    await message.edit_reply_markup(reply_markup=locations_keyboard((await _names(services))["locations"]))
    await callback.answer()


async def back(callback: CallbackQuery, state: FSMContext, services: Services) -> None:
    """«Back» from a list: the card's own buttons again."""
    message = callback.message
    assert isinstance(message, Message)
    await message.edit_reply_markup(reply_markup=intake_keyboard(await state.get_data(), await _names(services)))
    await callback.answer()


async def choose_topic(
    callback: CallbackQuery, callback_data: IntakeTopicCb, state: FSMContext, services: Services
) -> None:
    """A topic chosen (or none): the incidents that may be the same question are looked up again by it."""
    await _choose(callback, state, services, "topic", callback_data.topic_id)


async def choose_location(
    callback: CallbackQuery, callback_data: IntakeLocationCb, state: FSMContext, services: Services
) -> None:
    """A location chosen (or none)."""
    await _choose(callback, state, services, "location", callback_data.location_id)


async def _choose(callback: CallbackQuery, state: FSMContext, services: Services, what: str, chosen: int) -> None:
    """The card's `what` ("topic" or "location") set to the directory's entry `chosen` (0: none); an entry no
    longer in the directory is refused."""
    names = await _names(services)
    if chosen and chosen not in names[what + "s"]:
        await callback.answer(_("This button is no longer valid."), show_alert=True)
        return
    data = await state.get_data()
    data[what] = chosen or None
    data["candidates"] = await _find_candidates(services, data)
    await state.update_data(**{what: data[what], "candidates": data.get("candidates")})
    await _redraw_pressed(callback, data, names)


async def toggle_importance(callback: CallbackQuery, state: FSMContext, services: Services) -> None:
    """Normal ↔ high importance."""
    data = await state.get_data()
    data["importance"] = "high" if data["importance"] == "normal" else "normal"
    await state.update_data(importance=data["importance"])
    await _redraw_pressed(callback, data, await _names(services))


async def toggle_kind(callback: CallbackQuery, state: FSMContext, services: Services) -> None:
    """An incident from monitoring ↔ a publication found by the administration."""
    data = await state.get_data()
    data["kind"] = "publication" if data["kind"] == "incident" else "incident"
    await state.update_data(kind=data["kind"])
    await _redraw_pressed(callback, data, await _names(services))


async def mark_repeat(
    callback: CallbackQuery, callback_data: IntakeRepeatCb, state: FSMContext, services: Services
) -> None:
    """«Repeat of No. N»: the new incident will be linked to N (only to an incident the card offered)."""
    data = await state.get_data()
    data["repeat_of"] = callback_data.incident_id if callback_data.incident_id in _ids(data) else None
    await state.update_data(repeat_of=data["repeat_of"])
    await _redraw_pressed(callback, data, await _names(services))


async def ask_exclude(callback: CallbackQuery, state: FSMContext, services: Services) -> None:
    """«Not processable» on a flagged post: the card shows the reason filled in from the screening's flags, to
    confirm or to replace by a message (issue 13 §2: the bot flags, a person decides)."""
    data = await state.get_data()
    if not data.get("flags"):
        await callback.answer(_("This button is no longer valid."), show_alert=True)
        return
    data["exclude"] = cut(_("Not to be answered: {grounds}").format(grounds=grounds(data["flags"])), MAX_REASON)
    await state.set_state(Intake.exclude)
    await state.update_data(exclude=data["exclude"])
    await _redraw_pressed(callback, data, await _names(services))


async def exclude_reason(message: Message, state: FSMContext, services: Services, bot: Bot) -> None:
    """Another reason, sent as a message while «not to be answered» waits for confirmation: the card shows it."""
    reason = storable(message.text or "").strip()
    if not reason:
        return
    data = await state.get_data()
    data["exclude"] = cut(reason, MAX_REASON)
    await state.update_data(exclude=data["exclude"])
    await _redraw(bot, message.chat.id, data, services)


async def keep(callback: CallbackQuery, state: FSMContext, services: Services) -> None:
    """«Back» from «not to be answered»: the registration card as it was."""
    data = await state.get_data()
    data["exclude"] = None
    await state.set_state(Intake.card)
    await state.update_data(exclude=None)
    await _redraw_pressed(callback, data, await _names(services))


def _card_options(data: dict[str, Any]) -> dict[str, Any]:
    """What the registration card set — importance, kind, topic, location — as ``Services.register`` options."""
    return {
        "importance": Importance(data["importance"]),
        "kind": Kind(data["kind"]),
        "topic_ids": [data["topic"]] if data.get("topic") else [],
        "location_id": data.get("location"),
    }


async def confirm_exclude(
    callback: CallbackQuery, state: FSMContext, services: Services, person: Person, bot: Bot
) -> None:
    """«Confirm»: the post is registered and closed at once as not to be answered, with the card's reason, in one
    transaction; the card becomes the closed incident's card."""
    data = await state.get_data()
    source = _source(data["post"], services)

    async def save() -> Incident:
        return await services.register(person, [source], **_card_options(data), not_processable=data["exclude"])

    await _save(callback, state, services, person, bot, source, save, note=None)


async def cancel_intake(callback: CallbackQuery, state: FSMContext) -> None:
    """«Cancel»: the post is forgotten."""
    message = callback.message
    assert isinstance(message, Message)
    await state.clear()
    await message.edit_text(_("Registration cancelled. Nothing was saved."))
    await callback.answer()


async def register(callback: CallbackQuery, state: FSMContext, services: Services, person: Person, bot: Bot) -> None:
    """«Register»: the post becomes an incident with the card's topic, location, importance, kind and repeat."""
    data = await state.get_data()
    source = _source(data["post"], services)

    async def save() -> Incident:
        return await services.register(person, [source], **_card_options(data), repeat_of_id=data.get("repeat_of"))

    await _save(callback, state, services, person, bot, source, save, note=None)


async def attach(
    callback: CallbackQuery,
    callback_data: IntakeAttachCb,
    state: FSMContext,
    services: Services,
    person: Person,
    bot: Bot,
) -> None:
    """«Add to No. N as a source»: the post joins incident N, still being answered (one the card offered)."""
    data = await state.get_data()
    if callback_data.incident_id not in _ids(data):
        await callback.answer(_("This button is no longer valid."), show_alert=True)
        return
    source = _source(data["post"], services)

    async def save() -> Incident:
        return await services.add_source(person, callback_data.incident_id, source)

    await _save(callback, state, services, person, bot, source, save, note="source_added")


async def _save(
    callback: CallbackQuery,
    state: FSMContext,
    services: Services,
    person: Person,
    bot: Bot,
    source: Source,
    save: Callable[[], Awaitable[Incident]],
    note: str | None,
) -> None:
    """Save the post; the registration card becomes the incident's card. A post registered meanwhile by someone
    else (another curator, the API, an import) shows that incident instead."""
    message = callback.message
    assert isinstance(message, Message)
    try:
        incident = await save()
    except IllegalTransition as exc:
        if exc.key != "already_registered" or not await _show_registered(
            message.chat.id, source, services, bot, person
        ):
            raise
        await state.clear()
        await message.edit_text(_("Registration cancelled. Nothing was saved."))
        await callback.answer()
        return
    await state.clear()
    await show_card(bot, services, message.chat.id, incident, person, person.locale, edit=message, note=note)
    await callback.answer()


async def stale_intake(callback: CallbackQuery) -> None:
    """A registration card's button once the registration is over."""
    await callback.answer(_("This registration is already finished or cancelled."), show_alert=True)


def build_router() -> Router:
    """A fresh router with the curator's intake: messages in a private chat and the registration card's buttons."""
    router = Router(name=__name__)
    curator = (F.chat.type == "private", HasRole(Role.curator))
    router.message.register(more_media, Intake.card, *curator, F.media_group_id)
    router.message.register(exclude_reason, Intake.exclude, *curator, F.text, ~F.text.startswith("/"))
    router.message.register(start_intake, *curator, F.func(lambda m: not (m.text or "").startswith("/")))
    card = (Intake.card, HasRole(Role.curator))
    register_button = router.callback_query.register
    register_button(show_topics, *card, IntakeCb.filter(F.action == IntakeAction.topics))
    register_button(show_locations, *card, IntakeCb.filter(F.action == IntakeAction.locations))
    register_button(back, *card, IntakeCb.filter(F.action == IntakeAction.back))
    register_button(toggle_importance, *card, IntakeCb.filter(F.action == IntakeAction.importance))
    register_button(toggle_kind, *card, IntakeCb.filter(F.action == IntakeAction.kind))
    register_button(cancel_intake, *card, IntakeCb.filter(F.action == IntakeAction.cancel))
    register_button(ask_exclude, *card, IntakeCb.filter(F.action == IntakeAction.exclude))
    excluding = (Intake.exclude, HasRole(Role.curator))
    register_button(confirm_exclude, *excluding, IntakeCb.filter(F.action == IntakeAction.exclude_ok))
    register_button(keep, *excluding, IntakeCb.filter(F.action == IntakeAction.keep))
    register_button(cancel_intake, *excluding, IntakeCb.filter(F.action == IntakeAction.cancel))
    register_button(register, *card, IntakeCb.filter(F.action == IntakeAction.save))
    register_button(choose_topic, *card, IntakeTopicCb.filter())
    register_button(choose_location, *card, IntakeLocationCb.filter())
    register_button(mark_repeat, *card, IntakeRepeatCb.filter())
    register_button(attach, *card, IntakeAttachCb.filter())
    for family in INTAKE_FAMILIES:  # outside the registration dialog
        router.callback_query.register(stale_intake, family.filter())
    return router


async def _redraw_pressed(callback: CallbackQuery, data: dict[str, Any], names: dict[str, dict[int, str]]) -> None:
    """The registration card the button was on shows `data` with its own buttons."""
    message = callback.message
    assert isinstance(message, Message)
    await message.edit_text(intake_text(data, names), reply_markup=intake_keyboard(data, names))
    await callback.answer()


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


async def _find_candidates(services: Services, data: dict[str, Any]) -> list[dict[str, Any]]:
    """The incidents the card offers as possibly the same question: those whose post says the same in other
    words (issue 13 §3: on the card's topic or at its location when chosen), best first with their score,
    then the same author on the topic and the open incidents on the topic (Services.repeat_candidates)."""
    post, topic = data["post"], data.get("topic")
    found = await services.repeat_candidates(post["url"], post["author"], [topic] if topic else [])
    alike = await assistant.similar_incidents(services, post.get("text") or "", topic, data.get("location"))
    scores = {s.number: s.score for s in alike}
    by_number = {i.id: i for i in found}
    for number in scores:
        if number not in by_number:
            by_number[number] = await services.get(number)
    order = [*scores, *(i.id for i in found if i.id not in scores)]
    return [{"id": n, "open": not by_number[n].closed, "score": scores.get(n)} for n in order]


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
        origin=post.get("origin"),
    )
