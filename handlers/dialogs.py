"""The card's buttons that ask for one text message — a reason for «Not our competence» or «Not processable»,
the link to the published answer, the author's reply to a clarification — and the steps every dialog shares:
start it under a «Cancel» button, end it by redrawing the card it started from, cancel it.

The dialog's data (the incident, the card's message, the draft number) is kept in the FSM state of the chat.
"""

from __future__ import annotations

from typing import Any

from aiogram import Bot, F, Router
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.domain.errors import IllegalTransition
from bot.domain.incident import Incident
from bot.domain.message_size import cut
from bot.domain.workflow import MAX_REASON, Action
from bot.services import Person, Services
from handlers.callbacks import CardAction, CardCb, DialogAction, DialogCb
from handlers.filters import Known
from handlers.keyboards import cancel_keyboard, confirm_keyboard
from handlers.render import grounds, screening_flags
from handlers.sending import show_card
from handlers.states import Dialog


async def open_incident(services: Services, person: Person, incident_id: int, action: Action) -> Incident:
    """The incident a dialog or picker is about, refused at once (IllegalTransition "already_done") when the
    person could not end it in `action` now; the service checks again when the dialog ends."""
    incident = await services.get(incident_id, person)
    if action not in services.actions(person, incident):
        raise IllegalTransition("not possible now", key="already_done")
    return incident


async def start_dialog(callback: CallbackQuery, state: FSMContext, dialog: State, prompt: str, **data: Any) -> None:
    """Ask for a text message under a «Cancel» button; `data` (and the card's message id) wait in the FSM state."""
    message = callback.message
    assert isinstance(message, Message)
    await state.set_state(dialog)
    await state.set_data({"card": message.message_id, **data})
    await message.answer(prompt, reply_markup=cancel_keyboard())
    await callback.answer()


async def finish_dialog(
    message: Message,
    state: FSMContext,
    person: Person,
    services: Services,
    bot: Bot,
    incident: Incident,
    data: dict[str, Any],
    done: str,
) -> None:
    """A dialog ended in an action: the card it started from shows the new state, and `done` says so."""
    await state.clear()
    await show_card(bot, services, message.chat.id, incident, person, person.locale, edit=data.get("card"))
    await message.answer(done)


async def cancel(callback: CallbackQuery, state: FSMContext) -> None:
    """«Cancel» under any dialog: the dialog ends, nothing changed."""
    await state.clear()
    if isinstance(callback.message, Message):
        await callback.message.edit_text(_("Cancelled. Nothing was changed."))
    await callback.answer()


async def ask_reason(
    callback: CallbackQuery, callback_data: CardCb, person: Person, services: Services, state: FSMContext
) -> None:
    """«Not our competence» / «Not processable»: ask for the reason in one message."""
    action = callback_data.action.workflow
    incident = await open_incident(services, person, callback_data.incident_id, action)
    flags = screening_flags(incident, services) if action is Action.not_processable else []
    if flags:  # the screening flagged the post (registered by the intake API or a file): the reason is filled in
        suggested = cut(_("Not to be answered: {grounds}").format(grounds=grounds(flags)), MAX_REASON)
        prompt = _("Reason: {reason}").format(reason=suggested) + "\n\n"
        prompt += _("Press «Confirm» to close it as not to be answered, or send another reason.")
        message = callback.message
        assert isinstance(message, Message)
        await state.set_state(Dialog.reason)
        await state.set_data(
            {"card": message.message_id, "incident": incident.id, "action": action.value, "suggested": suggested}
        )
        await message.answer(prompt, reply_markup=confirm_keyboard())
        await callback.answer()
        return
    prompt = (
        _("Why is it not your department's competence? Write the reason in one message.")
        if action is Action.not_ours
        else _("Why can this message not be processed (threats, obscenities, intent to harm)? Write the reason.")
    )
    await start_dialog(callback, state, Dialog.reason, prompt, incident=callback_data.incident_id, action=action.value)


async def use_suggested(
    callback: CallbackQuery, state: FSMContext, person: Person, services: Services, bot: Bot
) -> None:
    """«Confirm» under the reason the screening filled in: the incident is closed as not processable with it."""
    data = await state.get_data()
    if not data.get("suggested") or data.get("action") != Action.not_processable.value:
        await callback.answer(_("This button is no longer valid."), show_alert=True)
        return
    incident = await services.not_processable(person, data["incident"], data["suggested"])
    await callback.answer()
    message = callback.message
    assert isinstance(message, Message)
    await finish_dialog(message, state, person, services, bot, incident, data, _("Recorded."))


async def reason(message: Message, state: FSMContext, person: Person, services: Services, bot: Bot) -> None:
    """The reason arrived: the incident goes back to the curator, or is closed as not processable."""
    data = await state.get_data()
    if data.get("action") == Action.not_ours.value:
        incident = await services.return_not_ours(person, data["incident"], message.text or "")
    else:
        incident = await services.not_processable(person, data["incident"], message.text or "")
    await finish_dialog(message, state, person, services, bot, incident, data, _("Recorded."))


async def ask_link(
    callback: CallbackQuery, callback_data: CardCb, person: Person, services: Services, state: FSMContext
) -> None:
    """«Published: send the link»: ask for the link to the published comment."""
    await open_incident(services, person, callback_data.incident_id, Action.publish)
    await start_dialog(
        callback,
        state,
        Dialog.link,
        _("Publish the approved text in the network, then send the link to the published comment."),
        incident=callback_data.incident_id,
        draft=callback_data.draft_number,
    )


async def link(message: Message, state: FSMContext, person: Person, services: Services, bot: Bot) -> None:
    """The link arrived: the publication of the draft the card showed is recorded."""
    data = await state.get_data()
    incident = await services.publish(person, data["incident"], message.text or "", data.get("draft") or None)
    await finish_dialog(message, state, person, services, bot, incident, data, _("Publication recorded."))


async def ask_author_reply(
    callback: CallbackQuery, callback_data: CardCb, person: Person, services: Services, state: FSMContext
) -> None:
    """«Author replied»: ask what the author replied to the clarification."""
    await open_incident(services, person, callback_data.incident_id, Action.author_reply)
    await start_dialog(
        callback,
        state,
        Dialog.author_reply,
        _("Write what the author replied (or «-» if the reply is only in the network)."),
        incident=callback_data.incident_id,
    )


async def author_reply(message: Message, state: FSMContext, person: Person, services: Services, bot: Bot) -> None:
    """The author's reply arrived («-»: it is only in the network): the answer clock runs again."""
    data = await state.get_data()
    text = None if (message.text or "").strip() in ("-", "—") else message.text
    incident = await services.author_reply(person, data["incident"], text)
    done = _("The author's reply is recorded: the clock runs again.")
    await finish_dialog(message, state, person, services, bot, incident, data, done)


async def text_expected(message: Message) -> None:
    """Anything but text while a dialog waits for text."""
    await message.answer(_("Please answer with a text message, or press «Cancel»."))


def build_router() -> Router:
    """A fresh router with the text dialogs and «Cancel»."""
    router = Router(name=__name__)
    reasons = F.action.in_({CardAction.not_ours, CardAction.not_processable})
    router.callback_query.register(cancel, DialogCb.filter(F.action == DialogAction.cancel))
    confirm = DialogCb.filter(F.action == DialogAction.confirm)
    router.callback_query.register(use_suggested, confirm, Dialog.reason, Known())
    router.callback_query.register(ask_reason, CardCb.filter(reasons), Known())
    router.callback_query.register(ask_link, CardCb.filter(F.action == CardAction.publish), Known())
    router.callback_query.register(ask_author_reply, CardCb.filter(F.action == CardAction.author_reply), Known())
    router.message.register(reason, Dialog.reason, Known(), F.text)
    router.message.register(link, Dialog.link, Known(), F.text)
    router.message.register(author_reply, Dialog.author_reply, Known(), F.text)
    for waiting in (Dialog.reason, Dialog.link, Dialog.author_reply):
        router.message.register(text_expected, waiting)
    return router
