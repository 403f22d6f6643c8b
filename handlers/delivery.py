"""Turns an outbox row into Telegram messages (an incident card or a short text), paced by the sender.

A text row: ``{"kind": "text", "key": ..., "params": {...}, "locale": "ru"}`` (``locale`` optional: the
recipient's language is looked up when it is missing)."""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

from aiogram import Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import (
    CopyMessage,
    ForwardMessage,
    SendAnimation,
    SendAudio,
    SendDocument,
    SendMediaGroup,
    SendMessage,
    SendPhoto,
    SendSticker,
    SendVideo,
    SendVoice,
    TelegramMethod,
)
from aiogram.methods.base import Response, TelegramType
from aiogram.utils.i18n import I18n

from bot.i18n import N_, format_day, translate
from bot.message_size import join_within
from bot.outbox import DELIVERY_FAILED, Deliver, DeliveryError, current_pacing
from bot.services import Services
from handlers.render import send_attachments, send_long, show_card, with_locale
from storage.repositories import OutboxMessage

log = logging.getLogger(__name__)

SOURCE_NOTES = ("routed", "rerouted", "split_from", "executor_assigned", "consolidator_designated")
DRAFT_NOTES = ("draft_submitted", "sent_to_external_approval", "approved")

# Calls that put a new message into a chat: the ones Telegram's flood limits count. Edits are not paced.
_SENDING = (
    SendMessage,
    SendPhoto,
    SendVideo,
    SendDocument,
    SendAnimation,
    SendAudio,
    SendVoice,
    SendSticker,
    CopyMessage,
    ForwardMessage,
)

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
FAILURE_REASONS = {
    "blocked": N_("they blocked the bot"),
    "deactivated": N_("their Telegram account is deleted"),
    "chat_not_found": N_("Telegram does not know this chat"),
    "other": N_("Telegram refused it ({error})"),
}


class PacingMiddleware(BaseRequestMiddleware):
    """Every message the sender's deliveries send waits for Telegram's limits; a 429 inside a row that already
    sent part of itself is waited out and repeated. Calls outside a delivery (handlers) pass untouched."""

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        pacing = current_pacing()
        if pacing is None:
            return await make_request(bot, method)
        if isinstance(method, SendMediaGroup):
            amount = len(method.media)
        elif isinstance(method, _SENDING):
            amount = 1
        else:
            return await make_request(bot, method)
        while True:
            await pacing.before_send(amount)
            try:
                response = await make_request(bot, method)
            except TelegramRetryAfter as exc:
                if pacing.flooded(exc.retry_after):
                    continue
                raise
            pacing.sent()
            return response


def install_pacing(bot: Bot) -> None:
    if not any(isinstance(m, PacingMiddleware) for m in bot.session.middleware):
        bot.session.middleware(PacingMiddleware())


def render_text(locale: str, payload: dict[str, Any]) -> str:
    """A text row in the recipient's language; an unknown key is a programming error (permanent)."""
    key = payload.get("key")
    params = dict(payload.get("params") or {})
    if key not in TEXTS:
        raise DeliveryError(f"unknown text key {key!r}", permanent=True)
    if key == DELIVERY_FAILED:
        reason = FAILURE_REASONS.get(str(params.get("reason")), FAILURE_REASONS["other"])
        params["reason"] = translate(locale, reason, error=params.get("error") or "?")
    if key == "digest":
        day = format_day(date.fromisoformat(str(params["date"])), locale) if params.get("date") else ""
        lines = [translate(locale, TEXTS["digest"], date=day)]
        for name, template in DIGEST_LINES.items():
            numbers = params.get(name) or []
            if numbers:
                # Hundreds of numbers would not fit one message: the first ones, then how many more.
                shown = join_within([f"№ {n}" for n in numbers], DIGEST_LINE_LIMIT, lambda k: f" (+{k}: /queue)")
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
    template = (
        TEXTS[key] if key != DELIVERY_FAILED or params.get("incident") is not None else (TEXTS_WITHOUT_INCIDENT[key])
    )
    try:
        return translate(locale, template, **params)
    except (KeyError, IndexError) as exc:
        raise DeliveryError(f"text {key!r} lacks parameter {exc}", permanent=True) from exc


def classify(exc: Exception) -> DeliveryError:
    """aiogram's error as the sender sees it: wait, retry later, or give up and tell the curator."""
    if isinstance(exc, TelegramRetryAfter):
        return DeliveryError("flood control", retry_after=exc.retry_after)
    if isinstance(exc, TelegramForbiddenError):
        text = exc.message.lower()
        cause = "blocked" if "blocked" in text else "deactivated" if "deactivated" in text else None
        return DeliveryError(f"forbidden: {exc.message}", permanent=True, cause=cause)
    if isinstance(exc, TelegramBadRequest):
        # A 400 never succeeds on retry (the same request gets the same answer).
        text = exc.message.lower()
        cause = "chat_not_found" if "chat not found" in text or "user not found" in text else None
        cause = "deactivated" if "deactivated" in text else cause
        return DeliveryError(f"bad request: {exc.message}", permanent=True, cause=cause)
    if isinstance(exc, TelegramServerError | TelegramNetworkError):
        return DeliveryError(f"network: {exc}")
    return DeliveryError(f"telegram: {exc!r}")


def make_deliver(bot: Bot, services: Services, i18n: I18n, default_locale: str = "ru") -> Deliver:
    install_pacing(bot)

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
            elif payload.get("kind") == "report" and isinstance(payload.get("month"), str):
                from bot.report import parse_month
                from handlers.report import send_report

                viewer = await services.identify(message.chat_id)
                locale = viewer.locale if viewer is not None else default_locale
                await send_report(bot, services, message.chat_id, parse_month(payload["month"]), None, locale)
            else:
                raise DeliveryError(f"unknown outbox payload {payload!r}", permanent=True)
        except TelegramAPIError as exc:  # network errors included; anything else is a bug, retried and logged
            raise classify(exc) from exc

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
