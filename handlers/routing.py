"""Department pickers on an incident card: the curator routes the incident to one or more departments (and says
how several answer) and chooses who writes a joint answer; a responsible official hands it to an executor.

The departments chosen so far wait in the chat's FSM data under ``route:<incident id>``.
"""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot import assistant
from bot.domain.errors import InvalidInput
from bot.domain.incident import AssignmentState, MultiMode
from bot.domain.workflow import Action
from bot.services import Person, Services
from handlers.callbacks import AssignCb, CardAction, CardCb, Choice, DepartmentCb, DesignateCb, RouteCb
from handlers.dialogs import open_incident
from handlers.filters import Known
from handlers.keyboards import assign_keyboard, department_picker, designate_keyboard
from handlers.sending import show_card


def _chosen_key(incident_id: int) -> str:
    """The FSM data key of the departments chosen for the incident."""
    return f"route:{incident_id}"


def _hint_key(incident_id: int) -> str:
    """The FSM data key of the departments suggested for the incident (issue 13 §4); absent: hints are off."""
    return f"hint:{incident_id}"


async def open_picker(
    callback: CallbackQuery, callback_data: CardCb, person: Person, services: Services, state: FSMContext
) -> None:
    """«Route to a department»: the card's buttons become the list of departments, the suggested ones ticked
    (bot.assistant.suggest_departments: who answered this topic and location last, else the rubricator's)."""
    incident_id = callback_data.incident_id
    incident = await open_incident(services, person, incident_id, Action.route)
    message = callback.message
    assert isinstance(message, Message)
    directory = await services.directory()
    departments = [(d.id, d.name) for d in directory.departments]
    if not departments:
        await callback.answer(_("There are no departments yet: add them to the config."), show_alert=True)
        return
    hints = assistant.enabled(services, "routing_hints")
    returned = [a.department_id for a in incident.assignments if a.state is AssignmentState.returned]
    suggested = await assistant.suggest_departments(services, incident.topic_ids, incident.location_id, returned)
    await state.update_data(
        **{_chosen_key(incident_id): suggested, _hint_key(incident_id): suggested if hints else None}
    )
    preset_mode = services.workflow.preset.multi_mode.value
    await message.edit_reply_markup(reply_markup=department_picker(incident_id, departments, suggested, preset_mode))
    if suggested:
        names = ", ".join(directory.department_name(d) for d in suggested)
        await callback.answer(_("Suggested: {names}. Change the choice if needed.").format(names=names)[:200])
    else:
        await callback.answer(_("Choose one or more departments."))


async def choose_department(
    callback: CallbackQuery, callback_data: DepartmentCb, services: Services, state: FSMContext
) -> None:
    """A department ticked or unticked in the picker (a press delivered twice changes nothing more)."""
    incident_id, department_id = callback_data.incident_id, callback_data.department_id
    message = callback.message
    assert isinstance(message, Message)
    directory = await services.directory()
    if department_id not in {d.id for d in directory.departments}:
        raise InvalidInput("unknown department", key="stale_button")
    chosen: list[int] = list((await state.get_data()).get(_chosen_key(incident_id), []))
    if callback_data.choice is Choice.add and department_id not in chosen:
        chosen.append(department_id)
    elif callback_data.choice is Choice.drop and department_id in chosen:
        chosen.remove(department_id)
    await state.update_data(**{_chosen_key(incident_id): chosen})
    departments = [(d.id, d.name) for d in directory.departments]
    preset_mode = services.workflow.preset.multi_mode.value
    await message.edit_reply_markup(reply_markup=department_picker(incident_id, departments, chosen, preset_mode))
    await callback.answer()


async def route(
    callback: CallbackQuery, callback_data: RouteCb, person: Person, services: Services, state: FSMContext, bot: Bot
) -> None:
    """«Route» / a joint or split mode: the incident goes to the chosen departments, in the order chosen."""
    incident_id = callback_data.incident_id
    message = callback.message
    assert isinstance(message, Message)
    data = await state.get_data()
    chosen = list(data.get(_chosen_key(incident_id), []))
    suggested = data.get(_hint_key(incident_id))
    if not chosen:
        raise InvalidInput("no department", key="no_department")
    if callback_data.mode is MultiMode.split:
        incident = await services.split(person, incident_id, chosen)
    else:  # one department; several get the chosen joint mode
        mode = None if callback_data.mode is MultiMode.single else callback_data.mode
        incident = await services.route(person, incident_id, chosen, mode, suggested=suggested)
    await state.update_data(**{_chosen_key(incident_id): [], _hint_key(incident_id): None})
    await show_card(bot, services, message.chat.id, incident, person, person.locale, edit=message)
    await callback.answer(_("Routed."))


async def open_designate(callback: CallbackQuery, callback_data: CardCb, person: Person, services: Services) -> None:
    """«Choose who writes the joint answer»: the card's buttons become the incident's live departments."""
    incident = await open_incident(services, person, callback_data.incident_id, Action.designate)
    message = callback.message
    assert isinstance(message, Message)
    directory = await services.directory()
    live = [
        (a.department_id, directory.department_name(a.department_id))
        for a in incident.assignments
        if a.state not in (AssignmentState.cancelled, AssignmentState.returned)
    ]
    await message.edit_reply_markup(reply_markup=designate_keyboard(callback_data.incident_id, live))
    await callback.answer(_("Who writes the joint answer?"))


async def designate(
    callback: CallbackQuery, callback_data: DesignateCb, person: Person, services: Services, bot: Bot
) -> None:
    """A department chosen to write the joint answer."""
    message = callback.message
    assert isinstance(message, Message)
    incident = await services.designate(person, callback_data.incident_id, callback_data.department_id)
    await show_card(bot, services, message.chat.id, incident, person, person.locale, edit=message)
    await callback.answer(_("Done."))


async def open_assign(callback: CallbackQuery, callback_data: CardCb, person: Person, services: Services) -> None:
    """«Hand to an executor»: the card's buttons become the people of the official's departments on it."""
    incident = await open_incident(services, person, callback_data.incident_id, Action.assign)
    message = callback.message
    assert isinstance(message, Message)
    executors = [
        (a.department_id, member.id, member.full_name)
        for a in incident.assignments
        if a.department_id in person.responsible_for and a.active
        for member in await services.department_members(a.department_id)
    ]
    await message.edit_reply_markup(reply_markup=assign_keyboard(callback_data.incident_id, executors))
    await callback.answer(_("Whom to hand it to?"))


async def assign(
    callback: CallbackQuery, callback_data: AssignCb, person: Person, services: Services, bot: Bot
) -> None:
    """An executor chosen: the incident is handed to them (a person outside the department is refused)."""
    message = callback.message
    assert isinstance(message, Message)
    members = {m.id for m in await services.department_members(callback_data.department_id)}
    if callback_data.executor_id not in members:
        raise InvalidInput("not a member", key="stale_button")
    incident = await services.assign(
        person, callback_data.incident_id, callback_data.department_id, callback_data.executor_id
    )
    await show_card(bot, services, message.chat.id, incident, person, person.locale, edit=message)
    await callback.answer(_("Handed over."))


def build_router() -> Router:
    """A fresh router with the routing, designation and hand-over pickers."""
    router = Router(name=__name__)
    router.callback_query.register(open_picker, CardCb.filter(F.action == CardAction.route), Known())
    router.callback_query.register(choose_department, DepartmentCb.filter(), Known())
    router.callback_query.register(route, RouteCb.filter(), Known())
    router.callback_query.register(open_designate, CardCb.filter(F.action == CardAction.designate), Known())
    router.callback_query.register(designate, DesignateCb.filter(), Known())
    router.callback_query.register(open_assign, CardCb.filter(F.action == CardAction.assign), Known())
    router.callback_query.register(assign, AssignCb.filter(), Known())
    return router
