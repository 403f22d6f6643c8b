"""Administrators: invitation links for a role and a department; absences and substitutes (also for a
department's responsible official, over the department's people)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from zoneinfo import ZoneInfo

from aiogram import Bot, F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.domain.absence import days_of, parse_period
from bot.domain.errors import InvalidInput
from bot.domain.incident import Role
from bot.domain.message_size import Block, Elastic, button_text, fit, line, template
from bot.i18n import format_day
from bot.services import Person, Services
from handlers.callbacks import AbsenceCb, InviteCb
from handlers.filters import HasRole, Known
from handlers.incident import cancel_keyboard
from handlers.render import NAME_FLOOR, moment
from handlers.states import AbsenceDialog
from storage.directory import AbsenceRecord

INVITABLE = (Role.executor, Role.responsible, Role.curator, Role.head, Role.external_approver, Role.admin)


def role_label(role: Role) -> str:
    return {
        Role.executor: _("executor"),
        Role.responsible: _("responsible official of a department"),
        Role.curator: _("curator"),
        Role.head: _("head"),
        Role.external_approver: _("regional centre (second approval)"),
        Role.admin: _("administrator"),
    }[role]


def build_router() -> Router:
    router = Router(name="admin")

    @router.message(Command("invite"), HasRole(Role.admin))
    async def invite(message: Message) -> None:
        rows = [
            [InlineKeyboardButton(text=role_label(r), callback_data=InviteCb(role=r.value).pack())] for r in INVITABLE
        ]
        await message.answer(_("Whom do you invite?"), reply_markup=InlineKeyboardMarkup(inline_keyboard=rows))

    @router.message(Command("invite"))
    async def invite_refused(message: Message) -> None:
        await message.answer(_("Only administrators create invitation links."))

    @router.callback_query(InviteCb.filter(), HasRole(Role.admin))
    async def invite_role(
        callback: CallbackQuery, callback_data: InviteCb, person: Person, services: Services, bot: Bot
    ) -> None:
        try:
            role = Role(callback_data.role)
        except ValueError:
            raise InvalidInput("bad role", key="stale_button") from None
        message = callback.message
        assert isinstance(message, Message)
        if role in (Role.executor, Role.responsible) and not callback_data.dep:
            directory = await services.directory()
            if not directory.departments:
                await callback.answer(_("There are no departments yet: add them to the config."), show_alert=True)
                return
            rows = [
                [
                    InlineKeyboardButton(
                        text=button_text(d.name), callback_data=InviteCb(role=role.value, dep=d.id).pack()
                    )
                ]
                for d in directory.departments
            ]
            await message.edit_text(_("Which department?"), reply_markup=InlineKeyboardMarkup(inline_keyboard=rows))
            await callback.answer()
            return
        record = await services.create_invite(person, role, callback_data.dep or None)
        me = await bot.me()
        link = f"https://t.me/{me.username}?start={record.code}"
        expires = moment(services, record.expires_at, person.locale) if record.expires_at else "—"
        await message.edit_text(
            _(
                "Invitation for the role «{role}». Send this link to the person; "
                "it works once, until {expires}:\n{link}"
            ).format(role=role_label(role), expires=expires, link=link)
        )
        await callback.answer()

    @router.callback_query(InviteCb.filter())
    async def invite_refused_button(callback: CallbackQuery) -> None:
        await callback.answer(_("Only administrators create invitation links."), show_alert=True)

    _absence_handlers(router)
    return router


# --- absences ---------------------------------------------------------------------------------------


def _button(text: str, data: AbsenceCb) -> list[InlineKeyboardButton]:
    return [InlineKeyboardButton(text=text, callback_data=data.pack())]


ABSENCES_PAGE = 10  # absences per page of /absence: ten lines and ten «Cancel» buttons


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
    rows = []
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
        rows.append(_button(button_text(label), AbsenceCb(a="del", id=record.id)))
    navigation = []
    if page > 0:
        navigation.append(InlineKeyboardButton(text="‹", callback_data=AbsenceCb(a="page", id=page - 1).pack()))
    if page + 1 < pages:
        navigation.append(InlineKeyboardButton(text="›", callback_data=AbsenceCb(a="page", id=page + 1).pack()))
    if navigation:
        rows.append(navigation)
    rows.append(_button(_("➕ Record an absence"), AbsenceCb(a="add")))
    return fit(blocks).text, InlineKeyboardMarkup(inline_keyboard=rows)


async def _members(services: Services, person: Person, department_id: int) -> list[tuple[int, str]]:
    """The active people of a department the person may manage; a forged department is refused."""
    if department_id not in {d.id for d in await services.absence_departments(person)}:
        raise InvalidInput("not a department of this person", key="stale_button")
    return [(u.id, u.full_name) for u in await services.department_members(department_id) if u.is_active]


def _absence_handlers(router: Router) -> None:
    @router.message(Command("absence"), Known())
    async def absences(message: Message, person: Person, services: Services) -> None:
        text, keyboard = await _overview(services, person)
        await message.answer(text, reply_markup=keyboard)

    @router.callback_query(AbsenceCb.filter(F.a == "add"), Known())
    async def choose_department(callback: CallbackQuery, person: Person, services: Services) -> None:
        departments = await services.absence_departments(person)
        message = callback.message
        assert isinstance(message, Message)
        if not departments:
            await callback.answer(_("There are no departments yet: add them to the config."), show_alert=True)
            return
        rows = [_button(button_text(d.name), AbsenceCb(a="dep", dep=d.id)) for d in departments]
        keyboard = InlineKeyboardMarkup(inline_keyboard=rows)
        await message.edit_text(_("Whose absence? Choose the department."), reply_markup=keyboard)
        await callback.answer()

    @router.callback_query(AbsenceCb.filter(F.a == "dep"), Known())
    async def choose_person(
        callback: CallbackQuery, callback_data: AbsenceCb, person: Person, services: Services
    ) -> None:
        members = await _members(services, person, callback_data.dep)
        message = callback.message
        assert isinstance(message, Message)
        if not members:
            await callback.answer(_("Nobody has joined this department yet."), show_alert=True)
            return
        rows = [
            _button(button_text(name), AbsenceCb(a="who", dep=callback_data.dep, user=uid)) for uid, name in members
        ]
        await message.edit_text(_("Who will be away?"), reply_markup=InlineKeyboardMarkup(inline_keyboard=rows))
        await callback.answer()

    @router.callback_query(AbsenceCb.filter(F.a == "who"), Known())
    async def ask_period(
        callback: CallbackQuery, callback_data: AbsenceCb, person: Person, services: Services, state: FSMContext
    ) -> None:
        members = dict(await _members(services, person, callback_data.dep))
        if callback_data.user not in members:
            raise InvalidInput("not a member", key="stale_button")
        message = callback.message
        assert isinstance(message, Message)
        await state.set_state(AbsenceDialog.period)
        await state.set_data({"user": callback_data.user, "dep": callback_data.dep})
        await message.edit_text(
            _(
                "Absence of {name}. Send the period: the first and the last day, for example "
                "01.12.2026–05.12.2026 (one date for a single day)."
            ).format(name=members[callback_data.user]),
            reply_markup=cancel_keyboard(),
        )
        await callback.answer()

    @router.message(AbsenceDialog.period, Known(), F.text)
    async def choose_substitute(message: Message, person: Person, services: Services, state: FSMContext) -> None:
        data = await state.get_data()
        today = services.clock.now().astimezone(services.workflow.calendar.tz).date()
        first, last = parse_period(message.text or "", today)  # a bad period is explained; the dialog goes on
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
        rows = [_button(button_text(name), AbsenceCb(a="sub", user=uid)) for uid, name in candidates]
        rows += cancel_keyboard().inline_keyboard
        await message.answer(
            _("Who stands in for {name} from {first} to {last}?").format(
                name=names.get(absent, "?"),
                first=format_day(first, person.locale),
                last=format_day(last, person.locale),
            ),
            reply_markup=InlineKeyboardMarkup(inline_keyboard=rows),
        )

    @router.message(AbsenceDialog.period)
    async def period_expected(message: Message) -> None:
        await message.answer(_("Please answer with a text message, or press «Cancel»."))

    @router.callback_query(AbsenceCb.filter(F.a == "sub"), Known())
    async def record(
        callback: CallbackQuery, callback_data: AbsenceCb, person: Person, services: Services, state: FSMContext
    ) -> None:
        data = await state.get_data()
        if await state.get_state() != AbsenceDialog.substitute.state or "first" not in data:
            raise InvalidInput("no absence is being recorded", key="stale_button")
        first, last = date.fromisoformat(data["first"]), date.fromisoformat(data["last"])
        record = await services.add_absence(person, data["user"], first, last, callback_data.user)
        await state.clear()
        names = await services.user_names([record.user_id, record.substitute_id])
        message = callback.message
        assert isinstance(message, Message)
        await message.edit_text(
            _("Recorded: {name} is away from {first} to {last}; {substitute} stands in. Both are notified.").format(
                name=names.get(record.user_id, "?"),
                first=format_day(first, person.locale),
                last=format_day(last, person.locale),
                substitute=names.get(record.substitute_id, "?"),
            )
        )
        await callback.answer()

    @router.callback_query(AbsenceCb.filter(F.a == "page"), Known())
    async def absences_page_turn(
        callback: CallbackQuery, callback_data: AbsenceCb, person: Person, services: Services
    ) -> None:
        text, keyboard = await _overview(services, person, callback_data.id)
        message = callback.message
        assert isinstance(message, Message)
        await message.edit_text(text, reply_markup=keyboard)
        await callback.answer()

    @router.callback_query(AbsenceCb.filter(F.a == "del"), Known())
    async def cancel_absence(
        callback: CallbackQuery, callback_data: AbsenceCb, person: Person, services: Services
    ) -> None:
        await services.cancel_absence(person, callback_data.id)
        text, keyboard = await _overview(services, person)
        message = callback.message
        assert isinstance(message, Message)
        await message.edit_text(text, reply_markup=keyboard)
        await callback.answer(_("The absence is cancelled; the substitute is notified."))
