"""How an incident looks in Telegram: the card's text, its buttons, and sending within Telegram's limits.

Texts go through gettext; the caller sets the locale (handlers via middleware, the sender explicitly).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from datetime import datetime

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaDocument,
    InputMediaPhoto,
    InputMediaVideo,
    Message,
)
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.i18n import format_left, format_moment
from bot.incident import (
    AssignmentState,
    Attachment,
    DeadlineKind,
    DraftKind,
    DraftStatus,
    Importance,
    Incident,
    Kind,
    Network,
    ReturnReason,
    State,
)
from bot.services import Directory, Person, Services
from bot.workflow import Action
from handlers.callbacks import CardCb

log = logging.getLogger(__name__)

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
POST_EXCERPT = 1200  # the post's text on a card; the whole text is one tap away ("Полный текст")


def state_label(state: State) -> str:
    return {
        State.detected: _("registered, not routed"),
        State.routed: _("routed, waiting to be accepted"),
        State.returned: _("returned by the department, to be re-routed"),
        State.in_work: _("in work"),
        State.clarification: _("waiting for the author's clarification (clock paused)"),
        State.on_approval: _("draft on approval"),
        State.on_external_approval: _("draft on approval at the regional centre"),
        State.approved: _("approved, to be published"),
        State.awaiting_final: _("intermediate answer published, final answer due"),
        State.published: _("answer published"),
        State.not_processable: _("closed: not processable"),
        State.split: _("split between departments"),
    }[state]


def network_label(network: Network) -> str:
    return {
        Network.vk: _("VKontakte"),
        Network.ok: _("Odnoklassniki"),
        Network.telegram: _("Telegram"),
        Network.instagram: _("Instagram"),
        Network.facebook: _("Facebook"),
        Network.twitter: _("Twitter"),
        Network.site: _("website"),
        Network.messenger: _("messenger"),
        Network.other: _("other source"),
    }[network]


def importance_label(importance: Importance) -> str:
    return _("high importance") if importance is Importance.high else _("normal importance")


def kind_label(kind: Kind) -> str:
    return _("incident (monitoring)") if kind is Kind.incident else _("publication found by the administration")


def draft_kind_label(kind: DraftKind) -> str:
    return {
        DraftKind.answer: _("answer"),
        DraftKind.intermediate: _("intermediate answer"),
        DraftKind.clarification: _("clarification request to the author"),
        DraftKind.contribution: _("contribution to the joint answer"),
    }[kind]


def reason_label(reason: ReturnReason) -> str:
    return {
        ReturnReason.not_on_merits: _("does not answer the question on the merits"),
        ReturnReason.no_date: _("no date by which the problem will be solved"),
        ReturnReason.no_evidence: _("no photo, video or act where work is claimed done"),
        ReturnReason.wrong_format: _("wrong format for the network: officialese, references, abbreviations"),
        ReturnReason.personal_data: _("personal data of third parties"),
        ReturnReason.redirects: _("redirects to another body"),
        ReturnReason.spelling: _("spelling or punctuation errors"),
        ReturnReason.other: _("other"),
    }[reason]


def deadline_label(kind: DeadlineKind) -> str:
    return {
        DeadlineKind.routing: _("Routing due"),
        DeadlineKind.reroute: _("Re-routing due"),
        DeadlineKind.answer: _("Answer due"),
        DeadlineKind.draft: _("Draft due to the curator"),
        DeadlineKind.approval: _("Curator's decision due"),
        DeadlineKind.revision: _("Revision due"),
        DeadlineKind.publication: _("Publication due"),
        DeadlineKind.final: _("Final answer due"),
    }[kind]


def action_label(action: Action) -> str:
    return {
        Action.route: _("Route to a department"),
        Action.not_processable: _("Not processable"),
        Action.importance: _("Change importance"),
        Action.accept: _("Accept"),
        Action.not_ours: _("Not our competence"),
        Action.answer: _("Write the answer"),
        Action.intermediate: _("Intermediate answer"),
        Action.clarification: _("Ask a clarification"),
        Action.contribution: _("Add our contribution"),
        Action.designate: _("Choose who writes the joint answer"),
        Action.approve: _("Approve"),
        Action.return_draft: _("Return for revision"),
        Action.author_reply: _("Author replied"),
        Action.publish: _("Published: send the link"),
        Action.assign: _("Hand to an executor"),
    }[action]


def note_label(note: str | None) -> str | None:
    labels = {
        "registered_via": _("New incident from monitoring: check it and route it"),
        "routed": _("New incident for your department"),
        "rerouted": _("Incident re-routed to your department"),
        "split_from": _("New incident for your department (part of a split message)"),
        "returned_not_ours": _("The department returned the incident: not its competence"),
        "accepted": _("Taken into work"),
        "executor_assigned": _("The incident was handed to you"),
        "contribution_submitted": _("A department gave its part of the joint answer"),
        "consolidator_designated": _("Your department writes the joint answer"),
        "draft_submitted": _("A draft waits for your approval"),
        "sent_to_external_approval": _("A draft waits for approval by the regional centre"),
        "approved": _("The draft is approved"),
        "draft_returned": _("The draft is returned for revision"),
        "author_replied": _("The author replied to the clarification: the clock runs again"),
        "published": _("The answer is published"),
        "not_processable": _("The incident is closed as not processable"),
        "importance_changed": _("The importance was changed: deadlines recomputed"),
        "source_added": _("Another post on the same question was added"),
        "high_importance": _("Immediate report: an incident of high importance"),
        "reminder:routing_half": _("Reminder: half of the routing time has passed"),
        "reminder:routing_expiry": _("Reminder: the routing time is up"),
        "reminder:reroute_expiry": _("Reminder: the time to re-route is up"),
        "reminder:not_ours_half": _("Reminder: half of the time to return «not ours» has passed"),
        "reminder:not_ours_expiry": _("Reminder: the time to return «not ours» is up"),
        "reminder:approval_half": _("Reminder: half of the approval time has passed"),
        "reminder:approval_expiry": _("Reminder: the approval time is up"),
        "reminder:publication_half": _("Reminder: half of the publication time has passed"),
        "reminder:publication_expiry": _("Reminder: the publication time is up"),
        "reminder:contribution_expiry": _("Reminder: the time for your part of the joint answer is up"),
        "reminder:revision_expiry": _("Reminder: the revision time is up"),
        "reminder:draft_due": _("Reminder: the draft is due to the curator now"),
        "reminder:answer_1h": _("Reminder: the answer deadline is near"),
        "reminder:answer_due": _("Reminder: the answer deadline has come"),
        "reminder:answer_overdue": _("Overdue: the answer deadline has passed"),
        "reminder:final_1d": _("Reminder: the final answer's deadline is near"),
        "reminder:final_due": _("Reminder: the final answer is due now"),
        "reminder:final_overdue": _("Overdue: the final answer is late"),
    }
    return labels.get(note or "")


def event_label(name: str) -> str:
    """An audit-trail line for 'who did what' answers to stale presses."""
    labels = {
        "registered": _("registered the incident"),
        "routed": _("routed the incident"),
        "rerouted": _("re-routed the incident"),
        "split": _("split the incident"),
        "returned_not_ours": _("returned the incident as not its competence"),
        "accepted": _("accepted the incident"),
        "executor_assigned": _("handed the incident to an executor"),
        "contribution_submitted": _("gave a contribution"),
        "consolidator_designated": _("chose who writes the joint answer"),
        "draft_submitted": _("submitted a draft"),
        "sent_to_external_approval": _("sent the draft to the regional centre"),
        "approved": _("approved the draft"),
        "draft_returned": _("returned the draft for revision"),
        "author_replied": _("recorded the author's reply"),
        "published": _("published the answer"),
        "not_processable": _("closed the incident as not processable"),
        "importance_changed": _("changed the importance"),
        "source_added": _("added a source"),
    }
    return labels.get(name, name)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def card_text(
    incident: Incident,
    directory: Directory,
    services: Services,
    locale: str,
    note: str | None = None,
    names: dict[int, str] | None = None,
) -> str:
    now = services.clock.now()
    tz = services.workflow.calendar.tz
    names = names or {}
    lines: list[str] = []
    header = note_label(note)
    if header:
        lines.append(f"🔔 {header}{reminder_left(incident, note, services, locale)}")
    first = incident.sources[0]
    lines.append(
        _("Incident No. {number}").format(number=incident.id)
        + f" · {network_label(first.network)} · {importance_label(incident.importance)}"
    )
    details = []
    if incident.topic_ids:
        details.append(
            _("Topic: {topic}").format(topic=", ".join(directory.topics.get(t, "?") for t in incident.topic_ids))
        )
    if incident.location_id is not None:
        details.append(_("Location: {location}").format(location=directory.locations.get(incident.location_id, "?")))
    if incident.kind is Kind.publication:
        details.append(kind_label(incident.kind))
    if incident.repeat_of:
        details.append(
            _("Repeat of No. {number}: the answer must state measures taken").format(number=incident.repeat_of)
        )
    if details:
        lines.append(" · ".join(details))
    if first.author:
        lines.append(_("Author: {author}").format(author=first.author))
    lines.append(_("Detected: {moment}").format(moment=format_moment(incident.detected_at, tz, locale, now=now)))
    if first.url:
        lines.append(first.url)
    if first.text:
        lines.append(f"«{_cut(first.text, POST_EXCERPT)}»")
    for extra in incident.sources[1:]:
        lines.append(
            _("Also: {network} {link}").format(network=network_label(extra.network), link=extra.url or "")
            + (f" — {_cut(extra.text, 200)}" if extra.text else "")
        )
    lines.append("")
    lines.append(_("State: {state}").format(state=state_label(incident.state)))
    for a in incident.assignments:
        if a.state is AssignmentState.cancelled:
            continue
        who = names.get(a.executor_id, "") if a.executor_id else ""
        status = {
            AssignmentState.waiting: _("waits for its turn"),
            AssignmentState.routed: _("not accepted yet"),
            AssignmentState.accepted: _("accepted") + (f": {who}" if who else ""),
            AssignmentState.returned: _("returned: {reason}").format(reason=a.return_reason or ""),
            AssignmentState.contributed: _("contribution given"),
        }.get(a.state, "")
        marker = " ✍" if incident.consolidator_department_id == a.department_id else ""
        lines.append(f"• {directory.department_name(a.department_id)}{marker} — {status}")
    for kind, due in sorted(incident.deadlines.items(), key=lambda kv: kv[1]):
        left = (
            services.workflow.calendar.between(now, due) if due > now else -services.workflow.calendar.between(due, now)
        )
        lines.append(
            f"⏱ {deadline_label(kind)}: {format_moment(due, tz, locale, now=now)} ({format_left(left, locale)})"
        )
    lines += shortened_lines(incident, services, locale)
    if incident.open_pause is not None:
        lines.append(
            _("⏸ The answer clock is paused since {moment}").format(
                moment=format_moment(incident.open_pause.started_at, tz, locale, now=now)
            )
        )
    draft = incident.current_draft()
    if draft is not None:
        lines.append("")
        lines.append(
            _("Draft No. {number} ({kind}), {status}:").format(
                number=draft.number, kind=draft_kind_label(draft.kind), status=_draft_status(draft.status)
            )
        )
        lines.append(f"«{_cut(draft.text, 1500)}»")
        if draft.attachments:
            lines.append(_("Attachments: {count}").format(count=len(draft.attachments)))
        if draft.status is DraftStatus.returned:
            reasons = "; ".join(reason_label(r) for r in draft.return_reasons)
            lines.append(_("Returned: {reasons}").format(reasons=reasons))
            if draft.return_comment:
                lines.append(_("Comment: {comment}").format(comment=draft.return_comment))
        if draft.published_url:
            lines.append(_("Published: {url}").format(url=draft.published_url))
    contributions = [d for d in incident.drafts if d.kind is DraftKind.contribution]
    if contributions and incident.state in (State.routed, State.in_work, State.on_approval):
        lines.append("")
        lines.append(_("Contributions:"))
        for d in contributions:
            lines.append(f"• {directory.department_name(d.department_id)}: «{_cut(d.text, 400)}»")
    if incident.closed_reason:
        lines.append(_("Reason: {reason}").format(reason=incident.closed_reason))
    return _cut("\n".join(lines), TEXT_LIMIT)


# The incident deadline each reminder is about: its header says the working time really left until it.
REMINDER_DEADLINES = {
    "routing_half": DeadlineKind.routing,
    "routing_expiry": DeadlineKind.routing,
    "reroute_expiry": DeadlineKind.reroute,
    "approval_half": DeadlineKind.approval,
    "approval_expiry": DeadlineKind.approval,
    "publication_half": DeadlineKind.publication,
    "publication_expiry": DeadlineKind.publication,
    "revision_expiry": DeadlineKind.revision,
    "draft_due": DeadlineKind.draft,
    "answer_1h": DeadlineKind.answer,
    "answer_due": DeadlineKind.answer,
    "answer_overdue": DeadlineKind.answer,
    "final_1d": DeadlineKind.final,
    "final_due": DeadlineKind.final,
    "final_overdue": DeadlineKind.final,
}


def reminder_left(incident: Incident, note: str | None, services: Services, locale: str) -> str:
    """``" — осталось 4 минуты рабочего времени"`` after a reminder's header: the working time really left until
    the deadline it is about, at the moment the card is drawn (a mark can fire late, or a term be shorter than
    the mark's nominal hour); "" for any other note or a deadline no longer open."""
    kind = (
        REMINDER_DEADLINES.get((note or "").removeprefix("reminder:")) if (note or "").startswith("reminder:") else None
    )
    due = incident.deadlines.get(kind) if kind is not None else None
    if due is None:
        return ""
    now, cal = services.clock.now(), services.workflow.calendar
    left = cal.between(now, due) if due > now else -cal.between(due, now)
    return " — " + format_left(left, locale)


def shortened_lines(incident: Incident, services: Services, locale: str) -> list[str]:
    """One line per step window of the card cut to fit the answer deadline (README «Working time»), with the
    moment its own term would have ended."""
    now = services.clock.now()
    tz = services.workflow.calendar.tz
    return [
        _("✂ {deadline}: cut to the answer deadline (its own term would end {moment})").format(
            deadline=deadline_label(cut.kind), moment=format_moment(cut.own_due, tz, locale, now=now)
        )
        for cut in services.workflow.shortened(incident, now)
        if isinstance(cut.kind, DeadlineKind)
    ]


def _draft_status(status: DraftStatus) -> str:
    return {
        DraftStatus.on_approval: _("on approval"),
        DraftStatus.on_external_approval: _("on approval at the regional centre"),
        DraftStatus.returned: _("returned"),
        DraftStatus.approved: _("approved"),
        DraftStatus.published: _("published"),
        DraftStatus.accepted: _("accepted"),
    }[status]


def card_keyboard(incident: Incident, actions: Sequence[Action]) -> InlineKeyboardMarkup | None:
    """Buttons for the allowed actions; each carries the draft number it was drawn for."""
    assert incident.id is not None
    draft = incident.current_draft()
    number = draft.number if draft is not None else 0
    rows: list[list[InlineKeyboardButton]] = []
    pair: list[InlineKeyboardButton] = []
    for action in actions:
        button = InlineKeyboardButton(
            text=action_label(action), callback_data=CardCb(id=incident.id, a=action.value, n=number).pack()
        )
        pair.append(button)
        if len(pair) == 2:
            rows.append(pair)
            pair = []
    if pair:
        rows.append(pair)
    rows.append([InlineKeyboardButton(text=_("History"), callback_data=CardCb(id=incident.id, a="history").pack())])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def group_keyboard(incident: Incident, department_id: int) -> InlineKeyboardMarkup | None:
    """In a department's group chat any member may take a new incident."""
    assignment = incident.assignment_for(department_id)
    if assignment is None or assignment.state is not AssignmentState.routed or incident.id is None:
        return None
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=_("Take into work"), callback_data=CardCb(id=incident.id, a="take", n=department_id).pack()
                )
            ]
        ]
    )


def split_text(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Pieces of at most `limit` characters, cut at paragraph, line or word boundaries."""
    pieces: list[str] = []
    rest = text
    while len(rest) > limit:
        cut = max(rest.rfind("\n\n", 0, limit), rest.rfind("\n", 0, limit), rest.rfind(" ", 0, limit))
        if cut <= limit // 2:
            cut = limit
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    pieces.append(rest)
    return [p for p in pieces if p] or [""]


async def send_long(bot: Bot, chat_id: int, text: str, reply_markup: InlineKeyboardMarkup | None = None) -> Message:
    """Send a text of any length; the keyboard goes with the last piece, which is returned."""
    pieces = split_text(text)
    message: Message | None = None
    for index, piece in enumerate(pieces):
        markup = reply_markup if index == len(pieces) - 1 else None
        message = await bot.send_message(chat_id, piece, reply_markup=markup)
    assert message is not None
    return message


async def send_attachments(
    bot: Bot, chat_id: int, attachments: Sequence[Attachment], caption: str | None = None
) -> None:
    """Photos, videos and documents as one album (up to 10 a message); a caption over Telegram's
    1024 characters goes in a message of its own."""
    if not attachments:
        if caption:
            await send_long(bot, chat_id, caption)
        return
    separate = caption is not None and len(caption) > CAPTION_LIMIT
    media_caption = None if separate else caption
    for start in range(0, len(attachments), 10):
        chunk = attachments[start : start + 10]
        first_caption = media_caption if start == 0 else None
        if len(chunk) == 1:
            await _send_one(bot, chat_id, chunk[0], first_caption)
            continue
        media = []
        for index, item in enumerate(chunk):
            cap = first_caption if index == 0 else None
            if item.type == "photo":
                media.append(InputMediaPhoto(media=item.file_id, caption=cap))
            elif item.type == "video":
                media.append(InputMediaVideo(media=item.file_id, caption=cap))
            else:
                media.append(InputMediaDocument(media=item.file_id, caption=cap))
        try:
            await bot.send_media_group(chat_id, media)
        except TelegramBadRequest:
            # Documents cannot share an album with photos: fall back to one message each.
            for item in chunk:
                await _send_one(bot, chat_id, item, None)
    if separate and caption:
        await send_long(bot, chat_id, caption)


async def _send_one(bot: Bot, chat_id: int, item: Attachment, caption: str | None) -> None:
    if item.type == "photo":
        await bot.send_photo(chat_id, item.file_id, caption=caption)
    elif item.type == "video":
        await bot.send_video(chat_id, item.file_id, caption=caption)
    else:
        await bot.send_document(chat_id, item.file_id, caption=caption)


async def show_card(
    bot: Bot,
    services: Services,
    chat_id: int,
    incident: Incident,
    viewer: Person | None,
    locale: str,
    *,
    note: str | None = None,
    fresh: bool = False,
    edit: Message | int | None = None,
    group_department: int | None = None,
    outbox_id: int | None = None,
) -> None:
    """Show the incident's card in a chat: edit the card already there, or send a new one.

    `fresh` sends a new message (it rings) and strips the buttons off the old card; `edit` is the
    message a button was pressed on.
    """
    assert incident.id is not None
    directory = await services.directory()
    names = await services.user_names(a.executor_id for a in incident.assignments if a.executor_id)
    text = card_text(incident, directory, services, locale, note=note, names=names)
    if group_department is not None:
        markup = group_keyboard(incident, group_department)
    elif viewer is not None:
        markup = card_keyboard(incident, services.actions(viewer, incident))
    else:
        markup = None
    if isinstance(edit, Message):
        edit = edit.message_id
    previous = edit if edit is not None else await services.card_message(chat_id, incident.id)
    if previous is not None and not fresh:
        try:
            await bot.edit_message_text(text=text, chat_id=chat_id, message_id=previous, reply_markup=markup)
            await services.remember_card(chat_id, incident.id, previous, incident.version)
            return
        except TelegramBadRequest as exc:
            if "not modified" in str(exc):
                await services.remember_card(chat_id, incident.id, previous, incident.version)
                return
            log.info("card %s in chat %s cannot be edited (%s); sending a new one", previous, chat_id, exc)
    if fresh and previous is not None:
        # The old card keeps its text and loses its buttons: only the newest card acts.
        with contextlib.suppress(TelegramBadRequest):
            await bot.edit_message_reply_markup(chat_id=chat_id, message_id=previous, reply_markup=None)
    message = await send_long(bot, chat_id, text, markup)
    await services.remember_card(chat_id, incident.id, message.message_id, incident.version, outbox_id)


def with_locale(i18n: I18n, locale: str):  # type: ignore[no-untyped-def]
    """Gettext outside a handler (the sender, jobs): the I18n context with the recipient's locale."""
    from contextlib import ExitStack

    stack = ExitStack()
    stack.enter_context(i18n.context())
    stack.enter_context(i18n.use_locale(locale))
    return stack


def moment(services: Services, when: datetime, locale: str) -> str:
    return format_moment(when, services.workflow.calendar.tz, locale, now=services.clock.now())
