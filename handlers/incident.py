"""Buttons on incident cards and the short dialogs they open, for every role.

A button names a workflow action; the service checks the rules again on the server side, so a
forged or stale button changes nothing (the error handler says why).
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

from aiogram import Bot, F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.domain.errors import IllegalTransition, InvalidInput
from bot.domain.incident import (
    AssignmentState,
    Attachment,
    DraftKind,
    Event,
    Importance,
    Incident,
    MultiMode,
    ReturnReason,
)
from bot.domain.message_size import TEXT_LIMIT, button_text, units
from bot.domain.workflow import Action
from bot.services import CURRENT_CARD, Person, Services
from handlers.callbacks import CardCb, FullCb, PickCb
from handlers.filters import Known
from handlers.intake import _attachment
from handlers.render import (
    card_full_text,
    draft_kind_label,
    event_label,
    moment,
    reason_label,
    send_long,
    show_card,
)
from handlers.states import Dialog

MAX_DRAFT_ATTACHMENTS = 10
DRAFT_KINDS = {
    Action.answer: DraftKind.answer,
    Action.intermediate: DraftKind.intermediate,
    Action.clarification: DraftKind.clarification,
    Action.contribution: DraftKind.contribution,
}
MODE_CHOICES = (MultiMode.joint_parallel, MultiMode.split, MultiMode.joint_sequential)


def history_text(
    incident_id: int, history: Sequence[Event], names: dict[int, str], services: Services, locale: str
) -> str:
    """Who did what and when, every event with its comment whole (a "not ours" reason, a return comment,
    the author's reply): the full record, of any length; sent in parts of one message each."""
    lines = [_("History of incident No. {number}:").format(number=incident_id)]
    for event in history:
        who = names.get(event.actor_id or 0, "—")
        entry = f"{moment(services, event.at, locale)} — {who}: {event_label(event.name)}"
        if event.comment:
            entry += f" («{event.comment}»)"
        lines.append(entry)
    return "\n".join(lines)


def cancel_keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text=_("Cancel"), callback_data=PickCb(id=0, what="cancel").pack())]]
    )


def mode_label(mode: MultiMode) -> str:
    return {
        MultiMode.joint_parallel: _("Joint answer: all at once"),
        MultiMode.split: _("Split: each answers separately"),
        MultiMode.joint_sequential: _("Joint answer: one after another"),
        MultiMode.single: _("One department"),
    }[mode]


def department_picker(
    incident_id: int, departments: list[tuple[int, str]], chosen: list[int], what: str, preset_mode: MultiMode
) -> InlineKeyboardMarkup:
    rows = []
    for dep_id, name in departments:
        mark = f"✅ {chosen.index(dep_id) + 1}. " if dep_id in chosen else ""
        rows.append(
            # "dep+" / "dep-" say what the press means, so a press delivered twice (a restart, a flaky
            # network) sets the same choice again instead of toggling it back.
            [
                InlineKeyboardButton(
                    text=button_text(mark + name),
                    callback_data=PickCb(
                        id=incident_id, what=what + ("-" if dep_id in chosen else "+"), v=dep_id
                    ).pack(),
                )
            ]
        )
    if len(chosen) > 1:
        for index, mode in enumerate(MODE_CHOICES):
            suffix = " " + _("(by the regulation)") if mode is preset_mode else ""
            rows.append(
                [
                    InlineKeyboardButton(
                        text="➡ " + mode_label(mode) + suffix,
                        callback_data=PickCb(id=incident_id, what="route_go", v=index + 1).pack(),
                    )
                ]
            )
    elif chosen:
        rows.append(
            [InlineKeyboardButton(text=_("Route"), callback_data=PickCb(id=incident_id, what="route_go", v=0).pack())]
        )
    rows.append([InlineKeyboardButton(text=_("Back"), callback_data=CardCb(id=incident_id, a="refresh").pack())])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def reasons_picker(incident_id: int, chosen: list[str], draft_number: int) -> InlineKeyboardMarkup:
    rows = []
    for index, reason in enumerate(ReturnReason):
        mark = "✅ " if reason.value in chosen else ""
        rows.append(
            [
                InlineKeyboardButton(
                    text=mark + reason_label(reason),
                    callback_data=PickCb(
                        id=incident_id, what="reason-" if reason.value in chosen else "reason+", v=index
                    ).pack(),
                )
            ]
        )
    rows.append(
        [
            InlineKeyboardButton(
                text=_("Return"), callback_data=PickCb(id=incident_id, what="return_go", v=draft_number).pack()
            ),
            InlineKeyboardButton(
                text=_("Return with a comment"),
                callback_data=PickCb(id=incident_id, what="return_comment", v=draft_number).pack(),
            ),
        ]
    )
    rows.append([InlineKeyboardButton(text=_("Back"), callback_data=CardCb(id=incident_id, a="refresh").pack())])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def draft_preview(data: dict[str, Any]) -> str:
    kind = DraftKind(data["kind"])
    text = data.get("text") or _("(no text yet)")
    lines = [
        _("Draft for incident No. {number}: {kind}").format(number=data["incident"], kind=draft_kind_label(kind)),
        "",
        text,
        "",
        _("Attachments: {count}").format(count=len(data.get("attachments", []))),
        _("Send more messages to change the text or add photos, videos, documents; then submit."),
    ]
    return "\n".join(lines)


def draft_keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(text=_("Submit for approval"), callback_data=PickCb(id=0, what="draft_go").pack()),
                InlineKeyboardButton(text=_("Cancel"), callback_data=PickCb(id=0, what="cancel").pack()),
            ]
        ]
    )


async def _start_dialog(callback: CallbackQuery, state: FSMContext, dialog: Any, prompt: str, **data: Any) -> None:
    message = callback.message
    assert isinstance(message, Message)
    await state.set_state(dialog)
    await state.set_data({"card": message.message_id, **data})
    await message.answer(prompt, reply_markup=cancel_keyboard())
    await callback.answer()


def _require_action(services: Services, person: Person, incident: Incident, action: Action) -> None:
    """Refuse at once a dialog that could not end in the action (the service checks again)."""
    if action not in services.actions(person, incident):
        raise IllegalTransition("not possible now", key="already_done")


async def _finish(
    message: Message,
    state: FSMContext,
    person: Person,
    services: Services,
    bot: Bot,
    incident: Incident,
    data: dict[str, Any],
    done: str,
) -> None:
    """A dialog ended in an action: the card it started from shows the new state."""
    await state.clear()
    await show_card(bot, services, message.chat.id, incident, person, person.locale, edit=data.get("card"))
    await message.answer(done)


def build_router() -> Router:
    router = Router(name="incident")

    @router.callback_query(CardCb.filter(), Known())
    async def card_button(
        callback: CallbackQuery, callback_data: CardCb, person: Person, services: Services, state: FSMContext, bot: Bot
    ) -> None:
        incident_id, name, number = callback_data.id, callback_data.a, callback_data.n
        message = callback.message
        chat_id = message.chat.id if message is not None else person.telegram_id
        edit = message.message_id if isinstance(message, Message) else None
        if name in ("refresh", "open"):
            incident = await services.get(incident_id, person)
            await show_card(
                bot,
                services,
                chat_id,
                incident,
                person,
                person.locale,
                edit=edit if name == "refresh" else None,
                fresh=name == "open",
            )
            await callback.answer()
            return
        if name == "history":
            await services.get(incident_id, person)
            history = await services.history(incident_id)
            names = await services.user_names(e.actor_id for e in history if e.actor_id)
            await callback.answer()
            await send_long(bot, chat_id, history_text(incident_id, history, names, services, person.locale))
            return
        if name == "take":  # a department's group chat: any member takes the incident
            incident = await services.accept(person, incident_id, department_id=number)
            await show_card(bot, services, chat_id, incident, None, person.locale, edit=edit, group_department=number)
            await show_card(bot, services, person.telegram_id, incident, person, person.locale, fresh=True)
            await callback.answer(_("Taken into work. The card is in your private chat with the bot."))
            return
        try:
            action = Action(name)
        except ValueError:
            raise InvalidInput("unknown button", key="stale_button") from None
        draft_number = number or None
        if action is Action.accept:
            incident = await services.accept(person, incident_id)
        elif action is Action.approve:
            incident = await services.approve(person, incident_id, draft_number)
        elif action is Action.importance:
            current = await services.get(incident_id, person)
            other = Importance.normal if current.importance is Importance.high else Importance.high
            incident = await services.change_importance(person, incident_id, other)
        else:
            await _open_dialog(callback, action, incident_id, number, person, services, state)
            return
        await show_card(bot, services, chat_id, incident, person, person.locale, edit=edit)
        await callback.answer(_("Done."))

    async def _open_dialog(
        callback: CallbackQuery,
        action: Action,
        incident_id: int,
        number: int,
        person: Person,
        services: Services,
        state: FSMContext,
    ) -> None:
        incident = await services.get(incident_id, person)
        _require_action(services, person, incident, action)
        message = callback.message
        assert isinstance(message, Message)
        if action in (Action.not_ours, Action.not_processable):
            prompt = (
                _("Why is it not your department's competence? Write the reason in one message.")
                if action is Action.not_ours
                else _(
                    "Why can this message not be processed (threats, obscenities, intent to harm)? Write the reason."
                )
            )
            await _start_dialog(callback, state, Dialog.reason, prompt, incident=incident_id, action=action.value)
        elif action in DRAFT_KINDS:
            kind = DRAFT_KINDS[action]
            previous = incident.current_draft()
            prompt = _(
                "Write the {kind} for incident No. {number}: send the text, and photos, videos or documents if "
                "needed. Then press «Submit for approval»."
            ).format(kind=draft_kind_label(kind), number=incident_id)
            if previous is not None and previous.return_reasons and kind is not DraftKind.contribution:
                prompt += "\n\n" + _("The previous text, for reference:") + "\n" + previous.text
            await state.set_state(Dialog.draft)
            await state.set_data(
                {"card": message.message_id, "incident": incident_id, "kind": kind.value, "text": "", "attachments": []}
            )
            await send_long(message.bot, message.chat.id, prompt, cancel_keyboard())  # type: ignore[arg-type]
            await callback.answer()
        elif action is Action.publish:
            await _start_dialog(
                callback,
                state,
                Dialog.link,
                _("Publish the approved text in the network, then send the link to the published comment."),
                incident=incident_id,
                draft=number,
            )
        elif action is Action.author_reply:
            await _start_dialog(
                callback,
                state,
                Dialog.author_reply,
                _("Write what the author replied (or «-» if the reply is only in the network)."),
                incident=incident_id,
            )
        elif action is Action.route:
            directory = await services.directory()
            departments = [(d.id, d.name) for d in directory.departments]
            if not departments:
                await callback.answer(_("There are no departments yet: add them to the config."), show_alert=True)
                return
            await state.update_data(**{f"route:{incident_id}": []})
            await message.edit_reply_markup(
                reply_markup=department_picker(
                    incident_id, departments, [], "dep", services.workflow.preset.multi_mode.value
                )
            )
            await callback.answer(_("Choose one or more departments."))
        elif action is Action.return_draft:
            await state.update_data(**{f"reasons:{incident_id}": []})
            await message.edit_reply_markup(reply_markup=reasons_picker(incident_id, [], number))
            await callback.answer(_("Choose the reasons."))
        elif action is Action.designate:
            directory = await services.directory()
            live = [
                a.department_id
                for a in incident.assignments
                if a.state not in (AssignmentState.cancelled, AssignmentState.returned)
            ]
            rows = [
                [
                    InlineKeyboardButton(
                        text=button_text(directory.department_name(d)),
                        callback_data=PickCb(id=incident_id, what="designate", v=d).pack(),
                    )
                ]
                for d in live
            ]
            rows.append(
                [InlineKeyboardButton(text=_("Back"), callback_data=CardCb(id=incident_id, a="refresh").pack())]
            )
            await message.edit_reply_markup(reply_markup=InlineKeyboardMarkup(inline_keyboard=rows))
            await callback.answer(_("Who writes the joint answer?"))
        elif action is Action.assign:
            rows = []
            for a in incident.assignments:
                if a.department_id in person.responsible_for and a.active:
                    for member in await services.department_members(a.department_id):
                        rows.append(
                            [
                                InlineKeyboardButton(
                                    text=button_text(member.full_name),
                                    callback_data=PickCb(
                                        id=incident_id, what=f"assign{a.department_id}", v=member.id
                                    ).pack(),
                                )
                            ]
                        )
            rows.append(
                [InlineKeyboardButton(text=_("Back"), callback_data=CardCb(id=incident_id, a="refresh").pack())]
            )
            await message.edit_reply_markup(reply_markup=InlineKeyboardMarkup(inline_keyboard=rows))
            await callback.answer(_("Whom to hand it to?"))

    @router.callback_query(FullCb.filter(), Known())
    async def show_in_full(
        callback: CallbackQuery, callback_data: FullCb, person: Person, services: Services, bot: Bot
    ) -> None:
        """«Show in full»: the card with nothing shortened, in as many messages as it takes."""
        incident = await services.get(callback_data.id, person)
        directory = await services.directory()
        names = await services.user_names(a.executor_id for a in incident.assignments if a.executor_id)
        chat_id = callback.message.chat.id if callback.message is not None else person.telegram_id
        await callback.answer()
        await send_long(bot, chat_id, card_full_text(incident, directory, services, person.locale, names))

    @router.callback_query(PickCb.filter(F.what == "cancel"))
    async def cancel(callback: CallbackQuery, state: FSMContext) -> None:
        await state.clear()
        if isinstance(callback.message, Message):
            await callback.message.edit_text(_("Cancelled. Nothing was changed."))
        await callback.answer()

    @router.callback_query(PickCb.filter(), Known())
    async def pick(
        callback: CallbackQuery, callback_data: PickCb, person: Person, services: Services, state: FSMContext, bot: Bot
    ) -> None:
        incident_id, what, value = callback_data.id, callback_data.what, callback_data.v
        message = callback.message
        assert isinstance(message, Message)
        data = await state.get_data()
        if what in ("dep+", "dep-"):
            chosen: list[int] = list(data.get(f"route:{incident_id}", []))
            directory = await services.directory()
            if value not in {d.id for d in directory.departments}:
                raise InvalidInput("unknown department", key="stale_button")
            if what == "dep+" and value not in chosen:
                chosen.append(value)
            elif what == "dep-" and value in chosen:
                chosen.remove(value)
            await state.update_data(**{f"route:{incident_id}": chosen})
            await message.edit_reply_markup(
                reply_markup=department_picker(
                    incident_id,
                    [(d.id, d.name) for d in directory.departments],
                    chosen,
                    "dep",
                    services.workflow.preset.multi_mode.value,
                )
            )
            await callback.answer()
            return
        if what == "route_go":
            chosen = list(data.get(f"route:{incident_id}", []))
            if not chosen:
                raise InvalidInput("no department", key="no_department")
            mode = MODE_CHOICES[value - 1] if value else None
            if mode is MultiMode.split:
                incident = await services.split(person, incident_id, chosen)
            else:
                incident = await services.route(person, incident_id, chosen, mode)
            await state.update_data(**{f"route:{incident_id}": []})
            await show_card(bot, services, message.chat.id, incident, person, person.locale, edit=message)
            await callback.answer(_("Routed."))
            return
        if what in ("reason+", "reason-"):
            reasons = list(ReturnReason)
            if not 0 <= value < len(reasons):
                raise InvalidInput("unknown reason", key="stale_button")
            chosen_reasons: list[str] = list(data.get(f"reasons:{incident_id}", []))
            reason = reasons[value].value
            if what == "reason+" and reason not in chosen_reasons:
                chosen_reasons.append(reason)
            elif what == "reason-" and reason in chosen_reasons:
                chosen_reasons.remove(reason)
            await state.update_data(**{f"reasons:{incident_id}": chosen_reasons})
            incident = await services.get(incident_id, person)
            draft = incident.current_draft()
            await message.edit_reply_markup(
                reply_markup=reasons_picker(incident_id, chosen_reasons, draft.number if draft else 0)
            )
            await callback.answer()
            return
        if what in ("return_go", "return_comment"):
            chosen_reasons = list(data.get(f"reasons:{incident_id}", []))
            if not chosen_reasons:
                raise InvalidInput("no reason", key="no_reason")
            if what == "return_comment" or ReturnReason.other.value in chosen_reasons:
                await state.set_state(Dialog.return_comment)
                await state.update_data(
                    card=message.message_id, incident=incident_id, draft=value, reasons=chosen_reasons
                )
                await message.answer(_("Write the comment for the executor."), reply_markup=cancel_keyboard())
                await callback.answer()
                return
            incident = await services.return_draft(
                person, incident_id, [ReturnReason(r) for r in chosen_reasons], None, value or None
            )
            await state.update_data(**{f"reasons:{incident_id}": []})
            await show_card(bot, services, message.chat.id, incident, person, person.locale, edit=message)
            await callback.answer(_("Returned for revision."))
            return
        if what == "designate":
            incident = await services.designate(person, incident_id, value)
            await show_card(bot, services, message.chat.id, incident, person, person.locale, edit=message)
            await callback.answer(_("Done."))
            return
        if what.startswith("assign"):
            try:
                department_id = int(what.removeprefix("assign"))
            except ValueError:
                raise InvalidInput("bad button", key="stale_button") from None
            members = {m.id for m in await services.department_members(department_id)}
            if value not in members:
                raise InvalidInput("not a member", key="stale_button")
            incident = await services.assign(person, incident_id, department_id, value)
            await show_card(bot, services, message.chat.id, incident, person, person.locale, edit=message)
            await callback.answer(_("Handed over."))
            return
        if what == "draft_go":
            if await state.get_state() != Dialog.draft.state:
                raise IllegalTransition("no draft in progress", key="already_done")
            text = (data.get("text") or "").strip()
            if not text:
                raise InvalidInput("empty", key="empty_text")
            if data.get("card"):  # the card the dialog started from, not this preview, shows the result
                CURRENT_CARD.set((message.chat.id, data["card"]))
            incident = await services.submit_draft(
                person,
                data["incident"],
                DraftKind(data["kind"]),
                text,
                [Attachment(**a) for a in data.get("attachments", [])],
            )
            await state.clear()
            await message.edit_text(_("Submitted."))
            await show_card(bot, services, message.chat.id, incident, person, person.locale, edit=data.get("card"))
            await callback.answer(_("Submitted for approval."))
            return
        raise InvalidInput("unknown button", key="stale_button")

    @router.message(Dialog.reason, Known(), F.text)
    async def reason(message: Message, state: FSMContext, person: Person, services: Services, bot: Bot) -> None:
        data = await state.get_data()
        if data.get("action") == Action.not_ours.value:
            incident = await services.return_not_ours(person, data["incident"], message.text or "")
        else:
            incident = await services.not_processable(person, data["incident"], message.text or "")
        await _finish(message, state, person, services, bot, incident, data, _("Recorded."))

    @router.message(Dialog.return_comment, Known(), F.text)
    async def return_comment(message: Message, state: FSMContext, person: Person, services: Services, bot: Bot) -> None:
        data = await state.get_data()
        incident = await services.return_draft(
            person,
            data["incident"],
            [ReturnReason(r) for r in data["reasons"]],
            message.text,
            data.get("draft") or None,
        )
        await _finish(message, state, person, services, bot, incident, data, _("Returned for revision."))

    @router.message(Dialog.link, Known(), F.text)
    async def link(message: Message, state: FSMContext, person: Person, services: Services, bot: Bot) -> None:
        data = await state.get_data()
        incident = await services.publish(person, data["incident"], message.text or "", data.get("draft") or None)
        await _finish(message, state, person, services, bot, incident, data, _("Publication recorded."))

    @router.message(Dialog.author_reply, Known(), F.text)
    async def author_reply(message: Message, state: FSMContext, person: Person, services: Services, bot: Bot) -> None:
        data = await state.get_data()
        text = None if (message.text or "").strip() in ("-", "—") else message.text
        incident = await services.author_reply(person, data["incident"], text)
        await _finish(
            message,
            state,
            person,
            services,
            bot,
            incident,
            data,
            _("The author's reply is recorded: the clock runs again."),
        )

    @router.message(Dialog.draft, Known())
    async def draft_part(message: Message, state: FSMContext, bot: Bot) -> None:
        data = await state.get_data()
        attachment = _attachment(message)
        if attachment is None and not (message.text or message.caption):
            await message.answer(_("Send text, photos, videos or documents."))
            return
        if attachment is not None:
            if len(data["attachments"]) >= MAX_DRAFT_ATTACHMENTS:
                await message.answer(_("At most 10 attachments."))
            else:
                data["attachments"].append(vars(attachment))
        new_text = message.text or message.caption
        if new_text:
            data["text"] = new_text.strip()
        await state.update_data(text=data["text"], attachments=data["attachments"])
        preview = data.get("preview")
        text = draft_preview(data)
        # An album: one preview, updated in place while it fits one message (else sent anew in parts).
        if message.media_group_id and preview and units(text) <= TEXT_LIMIT:
            try:
                await bot.edit_message_text(
                    text=text, chat_id=message.chat.id, message_id=preview, reply_markup=draft_keyboard()
                )
                return
            except Exception:
                pass
        sent = await send_long(bot, message.chat.id, text, draft_keyboard())
        if preview:
            with contextlib.suppress(Exception):
                await bot.edit_message_reply_markup(chat_id=message.chat.id, message_id=preview, reply_markup=None)
        await state.update_data(preview=sent.message_id)

    @router.message(Dialog.reason)
    @router.message(Dialog.return_comment)
    @router.message(Dialog.link)
    @router.message(Dialog.author_reply)
    async def text_expected(message: Message) -> None:
        await message.answer(_("Please answer with a text message, or press «Cancel»."))

    return router
