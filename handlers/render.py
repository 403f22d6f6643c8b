"""How an incident looks in Telegram: the words for its states, actions and roles, and the card's text.

Texts go through gettext; the caller sets the locale (handlers via middleware, the sender explicitly).
Every text is measured and fitted by bot/domain/message_size.py: a card keeps its essentials whole and
shortens the rest, offering «Show in full». The buttons are in handlers/keyboards.py; sending a card or a long
text in parts is handlers/sending.py.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot import assistant
from bot.domain.incident import (
    Assignment,
    AssignmentState,
    DeadlineKind,
    Draft,
    DraftKind,
    DraftStatus,
    Event,
    Importance,
    Incident,
    Kind,
    MultiMode,
    Network,
    ReturnReason,
    Role,
    Source,
    State,
)
from bot.domain.message_size import (
    TEXT_LIMIT,
    Block,
    Elastic,
    Items,
    Line,
    Part,
    fit,
    least_units,
    line,
    template,
    whole,
)
from bot.domain.precheck import Finding
from bot.domain.workflow import Action
from bot.i18n import format_left, format_moment
from bot.services import Directory, Services
from handlers.advice import advice_line

log = logging.getLogger(__name__)


def state_label(state: State) -> str:
    """Where the incident stands, as its card says it."""
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
    """The network or source a post came from."""
    return {
        Network.vk: _("VKontakte"),
        Network.ok: _("Odnoklassniki"),
        Network.telegram: _("Telegram"),
        Network.max: _("MAX"),
        Network.dzen: _("Dzen"),
        Network.youtube: _("YouTube"),
        Network.instagram: _("Instagram"),
        Network.facebook: _("Facebook"),
        Network.twitter: _("Twitter"),
        Network.site: _("website"),
        Network.messenger: _("messenger"),
        Network.other: _("other source"),
    }[network]


def importance_label(importance: Importance) -> str:
    """Normal or high importance."""
    return _("high importance") if importance is Importance.high else _("normal importance")


def kind_label(kind: Kind) -> str:
    """An incident from monitoring, or a publication the administration found."""
    return _("incident (monitoring)") if kind is Kind.incident else _("publication found by the administration")


def draft_kind_label(kind: DraftKind) -> str:
    """What a draft is: an answer, an intermediate answer, a clarification request or a contribution."""
    return {
        DraftKind.answer: _("answer"),
        DraftKind.intermediate: _("intermediate answer"),
        DraftKind.clarification: _("clarification request to the author"),
        DraftKind.contribution: _("contribution to the joint answer"),
    }[kind]


def reason_label(reason: ReturnReason) -> str:
    """Why a draft is returned for revision."""
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
    """Which term a deadline line on the card is."""
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
    """A workflow action as its button on the card says it."""
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


def mode_label(mode: MultiMode) -> str:
    """How several departments answer one incident, as the routing picker offers it."""
    return {
        MultiMode.joint_parallel: _("Joint answer: all at once"),
        MultiMode.split: _("Split: each answers separately"),
        MultiMode.joint_sequential: _("Joint answer: one after another"),
        MultiMode.single: _("One department"),
    }[mode]


def role_label(role: Role) -> str:
    """A role as an invitation names it."""
    return {
        Role.executor: _("executor"),
        Role.responsible: _("responsible official of a department"),
        Role.curator: _("curator"),
        Role.head: _("head"),
        Role.external_approver: _("regional centre (second approval)"),
        Role.admin: _("administrator"),
    }[role]


def view_label(view: str) -> str:
    """A queue of /queue: "mine", "department", "approval" or "overdue" (handlers.callbacks.QueueView)."""
    return {
        "mine": _("Mine"),
        "department": _("Department"),
        "approval": _("On approval"),
        "overdue": _("Overdue"),
    }[view]


def note_label(note: str | None) -> str | None:
    """The header of a notice card (why it came: routed, a reminder…); None for no known note."""
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


# Floors and weights of a card's elastic parts (units: UTF-16 code units, see bot/domain/message_size.py). The
# status, assignments, deadlines and the draft under decision are fixed; these share what is left.
POST_FLOOR = 280  # the post's text: enough to recognise the question
URL_FLOOR = 120  # a usual link stays whole and clickable
NAME_FLOOR = 40  # department, topic, location, author and executor names
SOURCE_FLOOR = 40  # the text of a further source
REASON_FLOOR = 200  # a return comment, a "not ours" reason, a closing reason
DRAFT_EXCERPT_FLOOR = 200  # the draft's beginning when its whole text goes in messages of its own
PENDING = (DraftStatus.on_approval, DraftStatus.on_external_approval)  # a draft someone decides on now


@dataclass(frozen=True)
class CardView:
    """An incident card ready to send: `text` fits one Telegram message; `shortened` when a part of it is
    not shown whole (the card then offers «Show in full»); `draft_apart` is the whole draft under
    decision when it could not fit on the card beside the essentials: sent as messages of its own."""

    text: str
    shortened: bool
    draft_apart: str | None = None


def render_card(
    incident: Incident,
    directory: Directory,
    services: Services,
    locale: str,
    note: str | None = None,
    names: dict[int, str] | None = None,
) -> CardView:
    """The card within Telegram's 4096 units: header, status, departments, every running deadline and the
    draft under decision always whole; the post, further sources, contributions and comments shortened
    by priority. A draft that cannot fit beside the essentials goes in `draft_apart`, and the card says so."""
    blocks = _card_blocks(incident, directory, services, locale, note, names or {}, draft_inline=True)
    draft = incident.current_draft()
    if least_units(blocks) <= TEXT_LIMIT or draft is None:
        fitted = fit(blocks)
        return CardView(fitted.text, fitted.shortened)
    blocks = _card_blocks(incident, directory, services, locale, note, names or {}, draft_inline=False)
    fitted = fit(blocks)
    apart = (
        _("Draft No. {number} ({kind}) of incident No. {incident}, in full:").format(
            number=draft.number, kind=draft_kind_label(draft.kind), incident=incident.id
        )
        + "\n\n"
        + draft.text
    )
    return CardView(fitted.text, True, apart)


def card_text(
    incident: Incident,
    directory: Directory,
    services: Services,
    locale: str,
    note: str | None = None,
    names: dict[int, str] | None = None,
) -> str:
    """The card's text within one Telegram message (see render_card)."""
    return render_card(incident, directory, services, locale, note, names).text


def card_full_text(
    incident: Incident, directory: Directory, services: Services, locale: str, names: dict[int, str] | None = None
) -> str:
    """The card with nothing shortened (for «Show in full»): any length, to be sent in parts."""
    return whole(_card_blocks(incident, directory, services, locale, None, names or {}, draft_inline=True))


def _card_blocks(
    incident: Incident,
    directory: Directory,
    services: Services,
    locale: str,
    note: str | None,
    names: dict[int, str],
    *,
    draft_inline: bool,
) -> list[Block]:
    now = services.clock.now()
    tz = services.workflow.calendar.tz
    blocks: list[Block] = []
    header = note_label(note)
    if header:
        blocks.append(line(f"🔔 {header}{reminder_left(incident, note, services, locale)}"))
    first = incident.sources[0]
    blocks.append(
        line(
            _("Incident No. {number}").format(number=incident.id)
            + f" · {network_label(first.network)} · {importance_label(incident.importance)}"
        )
    )
    details: list[Line] = []
    if incident.topic_ids:
        topics = ", ".join(directory.topics.get(t, "?") for t in incident.topic_ids)
        details.append(template(_("Topic: {topic}"), topic=Elastic(topics, NAME_FLOOR)))
    if incident.location_id is not None:
        location = directory.locations.get(incident.location_id, "?")
        details.append(template(_("Location: {location}"), location=Elastic(location, NAME_FLOOR)))
    if incident.kind is Kind.publication:
        details.append(line(kind_label(incident.kind)))
    if incident.repeat_of:
        details.append(
            line(_("Repeat of No. {number}: the answer must state measures taken").format(number=incident.repeat_of))
        )
    if details:
        joined: list[Part] = []
        for index, detail in enumerate(details):
            joined += ([" · "] if index else []) + list(detail)
        blocks.append(line(*joined))
    if first.author:
        blocks.append(template(_("Author: {author}"), author=Elastic(first.author, NAME_FLOOR)))
    blocks.append(line(_("Detected: {moment}").format(moment=format_moment(incident.detected_at, tz, locale, now=now))))
    if first.url:
        blocks.append(line(Elastic(first.url, URL_FLOOR)))
    if first.text:
        blocks.append(line("«", Elastic(first.text, POST_FLOOR, weight=4), "»"))
    if len(incident.sources) > 1:
        blocks.append(
            Items(
                _source_lines(incident.sources[1:]),
                lambda n: _("… and {count} more sources: «Show in full»").format(count=n),
                weight=2,
            )
        )
    blocks.append(line(""))
    blocks.append(line(_("State: {state}").format(state=state_label(incident.state))))
    for a in incident.assignments:
        if a.state is AssignmentState.cancelled:
            continue
        blocks.append(_assignment_line(incident, a, directory, names))
    for kind, due in sorted(incident.deadlines.items(), key=lambda kv: kv[1]):
        left = (
            services.workflow.calendar.between(now, due) if due > now else -services.workflow.calendar.between(due, now)
        )
        blocks.append(
            line(f"⏱ {deadline_label(kind)}: {format_moment(due, tz, locale, now=now)} ({format_left(left, locale)})")
        )
    blocks += [line(text) for text in shortened_lines(incident, services, locale)]
    if incident.open_pause is not None:
        blocks.append(
            line(
                _("⏸ The answer clock is paused since {moment}").format(
                    moment=format_moment(incident.open_pause.started_at, tz, locale, now=now)
                )
            )
        )
    draft = incident.current_draft()
    if draft is not None:
        blocks += _draft_blocks(draft, inline=draft_inline)
        if draft.precheck and services.assistant.enabled and draft.status in PENDING:
            blocks += _precheck_blocks(draft.precheck)
    contributions = [d for d in incident.drafts if d.kind is DraftKind.contribution]
    if contributions and incident.state in (State.routed, State.in_work, State.on_approval):
        blocks.append(line(""))
        blocks.append(line(_("Contributions:")))
        blocks.append(
            Items(
                [
                    line(
                        "• ",
                        Elastic(directory.department_name(d.department_id), NAME_FLOOR),
                        ": «",
                        Elastic(d.text, REASON_FLOOR),
                        "»",
                    )
                    for d in contributions
                ],
                lambda n: _("… and {count} more contributions: «Show in full»").format(count=n),
                weight=3,
            )
        )
    if incident.closed_reason:
        blocks.append(template(_("Reason: {reason}"), reason=Elastic(incident.closed_reason, REASON_FLOOR, weight=3)))
    flags = screening_flags(incident, services)
    if flags:
        blocks.append(line(""))
        blocks.append(line("⚠️ " + _("Possibly not to be answered: {grounds}.").format(grounds=grounds(flags))))
    return blocks


def screening_flags(incident: Incident, services: Services) -> list[dict[str, Any]]:
    """The screening's flags for the incident's post while it waits for the curator (registered or returned
    "not ours") — how a post from the intake API or a file, registered without a card, is flagged (issue 13
    §2); ``[]`` otherwise or when ``[assistant] screening = false``."""
    if incident.state not in (State.detected, State.returned):
        return []
    return assistant.flagged(services, incident.sources[0].text or "")


def grounds(flags: Sequence[dict[str, Any]]) -> str:
    """The screening's flags as the grounds of the regulations, with the words that triggered them:
    «нецензурная брань («х*й»), угрозы («убью»)»."""
    labels = {"obscenity": _("obscene language"), "insult": _("insults"), "threat": _("threats")}
    parts = []
    for flag in flags:
        words = ", ".join(f"«{w}»" for w in flag["words"][:3])
        parts.append(f"{labels.get(flag['kind'], flag['kind'])} ({words})" if words else labels[flag["kind"]])
    return ", ".join(parts)


def _source_lines(sources: Sequence[Source]) -> list[Line]:
    """«Also: VKontakte <link> — <text>» per further source; the link and the text may be shortened."""
    also = _("Also: {network} {link}")
    labels = {network: network_label(network) for network in {s.network for s in sources}}  # once, not per post
    lines = []
    for source in sources:
        head = template(also, network=labels[source.network], link=Elastic(source.url or "", URL_FLOOR))
        lines.append(line(*head, " — ", Elastic(source.text, SOURCE_FLOOR)) if source.text else head)
    return lines


def _assignment_line(incident: Incident, a: Assignment, directory: Directory, names: dict[int, str]) -> Line:
    """One department of the incident and where it stands; the names and a return reason may be shortened."""
    who = names.get(a.executor_id, "") if a.executor_id else ""
    status: Line
    if a.state is AssignmentState.accepted:
        status = line(_("accepted"), *((": ", Elastic(who, NAME_FLOOR)) if who else ()))
    elif a.state is AssignmentState.returned:
        status = template(_("returned: {reason}"), reason=Elastic(a.return_reason or "", REASON_FLOOR, weight=2))
    else:
        status = line(
            {
                AssignmentState.waiting: _("waits for its turn"),
                AssignmentState.routed: _("not accepted yet"),
                AssignmentState.contributed: _("contribution given"),
            }.get(a.state, "")
        )
    marker = " ✍" if incident.consolidator_department_id == a.department_id else ""
    return line("• ", Elastic(directory.department_name(a.department_id), NAME_FLOOR), f"{marker} — ", *status)


def _draft_blocks(draft: Draft, *, inline: bool) -> list[Block]:
    """The draft under decision: whole on the card, or (`inline` False) its beginning and a note that the
    whole text is in messages of its own."""
    blocks: list[Block] = [
        line(""),
        line(
            _("Draft No. {number} ({kind}), {status}:").format(
                number=draft.number, kind=draft_kind_label(draft.kind), status=_draft_status(draft.status)
            )
        ),
    ]
    if inline:
        blocks.append(line(f"«{draft.text}»"))
    else:
        blocks.append(
            line(
                _(
                    "The draft is too long for the card: its full text ({count} characters) is in separate "
                    "messages above; «Show in full» sends it again."
                ).format(count=len(draft.text))
            )
        )
        blocks.append(line("«", Elastic(draft.text, DRAFT_EXCERPT_FLOOR), "»"))
    if draft.attachments:
        blocks.append(line(_("Attachments: {count}").format(count=len(draft.attachments))))
    if draft.status is DraftStatus.returned:
        reasons = "; ".join(reason_label(r) for r in draft.return_reasons)
        blocks.append(line(_("Returned: {reasons}").format(reasons=reasons)))
        if draft.return_comment:
            blocks.append(
                template(_("Comment: {comment}"), comment=Elastic(draft.return_comment, REASON_FLOOR, weight=3))
            )
    if draft.published_url:
        blocks.append(template(_("Published: {url}"), url=Elastic(draft.published_url, URL_FLOOR, weight=2)))
    return blocks


def _precheck_blocks(findings: Sequence[Finding]) -> list[Block]:
    """The pre-check's findings on a draft sent as is (issue 13 §1), for the curator: one advice a line, the
    quoted words shortened first when the card is full."""
    return [line(_("The pre-check found (the executor sent it as is):")), *(advice_line(f) for f in findings)]


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


def with_locale(i18n: I18n, locale: str):  # type: ignore[no-untyped-def]
    """Gettext outside a handler (the sender, jobs): the I18n context with the recipient's locale."""
    from contextlib import ExitStack

    stack = ExitStack()
    stack.enter_context(i18n.context())
    stack.enter_context(i18n.use_locale(locale))
    return stack


def moment(services: Services, when: datetime, locale: str) -> str:
    """An aware moment in the organisation's time zone: ``"Wed, 11 March, 10:00"`` (bot.i18n.format_moment)."""
    return format_moment(when, services.workflow.calendar.tz, locale, now=services.clock.now())


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
