"""Every deadline of an incident detected at a given moment, walked through the real workflow.

Each step is assumed to happen at the last moment its own window allows, so the plan shows the
latest moment for each action that still keeps the incident on time. A window that the workflow
cut to fit the answer deadline says so (`PlanItem.own_due`).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import datetime

from bot.domain.incident import (
    AssignmentDeadline,
    DeadlineKind,
    DraftKind,
    Importance,
    Incident,
    MultiMode,
    Network,
    Role,
    Source,
    State,
)
from bot.domain.presets import Term
from bot.domain.workflow import Actor, Workflow


@dataclass(frozen=True)
class PlanItem:
    """One line of the plan: the latest moment for a step (aware, in the organisation's zone).

    ``own_due`` is where the step's own term would end when the workflow cut the window to the answer
    deadline (README «Working time»); None when the window is whole.
    """

    key: str
    label: str  # Russian, as an official would write it
    due: datetime
    term: str
    clause: str
    own_due: datetime | None = None

    @property
    def shortened(self) -> bool:
        """Whether the workflow cut this step's window to the answer deadline."""
        return self.own_due is not None


CURATOR = Actor(1, frozenset({Role.curator, Role.external_approver}))
EXECUTOR = Actor(2, frozenset({Role.executor}), departments=frozenset({1, 2}))


def plan(workflow: Workflow, detected: datetime, importance: Importance = Importance.normal) -> list[PlanItem]:
    """The plan of an incident detected at ``detected`` (aware) with ``importance``, in step order.

    Raises whatever the workflow raises for an impossible walk (NoWorkingTimeError for a calendar without
    working time, OverflowError past year 9999).
    """
    p = workflow.preset
    tz = workflow.calendar.tz
    items: list[PlanItem] = []

    def item(
        key: str,
        label: str,
        incident: Incident,
        due: datetime | None,
        term: Term | None,
        kind: DeadlineKind | AssignmentDeadline | None = None,
    ) -> None:
        if due is None or term is None:
            return
        own = None
        if kind is not None:
            # The walk leaves no window without its start, so `now` (a stand-in for one) is never read.
            cut = [s for s in workflow.shortened(incident, due) if s.kind == kind]
            own = cut[0].own_due.astimezone(tz) if cut else None
        items.append(PlanItem(key, label, due.astimezone(tz), str(term), term.clause, own))

    source = Source(Network.vk, "https://vk.com/wall-1_1", None, "plan", detected)
    incident, _ = workflow.register(CURATOR, detected, [source], importance=importance)
    answer_term = p.answer_term(importance)
    routing_due = incident.deadlines.get(DeadlineKind.routing)
    item("routing", "Направление в отраслевой орган", incident, routing_due, p.routing, DeadlineKind.routing)
    routed_at = routing_due or detected
    if p.contribution:
        joint = _copy_routed_jointly(workflow, incident, routed_at)
    workflow.route(incident, CURATOR, routed_at, [1])
    assignment = incident.assignments[0]
    not_ours_due = assignment.deadlines.get(AssignmentDeadline.not_ours)
    item(
        "not_ours",
        "Возврат «не относится к компетенции»",
        incident,
        not_ours_due,
        p.not_ours,
        AssignmentDeadline.not_ours,
    )
    item(
        "clarification",
        "Вопрос (уточнение) куратору",
        incident,
        assignment.deadlines.get(AssignmentDeadline.clarification),
        p.clarification_question,
        AssignmentDeadline.clarification,
    )
    if p.reroute and not_ours_due is not None:
        returned = copy.deepcopy(incident)
        workflow.return_not_ours(returned, EXECUTOR, not_ours_due, "plan")
        item(
            "reroute",
            "Повторное направление после возврата",
            returned,
            returned.deadlines.get(DeadlineKind.reroute),
            p.reroute,
            DeadlineKind.reroute,
        )
    item(
        "draft",
        "Проект ответа на согласование",
        incident,
        incident.deadlines.get(DeadlineKind.draft),
        p.draft_before(importance),
    )
    answer_due = incident.deadlines[DeadlineKind.answer]
    item("answer", "Размещение ответа", incident, answer_due, answer_term)
    workflow.accept(incident, EXECUTOR, routed_at)
    submitted_at = max(incident.deadlines.get(DeadlineKind.draft, routed_at), routed_at)
    workflow.submit_draft(incident, EXECUTOR, submitted_at, DraftKind.intermediate, "plan")
    approval_due = incident.deadlines.get(DeadlineKind.approval)
    item("approval", "Решение куратора по проекту", incident, approval_due, p.approval, DeadlineKind.approval)
    decided_at = approval_due or submitted_at
    workflow.return_draft(incident, CURATOR, decided_at, ["spelling"])
    revision_due = incident.deadlines.get(DeadlineKind.revision)
    item("revision", "Доработка возвращённого проекта", incident, revision_due, p.revision, DeadlineKind.revision)
    revised_at = revision_due or decided_at
    workflow.submit_draft(incident, EXECUTOR, revised_at, DraftKind.intermediate, "plan")
    approved_at = incident.deadlines.get(DeadlineKind.approval, revised_at)
    workflow.approve(incident, CURATOR, approved_at)
    if incident.state is State.on_external_approval:
        workflow.approve(incident, CURATOR, approved_at)
    item(
        "publication",
        "Размещение согласованного ответа",
        incident,
        incident.deadlines.get(DeadlineKind.publication),
        p.publication,
        DeadlineKind.publication,
    )
    published_at = max(answer_due, approved_at)
    publisher = CURATOR if p.publisher.value is Role.curator else EXECUTOR
    workflow.publish(incident, publisher, published_at, "https://vk.com/wall-1_1?reply=2")
    item(
        "final",
        "Окончательный ответ (промежуточный размещён в срок)",
        incident,
        incident.deadlines.get(DeadlineKind.final),
        p.final_after_intermediate,
    )
    if p.contribution:
        item(
            "contribution",
            "Информация для сводного ответа (каждый орган)",
            joint,
            joint.assignments[0].deadlines.get(AssignmentDeadline.contribution),
            p.contribution,
            AssignmentDeadline.contribution,
        )
    return items


def _copy_routed_jointly(workflow: Workflow, incident: Incident, routed_at: datetime) -> Incident:
    """A copy of the registered incident sent to two departments in the preset's joint mode (its first
    department owes a contribution: Отрадная п. 19, Удмуртия п. 16)."""
    joint = copy.deepcopy(incident)
    mode = workflow.preset.multi_mode.value
    if mode not in (MultiMode.joint_parallel, MultiMode.joint_sequential):
        mode = MultiMode.joint_parallel
    workflow.route(joint, CURATOR, routed_at, [1, 2], mode=mode)
    return joint
