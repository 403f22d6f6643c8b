"""The incident aggregate and the vocabulary of the regulation: states, roles, drafts, reasons.

Plain dataclasses: the workflow mutates them, storage maps them to rows, handlers render them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the pre-check's vocabulary refers back to ReturnReason here
    from bot.domain.precheck.findings import Finding


class Role(StrEnum):
    """Who a person is in the regulation (SPEC §1); a person may hold several roles."""

    curator = "curator"
    executor = "executor"
    responsible = "responsible"  # ответственное должностное лицо of a department
    external_approver = "external_approver"  # regional ЦУР (Петровский п. 10)
    head = "head"
    admin = "admin"


class Network(StrEnum):
    """Where a post was published (SPEC §2); bot.domain.links tells it from the post's link."""

    vk = "vk"
    ok = "ok"
    telegram = "telegram"
    max = "max"  # the MAX messenger's channels, where bodies now keep official channels too
    dzen = "dzen"
    youtube = "youtube"
    instagram = "instagram"
    facebook = "facebook"
    twitter = "twitter"
    site = "site"
    messenger = "messenger"
    other = "other"


# Limits of a source post, shared by every intake path and the schema (storage/models.py column widths).
MAX_URL = 2048  # sources.url
MAX_AUTHOR = 255  # sources.author
MAX_POST_TEXT = 50_000  # the longest post text kept; posts in the networks are shorter
MAX_EXTERNAL_ID = 255  # sources.external_id: the monitoring system's id of the post

# Characters that no text column can hold, on any database the bot runs on: NUL (PostgreSQL's text refuses
# it: "invalid byte sequence for encoding UTF8: 0x00") and UTF-16 surrogates U+D800–U+DFFF (a lone "\ud800" is
# a valid JSON escape, yet has no UTF-8 form, so no database driver can send it). Anything else Unicode has
# is stored as it came.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def unstorable(text: str) -> str | None:
    """The first character of ``text`` that no database column can store, written as ``U+XXXX``
    (NUL, or a UTF-16 surrogate left alone by a JSON escape); None when every character can be stored.
    Every intake path refuses (bot.intake_rules) or cleans (a curator's message) such text before it
    reaches the database."""
    found = _UNSTORABLE.search(text)
    return f"U+{ord(found.group()):04X}" if found else None


def storable(text: str) -> str:
    """``text`` without the characters no database column can store (see :func:`unstorable`): they
    carry nothing a reader could see, so a message typed or forwarded in the chat loses nothing."""
    return _UNSTORABLE.sub("", text)


class Importance(StrEnum):
    """SPEC §2: ``high`` = socially significant or needing a prompt solution; it picks the shorter answer term
    where the preset has one."""

    normal = "normal"
    high = "high"


class Kind(StrEnum):
    """Where the incident came from (SPEC §2)."""

    incident = "incident"  # found by monitoring
    publication = "publication"  # found by the administration itself (Отрадная п. 2)


class MultiMode(StrEnum):
    """How several departments answer one incident (SPEC §3 «Several departments»)."""

    single = "single"
    joint_parallel = "joint_parallel"  # Отрадная п. 19
    split = "split"  # Боровичи п. 17
    joint_sequential = "joint_sequential"  # Удмуртия п. 16


class State(StrEnum):
    """The incident's place in the lifecycle of SPEC §3; CLOSED_STATES end it."""

    detected = "detected"  # registered, not yet routed
    routed = "routed"  # sent to department(s), nobody has taken it into work
    returned = "returned"  # every department said "not ours": back to the curator
    in_work = "in_work"  # an executor works on the answer (also after a return for revision)
    clarification = "clarification"  # waiting for the author's reply; answer clock paused
    on_approval = "on_approval"  # a draft waits for the curator
    on_external_approval = "on_external_approval"  # second level of a two-level chain
    approved = "approved"  # approved, waiting for publication
    awaiting_final = "awaiting_final"  # intermediate answer published, final due
    published = "published"  # final answer published: closed
    not_processable = "not_processable"  # closed without an answer (all seeds)
    split = "split"  # divided into per-department incidents (Боровичи п. 17)


CLOSED_STATES = frozenset({State.published, State.not_processable, State.split})


class AssignmentState(StrEnum):
    """One department's part in an incident; ``routed`` and ``accepted`` are live (Assignment.active)."""

    waiting = "waiting"  # joint_sequential: not this department's turn yet
    routed = "routed"  # received, not accepted
    accepted = "accepted"
    returned = "returned"  # "not ours"
    contributed = "contributed"  # gave its part of a joint answer
    cancelled = "cancelled"  # removed by re-routing


class DraftKind(StrEnum):
    """What a draft is (SPEC §3): the answer, an intermediate answer (the final one due after it), a question
    to the author, or a department's part of a joint answer."""

    answer = "answer"
    intermediate = "intermediate"
    clarification = "clarification"  # a question to the author
    contribution = "contribution"  # a department's part of a joint answer


class DraftStatus(StrEnum):
    """Where a draft stands in approval and publication."""

    on_approval = "on_approval"
    on_external_approval = "on_external_approval"
    returned = "returned"
    approved = "approved"
    published = "published"
    accepted = "accepted"  # contributions: taken by the curator / next executor


class ReturnReason(StrEnum):
    """Why a curator returns a draft (Отрадная п. 14, plus regional ЦУР criteria)."""

    not_on_merits = "not_on_merits"  # отписка, does not answer the question
    no_date = "no_date"  # no date by which the problem will be solved
    no_evidence = "no_evidence"  # work claimed done without photo/video/act
    wrong_format = "wrong_format"  # bureaucratic language, legal references, abbreviations
    personal_data = "personal_data"  # personal data of third parties
    redirects = "redirects"  # redirects to another body
    spelling = "spelling"  # spelling / punctuation errors
    other = "other"  # free text


class DeadlineKind(StrEnum):
    """The incident's own deadlines (SPEC §4), each the end of a step's window."""

    routing = "routing"  # curator routes after detection
    reroute = "reroute"  # curator re-routes after a "not ours" return
    answer = "answer"  # the answer is published
    draft = "draft"  # the draft reaches the curator
    approval = "approval"  # curator decides on a draft
    revision = "revision"  # executor revises a returned draft
    publication = "publication"  # approved text is published
    final = "final"  # final answer after an intermediate one


class AssignmentDeadline(StrEnum):
    """A department's own deadlines on an incident (SPEC §4), counted from its receipt."""

    not_ours = "not_ours"  # return "not our competence"
    clarification = "clarification"  # ask a clarification after receipt (Отрадная п. 13)
    contribution = "contribution"  # part of a joint answer


@dataclass
class Attachment:
    """A photo, video or document as Telegram holds it: ``file_id`` to send it again, ``file_unique_id`` to tell
    it from others (Telegram Bot API «File»)."""

    file_id: str
    type: str  # photo, video, document, animation, audio, voice
    file_unique_id: str | None = None


@dataclass
class Draft:
    """A draft of the answer track or a contribution, with its decision and publication; datetimes aware."""

    kind: DraftKind
    text: str
    author_id: int
    department_id: int
    submitted_at: datetime
    status: DraftStatus = DraftStatus.on_approval
    attachments: list[Attachment] = field(default_factory=list)
    id: int | None = None
    number: int = 1  # position within the incident, 1-based
    is_final: bool = False  # the final answer after an intermediate one
    return_reasons: list[ReturnReason] = field(default_factory=list)
    return_comment: str | None = None
    decided_by: int | None = None
    decided_at: datetime | None = None
    published_url: str | None = None
    published_at: datetime | None = None
    # The draft pre-check's findings on the text as submitted (issue 13 §1); None: not checked (the pre-check
    # off, or a kind it does not check), [] checked and nothing found.
    precheck: list[Finding] | None = None


@dataclass
class Assignment:
    """One department's part in an incident: its state, executor, return and own deadlines (aware)."""

    department_id: int
    received_at: datetime | None
    state: AssignmentState = AssignmentState.routed
    order: int = 0  # joint_sequential position, 0-based
    executor_id: int | None = None  # who accepted (or was assigned by the responsible official)
    return_reason: str | None = None
    returned_at: datetime | None = None
    deadlines: dict[AssignmentDeadline, datetime] = field(default_factory=dict)
    id: int | None = None

    @property
    def active(self) -> bool:
        """Whether the department works on it now (routed or accepted)."""
        return self.state in (AssignmentState.routed, AssignmentState.accepted)


@dataclass
class Pause:
    """The answer clock stops while the author is asked a clarification (Боровичи п. 10)."""

    started_at: datetime
    ended_at: datetime | None = None


@dataclass
class Source:
    """One post the incident answers; a further post on the same question adds a source."""

    network: Network
    url: str | None
    author: str | None
    text: str
    detected_at: datetime
    attachments: list[Attachment] = field(default_factory=list)
    id: int | None = None
    external_id: str | None = None  # the monitoring system's own id of the post (intake API)
    # Where Telegram says a message forwarded without a link came from — its sender and original date, e.g.
    # "user:777@1795510800" — so the same message forwarded again is the same post (bot.domain.links.post_key).
    # Not stored: only the post's key, written when it is registered, remembers it.
    origin: str | None = None


# The events whose first occurrence the monthly report measures, from detection, in working time.
MILESTONE_EVENTS: dict[str, tuple[str, ...]] = {
    "route": ("routed", "rerouted", "split_from"),
    "response": ("accepted", "executor_assigned", "contribution_submitted"),
    "draft": ("draft_submitted",),
    "publish": ("published",),  # an intermediate answer included
}


@dataclass
class Milestones:
    """What the monthly report reads off an incident instead of its whole event trail.

    The work clock (see Workflow.work_clock) of the first event of each kind in MILESTONE_EVENTS,
    and the first publication that came after its deadline, with that deadline.
    """

    route: int | None = None
    response: int | None = None
    draft: int | None = None
    publish: int | None = None
    late_at: datetime | None = None
    late_due: datetime | None = None
    late_by: int | None = None  # working seconds from late_due to late_at

    def note(self, event: Event) -> None:
        """Take the marks ``event`` is the first of (by MILESTONE_EVENTS), and a late publication."""
        for mark, names in MILESTONE_EVENTS.items():
            if event.name in names and getattr(self, mark) is None:
                setattr(self, mark, event.work_clock)
        if event.name == "published" and event.data.get("on_time") is False and self.late_at is None:
            due = event.data.get("due")
            self.late_at = event.at
            self.late_due = datetime.fromisoformat(due) if isinstance(due, str) else None
            late_by = event.data.get("late_by")
            self.late_by = late_by if isinstance(late_by, int) else None


@dataclass
class Incident:
    """The aggregate the workflow guards (SPEC §2): the posts, the departments' parts, the drafts, the pauses of
    the answer clock and the open deadlines. Every datetime is aware; ``deadlines`` hold only open ones."""

    organisation: str
    detected_at: datetime
    sources: list[Source]
    importance: Importance = Importance.normal
    kind: Kind = Kind.incident
    state: State = State.detected
    mode: MultiMode = MultiMode.single
    topic_ids: list[int] = field(default_factory=list)
    location_id: int | None = None
    repeat_of: int | None = None  # id of the earlier incident on the same question
    parent_id: int | None = None  # the incident this one was split from
    created_by: int | None = None
    assignments: list[Assignment] = field(default_factory=list)
    drafts: list[Draft] = field(default_factory=list)
    pauses: list[Pause] = field(default_factory=list)
    deadlines: dict[DeadlineKind, datetime] = field(default_factory=dict)
    consolidator_department_id: int | None = None
    intermediate_published_at: datetime | None = None
    published_at: datetime | None = None
    closed_reason: str | None = None
    detected_clock: int | None = None  # work clock at detection: report durations start here
    milestones: Milestones = field(default_factory=Milestones)
    id: int | None = None  # also the number people see: № 123
    version: int = 0  # optimistic concurrency: bumped by every saved transition

    @property
    def network(self) -> Network:
        """The network of the first post: the incident's own."""
        return self.sources[0].network

    @property
    def closed(self) -> bool:
        """Whether it is published, not processable or split (CLOSED_STATES)."""
        return self.state in CLOSED_STATES

    @property
    def open_pause(self) -> Pause | None:
        """The pause of the answer clock still running (a clarification awaits the author), or None."""
        return next((p for p in self.pauses if p.ended_at is None), None)

    def active_assignments(self) -> list[Assignment]:
        """The live assignments (routed or accepted), in the order they were made."""
        return [a for a in self.assignments if a.active]

    def assignment_for(self, department_id: int) -> Assignment | None:
        """The department's assignment that re-routing did not cancel (in any other state), or None."""
        for a in self.assignments:
            if a.department_id == department_id and a.state is not AssignmentState.cancelled:
                return a
        return None

    def current_draft(self) -> Draft | None:
        """The latest draft of the answer track (contributions live beside it)."""
        for d in reversed(self.drafts):
            if d.kind is not DraftKind.contribution:
                return d
        return None


@dataclass(frozen=True)
class Event:
    """One recorded transition: the audit trail and, later, the notifications."""

    name: str  # e.g. "routed", "accepted", "draft_submitted"
    at: datetime
    actor_id: int | None
    from_state: State | None
    to_state: State
    comment: str | None = None
    department_id: int | None = None
    data: dict[str, object] = field(default_factory=dict)
    work_clock: int | None = None  # working seconds since the workflow's clock origin (reports)
