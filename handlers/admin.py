"""Administrators: invitation links for a role and a department."""

from __future__ import annotations

from aiogram import Bot, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.errors import InvalidInput
from bot.incident import Role
from bot.services import Person, Services
from handlers.callbacks import InviteCb
from handlers.filters import HasRole
from handlers.render import moment

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
                [InlineKeyboardButton(text=d.name, callback_data=InviteCb(role=role.value, dep=d.id).pack())]
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

    return router
