"""Writing a draft in the chat — an answer, an intermediate answer, a clarification request or a department's
contribution to a joint answer: text and media collected message by message under a live preview, then
submitted for approval.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

from aiogram import Bot, F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot import assistant
from bot.domain.errors import IllegalTransition, InvalidInput
from bot.domain.incident import Attachment, DraftKind
from bot.domain.message_size import TEXT_LIMIT, units
from bot.domain.precheck import Finding
from bot.services import CURRENT_CARD, Person, Services
from handlers.advice import advice
from handlers.callbacks import CardAction, CardCb, DialogAction, DialogCb, TemplateAction, TemplateCb
from handlers.dialogs import open_incident
from handlers.filters import Known
from handlers.keyboards import cancel_keyboard, draft_keyboard, draft_start_keyboard
from handlers.media import attachment_of
from handlers.render import draft_kind_label, moment
from handlers.sending import send_long, show_card
from handlers.states import Dialog

MAX_DRAFT_ATTACHMENTS = 10
DRAFT_KINDS = {
    CardAction.answer: DraftKind.answer,
    CardAction.intermediate: DraftKind.intermediate,
    CardAction.clarification: DraftKind.clarification,
    CardAction.contribution: DraftKind.contribution,
}


def draft_preview(data: dict[str, Any], findings: Sequence[Finding] | None = None) -> str:
    """The draft as collected so far (`data` is the dialog's FSM data): its kind, text and attachment count, and
    the pre-check's advice on it (`findings`) before «Fix» / «Send as is»."""
    kind = DraftKind(data["kind"])
    text = data.get("text") or _("(no text yet)")
    lines = [
        _("Draft for incident No. {number}: {kind}").format(number=data["incident"], kind=draft_kind_label(kind)),
        "",
        text,
        "",
        _("Attachments: {count}").format(count=len(data.get("attachments", []))),
    ]
    if findings:
        lines += ["", _("Before you submit, the curator may return it for this:")]
        lines += [advice(f) for f in findings]
        lines += ["", _("«Fix»: send a corrected text (the attachments stay); «Send as is»: submit it now.")]
    else:
        lines.append(_("Send more messages to change the text or add photos, videos, documents; then submit."))
    return "\n".join(lines)


async def start_draft(
    callback: CallbackQuery, callback_data: CardCb, person: Person, services: Services, state: FSMContext, bot: Bot
) -> None:
    """«Write the answer» and its kin: ask for the text (showing a returned draft's text for reference)."""
    incident_id = callback_data.incident_id
    incident = await open_incident(services, person, incident_id, callback_data.action.workflow)
    message = callback.message
    assert isinstance(message, Message)
    kind = DRAFT_KINDS[callback_data.action]
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
    found = []
    if kind in (DraftKind.answer, DraftKind.intermediate) and assistant.enabled(services, "templates"):
        found = await assistant.templates_for(services, person, incident.topic_ids)
    await send_long(bot, message.chat.id, prompt, draft_start_keyboard(found) if found else cancel_keyboard())
    await callback.answer()


async def from_template(
    callback: CallbackQuery, callback_data: TemplateCb, person: Person, services: Services, state: FSMContext, bot: Bot
) -> None:
    """«From a template»: the draft's text becomes the template's, its placeholders filled for the incident
    (bot.assistant.fill_template: number, the post's link, the answer deadline in local time) and is pre-checked
    at once, the preview showing the findings as for any draft; the executor then edits it by sending the text
    again, and submits (or sends it as is)."""
    message = callback.message
    assert isinstance(message, Message)
    if await state.get_state() != Dialog.draft.state:
        raise IllegalTransition("no draft in progress", key="already_done")
    data = await state.get_data()
    found = await assistant.template_for(services, person, callback_data.template_id, keep=False)
    incident = await services.get(data["incident"], person)
    due = assistant.answer_deadline(incident)
    data["text"] = assistant.fill_template(found.text, incident, moment(services, due, person.locale) if due else "—")
    await state.update_data(text=data["text"])
    await callback.answer()
    # Checked at once, as any draft (issue 13 §1): a template may lack the term or the photo this incident needs.
    findings = await _precheck(services, person, data)
    await _send_preview(bot, message.chat.id, state, draft_preview(data, findings), bool(findings), data.get("preview"))


async def draft_part(message: Message, state: FSMContext, bot: Bot, person: Person, services: Services) -> None:
    """A message of the draft: its text replaces the text so far, its photo, video or document is added."""
    data = await state.get_data()
    attachment = attachment_of(message)
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
    findings = await _precheck(services, person, data)
    text = draft_preview(data, findings)
    keyboard = draft_keyboard(bool(findings))
    # An album: one preview, updated in place while it fits one message (else sent anew in parts).
    if message.media_group_id and preview and units(text) <= TEXT_LIMIT:
        try:
            await bot.edit_message_text(text=text, chat_id=message.chat.id, message_id=preview, reply_markup=keyboard)
            return
        except Exception:
            pass
    await _send_preview(bot, message.chat.id, state, text, bool(findings), preview)


async def _precheck(services: Services, person: Person, data: dict[str, Any]) -> list[Finding] | None:
    """The pre-check's findings on the draft of the dialog's ``data`` (None: the pre-check is off or the kind
    is not checked)."""
    kind, attachments = DraftKind(data["kind"]), len(data.get("attachments", []))
    return await services.precheck_draft(person, data["incident"], kind, data.get("text") or "", attachments)


async def _send_preview(
    bot: Bot, chat_id: int, state: FSMContext, text: str, findings: bool, previous: int | None
) -> None:
    """Send the draft's preview ``text`` under its buttons («Fix» / «Send as is» when ``findings``); the
    ``previous`` preview loses its buttons, only the newest acts."""
    sent = await send_long(bot, chat_id, text, draft_keyboard(findings))
    if previous:
        with contextlib.suppress(Exception):
            await bot.edit_message_reply_markup(chat_id=chat_id, message_id=previous, reply_markup=None)
    await state.update_data(preview=sent.message_id)


async def submit(callback: CallbackQuery, person: Person, services: Services, state: FSMContext, bot: Bot) -> None:
    """«Submit for approval»: the draft goes to the curator; the card the dialog started from shows it."""
    message = callback.message
    assert isinstance(message, Message)
    if await state.get_state() != Dialog.draft.state:
        raise IllegalTransition("no draft in progress", key="already_done")
    data = await state.get_data()
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


async def fix(callback: CallbackQuery, state: FSMContext, bot: Bot) -> None:
    """«Fix»: the draft's text once more, to copy and correct; the next text sent replaces it."""
    message = callback.message
    assert isinstance(message, Message)
    if await state.get_state() != Dialog.draft.state:
        raise IllegalTransition("no draft in progress", key="already_done")
    text = (await state.get_data()).get("text") or ""
    prompt = _("Send the corrected text: it replaces the one below; the attachments stay.")
    await send_long(bot, message.chat.id, prompt + ("\n\n" + text if text else ""), cancel_keyboard())
    await callback.answer()


def build_router() -> Router:
    """A fresh router with the draft dialog."""
    router = Router(name=__name__)
    router.callback_query.register(start_draft, CardCb.filter(F.action.in_(tuple(DRAFT_KINDS))), Known())
    router.callback_query.register(submit, DialogCb.filter(F.action == DialogAction.submit), Known())
    use = TemplateCb.filter(F.action == TemplateAction.use)
    router.callback_query.register(from_template, Dialog.draft, use, Known())
    router.callback_query.register(fix, DialogCb.filter(F.action == DialogAction.fix), Known())
    router.message.register(draft_part, Dialog.draft, Known())
    return router
