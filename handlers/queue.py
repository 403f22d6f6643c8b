"""Queues and cards on request: /queue (mine, department, on approval, overdue), /incident N."""

from __future__ import annotations

from aiogram import Bot, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.domain.errors import InvalidInput
from bot.domain.incident import DeadlineKind
from bot.domain.message_size import button_text
from bot.services import Person, Services
from handlers.callbacks import CardCb, QueueCb
from handlers.filters import Known
from handlers.render import moment, show_card, state_label

PAGE = 8
VIEWS = ("mine", "department", "approval", "overdue")


def view_label(view: str) -> str:
    return {
        "mine": _("Mine"),
        "department": _("Department"),
        "approval": _("On approval"),
        "overdue": _("Overdue"),
    }[view]


def views_for(person: Person) -> list[str]:
    views = ["mine"]
    if person.departments or person.responsible_for:
        views.append("department")
    views += ["approval", "overdue"]
    return views


async def render_queue(person: Person, services: Services, view: str, page: int) -> tuple[str, InlineKeyboardMarkup]:
    items, total = await services.queue(person, view, page, PAGE)
    pages = max(1, (total + PAGE - 1) // PAGE)
    lines = [
        _("{view}: {total} incident(s), page {page} of {pages}").format(
            view=view_label(view), total=total, page=page + 1, pages=pages
        )
    ]
    if not items:
        lines.append(_("Nothing here."))
    rows: list[list[InlineKeyboardButton]] = []
    for incident in items:
        due = incident.deadlines.get(DeadlineKind.answer) or incident.deadlines.get(DeadlineKind.final)
        when = moment(services, due, person.locale) if due else "—"
        title = f"№ {incident.id} · {when} · {state_label(incident.state)}"
        rows.append(
            [InlineKeyboardButton(text=button_text(title), callback_data=CardCb(id=incident.id, a="open").pack())]
        )
    navigation = []
    if page > 0:
        navigation.append(InlineKeyboardButton(text="‹", callback_data=QueueCb(view=view, page=page - 1).pack()))
    if page + 1 < pages:
        navigation.append(InlineKeyboardButton(text="›", callback_data=QueueCb(view=view, page=page + 1).pack()))
    if navigation:
        rows.append(navigation)
    rows.append(
        [
            InlineKeyboardButton(text=("• " if v == view else "") + view_label(v), callback_data=QueueCb(view=v).pack())
            for v in views_for(person)
        ]
    )
    return "\n".join(lines), InlineKeyboardMarkup(inline_keyboard=rows)


def build_router() -> Router:
    router = Router(name="queue")

    @router.message(Command("queue"), Known())
    async def queue(message: Message, person: Person, services: Services) -> None:
        text, markup = await render_queue(person, services, "mine", 0)
        await message.answer(text, reply_markup=markup)

    @router.callback_query(QueueCb.filter(), Known())
    async def queue_page(callback: CallbackQuery, callback_data: QueueCb, person: Person, services: Services) -> None:
        if callback_data.view not in VIEWS or callback_data.page < 0:
            raise InvalidInput("bad queue", key="bad_queue")
        text, markup = await render_queue(person, services, callback_data.view, callback_data.page)
        if isinstance(callback.message, Message):
            await callback.message.edit_text(text, reply_markup=markup)
        await callback.answer()

    @router.message(Command("incident"), Known())
    async def incident(message: Message, command: CommandObject, person: Person, services: Services, bot: Bot) -> None:
        number = (command.args or "").strip().lstrip("№#").strip()
        if not number.isdigit() or len(number) > 12:
            await message.answer(_("Write the number: /incident 12"))
            return
        found = await services.get(int(number), person)
        await show_card(bot, services, message.chat.id, found, person, person.locale, fresh=True)

    return router
