"""/templates: administrators and departments' responsible officials keep answer templates per topic (issue 13
§5) — list, add (topic, then title and text in one message), edit the text, delete. A saved template is run
through the draft pre-check (bot.domain.precheck) and its findings are shown as advice. Executors start a draft
from a template in the draft step (handlers/draft.py); the placeholders are bot.assistant.PLACEHOLDERS.
"""

from __future__ import annotations

import asyncio

from aiogram import Bot, F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot import assistant
from bot.domain.incident import storable
from bot.domain.precheck import Finding, check_draft
from bot.services import Person, Services
from handlers.callbacks import TemplateAction, TemplateCb
from handlers.filters import Known
from handlers.keyboards import cancel_keyboard, template_keyboard, templates_keyboard, topics_for_template
from handlers.render import reason_label
from handlers.sending import send_long
from handlers.states import TemplateDialog


def _off() -> str:
    return _("Answer templates are turned off in the config ([assistant] templates).")


def placeholders_help() -> str:
    """What the placeholders stand for, one line."""
    return _(
        "Placeholders: {number} — the incident's number, {address} — the post's link, {deadline} — the answer deadline."
    ).format(number="{номер}", address="{адрес}", deadline="{срок}")


def advice(findings: list[Finding]) -> str:
    """The pre-check's findings on a template's text (check_draft) as advice lines; a line saying nothing was
    found else."""
    if not findings:
        return _("The pre-check found nothing to improve.")
    lines = [_("The pre-check advises to look again at:")]
    for finding in findings:
        words = ", ".join(f"«{w}»" for w in finding.words[:3])
        lines.append(f"• {reason_label(finding.return_reason)}" + (f": {words}" if words else ""))
    return "\n".join(lines)


async def _list_text(services: Services, person: Person) -> tuple[str, list[assistant.TemplateRecord]]:
    assistant.template_departments(person)  # refuses people who keep no templates
    found = await assistant.templates_for(services, person)
    topics = (await services.directory()).topics
    lines = [_("Answer templates:")]
    lines += [f"• {t.title} — {topics.get(t.topic_id or 0, _('any topic'))}" for t in found] or [_("(none yet)")]
    return "\n".join(lines), found


async def templates(message: Message, person: Person, services: Services, state: FSMContext, bot: Bot) -> None:
    """/templates: the templates the person keeps, each a button, and «Add»."""
    if not assistant.enabled(services, "templates"):
        await message.answer(_off())
        return
    await state.clear()
    text, found = await _list_text(services, person)
    await send_long(bot, message.chat.id, text, templates_keyboard(found))


async def back(callback: CallbackQuery, person: Person, services: Services, state: FSMContext) -> None:
    """«Back»: the list again, in place."""
    await state.clear()
    text, found = await _list_text(services, person)
    if isinstance(callback.message, Message):
        await callback.message.edit_text(text, reply_markup=templates_keyboard(found))
    await callback.answer()


async def show(callback: CallbackQuery, callback_data: TemplateCb, person: Person, services: Services) -> None:
    """A template: its topic, title and text, «Edit», «Delete», «Back»."""
    found = await assistant.template_for(services, person, callback_data.template_id, keep=True)
    topic = (await services.directory()).topics.get(found.topic_id or 0, _("any topic"))
    text = f"{found.title} — {topic}\n\n{found.text}"
    if isinstance(callback.message, Message):
        await callback.message.edit_text(text[:4000], reply_markup=template_keyboard(found.id))
    await callback.answer()


async def add(callback: CallbackQuery, person: Person, services: Services) -> None:
    """«Add»: choose the new template's topic."""
    assistant.template_departments(person)
    topics = (await services.directory()).topics
    if isinstance(callback.message, Message):
        await callback.message.edit_text(
            _("Which topic is the template for?"), reply_markup=topics_for_template(topics)
        )
    await callback.answer()


async def topic(
    callback: CallbackQuery, callback_data: TemplateCb, person: Person, services: Services, state: FSMContext
) -> None:
    """The topic chosen (0: any): ask for the title and the text in one message."""
    departments = assistant.template_departments(person)
    topics = (await services.directory()).topics
    if callback_data.topic_id and callback_data.topic_id not in topics:
        await callback.answer(_("This button is no longer valid."), show_alert=True)
        return
    await state.set_state(TemplateDialog.text)
    await state.set_data(
        {"topic": callback_data.topic_id or None, "department": departments[0] if departments else None}
    )
    prompt = (
        _("Send the template in one message: its title on the first line, its text below.") + "\n" + placeholders_help()
    )
    if isinstance(callback.message, Message):
        await callback.message.answer(prompt, reply_markup=cancel_keyboard())
    await callback.answer()


async def new_text(message: Message, person: Person, services: Services, state: FSMContext) -> None:
    """The new template arrived: saved, with the pre-check's advice on its text."""
    data = await state.get_data()
    title, _sep, text = storable(message.text or "").strip().partition("\n")
    await assistant.add_template(services, person, data.get("topic"), data.get("department"), title, text)
    await state.clear()
    found = await asyncio.to_thread(check_draft, "", text, 0)  # the first check loads the language tools
    await message.answer(_("Template saved: {title}.").format(title=title.strip()) + "\n\n" + advice(found))


async def edit(
    callback: CallbackQuery, callback_data: TemplateCb, person: Person, services: Services, state: FSMContext
) -> None:
    """«Edit»: ask for the template's new text."""
    found = await assistant.template_for(services, person, callback_data.template_id, keep=True)
    await state.set_state(TemplateDialog.edit)
    await state.set_data({"template": found.id})
    prompt = _("Send the new text of «{title}».").format(title=found.title) + "\n" + placeholders_help()
    if isinstance(callback.message, Message):
        await callback.message.answer(prompt, reply_markup=cancel_keyboard())
    await callback.answer()


async def edited_text(message: Message, person: Person, services: Services, state: FSMContext) -> None:
    """The template's new text arrived: saved, with the pre-check's advice."""
    data = await state.get_data()
    text = storable(message.text or "")
    await assistant.edit_template(services, person, data["template"], text)
    await state.clear()
    found = await asyncio.to_thread(check_draft, "", text, 0)
    await message.answer(_("Template updated.") + "\n\n" + advice(found))


async def delete(callback: CallbackQuery, callback_data: TemplateCb, person: Person, services: Services) -> None:
    """«Delete»: the template is gone; the list again."""
    await assistant.delete_template(services, person, callback_data.template_id)
    text, found = await _list_text(services, person)
    if isinstance(callback.message, Message):
        await callback.message.edit_text(_("Template deleted.") + "\n\n" + text, reply_markup=templates_keyboard(found))
    await callback.answer()


def build_router() -> Router:
    """A fresh router with /templates and its buttons (the draft step's «From a template» is in handlers/draft)."""
    router = Router(name=__name__)
    router.message.register(templates, Command("templates"), Known())
    on = TemplateCb.filter
    router.callback_query.register(show, on(F.action == TemplateAction.show), Known())
    router.callback_query.register(add, on(F.action == TemplateAction.add), Known())
    router.callback_query.register(topic, on(F.action == TemplateAction.topic), Known())
    router.callback_query.register(edit, on(F.action == TemplateAction.edit), Known())
    router.callback_query.register(delete, on(F.action == TemplateAction.delete), Known())
    router.callback_query.register(back, on(F.action == TemplateAction.back), Known())
    router.message.register(new_text, TemplateDialog.text, Known(), F.text)
    router.message.register(edited_text, TemplateDialog.edit, Known(), F.text)
    return router
