"""The curator returns a draft for revision: the reasons ticked on the card (Отрадная п. 14), then «Return», or
«Return with a comment» (the reason «other» always asks for one).

The reasons ticked so far wait in the chat's FSM data under ``reasons:<incident id>``.
"""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.domain.errors import InvalidInput
from bot.domain.incident import ReturnReason
from bot.domain.workflow import Action
from bot.services import Person, Services
from handlers.advice import preticked_reasons
from handlers.callbacks import CardAction, CardCb, Choice, ReasonCb, ReturnCb
from handlers.dialogs import finish_dialog, open_incident, text_expected
from handlers.filters import Known
from handlers.keyboards import cancel_keyboard, reasons_picker
from handlers.sending import show_card
from handlers.states import Dialog


def _chosen_key(incident_id: int) -> str:
    """The FSM data key of the reasons ticked for the incident (their values, in the order ticked)."""
    return f"reasons:{incident_id}"


async def open_reasons(
    callback: CallbackQuery, callback_data: CardCb, person: Person, services: Services, state: FSMContext
) -> None:
    """«Return for revision»: the card's buttons become the list of reasons, those the draft pre-check found
    already ticked (issue 13 §1; the curator decides, one tap unticks), none when it is off."""
    incident_id = callback_data.incident_id
    incident = await open_incident(services, person, incident_id, Action.return_draft)
    message = callback.message
    assert isinstance(message, Message)
    draft = incident.current_draft()
    found = preticked_reasons(draft.precheck) if draft is not None and services.assistant.enabled else []
    await state.update_data(**{_chosen_key(incident_id): [r.value for r in found]})
    await message.edit_reply_markup(reply_markup=reasons_picker(incident_id, found, callback_data.draft_number))
    await callback.answer(_("Choose the reasons."))


async def choose_reason(
    callback: CallbackQuery, callback_data: ReasonCb, person: Person, services: Services, state: FSMContext
) -> None:
    """A reason ticked or unticked (a press delivered twice changes nothing more)."""
    incident_id, reason = callback_data.incident_id, callback_data.reason
    message = callback.message
    assert isinstance(message, Message)
    chosen: list[str] = list((await state.get_data()).get(_chosen_key(incident_id), []))
    if callback_data.choice is Choice.add and reason.value not in chosen:
        chosen.append(reason.value)
    elif callback_data.choice is Choice.drop and reason.value in chosen:
        chosen.remove(reason.value)
    await state.update_data(**{_chosen_key(incident_id): chosen})
    incident = await services.get(incident_id, person)
    draft = incident.current_draft()
    reasons = [ReturnReason(r) for r in chosen]
    await message.edit_reply_markup(reply_markup=reasons_picker(incident_id, reasons, draft.number if draft else 0))
    await callback.answer()


async def return_draft(
    callback: CallbackQuery, callback_data: ReturnCb, person: Person, services: Services, state: FSMContext, bot: Bot
) -> None:
    """«Return» / «Return with a comment»: the draft goes back to the executor, or the comment is asked first."""
    incident_id, draft_number = callback_data.incident_id, callback_data.draft_number
    message = callback.message
    assert isinstance(message, Message)
    chosen: list[str] = list((await state.get_data()).get(_chosen_key(incident_id), []))
    if not chosen:
        raise InvalidInput("no reason", key="no_reason")
    if callback_data.with_comment or ReturnReason.other.value in chosen:
        await state.set_state(Dialog.return_comment)
        await state.update_data(card=message.message_id, incident=incident_id, draft=draft_number, reasons=chosen)
        await message.answer(_("Write the comment for the executor."), reply_markup=cancel_keyboard())
        await callback.answer()
        return
    reasons = [ReturnReason(r) for r in chosen]
    incident = await services.return_draft(person, incident_id, reasons, None, draft_number or None)
    await state.update_data(**{_chosen_key(incident_id): []})
    await show_card(bot, services, message.chat.id, incident, person, person.locale, edit=message)
    await callback.answer(_("Returned for revision."))


async def return_comment(message: Message, state: FSMContext, person: Person, services: Services, bot: Bot) -> None:
    """The comment arrived: the draft goes back to the executor with the reasons and the comment."""
    data = await state.get_data()
    incident = await services.return_draft(
        person,
        data["incident"],
        [ReturnReason(r) for r in data["reasons"]],
        message.text,
        data.get("draft") or None,
    )
    await finish_dialog(message, state, person, services, bot, incident, data, _("Returned for revision."))


def build_router() -> Router:
    """A fresh router with the return-for-revision picker and its comment dialog."""
    router = Router(name=__name__)
    router.callback_query.register(open_reasons, CardCb.filter(F.action == CardAction.return_draft), Known())
    router.callback_query.register(choose_reason, ReasonCb.filter(), Known())
    router.callback_query.register(return_draft, ReturnCb.filter(), Known())
    router.message.register(return_comment, Dialog.return_comment, Known(), F.text)
    router.message.register(text_expected, Dialog.return_comment)
    return router
