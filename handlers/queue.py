"""Queues and cards on request: /queue (mine, department, on approval, overdue), /incident N."""

from __future__ import annotations

from aiogram import Bot, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.domain.errors import InvalidInput
from bot.domain.incident import DeadlineKind
from bot.services import Person, Services
from handlers.callbacks import QueueCb, QueueOpenCb, QueueView
from handlers.filters import Known
from handlers.keyboards import queue_keyboard
from handlers.render import moment, state_label, view_label
from handlers.sending import show_card

PAGE = 8  # incidents on a page of a queue


def views_for(person: Person) -> list[QueueView]:
    """The queues a person has: a department's only for its people."""
    views = [QueueView.mine]
    if person.departments or person.responsible_for:
        views.append(QueueView.department)
    views += [QueueView.approval, QueueView.overdue]
    return views


async def render_queue(
    person: Person, services: Services, view: QueueView, page: int
) -> tuple[str, InlineKeyboardMarkup]:
    """Page `page` (from 0) of a queue: its title and count, and a button per incident with its answer deadline
    (or final-answer deadline) in the organisation's time and its state."""
    items, total = await services.queue(person, view, page, PAGE)
    pages = max(1, (total + PAGE - 1) // PAGE)
    lines = [
        _("{view}: {total} incident(s), page {page} of {pages}").format(
            view=view_label(view), total=total, page=page + 1, pages=pages
        )
    ]
    if not items:
        lines.append(_("Nothing here."))
    titles: list[tuple[int, str]] = []
    for incident in items:
        assert incident.id is not None
        due = incident.deadlines.get(DeadlineKind.answer) or incident.deadlines.get(DeadlineKind.final)
        when = moment(services, due, person.locale) if due else "—"
        titles.append(
            (incident.id, f"{_('No. {number}').format(number=incident.id)} · {when} · {state_label(incident.state)}")
        )
    return "\n".join(lines), queue_keyboard(titles, view, page, pages, views_for(person))


async def queue(message: Message, person: Person, services: Services) -> None:
    """/queue: the first page of the person's own queue."""
    text, markup = await render_queue(person, services, QueueView.mine, 0)
    await message.answer(text, reply_markup=markup)


async def queue_page(callback: CallbackQuery, callback_data: QueueCb, person: Person, services: Services) -> None:
    """Another queue, or another page of it, in the same message."""
    if callback_data.page < 0:
        raise InvalidInput("bad queue", key="bad_queue")
    text, markup = await render_queue(person, services, callback_data.view, callback_data.page)
    if isinstance(callback.message, Message):
        await callback.message.edit_text(text, reply_markup=markup)
    await callback.answer()


async def queue_open(callback: CallbackQuery, callback_data: QueueOpenCb, person: Person, services: Services) -> None:
    """A burst summary's button: the first page of the queue as a new message, the summary left as it is."""
    text, markup = await render_queue(person, services, callback_data.view, 0)
    if isinstance(callback.message, Message):
        await callback.message.answer(text, reply_markup=markup)
    await callback.answer()


async def incident(message: Message, command: CommandObject, person: Person, services: Services, bot: Bot) -> None:
    """/incident 12 (or №12, #12): the card of incident 12, sent anew."""
    number = (command.args or "").strip().lstrip("№#").strip()
    if not number.isdigit() or len(number) > 12:
        await message.answer(_("Write the number: /incident 12"))
        return
    found = await services.get(int(number), person)
    await show_card(bot, services, message.chat.id, found, person, person.locale, fresh=True)


def build_router() -> Router:
    """A fresh router with /queue, its pages and /incident."""
    router = Router(name=__name__)
    router.message.register(queue, Command("queue"), Known())
    router.callback_query.register(queue_page, QueueCb.filter(), Known())
    router.callback_query.register(queue_open, QueueOpenCb.filter(), Known())
    router.message.register(incident, Command("incident"), Known())
    return router
