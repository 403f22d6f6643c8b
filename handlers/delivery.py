"""Turns an outbox row into Telegram messages (an incident card, a report or a short text); every call goes
the bot's one path (``handlers.calls``), paced and recorded part by part for the sender.

A text row: ``{"kind": "text", "key": ..., "params": {...}, "locale": "ru"}`` (``locale`` optional: the
recipient's language is looked up when it is missing)."""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.utils.i18n import I18n

from bot.bursts import BURST
from bot.chats import CHAT_MIGRATED
from bot.domain.errors import DomainError
from bot.domain.message_size import join_within
from bot.flood import FLOOD_SKIPPED, FloodLimits
from bot.i18n import N_, format_day, incident_number, translate, translate_plural
from bot.outbox import DELIVERY_FAILED, Deliver, DeliveryError, OutboxMessage
from bot.services import Services
from handlers.calls import install_calls
from handlers.keyboards import open_queue_keyboard
from handlers.render import with_locale
from handlers.sending import send_attachments, send_long, show_card

log = logging.getLogger(__name__)

SOURCE_NOTES = ("routed", "rerouted", "split_from", "executor_assigned", "consolidator_designated")
DRAFT_NOTES = ("draft_submitted", "sent_to_external_approval", "approved")

# `{"kind": "text", "key": ..., "params": {...}}` rows: English msgids, translated for the recipient.
TEXTS = {
    DELIVERY_FAILED: N_("⚠️ Could not deliver the notification about incident No. {incident} to {recipient}: {reason}."),
}
TEXTS["surge"] = N_(
    "⚠️ Surge of activity: {count} incidents on one topic, «{name}», within {minutes} minutes "
    "(the latest is No. {number})."
)
TEXTS["surge_location"] = N_(
    "⚠️ Surge of activity: {count} incidents in one location, «{name}», within {minutes} "
    "minutes (the latest is No. {number})."
)
TEXTS["digest"] = N_("Good morning! Incidents for {date}:")
TEXTS["absence_substitute"] = N_(
    "{name} is away from {first} to {last}. Meanwhile you stand in: their notifications come to you, "
    "and you can act on their department's incidents."
)
TEXTS["absence_recorded"] = N_(
    "Your absence from {first} to {last} is recorded. Meanwhile {substitute} stands in for you and "
    "receives your notifications."
)
TEXTS["absence_cancelled"] = N_(
    "The absence of {name} from {first} to {last} is cancelled: you no longer stand in for them."
)
TEXTS["calendar_provisional"] = N_(
    "⚠️ Open deadlines run into {year}, whose production calendar is provisional: the government's decree on "
    "the transfer of days off in {year} is not yet known. Until it is, holidays that fall on a weekend move "
    "to the next working day (Labour Code art. 112), the January holidays do not. When the decree is "
    "published, enter its transfers under [organisation.calendar] decrees in the config, or update the "
    "holidays package, and restart the bot."
)
ABSENCE_DAYS = ("first", "last")  # ISO dates in the row, written out in the recipient's language
DIGEST_LINE_LIMIT = 1200  # units of one digest line's numbers: three lines and the greeting fit one message
DIGEST_LINES = {
    "due_today": N_("Answer due today: {numbers}"),
    "overdue": N_("Overdue: {numbers}"),
    "approval": N_("Waiting for approval: {numbers}"),
}
TEXTS_WITHOUT_INCIDENT = {
    DELIVERY_FAILED: N_("⚠️ Could not deliver a notification to {recipient}: {reason}."),
}
# Why a notice could not be delivered (bot.chats.CAUSES), and what the administrator or curator can do about it.
FAILURE_REASONS = {
    "blocked": N_("they blocked the bot"),
    "deactivated": N_("their Telegram account is deleted"),
    "not_started": N_("they have not started the bot"),
    "chat_not_found": N_("Telegram does not know this chat"),
    "kicked": N_("the bot was removed from the group"),
    "no_rights": N_("the bot may not write in that chat"),
    "migrated": N_("the group became a supergroup with a new id"),
    "other": N_("Telegram refused it ({error})"),
}
DEPARTMENT_CHAT = N_("the group chat of department «{name}»")
# bot.chats.tell_undeliverable tells each person about one unreachable chat once a day.
ONCE_A_DAY = N_("Further notifications that cannot be delivered to this recipient today are not reported separately.")
ADVICE = {
    ("person", "blocked"): N_(
        "Ask them to unblock the bot (open the chat with it and press «Restart»); until then they get no notifications."
    ),
    ("person", "deactivated"): N_(
        "Hand their incidents to a colleague: the department's responsible official can do it from the card."
    ),
    ("person", "not_started"): N_("Ask them to open the bot and press «Start»."),
    ("person", "chat_not_found"): N_("Ask them to open the bot and press «Start»."),
    ("department", "kicked"): N_(
        "Add the bot to the group again, or remove the department's chat_id from the config so that its "
        "members get notifications in private chats."
    ),
    ("department", "chat_not_found"): N_(
        "Check the department's chat_id in the config and that the bot is a member of that group."
    ),
    ("department", "no_rights"): N_(
        "Allow the bot to send messages in that group (make it an administrator or lift the restriction)."
    ),
    ("department", "migrated"): N_("Put the group's new id as the department's chat_id in the config."),
}
TEXTS[CHAT_MIGRATED] = N_(
    "ℹ️ Telegram upgraded the group chat of {departments} to a supergroup: its id changed from {old} to {new}. "
    "The bot now writes there and has sent again what was waiting. Put chat_id = {new} in the config."
)
TEXTS[FLOOD_SKIPPED] = N_("⚠️ Messages came faster than I can handle them. Skipped: {count}.")
FLOOD_MORE = N_("… and {count} more.")
FLOOD_AGAIN = N_(
    "Please send again what was skipped, one message at a time: I take up to {burst} messages at once, "
    "then one a second."
)


def render_text(locale: str, payload: dict[str, Any]) -> str:
    """A text row in the recipient's language; an unknown key is a programming error (permanent)."""
    key = payload.get("key")
    params = dict(payload.get("params") or {})
    if key not in TEXTS:
        raise DeliveryError(f"unknown text key {key!r}", permanent=True)
    if key == DELIVERY_FAILED:
        return _failure_text(locale, params)
    if key == FLOOD_SKIPPED:
        return _flood_text(locale, params)
    if key == "digest":
        day = format_day(date.fromisoformat(str(params["date"])), locale) if params.get("date") else ""
        lines = [translate(locale, TEXTS["digest"], date=day)]
        for name, template in DIGEST_LINES.items():
            numbers = params.get(name) or []
            if numbers:
                # Hundreds of numbers would not fit one message: the first ones, then how many more.
                shown = join_within(
                    [incident_number(locale, n) for n in numbers], DIGEST_LINE_LIMIT, lambda k: f" (+{k}: /queue)"
                )
                lines.append(translate(locale, template, numbers=shown))
        if len(lines) == 1:
            lines.append(translate(locale, N_("Nothing is due today, nothing is overdue.")))
        return "\n".join(lines)
    if key.startswith("absence_"):
        try:
            params.update({name: format_day(date.fromisoformat(str(params[name])), locale) for name in ABSENCE_DAYS})
        except (KeyError, ValueError) as exc:
            raise DeliveryError(f"text {key!r} has a bad date: {exc}", permanent=True) from exc
    if key == "surge" and params.get("what") == "location":
        key = "surge_location"
    return _translate(locale, key, TEXTS[key], params)


def render_burst(locale: str, payload: dict[str, Any]) -> str:
    """A burst summary (``bot.bursts``): how many new incidents, their numbers, and where their cards are."""
    try:
        count, first, last = int(payload["count"]), int(payload["first"]), int(payload["last"])
    except (KeyError, TypeError, ValueError) as exc:
        raise DeliveryError(f"burst summary without its numbers: {exc}", permanent=True) from exc
    head = translate_plural(
        locale,
        "{n} new incident has arrived (No. {first}–{last}).",
        "{n} new incidents have arrived (No. {first}–{last}).",
        count,
        first=first,
        last=last,
    )
    where = translate(locale, BURST_WHERE, first=first)
    return f"{head}\n{where}"


BURST_WHERE = N_("Their cards are in the queue (/queue, the button below); any one by its number: /incident {first}.")


def _failure_text(locale: str, params: dict[str, Any]) -> str:
    """ "Could not deliver": whom (a person by name, a department by its group chat), why, and what to do."""
    cause = str(params.get("reason"))
    kind = str(params.get("kind") or "person")
    reason = FAILURE_REASONS.get(cause, FAILURE_REASONS["other"])
    params["reason"] = translate(locale, reason, error=params.get("error") or "?")
    if kind == "department":
        params["recipient"] = translate(locale, DEPARTMENT_CHAT, name=params.get("recipient", "?"))
    template = TEXTS[DELIVERY_FAILED] if params.get("incident") is not None else TEXTS_WITHOUT_INCIDENT[DELIVERY_FAILED]
    text = _translate(locale, DELIVERY_FAILED, template, params)
    advice = ADVICE.get((kind, cause))
    lines = [text, *([translate(locale, advice)] if advice is not None else []), translate(locale, ONCE_A_DAY)]
    return "\n".join(lines)


def _flood_text(locale: str, params: dict[str, Any]) -> str:
    """The one notice about a flood (bot.flood): how many messages were skipped, which, and what to do."""
    count = int(params.get("count") or 0)
    quoted = [str(text) for text in params.get("skipped") or []]
    lines = [_translate(locale, FLOOD_SKIPPED, TEXTS[FLOOD_SKIPPED], {"count": count})]
    lines += [f"• «{text}»" for text in quoted]
    if count > len(quoted):
        lines.append(translate(locale, FLOOD_MORE, count=count - len(quoted)))
    lines.append(translate(locale, FLOOD_AGAIN, burst=params.get("burst") or FloodLimits().burst))
    return "\n".join(lines)


def _translate(locale: str, key: str, template: str, params: dict[str, Any]) -> str:
    try:
        return translate(locale, template, **params)
    except (KeyError, IndexError) as exc:
        raise DeliveryError(f"text {key!r} lacks parameter {exc}", permanent=True) from exc


def classify(exc: Exception) -> DeliveryError:
    """aiogram's error as the sender sees it: wait, retry later, or give up and tell administrators and curators.

    The causes are read from Telegram's descriptions (Bot API error texts such as "Forbidden: bot was blocked
    by the user", "Forbidden: bot was kicked from the supergroup chat", "Bad Request: chat not found")."""
    if isinstance(exc, TelegramRetryAfter):
        return DeliveryError("flood control", retry_after=exc.retry_after)
    if isinstance(exc, TelegramMigrateToChat):  # only when the move could not be followed (handlers.calls)
        return DeliveryError(f"moved: {exc.message}", permanent=True, cause="migrated")
    if isinstance(exc, TelegramForbiddenError):
        return DeliveryError(f"forbidden: {exc.message}", permanent=True, cause=_cause(exc.message))
    if isinstance(exc, TelegramBadRequest):
        # A 400 never succeeds on retry (the same request gets the same answer).
        return DeliveryError(f"bad request: {exc.message}", permanent=True, cause=_cause(exc.message))
    if isinstance(exc, TelegramEntityTooLarge):
        return DeliveryError(f"too large: {exc.message}", permanent=True)
    if isinstance(exc, TelegramServerError | TelegramNetworkError):
        return DeliveryError(f"network: {exc}")
    return DeliveryError(f"telegram: {exc!r}")


def _cause(description: str) -> str | None:
    text = description.lower()
    causes = (
        ("blocked", "blocked"),
        ("deactivated", "deactivated"),
        ("initiate conversation", "not_started"),
        ("kicked", "kicked"),
        ("not a member", "kicked"),
        ("chat not found", "chat_not_found"),
        ("user not found", "chat_not_found"),
        ("rights", "no_rights"),
        ("upgraded to a supergroup", "migrated"),
    )
    return next((cause for words, cause in causes if words in text), None)


def make_deliver(bot: Bot, services: Services, i18n: I18n, default_locale: str = "ru") -> Deliver:
    """The sender's deliverer for this bot: the bot's calls go the one path (installed here if missing)."""
    install_calls(bot)

    async def deliver(message: OutboxMessage) -> None:
        payload = message.payload
        try:
            if payload.get("kind") == "text":
                locale = payload.get("locale")
                if not isinstance(locale, str):
                    viewer = await services.identify(message.chat_id) if message.chat_id > 0 else None
                    locale = viewer.locale if viewer is not None else default_locale
                await send_long(bot, message.chat_id, render_text(locale, payload))
            elif payload.get("kind") == "card" and isinstance(payload.get("incident_id"), int):
                await deliver_card(message)
            elif payload.get("kind") == BURST:
                viewer = await services.identify(message.chat_id)
                locale = viewer.locale if viewer is not None else default_locale
                text = render_burst(locale, payload)
                with with_locale(i18n, locale):
                    markup = open_queue_keyboard()
                await send_long(bot, message.chat_id, text, reply_markup=markup)
            elif payload.get("kind") == "report" and isinstance(payload.get("month"), str):
                await deliver_report(message)
            else:
                raise DeliveryError(f"unknown outbox payload {payload!r}", permanent=True)
        except TelegramAPIError as exc:  # network errors included; anything else is a bug, retried and logged
            raise classify(exc) from exc

    async def deliver_report(message: OutboxMessage) -> None:
        """A report requested by /report or sent monthly (bot.report_jobs): built here, outside the update path."""
        from bot.report import parse_month
        from handlers.report import send_report

        payload = message.payload
        locale = payload.get("locale")
        if not isinstance(locale, str):
            viewer = await services.identify(message.chat_id)
            locale = viewer.locale if viewer is not None else default_locale
        scope = payload.get("scope")
        try:
            month = parse_month(payload["month"])
            await send_report(bot, services, message.chat_id, month, scope if isinstance(scope, int) else None, locale)
        except DomainError as exc:  # a department removed since the request: the same answer every time
            raise DeliveryError(f"report {payload!r}: {exc}", permanent=True) from exc

    async def deliver_card(message: OutboxMessage) -> None:
        payload = message.payload
        if payload.get("refresh") and (
            await services.card_message(message.chat_id, payload["incident_id"]) is None
            or await services.card_is_current(message.chat_id, payload["incident_id"], int(payload.get("version", 0)))
        ):
            # The actor's own card: redrawn only if the handler died before drawing it (never a second
            # card, and never over a keyboard the person opened on it since).
            return
        if payload.get("fresh") and await services.card_sent_by(message.chat_id, payload["incident_id"], message.id):
            return  # this row sent its card before a crash kept it from being marked sent
        incident = await services.get(payload["incident_id"])
        directory = await services.directory()
        group = next((d.id for d in directory.departments if d.chat_id == message.chat_id), None)
        viewer = None if group is not None else await services.identify(message.chat_id)
        locale = viewer.locale if viewer is not None else default_locale
        fresh = bool(payload.get("fresh"))
        note = payload.get("note")
        with with_locale(i18n, locale):
            if fresh and note in SOURCE_NOTES:
                for source in incident.sources:
                    await send_attachments(bot, message.chat_id, source.attachments)
            draft = incident.current_draft()
            if fresh and note in DRAFT_NOTES and draft is not None:
                await send_attachments(bot, message.chat_id, draft.attachments)
            await show_card(
                bot,
                services,
                message.chat_id,
                incident,
                viewer,
                locale,
                note=note,
                fresh=fresh,
                group_department=group,
                outbox_id=message.id,
            )

    return deliver
