"""Reminder marks of an incident (SPEC §5): when to remind whom, derived from its deadlines.

Pure rules: the sweep asks for the marks, drops those already sent, and fires the due ones. A mark
is identified by its key and the deadline it belongs to, so a moved deadline (importance raised,
a pause) brings new marks instead of repeating or losing old ones.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.domain.incident import AssignmentDeadline, AssignmentState, DeadlineKind, Importance, Incident, State
from bot.domain.presets import Term
from bot.domain.workflow import Workflow

ONE_HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class Mark:
    """One reminder: when it rings (``at``, aware), the deadline it belongs to, whom it reaches and what it says."""

    key: str  # e.g. "answer:1h", "routing:half", "not_ours:expiry:3" (3 = department id)
    at: datetime  # when the rule puts it
    due: datetime  # the deadline it belongs to: (incident, key, due) is sent at most once
    audience: str  # "curators", "approvers", "publisher", "escalation", "department:<id>"
    note: str = ""  # what the reminder says, e.g. "answer_1h" (see handlers.render.note_label)

    @property
    def dedupe(self) -> str:
        """``"<key>@<due ISO 8601>"``: the identity recorded once sent, so a moved deadline brings new marks."""
        return f"{self.key}@{self.due.isoformat()}"


def _window(
    workflow: Workflow, key: str, start: datetime | None, due: datetime | None, term: Term | None, audience: str
) -> list[Mark]:
    """A short window (routing, return, approval, publication): at half-time and at expiry.

    Half-time is the middle of the window as it stands — cut to the answer deadline, its half is that of the
    shorter window, so "half of the time has passed" stays true; a window too short to have a middle before
    its end (zero length) has no half-time mark.
    """
    name = key.split(":")[0]
    if due is None:
        return []
    expiry = Mark(f"{key}:expiry", due, due, audience, f"{name}_expiry")
    if start is None or term is None or term.days:
        return [expiry]
    cal = workflow.calendar if audience.startswith("department") else workflow.curator_calendar
    half = cal.add(start, cal.between(start, due) / 2)
    if not start < half < due:
        return [expiry]
    return [Mark(f"{key}:half", half, due, audience, f"{name}_half"), expiry]


def marks(incident: Incident, workflow: Workflow) -> list[Mark]:
    """Every reminder mark of the incident's open deadlines.

    A mark before a deadline ("one working hour before the answer", "one working day before the final
    answer", half-time of a window) exists only where it falls inside its term, after the term began; the
    text of each reminder states the working time really left (handlers.render), not the mark's nominal one.
    """
    if incident.closed:
        return []
    p, cal = workflow.preset, workflow.calendar
    dl = incident.deadlines
    draft = incident.current_draft()
    answering = f"department:{draft.department_id}" if draft is not None else None
    result: list[Mark] = []
    result += _window(workflow, "routing", incident.detected_at, dl.get(DeadlineKind.routing), p.routing, "curators")
    if DeadlineKind.reroute in dl:
        result.append(
            Mark("reroute:expiry", dl[DeadlineKind.reroute], dl[DeadlineKind.reroute], "curators", "reroute_expiry")
        )
    for a in incident.assignments:
        due = a.deadlines.get(AssignmentDeadline.not_ours)
        if due is not None and a.state is AssignmentState.routed:
            result += _window(
                workflow, f"not_ours:{a.department_id}", a.received_at, due, p.not_ours, f"department:{a.department_id}"
            )
        due = a.deadlines.get(AssignmentDeadline.contribution)
        if due is not None:
            result.append(
                Mark(
                    f"contribution:{a.department_id}:expiry",
                    due,
                    due,
                    f"department:{a.department_id}",
                    "contribution_expiry",
                )
            )
    working_departments = [a.department_id for a in incident.assignments if a.active]
    if DeadlineKind.approval in dl and draft is not None:
        result += _window(
            workflow, f"approval:{draft.number}", draft.submitted_at, dl[DeadlineKind.approval], p.approval, "curators"
        )
    if DeadlineKind.publication in dl and draft is not None:
        result += _window(
            workflow,
            f"publication:{draft.number}",
            draft.decided_at,
            dl[DeadlineKind.publication],
            p.publication,
            "publisher",
        )
    if DeadlineKind.revision in dl and answering is not None:
        due = dl[DeadlineKind.revision]
        result.append(
            Mark(
                f"revision:{draft.number}:expiry",
                due,
                due,
                answering,  # type: ignore[union-attr]
                "revision_expiry",
            )
        )
    if DeadlineKind.draft in dl:
        for dep in working_departments:
            result.append(
                Mark(f"draft:{dep}", dl[DeadlineKind.draft], dl[DeadlineKind.draft], f"department:{dep}", "draft_due")
            )
    answer = dl.get(DeadlineKind.answer)
    if answer is not None:
        who = [answering] if answering else [f"department:{d}" for d in working_departments]
        if not who and incident.state in (State.detected, State.returned):
            who = ["curators"]
        before = cal.subtract(answer, ONE_HOUR)
        # Inside the term only: with a term of an hour or less the mark would fall at or before detection.
        inside = before > cal.next_working_moment(incident.detected_at)
        for audience in who:
            if inside:
                result.append(Mark(f"answer:1h:{audience}", before, answer, audience, "answer_1h"))
            result.append(Mark(f"answer:due:{audience}", answer, answer, audience, "answer_due"))
        result.append(Mark("answer:overdue", answer, answer, "escalation", "answer_overdue"))
    final = dl.get(DeadlineKind.final)
    if final is not None:
        who = answering or (f"department:{working_departments[0]}" if working_departments else "curators")
        day_before = _one_working_day_before(workflow, final)
        published = incident.intermediate_published_at
        if published is None or day_before > cal.next_working_moment(published):
            result.append(Mark("final:1d", day_before, final, who, "final_1d"))
        result.append(Mark("final:due", final, final, who, "final_due"))
        result.append(Mark("final:overdue", final, final, "escalation", "final_overdue"))
    return result


def _one_working_day_before(workflow: Workflow, moment: datetime) -> datetime:
    """The same point of the previous working day: the inverse of add_working_days(…, 1)."""
    cal = workflow.calendar
    local = moment.astimezone(cal.tz)
    spans = cal.spans(local.date())
    if not spans:
        return cal.subtract(moment, timedelta(hours=8))
    day_start = datetime.combine(local.date(), spans[0].start, tzinfo=cal.tz)
    elapsed = cal.between(day_start, moment)
    day = local.date() - timedelta(days=1)
    for _ in range(60):
        previous = cal.spans(day)
        if previous:
            start = datetime.combine(day, previous[0].start, tzinfo=cal.tz)
            end = datetime.combine(day, previous[-1].end, tzinfo=cal.tz)
            return min(cal.add(start, elapsed), end) if elapsed else start
        day -= timedelta(days=1)
    return cal.subtract(moment, timedelta(hours=8))


def fire_time(mark: Mark, incident: Incident, workflow: Workflow) -> datetime:
    """Reminders go out in working time, unless the incident is of high importance."""
    if incident.importance is Importance.high:
        return mark.at
    cal = workflow.calendar
    if cal.is_working(mark.at) or cal.is_working(mark.at - timedelta(seconds=1)):
        return mark.at  # inside working time, or exactly at the end of a working span
    return cal.next_working_moment(mark.at)


def quiet_now(incident: Incident, workflow: Workflow, now: datetime) -> bool:
    """Outside working time nobody is disturbed, unless the incident is of high importance (a bot
    that was down catches up at the next working moment, not at night)."""
    if incident.importance is Importance.high:
        return False
    cal = workflow.calendar
    return not (cal.is_working(now) or cal.is_working(now - timedelta(seconds=1)))


@dataclass(frozen=True)
class Plan:
    """What a sweep does with one incident now."""

    fired: list[Mark]  # send these
    folded: list[Mark]  # due too, folded into a later catch-up reminder: recorded as sent
    next_at: datetime | None  # when to look again


def plan(incident: Incident, workflow: Workflow, sent: Iterable[str], now: datetime) -> Plan:
    """Marks to fire now and the next moment to look. After downtime several marks of one audience
    may be due at once: only the latest goes out (one catch-up reminder, not a flood).

    ``sent``: the ``Mark.dedupe`` of the marks sent already; ``now`` aware. Outside working time an incident of
    normal importance fires nothing and is looked at again at the next working moment (SPEC §5).
    """
    sent = set(sent)
    timed = [(fire_time(m, incident, workflow), m) for m in marks(incident, workflow) if m.dedupe not in sent]
    ready = [m for t, m in timed if t <= now]
    if ready and quiet_now(incident, workflow, now):
        return Plan([], [], workflow.calendar.next_working_moment(now))
    latest: dict[str, Mark] = {}
    for mark in sorted(ready, key=lambda m: (m.at, m.key)):
        latest[mark.audience] = mark
    fired = sorted(latest.values(), key=lambda m: m.key)
    chosen = {m.dedupe for m in fired}
    folded = [m for m in ready if m.dedupe not in chosen]
    future = [t for t, _ in timed if t > now]
    return Plan(fired, folded, min(future) if future else None)


def next_fire(incident: Incident, workflow: Workflow, sent: Iterable[str], now: datetime) -> datetime | None:
    """When the sweep should look at the incident next (None: nothing pending)."""
    result = plan(incident, workflow, sent, now)
    return now if result.fired or result.folded else result.next_at
