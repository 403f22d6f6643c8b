"""The buttons on an incident card that act at once — accept, approve, change importance, take into work in a
department's group — and the ones that show it: refresh, open anew, history, «Show in full».

A button names a workflow action; the service checks the rules again, so a forged or stale button changes
nothing (the error handler says why). Buttons that open a dialog or a picker are in handlers/routing.py,
handlers/revision.py, handlers/draft.py and handlers/dialogs.py.
"""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.domain.incident import Importance, Incident
from bot.services import Person, Services
from handlers.callbacks import CardAction, CardCb, FullCb, TakeCb
from handlers.filters import Known
from handlers.render import card_full_text, history_text
from handlers.sending import send_long, show_card


def chat_of(callback: CallbackQuery, person: Person) -> int:
    """The chat the button was pressed in; the person's private chat when Telegram no longer says."""
    return callback.message.chat.id if callback.message is not None else person.telegram_id


def pressed_card(callback: CallbackQuery) -> int | None:
    """The message id of the card the button was pressed on (None when Telegram no longer has it)."""
    return callback.message.message_id if isinstance(callback.message, Message) else None


async def refresh(callback: CallbackQuery, callback_data: CardCb, person: Person, services: Services, bot: Bot) -> None:
    """«Back» from a picker: the card redrawn in place with its current buttons."""
    incident = await services.get(callback_data.incident_id, person)
    await show_card(
        bot, services, chat_of(callback, person), incident, person, person.locale, edit=pressed_card(callback)
    )
    await callback.answer()


async def open_card(
    callback: CallbackQuery, callback_data: CardCb, person: Person, services: Services, bot: Bot
) -> None:
    """A line of /queue: the card sent anew (it rings), the older card of it losing its buttons."""
    incident = await services.get(callback_data.incident_id, person)
    await show_card(bot, services, chat_of(callback, person), incident, person, person.locale, fresh=True)
    await callback.answer()


async def history(callback: CallbackQuery, callback_data: CardCb, person: Person, services: Services, bot: Bot) -> None:
    """«History»: who did what and when, in as many messages as it takes."""
    incident_id = callback_data.incident_id
    await services.get(incident_id, person)  # only who may see the incident sees its history
    events = await services.history(incident_id)
    names = await services.user_names(e.actor_id for e in events if e.actor_id)
    await callback.answer()
    await send_long(bot, chat_of(callback, person), history_text(incident_id, events, names, services, person.locale))


async def show_in_full(
    callback: CallbackQuery, callback_data: FullCb, person: Person, services: Services, bot: Bot
) -> None:
    """«Show in full»: the card with nothing shortened, in as many messages as it takes."""
    incident = await services.get(callback_data.incident_id, person)
    directory = await services.directory()
    names = await services.user_names(a.executor_id for a in incident.assignments if a.executor_id)
    await callback.answer()
    await send_long(bot, chat_of(callback, person), card_full_text(incident, directory, services, person.locale, names))


async def take(callback: CallbackQuery, callback_data: TakeCb, person: Person, services: Services, bot: Bot) -> None:
    """«Take into work» in a department's group chat: the group's card says who took it, the taker gets the card
    with its buttons in the private chat."""
    department_id = callback_data.department_id
    incident = await services.accept(person, callback_data.incident_id, department_id=department_id)
    chat_id = chat_of(callback, person)
    edit = pressed_card(callback)
    await show_card(bot, services, chat_id, incident, None, person.locale, edit=edit, group_department=department_id)
    await show_card(bot, services, person.telegram_id, incident, person, person.locale, fresh=True)
    await callback.answer(_("Taken into work. The card is in your private chat with the bot."))


async def accept(callback: CallbackQuery, callback_data: CardCb, person: Person, services: Services, bot: Bot) -> None:
    """«Accept»: the department's executor takes the incident into work."""
    incident = await services.accept(person, callback_data.incident_id)
    await _done(callback, person, services, bot, incident)


async def approve(callback: CallbackQuery, callback_data: CardCb, person: Person, services: Services, bot: Bot) -> None:
    """«Approve»: the draft the card showed (a newer one makes the press stale) is approved."""
    incident = await services.approve(person, callback_data.incident_id, callback_data.draft_number or None)
    await _done(callback, person, services, bot, incident)


async def change_importance(
    callback: CallbackQuery, callback_data: CardCb, person: Person, services: Services, bot: Bot
) -> None:
    """«Change importance»: normal ↔ high; the deadlines are recomputed."""
    current = await services.get(callback_data.incident_id, person)
    other = Importance.normal if current.importance is Importance.high else Importance.high
    incident = await services.change_importance(person, callback_data.incident_id, other)
    await _done(callback, person, services, bot, incident)


async def _done(callback: CallbackQuery, person: Person, services: Services, bot: Bot, incident: Incident) -> None:
    """The card the button was on shows the new state; the press is answered «Done.»."""
    chat_id = chat_of(callback, person)
    await show_card(bot, services, chat_id, incident, person, person.locale, edit=pressed_card(callback))
    await callback.answer(_("Done."))


def build_router() -> Router:
    """A fresh router with the card's immediate and view buttons."""
    router = Router(name=__name__)
    router.callback_query.register(refresh, CardCb.filter(F.action == CardAction.refresh), Known())
    router.callback_query.register(open_card, CardCb.filter(F.action == CardAction.open), Known())
    router.callback_query.register(history, CardCb.filter(F.action == CardAction.history), Known())
    router.callback_query.register(show_in_full, FullCb.filter(), Known())
    router.callback_query.register(take, TakeCb.filter(), Known())
    router.callback_query.register(accept, CardCb.filter(F.action == CardAction.accept), Known())
    router.callback_query.register(approve, CardCb.filter(F.action == CardAction.approve), Known())
    router.callback_query.register(change_importance, CardCb.filter(F.action == CardAction.importance), Known())
    return router
