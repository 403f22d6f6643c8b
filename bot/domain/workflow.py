"""The lifecycle of SPEC §3 as guarded transitions on the Incident aggregate.

Each public method checks the actor's role and department and the incident's state, mutates the
incident, recomputes its deadlines from the preset and the working-time calendars, and returns
the events to record. A refused action raises a DomainError and changes nothing: every check
runs before the first mutation.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from bot.domain.errors import DomainError, IllegalTransition, InvalidInput, NotAllowed
from bot.domain.incident import (
    MAX_AUTHOR,
    MAX_POST_TEXT,
    Assignment,
    AssignmentDeadline,
    AssignmentState,
    Attachment,
    DeadlineKind,
    Draft,
    DraftKind,
    DraftStatus,
    Event,
    Importance,
    Incident,
    Kind,
    MultiMode,
    Pause,
    ReturnReason,
    Role,
    Source,
    State,
    storable,
    unstorable,
)
from bot.domain.links import parse_link, post_key, visible
from bot.domain.presets import Preset, Term
from bot.domain.worktime import WorkCalendar

CLOCK_ORIGIN_YEAR = 2020  # work_clock counts working seconds from 1 January of this year
MAX_TEXT = 10_000  # a draft longer than this is not an answer in a social network
MAX_REASON = 1_000


@dataclass(frozen=True)
class Actor:
    """Who acts, as the service layer resolved it (substitutes already folded in)."""

    user_id: int
    roles: frozenset[Role]
    departments: frozenset[int] = frozenset()  # where the actor is an executor (or substitute)
    responsible_for: frozenset[int] = frozenset()  # departments where the actor is responsible

    def has(self, role: Role) -> bool:
        """Whether the actor holds ``role``."""
        return role in self.roles


class Action(StrEnum):
    """What a person can do with an incident now; handlers turn these into buttons."""

    route = "route"
    not_processable = "not_processable"
    importance = "importance"
    accept = "accept"
    not_ours = "not_ours"
    answer = "answer"
    intermediate = "intermediate"
    clarification = "clarification"
    contribution = "contribution"
    designate = "designate"
    approve = "approve"
    return_draft = "return_draft"
    author_reply = "author_reply"
    publish = "publish"
    assign = "assign"


@dataclass(frozen=True)
class SplitPart:
    """One department's share of a split message (Боровичи п. 17)."""

    department_id: int
    topic_ids: tuple[int, ...] = ()
    note: str | None = None


@dataclass(frozen=True)
class Shortened:
    """A step window cut to fit the answer deadline: ``due`` is the fitted end, ``own_due`` where its own term
    would have ended (aware datetimes). ``department_id`` is set for a department's window (return "not ours",
    clarification, contribution), None for the incident's own (routing, approval, revision, publication…)."""

    kind: DeadlineKind | AssignmentDeadline
    department_id: int | None
    own_due: datetime
    due: datetime


@dataclass
class Transition:
    """What a transition produced: the events and, for split, the new incidents."""

    events: list[Event] = field(default_factory=list)
    children: list[Incident] = field(default_factory=list)
    child_events: list[list[Event]] = field(default_factory=list)  # each child's own trail, in order


class Workflow:
    """The rules of one organisation: its preset and its calendars.

    Every transition takes ``now`` (aware; the moment it happens), mutates the incident, recomputes its
    deadlines (aware, in the organisation's zone) and returns the events to record, in order. The refusals common
    to many of them: NotAllowed ``role_required`` (param ``role``) for a missing role; IllegalTransition
    ``closed`` on a closed incident, ``illegal_transition`` (param ``state``) in a state where the action makes
    no sense; and for an executor's action (accept, return_not_ours, submit_draft) NotAllowed ``not_executor``,
    ``not_your_department``, IllegalTransition ``not_your_turn``, ``already_returned``, ``already_done``.
    """

    def __init__(
        self,
        preset: Preset,
        calendar: WorkCalendar,
        curator_calendar: WorkCalendar | None = None,
        organisation: str = "default",
    ) -> None:
        self.preset = preset
        self.calendar = calendar
        # Боровичи п. 5: the curator works by the regional centre's hours.
        self.curator_calendar = curator_calendar or calendar
        self.organisation = organisation
        self._year_clock: dict[int, int] = {}

    # ------------------------------------------------------------------ intake

    def register(
        self,
        actor: Actor,
        now: datetime,
        sources: Sequence[Source],
        *,
        importance: Importance = Importance.normal,
        kind: Kind = Kind.incident,
        topic_ids: Iterable[int] = (),
        location_id: int | None = None,
        detected_at: datetime | None = None,
        repeat_of: Incident | None = None,
        via: str | None = None,
    ) -> tuple[Incident, list[Event]]:
        """A curator registers a post. ``via`` names the channel when it is not the curator's own message:
        "api" (a monitoring system: every curator is then told) or "import" (a file).

        ``detected_at`` (default ``now``) starts every deadline; ``repeat_of``: the earlier incident, saved.
        Returns the new incident (no id yet) and its "registered" event. Raises NotAllowed ``role_required``;
        InvalidInput ``no_source``, ``empty_source``, ``long_source``, ``long_author``, ``naive_datetime``,
        ``detected_in_future``, ``invalid_input`` (``repeat_of`` not saved); BadLink for an unusable link.
        """
        _require(actor, Role.curator)
        if not sources:
            raise InvalidInput("an incident needs at least one source post", key="no_source")
        for source in sources:
            _check_source(source)
        detected = detected_at or now
        _aware(detected)
        if detected > now:
            raise InvalidInput("the detection moment is in the future", key="detected_in_future")
        if repeat_of is not None and repeat_of.id is None:
            raise InvalidInput("the earlier incident is not saved yet")
        incident = Incident(
            organisation=self.organisation,
            detected_at=detected,
            sources=list(sources),
            importance=importance,
            kind=kind,
            topic_ids=list(dict.fromkeys(topic_ids)),
            location_id=location_id,
            repeat_of=repeat_of.id if repeat_of else None,
            created_by=actor.user_id,
        )
        incident.detected_clock = self.work_clock(detected)
        self._refresh(incident, now)
        event = self._event(
            incident,
            "registered",
            now,
            actor,
            None,
            data={
                **({"repeat_of": incident.repeat_of} if incident.repeat_of else {}),
                **({"via": via} if via else {}),
            },
        )
        return incident, [event]

    def add_source(self, incident: Incident, actor: Actor, now: datetime, source: Source) -> list[Event]:
        """A further post on the same question (another network or author) joins the incident.

        Raises NotAllowed ``role_required``; IllegalTransition ``closed``; InvalidInput ``duplicate_source`` and
        the post checks of ``register``.
        """
        _require(actor, Role.curator)
        _open(incident)
        _check_source(source)
        if any(post_key(s) == post_key(source) for s in incident.sources):  # the same post in any link form
            raise InvalidInput("this post is already a source of the incident", key="duplicate_source")
        incident.sources.append(source)
        return [
            self._event(
                incident,
                "source_added",
                now,
                actor,
                incident.state,
                data={"url": source.url, "network": source.network.value},
            )
        ]

    def mark_not_processable(self, incident: Incident, actor: Actor, now: datetime, reason: str) -> list[Event]:
        """Threats, obscenities, intent to harm: closed without an answer (all seeds).

        Raises NotAllowed ``role_required``; IllegalTransition ``closed``, ``illegal_transition`` (an answer is
        approved or an intermediate one published); InvalidInput ``empty_reason``, ``long_reason`` (MAX_REASON).
        """
        _require(actor, Role.curator)
        _open(incident)
        if incident.state in (State.approved, State.awaiting_final):
            raise IllegalTransition("an answer is already approved or published", state=incident.state)
        reason = _text(reason, MAX_REASON, "reason")
        frm = incident.state
        for a in incident.active_assignments():
            a.state = AssignmentState.cancelled
        incident.state = State.not_processable
        incident.closed_reason = reason
        self._close_pause(incident, now)
        self._refresh(incident, now)
        return [self._event(incident, "not_processable", now, actor, frm, comment=reason)]

    def change_importance(self, incident: Incident, actor: Actor, now: datetime, importance: Importance) -> list[Event]:
        """Deadlines are recomputed from detection; paused time is kept (SLA edge case 14).

        Raises NotAllowed ``role_required``; IllegalTransition ``closed``, ``unchanged``.
        """
        _require(actor, Role.curator)
        _open(incident)
        if incident.importance is importance:
            raise IllegalTransition("the importance is already set", key="unchanged")
        old = incident.importance
        incident.importance = importance
        self._refresh(incident, now)
        return [
            self._event(
                incident,
                "importance_changed",
                now,
                actor,
                incident.state,
                data={"from": old.value, "to": importance.value},
            )
        ]

    # ----------------------------------------------------------------- routing

    def route(
        self,
        incident: Incident,
        actor: Actor,
        now: datetime,
        department_ids: Sequence[int],
        mode: MultiMode | None = None,
    ) -> list[Event]:
        """Send to one department, or to several in the preset's joint mode (order = list order).

        ``mode`` overrides the preset's for several departments. Raises NotAllowed ``role_required``;
        IllegalTransition ``illegal_transition`` unless detected or returned; InvalidInput ``no_department``,
        ``mode_needed``, ``use_split``.
        """
        _require(actor, Role.curator)
        if incident.state not in (State.detected, State.returned):
            raise IllegalTransition("the incident is already routed", state=incident.state)
        departments = list(dict.fromkeys(department_ids))
        if not departments:
            raise InvalidInput("choose at least one department", key="no_department")
        if len(departments) == 1:
            mode = MultiMode.single
        else:
            mode = mode or self.preset.multi_mode.value
            if mode is MultiMode.single:
                raise InvalidInput("several departments need a joint or split mode", key="mode_needed")
            if mode is MultiMode.split:
                raise InvalidInput("a split message is divided with split()", key="use_split")
        returned_here = {a.department_id for a in incident.assignments if a.state is AssignmentState.returned}
        frm = incident.state
        for a in incident.assignments:  # re-routing replaces the earlier set
            if a.active:
                a.state = AssignmentState.cancelled
        incident.mode = mode
        incident.consolidator_department_id = None
        for order, dep in enumerate(departments):
            waiting = mode is MultiMode.joint_sequential and order > 0
            incident.assignments.append(
                Assignment(
                    department_id=dep,
                    received_at=None if waiting else now,
                    state=AssignmentState.waiting if waiting else AssignmentState.routed,
                    order=order,
                )
            )
        incident.state = State.routed
        self._refresh(incident, now)
        name = "rerouted" if frm is State.returned else "routed"
        return [
            self._event(
                incident,
                name,
                now,
                actor,
                frm,
                data={"departments": departments, "mode": mode.value, "previously_returned_by": sorted(returned_here)},
            )
        ]

    def split(self, incident: Incident, actor: Actor, now: datetime, parts: Sequence[SplitPart]) -> Transition:
        """Divide by topic: each department answers the author separately (Боровичи п. 17).

        Returns the parent's "split" event and the children (routed, not saved) with their own events. Raises
        NotAllowed ``role_required``; IllegalTransition ``illegal_transition`` (already routed); InvalidInput
        ``split_parts``, ``invalid_input`` (the incident is not saved).
        """
        _require(actor, Role.curator)
        if incident.state not in (State.detected, State.returned):
            raise IllegalTransition("the incident is already routed", state=incident.state)
        if incident.id is None:
            raise InvalidInput("save the incident before splitting it")
        if len({p.department_id for p in parts}) < 2 or len(parts) != len({p.department_id for p in parts}):
            raise InvalidInput("a split needs two or more different departments", key="split_parts")
        children: list[Incident] = []
        for part in parts:
            child = Incident(
                organisation=incident.organisation,
                detected_at=incident.detected_at,  # deadlines still run from detection
                sources=[
                    Source(s.network, s.url, s.author, s.text, s.detected_at, list(s.attachments))
                    for s in incident.sources
                ],
                importance=incident.importance,
                kind=incident.kind,
                topic_ids=list(part.topic_ids) or list(incident.topic_ids),
                location_id=incident.location_id,
                repeat_of=incident.repeat_of,
                parent_id=incident.id,
                detected_clock=incident.detected_clock,
                created_by=actor.user_id,
                assignments=[Assignment(department_id=part.department_id, received_at=now)],
                state=State.routed,
            )
            self._refresh(child, now)
            children.append(child)
        frm = incident.state
        incident.state = State.split
        incident.mode = MultiMode.split
        self._refresh(incident, now)
        event = self._event(incident, "split", now, actor, frm, data={"departments": [p.department_id for p in parts]})
        child_events = [
            [self._event(child, "split_from", now, actor, None, data={"parent": incident.id})] for child in children
        ]
        return Transition([event], children, child_events)

    def return_not_ours(
        self, incident: Incident, actor: Actor, now: datetime, reason: str, department_id: int | None = None
    ) -> list[Event]:
        """The department says the question is not its competence, with a reason.

        Raises the executor's refusals (see the class); IllegalTransition ``draft_exists``; InvalidInput
        ``empty_reason``, ``long_reason``.
        """
        assignment = self._own_assignment(
            incident, actor, department_id, (AssignmentState.routed, AssignmentState.accepted)
        )
        if any(
            d.department_id == assignment.department_id and d.kind is not DraftKind.contribution
            for d in incident.drafts
        ):
            raise IllegalTransition("a draft was already submitted by this department", key="draft_exists")
        reason = _text(reason, MAX_REASON, "reason")
        frm = incident.state
        assignment.state = AssignmentState.returned
        assignment.return_reason = reason
        assignment.returned_at = now
        if incident.mode is MultiMode.joint_sequential:
            self._activate_next(incident, now)
        if not incident.active_assignments() and not any(
            a.state is AssignmentState.contributed for a in incident.assignments
        ):
            incident.state = State.returned
        elif incident.consolidator_department_id == assignment.department_id:
            incident.consolidator_department_id = None
        self._refresh(incident, now)
        return [
            self._event(
                incident, "returned_not_ours", now, actor, frm, comment=reason, department_id=assignment.department_id
            )
        ]

    def accept(self, incident: Incident, actor: Actor, now: datetime, department_id: int | None = None) -> list[Event]:
        """The executor takes the incident into work for their department (``department_id``; None: whichever
        of theirs it waits on). Raises the executor's refusals (see the class)."""
        assignment = self._own_assignment(incident, actor, department_id, (AssignmentState.routed,))
        frm = incident.state
        assignment.state = AssignmentState.accepted
        assignment.executor_id = actor.user_id
        if incident.state is State.routed:
            incident.state = State.in_work
        self._refresh(incident, now)
        return [self._event(incident, "accepted", now, actor, frm, department_id=assignment.department_id)]

    def assign_executor(
        self, incident: Incident, actor: Actor, now: datetime, department_id: int, executor_id: int
    ) -> list[Event]:
        """The department's responsible official hands the incident to a colleague.

        Raises NotAllowed ``not_responsible``; IllegalTransition ``closed``, ``illegal_transition`` (the
        department has no open assignment).
        """
        if department_id not in actor.responsible_for:
            raise NotAllowed("only the department's responsible official reassigns", key="not_responsible")
        _open(incident)
        assignment = incident.assignment_for(department_id)
        if assignment is None or not assignment.active:
            raise IllegalTransition("the department has no open assignment on this incident")
        frm = incident.state
        previous = assignment.executor_id
        assignment.executor_id = executor_id
        if assignment.state is AssignmentState.routed:
            assignment.state = AssignmentState.accepted
            if incident.state is State.routed:
                incident.state = State.in_work
        self._refresh(incident, now)
        return [
            self._event(
                incident,
                "executor_assigned",
                now,
                actor,
                frm,
                department_id=department_id,
                data={"executor_id": executor_id, "previous": previous},
            )
        ]

    def designate_consolidator(
        self, incident: Incident, actor: Actor, now: datetime, department_id: int
    ) -> list[Event]:
        """joint_parallel: the curator names who writes the joint answer (Отрадная п. 19).

        Raises NotAllowed ``role_required``; IllegalTransition ``not_joint``, ``illegal_transition``;
        InvalidInput ``unknown_department``.
        """
        _require(actor, Role.curator)
        if incident.mode is not MultiMode.joint_parallel:
            raise IllegalTransition("only a joint parallel answer has a consolidating executor", key="not_joint")
        if incident.state not in (State.routed, State.in_work):
            raise IllegalTransition("the joint answer is already past drafting", state=incident.state)
        assignment = incident.assignment_for(department_id)
        if assignment is None or assignment.state in (AssignmentState.returned, AssignmentState.cancelled):
            raise InvalidInput("the department does not take part in this incident", key="unknown_department")
        incident.consolidator_department_id = department_id
        self._refresh(incident, now)
        return [
            self._event(incident, "consolidator_designated", now, actor, incident.state, department_id=department_id)
        ]

    # ------------------------------------------------------------------ drafts

    def submit_draft(
        self,
        incident: Incident,
        actor: Actor,
        now: datetime,
        kind: DraftKind,
        text: str,
        attachments: Sequence[Attachment] = (),
        department_id: int | None = None,
    ) -> tuple[Draft, list[Event]]:
        """An executor submits a draft (SPEC §3): to approval, or a contribution taken at once. Returns the draft
        and its event.

        Raises InvalidInput ``empty_text``, ``long_text`` (MAX_TEXT); the executor's refusals (see the class);
        for an answer-track draft IllegalTransition ``illegal_transition``, ``no_consolidator``, NotAllowed
        ``not_consolidator``, ``not_last``, InvalidInput ``final_only``; for a contribution IllegalTransition
        ``not_joint``, ``illegal_transition``, InvalidInput ``last_writes_answer``.
        """
        text = _text(text, MAX_TEXT, "text")
        frm = incident.state
        if kind is DraftKind.contribution:
            return self._contribute(incident, actor, now, text, attachments, department_id)
        if incident.state not in (State.in_work, State.awaiting_final):
            raise IllegalTransition("the incident does not wait for a draft now", state=incident.state)
        # A consolidating department has usually given its own contribution first.
        assignment = self._own_assignment(
            incident, actor, department_id, (AssignmentState.accepted, AssignmentState.contributed)
        )
        self._check_answering_department(incident, assignment)
        final_phase = incident.state is State.awaiting_final
        if final_phase and kind is not DraftKind.answer:
            raise InvalidInput("after an intermediate answer only the final answer is due", key="final_only")
        draft = Draft(
            kind=kind,
            text=text,
            author_id=actor.user_id,
            department_id=assignment.department_id,
            submitted_at=now,
            attachments=list(attachments),
            number=len(incident.drafts) + 1,
            is_final=final_phase,
        )
        incident.drafts.append(draft)
        incident.state = State.on_approval
        self._refresh(incident, now)
        return draft, [
            self._event(
                incident,
                "draft_submitted",
                now,
                actor,
                frm,
                department_id=assignment.department_id,
                data={"kind": kind.value, "number": draft.number},
            )
        ]

    def _contribute(
        self,
        incident: Incident,
        actor: Actor,
        now: datetime,
        text: str,
        attachments: Sequence[Attachment],
        department_id: int | None,
    ) -> tuple[Draft, list[Event]]:
        if incident.mode not in (MultiMode.joint_parallel, MultiMode.joint_sequential):
            raise IllegalTransition("contributions belong to a joint answer of several departments", key="not_joint")
        if incident.state not in (State.routed, State.in_work):
            raise IllegalTransition("the joint answer is already past drafting", state=incident.state)
        assignment = self._own_assignment(
            incident, actor, department_id, (AssignmentState.routed, AssignmentState.accepted)
        )
        if incident.mode is MultiMode.joint_sequential and self._last_in_order(incident) is assignment:
            raise InvalidInput("the last department writes the joint answer itself", key="last_writes_answer")
        frm = incident.state
        draft = Draft(
            DraftKind.contribution,
            text,
            actor.user_id,
            assignment.department_id,
            now,
            status=DraftStatus.accepted,
            attachments=list(attachments),
            number=len(incident.drafts) + 1,
        )
        incident.drafts.append(draft)
        assignment.state = AssignmentState.contributed
        assignment.executor_id = assignment.executor_id or actor.user_id
        if incident.state is State.routed:
            incident.state = State.in_work
        if incident.mode is MultiMode.joint_sequential:
            self._activate_next(incident, now)
        self._refresh(incident, now)
        return draft, [
            self._event(
                incident,
                "contribution_submitted",
                now,
                actor,
                frm,
                department_id=assignment.department_id,
                data={"number": draft.number},
            )
        ]

    def approve(self, incident: Incident, actor: Actor, now: datetime, draft_number: int | None = None) -> list[Event]:
        """The curator approves the pending draft — with two approval levels it then goes to the external
        approver (Петровский п. 10), who approves it last; an approved clarification question pauses the answer
        clock where the preset says so (Боровичи п. 10). Raises IllegalTransition ``illegal_transition`` (no
        draft waits), ``stale_draft``; NotAllowed ``role_required``."""
        draft = self._pending_draft(incident, draft_number)
        frm = incident.state
        if incident.state is State.on_approval:
            _require(actor, Role.curator)
            second_level = self.preset.approval_levels.value == 2 and draft.kind is not DraftKind.clarification
            if second_level:
                draft.status = DraftStatus.on_external_approval
                incident.state = State.on_external_approval
                draft.decided_by, draft.decided_at = actor.user_id, now
                self._refresh(incident, now)
                return [
                    self._event(incident, "sent_to_external_approval", now, actor, frm, data={"number": draft.number})
                ]
        else:
            _require(actor, Role.external_approver)
        draft.status = DraftStatus.approved
        draft.decided_by, draft.decided_at = actor.user_id, now
        if draft.kind is DraftKind.clarification:
            incident.state = State.clarification
            if self.preset.clarification_pauses_answer.value:
                incident.pauses.append(Pause(started_at=now))
        else:
            incident.state = State.approved
        self._refresh(incident, now)
        return [
            self._event(incident, "approved", now, actor, frm, data={"number": draft.number, "kind": draft.kind.value})
        ]

    def return_draft(
        self,
        incident: Incident,
        actor: Actor,
        now: datetime,
        reasons: Sequence[ReturnReason],
        comment: str | None = None,
        draft_number: int | None = None,
    ) -> list[Event]:
        """Back for revision with one or more reasons from the checklist (Отрадная п. 14).

        Raises as ``approve``, and InvalidInput ``no_reason``, ``other_needs_comment``, ``long_comment``;
        ValueError for a value that is no ReturnReason.
        """
        draft = self._pending_draft(incident, draft_number)
        _require(actor, Role.curator if incident.state is State.on_approval else Role.external_approver)
        reasons = list(dict.fromkeys(ReturnReason(r) for r in reasons))
        if not reasons:
            raise InvalidInput("choose at least one reason", key="no_reason")
        comment = _text(comment, MAX_REASON, "comment") if comment and comment.strip() else None
        if ReturnReason.other in reasons and not comment:
            raise InvalidInput("the reason 'other' needs a comment", key="other_needs_comment")
        frm = incident.state
        draft.status = DraftStatus.returned
        draft.return_reasons = reasons
        draft.return_comment = comment
        draft.decided_by, draft.decided_at = actor.user_id, now
        incident.state = State.awaiting_final if draft.is_final else State.in_work
        self._refresh(incident, now)
        return [
            self._event(
                incident,
                "draft_returned",
                now,
                actor,
                frm,
                comment=comment,
                department_id=draft.department_id,
                data={"number": draft.number, "reasons": [r.value for r in reasons]},
            )
        ]

    def record_author_reply(
        self, incident: Incident, actor: Actor, now: datetime, text: str | None = None
    ) -> list[Event]:
        """The author answered the clarification: the answer clock runs again (Боровичи п. 10).

        The curator or the executor who posted the question records it — whoever saw it first.
        Raises NotAllowed ``not_allowed``; IllegalTransition ``illegal_transition``; InvalidInput ``long_text``.
        """
        if not actor.has(Role.curator) and not any(
            a.department_id in actor.departments and a.state is AssignmentState.accepted for a in incident.assignments
        ):
            raise NotAllowed("only the curator or the answering department records the reply", key="not_allowed")
        if incident.state is not State.clarification:
            raise IllegalTransition("no clarification is pending", state=incident.state)
        reply = _text(text, MAX_TEXT, "text") if text and text.strip() else None
        frm = incident.state
        self._close_pause(incident, now)
        incident.state = State.in_work
        self._refresh(incident, now)
        return [self._event(incident, "author_replied", now, actor, frm, comment=reply)]

    def publish(
        self, incident: Incident, actor: Actor, now: datetime, url: str, draft_number: int | None = None
    ) -> list[Event]:
        """The approved text is posted in the same network; the link confirms it.

        The event records ``due``, ``on_time`` and, when late, ``late_by`` in working seconds (the report reads
        them). Raises IllegalTransition ``illegal_transition``, ``stale_draft``; NotAllowed ``role_required``
        (the preset's publisher is the curator) or ``not_publisher``; InvalidInput ``bad_url``.
        """
        if incident.state is not State.approved:
            raise IllegalTransition("there is no approved answer to publish", state=incident.state)
        draft = incident.current_draft()
        assert draft is not None and draft.status is DraftStatus.approved
        if draft_number is not None and draft_number != draft.number:
            raise IllegalTransition("this draft is no longer the one to publish", key="stale_draft")
        if self.preset.publisher.value is Role.curator:
            _require(actor, Role.curator)
        elif draft.department_id not in actor.departments:
            raise NotAllowed("the answering department publishes this answer", key="not_publisher")
        url = _url(url)
        frm = incident.state
        # What the monthly report counts: was the answer (or the final one) out by its deadline?
        due = incident.deadlines.get(DeadlineKind.final if draft.is_final else DeadlineKind.answer)
        on_time = None if due is None else now <= due
        draft.status = DraftStatus.published
        draft.published_url, draft.published_at = url, now
        if draft.kind is DraftKind.intermediate:
            incident.state = State.awaiting_final
            incident.intermediate_published_at = now
        else:
            incident.state = State.published
            incident.published_at = now
        self._refresh(incident, now)
        return [
            self._event(
                incident,
                "published",
                now,
                actor,
                frm,
                department_id=draft.department_id,
                data={
                    "number": draft.number,
                    "kind": draft.kind.value,
                    "url": url,
                    "final": draft.is_final,
                    "due": due.isoformat() if due else None,
                    "on_time": on_time,
                    # Working seconds past the deadline, so the report lists late answers without a calendar.
                    **({"late_by": int(self.calendar.between(due, now).total_seconds())} if on_time is False else {}),
                },
            )
        ]

    # ------------------------------------------------------------------ rights

    def actions_for(self, incident: Incident, actor: Actor, now: datetime) -> list[Action]:
        """The actions the rules allow this actor now, found by trying each on a copy.

        Trying the real transition keeps buttons and rights from ever disagreeing. In Action's order; raises
        nothing (every refusal leaves the action out).
        """
        url = "https://example.org/published"
        other_department = max([*actor.departments, *actor.responsible_for, 0]) + 1
        trials: dict[Action, Callable[[Incident], object]] = {
            Action.route: lambda i: self.route(i, actor, now, [other_department]),
            Action.not_processable: lambda i: self.mark_not_processable(i, actor, now, "-"),
            Action.importance: lambda i: self.change_importance(i, actor, now, _other_importance(i)),
            Action.accept: lambda i: self.accept(i, actor, now),
            Action.not_ours: lambda i: self.return_not_ours(i, actor, now, "-"),
            Action.answer: lambda i: self.submit_draft(i, actor, now, DraftKind.answer, "-"),
            Action.intermediate: lambda i: self.submit_draft(i, actor, now, DraftKind.intermediate, "-"),
            Action.clarification: lambda i: self.submit_draft(i, actor, now, DraftKind.clarification, "-"),
            Action.contribution: lambda i: self.submit_draft(i, actor, now, DraftKind.contribution, "-"),
            Action.designate: lambda i: self.designate_consolidator(i, actor, now, _some_department(i)),
            Action.approve: lambda i: self.approve(i, actor, now),
            Action.return_draft: lambda i: self.return_draft(i, actor, now, [ReturnReason.spelling]),
            Action.author_reply: lambda i: self.record_author_reply(i, actor, now),
            Action.publish: lambda i: self.publish(i, actor, now, url),
            Action.assign: lambda i: self.assign_executor(i, actor, now, _responsible_department(i, actor), 0),
        }
        allowed: list[Action] = []
        for action, trial in trials.items():
            try:
                trial(copy.deepcopy(incident))
            except DomainError:
                continue
            allowed.append(action)
        return allowed

    # ---------------------------------------------------------------- deadlines

    def answer_due(self, incident: Incident) -> datetime | None:
        """Detection + the answer term in working time (org calendar), skipping closed pauses; aware datetime.

        While the clock is paused (a clarification asked of the author, Боровичи п. 10) there is no answer
        deadline — unless it had already passed when the pause began: a pause stops a running clock, it does
        not undo a breach, so the passed deadline stays (the card, /queue «Просроченные», /stats, the morning
        digest, the escalation and the monthly report keep the incident overdue). None: paused in time.
        """
        cal, term = self.calendar, self.preset.answer_term(incident.importance)
        start = incident.detected_at
        plain_due = add_term(cal, start, term)
        # A term in days is the working time up to that day (same clock time); pauses shift it.
        left = cal.between(start, plain_due)
        for p_start, p_end in sorted((p.started_at, p.ended_at) for p in incident.pauses if p.ended_at):
            if p_end <= start:
                continue
            if cal.add(start, left) < p_start:
                break
            if p_start > start:
                left -= cal.between(start, p_start)
            start = p_end
        due = cal.add(start, left) if start != incident.detected_at else plain_due
        pause = incident.open_pause
        if pause is not None and due >= pause.started_at:
            return None
        return due

    def shortened(self, incident: Incident, now: datetime) -> list[Shortened]:
        """The incident's open step windows that were cut to fit the answer deadline, with their own ends.

        The same windows `_refresh` fits (routing, re-routing, approval, revision, publication, and each
        department's return / clarification / contribution): an entry where the window's own term would end
        after the deadline it was fitted into. ``now`` only stands in for a missing start, as in `_refresh`.
        """
        limit = _limit(incident.deadlines)
        found = [
            Shortened(kind, None, end, fitted)
            for kind, (begin, end) in self._windows(incident, now).items()
            if (fitted := _fit(begin, end, limit)) < end
        ]
        for a in incident.assignments:
            for akind, (begin, end) in self._assignment_windows(incident, a).items():
                fitted = _fit(begin, end, limit)
                if fitted < end:
                    found.append(Shortened(akind, a.department_id, end, fitted))
        return found

    def _refresh(self, incident: Incident, now: datetime) -> None:
        """Recompute every open deadline from the incident's own history (SLA edge cases 11, 14, 15).

        Every step window ends no later than the answer deadline (the final one after an intermediate
        answer): each seed's answer term covers the answer's placement, so the steps before it — routing,
        approval, revision, publication… — must fit inside it (see `_fit`).
        """
        p, cal = self.preset, self.calendar
        st = incident.state
        dl: dict[DeadlineKind, datetime] = {}
        if incident.closed:
            incident.deadlines = {}
            for a in incident.assignments:
                a.deadlines = {}
            return
        if incident.intermediate_published_at is not None:
            dl[DeadlineKind.final] = add_term(cal, incident.intermediate_published_at, p.final_after_intermediate)
        else:
            answer = self.answer_due(incident)
            if answer is not None:
                dl[DeadlineKind.answer] = answer
                before = p.draft_before(incident.importance)
                if (
                    before
                    and st in (State.detected, State.routed, State.in_work)
                    and not self._has_answer_draft(incident)
                ):
                    floor = cal.next_working_moment(incident.detected_at)
                    dl[DeadlineKind.draft] = max(floor, cal.subtract(answer, before.duration))
        limit = _limit(dl)
        for kind, (begin, end) in self._windows(incident, now).items():
            dl[kind] = _fit(begin, end, limit)
        incident.deadlines = dl
        for a in incident.assignments:
            a.deadlines = {
                akind: _fit(begin, end, limit) for akind, (begin, end) in self._assignment_windows(incident, a).items()
            }

    def _windows(self, incident: Incident, now: datetime) -> dict[DeadlineKind, tuple[datetime, datetime]]:
        """Each open step window of the incident as (start, end by its own term), before fitting."""
        p, cal, ccal = self.preset, self.calendar, self.curator_calendar
        st = incident.state
        windows: dict[DeadlineKind, tuple[datetime, datetime]] = {}

        def window(kind: DeadlineKind, calendar: WorkCalendar, start: datetime, term: Term) -> None:
            windows[kind] = (start, add_term(calendar, start, term))

        if st is State.detected and p.routing:
            window(DeadlineKind.routing, ccal, incident.detected_at, p.routing)
        if st is State.returned and p.reroute:
            last = max((a.returned_at for a in incident.assignments if a.returned_at), default=now)
            window(DeadlineKind.reroute, ccal, last, p.reroute)
        draft = incident.current_draft()
        if st is State.on_approval and p.approval and draft:
            window(DeadlineKind.approval, ccal, draft.submitted_at, p.approval)
        if (
            st in (State.in_work, State.awaiting_final)
            and p.revision
            and draft
            and draft.status is DraftStatus.returned
        ):
            window(DeadlineKind.revision, cal, draft.decided_at or now, p.revision)
        if st is State.approved and p.publication and draft and draft.decided_at:
            publisher_cal = ccal if p.publisher.value is Role.curator else cal
            window(DeadlineKind.publication, publisher_cal, draft.decided_at, p.publication)
        return windows

    def _assignment_windows(
        self, incident: Incident, a: Assignment
    ) -> dict[AssignmentDeadline, tuple[datetime, datetime]]:
        """One department's open windows as (start, end by its own term), before fitting."""
        p, cal = self.preset, self.calendar
        windows: dict[AssignmentDeadline, tuple[datetime, datetime]] = {}
        if a.received_at is None or not a.active or incident.state not in (State.routed, State.in_work):
            return windows
        dep_drafts = [d for d in incident.drafts if d.department_id == a.department_id]
        if p.not_ours and a.state is AssignmentState.routed:
            windows[AssignmentDeadline.not_ours] = (a.received_at, add_term(cal, a.received_at, p.not_ours))
        if p.clarification_question and not dep_drafts and incident.mode is MultiMode.single:
            windows[AssignmentDeadline.clarification] = (
                a.received_at,
                add_term(cal, a.received_at, p.clarification_question),
            )
        if (
            p.contribution
            and incident.mode in (MultiMode.joint_parallel, MultiMode.joint_sequential)
            and a is not self._last_in_order(incident, sequential_only=True)
        ):
            windows[AssignmentDeadline.contribution] = (a.received_at, add_term(cal, a.received_at, p.contribution))
        return windows

    # ------------------------------------------------------------------ helpers

    def _event(
        self,
        incident: Incident,
        name: str,
        now: datetime,
        actor: Actor,
        frm: State | None,
        comment: str | None = None,
        department_id: int | None = None,
        data: dict[str, object] | None = None,
    ) -> Event:
        event = Event(
            name, now, actor.user_id, frm, incident.state, comment, department_id, data or {}, self.work_clock(now)
        )
        incident.milestones.note(event)
        return event

    def work_clock(self, moment: datetime) -> int:
        """Working seconds of the organisation since CLOCK_ORIGIN: the report subtracts two of these
        in SQL to get the working time between two events, with no calendar in the database.

        ``moment`` aware (ValueError if naive); the count runs from 1 January CLOCK_ORIGIN_YEAR, local time.
        """
        year = moment.astimezone(self.calendar.tz).year
        start = datetime(year, 1, 1, tzinfo=self.calendar.tz)
        if year not in self._year_clock:
            origin = datetime(CLOCK_ORIGIN_YEAR, 1, 1, tzinfo=self.calendar.tz)
            self._year_clock[year] = int(self.calendar.between(origin, start).total_seconds())
        return self._year_clock[year] + int(self.calendar.between(start, moment).total_seconds())

    def _own_assignment(
        self, incident: Incident, actor: Actor, department_id: int | None, states: tuple[AssignmentState, ...]
    ) -> Assignment:
        """The actor's department's assignment in one of `states`, or a clear refusal."""
        _open(incident)
        if not actor.has(Role.executor) and not actor.departments:
            raise NotAllowed("only executors of the department act here", key="not_executor")
        candidates = [
            a
            for a in incident.assignments
            if a.department_id in actor.departments
            and (department_id is None or a.department_id == department_id)
            and a.state is not AssignmentState.cancelled
        ]
        if not candidates:
            raise NotAllowed("the incident is not routed to your department", key="not_your_department")
        for a in candidates:
            if a.state in states:
                return a
        if any(a.state is AssignmentState.waiting for a in candidates):
            raise IllegalTransition("the previous department has not given its part yet", key="not_your_turn")
        if all(a.state is AssignmentState.returned for a in candidates):
            raise IllegalTransition("your department returned this incident", key="already_returned")
        raise IllegalTransition("this action was already taken", state=incident.state, key="already_done")

    def _check_answering_department(self, incident: Incident, assignment: Assignment) -> None:
        if incident.mode is MultiMode.joint_parallel:
            if incident.consolidator_department_id is None:
                raise IllegalTransition("the curator has not named who writes the joint answer", key="no_consolidator")
            if assignment.department_id != incident.consolidator_department_id:
                raise NotAllowed("another department writes the joint answer", key="not_consolidator")
        if incident.mode is MultiMode.joint_sequential and assignment is not self._last_in_order(incident):
            raise NotAllowed("the last department in order writes the joint answer", key="not_last")

    def _last_in_order(self, incident: Incident, sequential_only: bool = False) -> Assignment | None:
        if sequential_only and incident.mode is not MultiMode.joint_sequential:
            return None
        live = [a for a in incident.assignments if a.state not in (AssignmentState.cancelled, AssignmentState.returned)]
        return max(live, key=lambda a: a.order) if live else None

    def _activate_next(self, incident: Incident, now: datetime) -> None:
        waiting = sorted((a for a in incident.assignments if a.state is AssignmentState.waiting), key=lambda a: a.order)
        if waiting and not any(a.active for a in incident.assignments):
            waiting[0].state = AssignmentState.routed
            waiting[0].received_at = now

    def _pending_draft(self, incident: Incident, draft_number: int | None) -> Draft:
        if incident.state not in (State.on_approval, State.on_external_approval):
            raise IllegalTransition("no draft waits for approval", state=incident.state)
        draft = incident.current_draft()
        assert draft is not None
        if draft_number is not None and draft_number != draft.number:
            raise IllegalTransition("this draft was already decided", key="stale_draft")
        return draft

    def _has_answer_draft(self, incident: Incident) -> bool:
        return any(d.kind in (DraftKind.answer, DraftKind.intermediate) for d in incident.drafts)

    def _close_pause(self, incident: Incident, now: datetime) -> None:
        pause = incident.open_pause
        if pause is not None:
            pause.ended_at = now


def _other_importance(incident: Incident) -> Importance:
    return Importance.normal if incident.importance is Importance.high else Importance.high


def _some_department(incident: Incident) -> int:
    live = [
        a.department_id
        for a in incident.assignments
        if a.state not in (AssignmentState.cancelled, AssignmentState.returned)
    ]
    return live[0] if live else -1


def _responsible_department(incident: Incident, actor: Actor) -> int:
    for a in incident.assignments:
        if a.department_id in actor.responsible_for and a.active:
            return a.department_id
    return -1


def add_term(cal: WorkCalendar, start: datetime, term: Term) -> datetime:
    """``start`` + the term in ``cal``'s working time: working minutes, or N working days (README «Working time»)."""
    return cal.add_working_days(start, term.days) if term.days else cal.add(start, term.duration)


def _limit(deadlines: dict[DeadlineKind, datetime]) -> datetime | None:
    """The deadline every step window must fit in: the final answer's after an intermediate one, else the answer's."""
    return deadlines.get(DeadlineKind.final) or deadlines.get(DeadlineKind.answer)


def _fit(start: datetime, end: datetime, limit: datetime | None) -> datetime:
    """A step window's end, fitted into the answer deadline ``limit``.

    Every seed sets the answer term for the answer's *placement* (Ключи п. 6, Отрадная п. 9/17, Боровичи
    п. 8/9, Петровский п. 7/8, Удмуртия п. 10), so each step before it ends no later than that deadline,
    however long its own window (Удмуртия's 1 + 2 + 1 + 1 h of пп. 12–14 after a draft due 4 h before).
    A window that opens when the deadline has already passed keeps its own term: the incident is overdue
    anyway, and a window that closed before it opened would only ring at once. One that opens exactly at
    the deadline closes at once (the answer is still on time at that moment, not after it).
    """
    if limit is None or limit < start:
        return end
    return min(end, limit)


def _require(actor: Actor, role: Role) -> None:
    if not actor.has(role):
        raise NotAllowed(f"this action needs the role {role.value}", key="role_required", role=role.value)


def _open(incident: Incident) -> None:
    if incident.closed:
        raise IllegalTransition("the incident is closed", state=incident.state, key="closed")


def _aware(moment: datetime) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InvalidInput("a moment without a time zone", key="naive_datetime")


def _text(value: str | None, limit: int, what: str) -> str:
    # A NUL or a lone surrogate typed or pasted into a reason or a draft carries nothing a reader sees, and
    # no text column can hold it (bot.domain.incident.unstorable): dropped, not refused.
    text = storable(value or "").strip()
    if not text:
        raise InvalidInput(f"the {what} is empty", key=f"empty_{what}")
    if len(text) > limit:
        raise InvalidInput(f"the {what} is longer than {limit} characters", key=f"long_{what}", limit=limit)
    return text


def _url(value: str) -> str:
    from urllib.parse import urlsplit

    # Invisible characters copied with the link (a zero-width space, a byte order mark) are not part of it;
    # a character no column can store makes it unusable.
    url = visible(value or "").strip()
    parts = urlsplit(url)
    broken = unstorable(url) is not None or any(ch.isspace() or ord(ch) < 32 for ch in url)
    if broken or parts.scheme not in ("http", "https") or not parts.netloc or len(url) > 2048:
        raise InvalidInput("a link to the published comment must be an http(s) URL", key="bad_url")
    return url


def _check_source(source: Source) -> None:
    """A source post within the limits every intake path shares (bot.domain.incident MAX_*): a link or a text,
    a usable link (bot.domain.links.parse_link says what is wrong with one), an author that fits."""
    _aware(source.detected_at)
    if not (source.text or "").strip() and not source.url:
        raise InvalidInput("a source needs a link or a text", key="empty_source")
    if len(source.text or "") > MAX_POST_TEXT:
        raise InvalidInput("the source text is too long", key="long_source", limit=MAX_POST_TEXT)
    if len(source.author or "") > MAX_AUTHOR:
        raise InvalidInput("the author's name is too long", key="long_author", limit=MAX_AUTHOR)
    # Every intake path refuses (bot.intake_rules) or cleans (a curator's message) these first; this is the last
    # guard before the database, which would fail on them.
    for what, value in (("text", source.text), ("author", source.author), ("source id", source.external_id)):
        bad = unstorable(value or "")
        if bad is not None:
            raise InvalidInput(f"the {what} contains the character {bad}, which cannot be stored", key="bad_character")
    if source.url:
        parse_link(source.url)
