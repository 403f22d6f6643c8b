"""Everybody: /start with an invite, /help by role, /lang; polite answers to errors and strangers."""

from __future__ import annotations

import contextlib
import logging

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError, TelegramMigrateToChat, TelegramRetryAfter
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import BotCommand, BotCommandScopeDefault, CallbackQuery, ErrorEvent, Message
from aiogram.utils.i18n import I18n, get_i18n
from aiogram.utils.i18n import gettext as _

from bot.chats import follow_migration
from bot.domain.errors import ConcurrentUpdate, DomainError, IllegalTransition, InvalidInput, NotAllowed, NotFound
from bot.domain.incident import Role
from bot.domain.message_size import ALERT_LIMIT, cut, short_name
from bot.i18n import locale_of
from bot.services import Person, Services
from handlers.callbacks import CardCb, LangCb
from handlers.keyboards import language_keyboard
from handlers.render import event_label, moment

log = logging.getLogger(__name__)
# Refusals Telegram gives about a chat or about pace (a blocked user, a 429 past the path's retries, a group that
# moved): logged as one line without a traceback, like the outbox's own (README «Health and metrics»).
EXPECTED = (TelegramForbiddenError, TelegramRetryAfter, TelegramMigrateToChat)


def unknown_user_text() -> str:
    """The one sentence a stranger gets: the bot is for the administration's staff, invited by a link."""
    return _("This bot serves the staff of the administration. Ask your administrator for an invitation link.")


def help_text(person: Person) -> str:
    """What the bot does for each of the person's roles, and the commands."""
    lines = [_("Otklik: answers to messages from open sources, on time."), ""]
    if person.has(Role.curator):
        lines += [
            _("Curator:"),
            _("• forward a post or send a link with its text (and photos) — I register an incident;"),
            _("• route it, approve or return drafts, record the author's replies, publish where you publish."),
        ]
    if person.departments:
        lines += [
            _("Executor:"),
            _("• new incidents of your department come as cards: accept, or return as not your competence;"),
            _("• write the answer, an intermediate answer or a clarification request; publish and send the link."),
        ]
    if person.responsible_for:
        lines += [_("Responsible official: you see the department's queue and hand incidents to executors.")]
    if person.has(Role.external_approver):
        lines += [_("Regional centre: drafts for the second approval come to you.")]
    if person.has(Role.head):
        lines += [_("Head: you see every incident and the overdue ones.")]
    if person.has(Role.admin):
        lines += [_("Administrator: /invite creates an invitation link for a role and a department.")]
    if person.has(Role.admin) or person.responsible_for:
        lines += [_("/absence — absences (vacation, sick leave) and who stands in meanwhile.")]
        lines += [_("/templates — answer templates per topic, which executors start drafts from.")]
    lines += [
        "",
        _("/queue — your queues; /incident 12 — incident No. 12; /lang — language; /cancel — stop a dialog."),
    ]
    return "\n".join(lines)


def invite_error_text(exc: DomainError) -> str:
    """Why an invitation link did not work: unknown, used or expired."""
    return {
        "invite_unknown": _("This invitation link is not valid. Ask your administrator for a new one."),
        "invite_used": _("This invitation link has already been used. Ask your administrator for a new one."),
        "invite_expired": _("This invitation link has expired. Ask your administrator for a new one."),
    }.get(exc.key, _("This invitation link is not valid. Ask your administrator for a new one."))


def error_text(exc: DomainError) -> str:
    """A polite sentence for every refusal of the rules; nothing was changed."""
    texts = {
        "role_required": _("Your role does not allow this."),
        "not_allowed": _("You cannot do this with this incident."),
        "not_executor": _("Only executors of the department can do this."),
        "not_your_department": _("This incident is not routed to your department."),
        "not_responsible": _("Only the department's responsible official hands incidents to executors."),
        "not_publisher": _("The answering department publishes this answer."),
        "not_consolidator": _("Another department writes the joint answer."),
        "not_last": _("The last department in the order writes the joint answer."),
        "not_your_turn": _("The previous department has not given its part yet."),
        "no_consolidator": _("The curator has not yet chosen who writes the joint answer."),
        "already_returned": _("Your department has already returned this incident."),
        "draft_exists": _("Your department has already submitted a draft; it cannot be returned now."),
        "closed": _("The incident is closed."),
        "unchanged": _("Nothing to change."),
        "empty_text": _("The text is empty. Send the text of the answer."),
        "long_text": _("The text is too long for an answer in a social network (over {limit} characters)."),
        "empty_reason": _("The reason is empty. Write the reason in a message."),
        "long_reason": _("The reason is too long (over {limit} characters)."),
        "empty_comment": _("The comment is empty."),
        "long_comment": _("The comment is too long (over {limit} characters)."),
        "bad_url": _("This is not a link. Send the link to the published comment, starting with https://"),
        "no_department": _("Choose at least one department."),
        "mode_needed": _("Several departments need a joint or split mode."),
        "split_parts": _("A split needs two or more different departments."),
        "no_reason": _("Choose at least one reason."),
        "other_needs_comment": _("The reason «other» needs a comment."),
        "final_only": _("After an intermediate answer only the final answer is due."),
        "last_writes_answer": _("Your department is the last in the order: write the joint answer itself."),
        "duplicate_source": _("This post is already a source of the incident."),
        "no_source": _("An incident needs a post: a link or a text."),
        "empty_source": _("An incident needs a post: a link or a text."),
        "long_source": _("The post's text is too long."),
        "bad_character": _("The text contains a character that cannot be saved (a NUL or a broken one): remove it."),
        "department_needed": _("Choose the department for this role."),
        "not_joint": _("This is not a joint answer of several departments."),
        "stale_draft": _("This button belongs to an earlier draft; the card is refreshed."),
        "not_found": _("No such incident, or it is not routed to your department."),
        "concurrent_update": _("Someone changed this incident at the same moment. Look at the refreshed card."),
        "bad_locale": _("Choose Russian or English."),
        "bad_queue": _("No such queue."),
        "stale_button": _("This button is no longer valid."),
        "already_done": _("This action was already taken."),
        "detected_in_future": _("The moment of detection cannot be in the future."),
        "unknown_department": _("There is no such department in this incident."),
        "use_split": _("To split a message between departments, choose «Split»."),
        "bad_period": _("Write the period as dates: 01.12.2026–05.12.2026, or one date for a single day."),
        "bad_date": _("There is no such date: {date}."),
        "period_order": _("The period ends before it starts."),
        "period_past": _("This period is already over."),
        "period_long": _("An absence cannot be longer than a year."),
        "self_substitute": _("A person cannot stand in for themselves."),
        "person_inactive": _("This person no longer works with the bot."),
        "person_gone": _("There is no such person."),
        "not_your_people": _("You record absences only of your department's people."),
        "absence_overlaps": _("This person already has an absence recorded in that period."),
        "substitute_absent": _("The substitute is away in that period themselves."),
        "absent_substitutes": _("In that period this person stands in for someone else; change that absence first."),
        "absence_gone": _("This absence is no longer recorded."),
        "templates_role": _("Only administrators and responsible officials keep answer templates."),
        "template_gone": _("There is no such template (it may have been deleted)."),
        "empty_template": _("Send the template as a title on the first line and its text below it."),
        "long_template": _("The template is too long (over {limit} characters)."),
    }
    text = texts.get(exc.key)
    if text is None:
        if isinstance(exc, NotAllowed):
            text = _("You cannot do this with this incident.")
        elif isinstance(exc, IllegalTransition):
            text = _("This action is no longer possible: the incident has moved on.")
        elif isinstance(exc, InvalidInput):
            text = _("This input cannot be used.")
        elif isinstance(exc, NotFound):
            text = _("Nothing found.")
        else:
            text = _("This action is not possible now.")
    return text.format(**exc.params) if exc.params else text


async def start(
    message: Message, command: CommandObject, person: Person | None, services: Services, state: FSMContext
) -> None:
    """/start: with an invitation code the person joins in its role; without, what the bot does for them."""
    code = (command.args or "").strip()
    user = message.from_user
    if code and user is not None:
        locale = person.locale if person else locale_of(user.language_code)
        try:
            person = await services.join(code, user.id, user.full_name, user.username, locale)
        except DomainError as exc:
            await message.answer(invite_error_text(exc))
            return
        await state.clear()
        await message.answer(_("Welcome, {name}! Your access is set up.").format(name=person.full_name))
        await message.answer(help_text(person))
        return
    if person is None:
        await message.answer(unknown_user_text())
        return
    await message.answer(help_text(person))


async def help_(message: Message, person: Person | None) -> None:
    """/help: what the bot does for the person's roles."""
    await message.answer(help_text(person) if person else unknown_user_text())


async def lang(message: Message) -> None:
    """/lang: Russian or English."""
    await message.answer(_("Choose the language:"), reply_markup=language_keyboard())


async def set_lang(
    callback: CallbackQuery, callback_data: LangCb, person: Person | None, services: Services, i18n: I18n
) -> None:
    """A language chosen: it is kept, and said in the new language."""
    if person is None:
        await callback.answer(unknown_user_text(), show_alert=True)
        return
    locale = callback_data.locale.value
    await services.set_locale(person, locale)
    with i18n.use_locale(locale):
        text = _("Language: English.") if locale == "en" else _("Language: Russian.")
        await callback.answer(text)
        if callback.message is not None and isinstance(callback.message, Message):
            await callback.message.edit_text(text)


async def group_moved(message: Message, services: Services) -> None:
    """Telegram upgraded a group to a supergroup: the old group's last word is the new id."""
    assert message.migrate_to_chat_id is not None
    await _follow(services, message.chat.id, message.migrate_to_chat_id)


async def group_arrived(message: Message, services: Services) -> None:
    """... and the supergroup's first message names the old one."""
    assert message.migrate_from_chat_id is not None
    await _follow(services, message.migrate_from_chat_id, message.chat.id)


async def cancel(message: Message, state: FSMContext) -> None:
    """/cancel: any dialog ends, nothing changed."""
    await state.clear()
    await message.answer(_("Cancelled. Nothing was changed."))


def build_router() -> Router:
    """A fresh router with /start, /help, /lang, /cancel and a group's move to a supergroup."""
    router = Router(name=__name__)
    router.message.register(start, CommandStart())
    router.message.register(help_, Command("help"))
    router.message.register(lang, Command("lang"))
    router.callback_query.register(set_lang, LangCb.filter())
    router.message.register(group_moved, F.migrate_to_chat_id)
    router.message.register(group_arrived, F.migrate_from_chat_id)
    router.message.register(cancel, Command("cancel"))
    return router


async def _follow(services: Services, old_chat_id: int, new_chat_id: int) -> None:
    """Notices and cards of the old group go to the new supergroup."""
    moved = await follow_migration(services.sessions, services.clock, old_chat_id, new_chat_id)
    if moved.first:
        log.info("group %s became supergroup %s: %d notices re-targeted", old_chat_id, new_chat_id, moved.resent)
    services.outbox_ready.set()


async def stale_button(callback: CallbackQuery) -> None:
    """A button no handler takes — forged, or drawn by an older version: the error handler refuses it."""
    raise InvalidInput("unknown button", key="stale_button")


async def unknown_message(message: Message, person: Person | None) -> None:
    """A private message nobody understood: what the person can do instead."""
    if person is None:
        await message.answer(unknown_user_text())
    elif person.has(Role.curator):
        await message.answer(
            _(
                "I did not understand. Forward a post or send a link with its text to register an incident; "
                "/help lists the commands."
            )
        )
    else:
        await message.answer(_("I did not understand. /queue shows your incidents; /help lists the commands."))


def build_fallback_router() -> Router:
    """Last in line: anything no other handler took gets a clear answer and changes nothing."""
    router = Router(name=f"{__name__}.fallback")
    router.callback_query.register(stale_button)
    router.message.register(unknown_message, F.chat.type == "private")
    return router


async def on_error(event: ErrorEvent, services: Services, i18n: I18n, bot: Bot) -> bool:
    """One place turns refusals into polite answers; a stale button says who did what, and when.

    Errors are handled outside the middlewares that set the language: set it here again.
    """
    user = getattr(event.update.event, "from_user", None)
    person = await services.identify(user.id) if user is not None else None
    locale = person.locale if person is not None else locale_of(user.language_code if user else None)
    with i18n.context(), i18n.use_locale(locale):
        return await _answer_error(event, services)


async def _answer_error(event: ErrorEvent, services: Services) -> bool:
    exc = event.exception
    update = event.update
    if isinstance(exc, EXPECTED):
        # Telegram's word about a chat or about pace, not a bug: one line, no traceback.
        name, at = type(exc).__name__, {"update_id": update.update_id}
        log.warning("update %s: Telegram refused the reply: %s: %s", update.update_id, name, exc, extra=at)
        if isinstance(exc, TelegramForbiddenError):
            return True  # blocked, or removed from the group: an apology would meet the same refusal
        text = _("Something went wrong on our side; nothing was changed. Please try again.")
    elif not isinstance(exc, DomainError):
        log.exception("unexpected error in update %s", update.update_id, exc_info=exc)
        text = _("Something went wrong on our side; nothing was changed. Please try again.")
    else:
        text = error_text(exc)
        callback = update.callback_query
        if callback is not None and isinstance(exc, IllegalTransition | ConcurrentUpdate) and callback.data:
            text = await _who_did_it(services, callback.data, text)
    if update.callback_query is not None:
        with contextlib.suppress(TelegramBadRequest):
            await update.callback_query.answer(cut(text, ALERT_LIMIT), show_alert=True)  # a long name: no refusal
    elif update.message is not None:
        await update.message.answer(text)
    return True


async def _who_did_it(services: Services, data: str, fallback: str) -> str:
    try:
        incident_id = CardCb.unpack(data).incident_id
    except (TypeError, ValueError):
        return fallback
    history = await services.history(incident_id)
    if not history:
        return fallback
    last = history[-1]
    names = await services.user_names([last.actor_id] if last.actor_id else [])
    locale = get_i18n().current_locale
    return _("Already done: {who} {what}, {when}.").format(
        who=short_name(names.get(last.actor_id or 0, _("someone"))),  # the alert holds 200 units
        what=event_label(last.name),
        when=moment(services, last.at, locale),
    )


async def set_commands(bot: Bot, i18n: I18n) -> None:
    """The command menu in each language (setMyCommands per language code)."""
    for locale in ("ru", "en"):
        with i18n.use_locale(locale):
            commands = [
                BotCommand(command="queue", description=_("my incidents and queues")),
                BotCommand(command="incident", description=_("an incident by its number")),
                BotCommand(command="help", description=_("what I can do for you")),
                BotCommand(command="lang", description=_("language")),
                BotCommand(command="cancel", description=_("stop the current dialog")),
                BotCommand(command="invite", description=_("invitation link (administrators)")),
                BotCommand(command="absence", description=_("absences and substitutes")),
            ]
        await bot.set_my_commands(commands, scope=BotCommandScopeDefault(), language_code=locale)
        if locale == "ru":
            await bot.set_my_commands(commands, scope=BotCommandScopeDefault())
