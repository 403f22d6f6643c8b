"""Administrators: invitation links for a role and a department; absences and substitutes (also for a
department's responsible official, over the department's people)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from zoneinfo import ZoneInfo

from aiogram import Bot, F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.deep_linking import create_start_link
from aiogram.utils.i18n import gettext as _

from bot.domain.absence import days_of, parse_period
from bot.domain.errors import InvalidInput
from bot.domain.incident import Role
from bot.domain.message_size import Block, Elastic, button_text, fit, line, template
from bot.i18n import format_day
from bot.services import AbsenceRecord, Person, Services
from handlers.callbacks import AbsenceAction, AbsenceCb, InviteCb
from handlers.filters import HasRole, Known
from handlers.keyboards import (
    absence_departments_keyboard,
    absence_people_keyboard,
    absences_keyboard,
    cancel_keyboard,
    invite_departments_keyboard,
    invite_roles_keyboard,
    substitutes_keyboard,
)
from handlers.render import NAME_FLOOR, moment, role_label
from handlers.states import AbsenceDialog

INVITABLE = (Role.executor, Role.responsible, Role.curator, Role.head, Role.external_approver, Role.admin)
DEPARTMENT_ROLES = (Role.executor, Role.responsible)  # an invitation for these names the department
ABSENCES_PAGE = 10  # absences per page of /absence: ten lines and ten «Cancel» buttons


# --- invitations --------------------------------------------------------------------------------------------


async def invite(message: Message) -> None:
    """/invite: the roles to invite to."""
    await message.answer(_("Whom do you invite?"), reply_markup=invite_roles_keyboard(INVITABLE))


async def invite_refused(message: Message) -> None:
    """/invite from someone who is not an administrator."""
    await message.answer(_("Only administrators create invitation links."))


async def invite_role(
    callback: CallbackQuery, callback_data: InviteCb, person: Person, services: Services, bot: Bot
) -> None:
    """A role chosen: first its department (for a department's role), then a one-time link to the bot."""
    role = callback_data.role
    message = callback.message
    assert isinstance(message, Message)
    if role in DEPARTMENT_ROLES and not callback_data.department_id:
        directory = await services.directory()
        if not directory.departments:
            await callback.answer(_("There are no departments yet: add them to the config."), show_alert=True)
            return
        departments = [(d.id, d.name) for d in directory.departments]
        await message.edit_text(_("Which department?"), reply_markup=invite_departments_keyboard(role, departments))
        await callback.answer()
        return
    record = await services.create_invite(person, role, callback_data.department_id or None)
    link = await create_start_link(bot, record.code)  # https://t.me/<bot>?start=<code> (Telegram deep links)
    expires = moment(services, record.expires_at, person.locale) if record.expires_at else "—"
    await message.edit_text(
        _(
            "Invitation for the role «{role}». Send this link to the person; it works once, until {expires}:\n{link}"
        ).format(role=role_label(role), expires=expires, link=link)
    )
    await callback.answer()


async def invite_refused_button(callback: CallbackQuery) -> None:
    """An invitation button pressed by someone who is no longer an administrator."""
    await callback.answer(_("Only administrators create invitation links."), show_alert=True)


# --- absences -----------------------------------------------------------------------------------------------


async def _overview(services: Services, person: Person, page: int = 0) -> tuple[str, InlineKeyboardMarkup]:
    """The absences the person manages, a page at a time, each with a button to cancel it, and a button
    to record one."""
    records = await services.absences(person)
    names = await services.user_names({r.user_id for r in records} | {r.substitute_id for r in records})
    return absences_page(records, names, services.workflow.calendar.tz, person.locale, page)


def absences_page(
    records: Sequence[AbsenceRecord], names: dict[int, str], tz: ZoneInfo, locale: str, page: int
) -> tuple[str, InlineKeyboardMarkup]:
    """One page of the absences list: its text within one message (long names shortened), a «Cancel»
    button per absence, ‹ › between pages when there are more than ABSENCES_PAGE, and «Record»."""
    pages = max(1, -(-len(records) // ABSENCES_PAGE))
    page = min(max(page, 0), pages - 1)
    shown = records[page * ABSENCES_PAGE : (page + 1) * ABSENCES_PAGE]
    title = _("Absences, current and planned:") if records else _("No absences are recorded.")
    if pages > 1:
        title += " " + _("page {page} of {pages}").format(page=page + 1, pages=pages)
    blocks: list[Block] = [line(title)]
    cancels = []
    for record in shown:
        first, last = days_of(record.starts_at, record.ends_at, tz)
        name = Elastic(names.get(record.user_id, "?"), NAME_FLOOR)
        blocks.append(
            template(
                _("• {name}: {first} – {last}; {substitute} stands in"),
                name=name,
                first=format_day(first, locale),
                last=format_day(last, locale),
                substitute=Elastic(names.get(record.substitute_id, "?"), NAME_FLOOR),
            )
        )
        label = template(
            _("❌ Cancel: {name}, {first}–{last}"),
            name=name,
            first=first.strftime("%d.%m"),
            last=last.strftime("%d.%m"),
        )
        cancels.append((button_text(label), record.id))
    return fit(blocks).text, absences_keyboard(cancels, page, pages)


async def _members(services: Services, person: Person, department_id: int) -> list[tuple[int, str]]:
    """The active people of a department the person may manage; a forged department is refused."""
    if department_id not in {d.id for d in await services.absence_departments(person)}:
        raise InvalidInput("not a department of this person", key="stale_button")
    return [(u.id, u.full_name) for u in await services.department_members(department_id) if u.is_active]


async def absences(message: Message, person: Person, services: Services) -> None:
    """/absence: the first page of the absences the person manages."""
    text, keyboard = await _overview(services, person)
    await message.answer(text, reply_markup=keyboard)


async def choose_department(callback: CallbackQuery, person: Person, services: Services) -> None:
    """«Record an absence»: whose — first the department."""
    departments = await services.absence_departments(person)
    message = callback.message
    assert isinstance(message, Message)
    if not departments:
        await callback.answer(_("There are no departments yet: add them to the config."), show_alert=True)
        return
    keyboard = absence_departments_keyboard([(d.id, d.name) for d in departments])
    await message.edit_text(_("Whose absence? Choose the department."), reply_markup=keyboard)
    await callback.answer()


async def choose_person(callback: CallbackQuery, callback_data: AbsenceCb, person: Person, services: Services) -> None:
    """The department chosen: who will be away."""
    members = await _members(services, person, callback_data.department_id)
    message = callback.message
    assert isinstance(message, Message)
    if not members:
        await callback.answer(_("Nobody has joined this department yet."), show_alert=True)
        return
    keyboard = absence_people_keyboard(callback_data.department_id, members)
    await message.edit_text(_("Who will be away?"), reply_markup=keyboard)
    await callback.answer()


async def ask_period(
    callback: CallbackQuery, callback_data: AbsenceCb, person: Person, services: Services, state: FSMContext
) -> None:
    """The person chosen: the period is asked as dates."""
    members = dict(await _members(services, person, callback_data.department_id))
    if callback_data.user_id not in members:
        raise InvalidInput("not a member", key="stale_button")
    message = callback.message
    assert isinstance(message, Message)
    await state.set_state(AbsenceDialog.period)
    await state.set_data({"user": callback_data.user_id, "dep": callback_data.department_id})
    await message.edit_text(
        _(
            "Absence of {name}. Send the period: the first and the last day, for example "
            "01.12.2026–05.12.2026 (one date for a single day)."
        ).format(name=members[callback_data.user_id]),
        reply_markup=cancel_keyboard(),
    )
    await callback.answer()


async def choose_substitute(message: Message, person: Person, services: Services, state: FSMContext) -> None:
    """The period arrived (a bad one is explained and the dialog goes on): who stands in."""
    data = await state.get_data()
    today = services.clock.now().astimezone(services.workflow.calendar.tz).date()
    first, last = parse_period(message.text or "", today)
    absent = data["user"]
    candidates = [(uid, name) for uid, name in await _members(services, person, data["dep"]) if uid != absent]
    if not person.has(Role.admin) and person.id != absent and person.id not in dict(candidates):
        candidates.append((person.id, person.full_name))  # the official may stand in themselves
    if not candidates:
        await state.clear()
        await message.answer(
            _("Nobody else in the department can stand in. Invite a colleague first; nothing was recorded.")
        )
        return
    await state.set_state(AbsenceDialog.substitute)
    await state.update_data(first=first.isoformat(), last=last.isoformat())
    names = await services.user_names([absent])
    await message.answer(
        _("Who stands in for {name} from {first} to {last}?").format(
            name=names.get(absent, "?"),
            first=format_day(first, person.locale),
            last=format_day(last, person.locale),
        ),
        reply_markup=substitutes_keyboard(candidates),
    )


async def period_expected(message: Message) -> None:
    """Anything but text while the period is awaited."""
    await message.answer(_("Please answer with a text message, or press «Cancel»."))


async def record(
    callback: CallbackQuery, callback_data: AbsenceCb, person: Person, services: Services, state: FSMContext
) -> None:
    """The substitute chosen: the absence is recorded and both people are notified."""
    data = await state.get_data()
    if await state.get_state() != AbsenceDialog.substitute.state or "first" not in data:
        raise InvalidInput("no absence is being recorded", key="stale_button")
    first, last = date.fromisoformat(data["first"]), date.fromisoformat(data["last"])
    recorded = await services.add_absence(person, data["user"], first, last, callback_data.user_id)
    await state.clear()
    names = await services.user_names([recorded.user_id, recorded.substitute_id])
    message = callback.message
    assert isinstance(message, Message)
    await message.edit_text(
        _("Recorded: {name} is away from {first} to {last}; {substitute} stands in. Both are notified.").format(
            name=names.get(recorded.user_id, "?"),
            first=format_day(first, person.locale),
            last=format_day(last, person.locale),
            substitute=names.get(recorded.substitute_id, "?"),
        )
    )
    await callback.answer()


async def turn_page(callback: CallbackQuery, callback_data: AbsenceCb, person: Person, services: Services) -> None:
    """‹ / ›: another page of the absences list in the same message."""
    text, keyboard = await _overview(services, person, callback_data.page)
    message = callback.message
    assert isinstance(message, Message)
    await message.edit_text(text, reply_markup=keyboard)
    await callback.answer()


async def cancel_absence(callback: CallbackQuery, callback_data: AbsenceCb, person: Person, services: Services) -> None:
    """«Cancel: …»: the absence is cancelled and the substitute notified; the list is redrawn."""
    await services.cancel_absence(person, callback_data.absence_id)
    text, keyboard = await _overview(services, person)
    message = callback.message
    assert isinstance(message, Message)
    await message.edit_text(text, reply_markup=keyboard)
    await callback.answer(_("The absence is cancelled; the substitute is notified."))


def build_router() -> Router:
    """A fresh router with /invite and /absence."""
    router = Router(name=__name__)
    router.message.register(invite, Command("invite"), HasRole(Role.admin))
    router.message.register(invite_refused, Command("invite"))
    router.callback_query.register(invite_role, InviteCb.filter(), HasRole(Role.admin))
    router.callback_query.register(invite_refused_button, InviteCb.filter())

    router.message.register(absences, Command("absence"), Known())
    router.callback_query.register(choose_department, AbsenceCb.filter(F.action == AbsenceAction.add), Known())
    router.callback_query.register(choose_person, AbsenceCb.filter(F.action == AbsenceAction.department), Known())
    router.callback_query.register(ask_period, AbsenceCb.filter(F.action == AbsenceAction.person), Known())
    router.callback_query.register(record, AbsenceCb.filter(F.action == AbsenceAction.substitute), Known())
    router.callback_query.register(turn_page, AbsenceCb.filter(F.action == AbsenceAction.page), Known())
    router.callback_query.register(cancel_absence, AbsenceCb.filter(F.action == AbsenceAction.cancel), Known())
    router.message.register(choose_substitute, AbsenceDialog.period, Known(), F.text)
    router.message.register(period_expected, AbsenceDialog.period)
    return router
