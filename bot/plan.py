"""Every deadline of an incident detected at a given moment, walked through the real workflow.

Each step is assumed to happen at the last moment its own window allows, so the plan shows the
latest moment for each action that still keeps the incident on time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.incident import AssignmentDeadline, DeadlineKind, DraftKind, Importance, Network, Role, Source
from bot.presets import Term
from bot.workflow import Actor, Workflow, add_term


@dataclass(frozen=True)
class PlanItem:
    key: str
    label: str  # Russian, as an official would write it
    due: datetime
    term: str
    clause: str


CURATOR = Actor(1, frozenset({Role.curator, Role.external_approver}))
EXECUTOR = Actor(2, frozenset({Role.executor}), departments=frozenset({1}))


def plan(workflow: Workflow, detected: datetime, importance: Importance = Importance.normal) -> list[PlanItem]:
    p = workflow.preset
    items: list[PlanItem] = []

    def item(key: str, label: str, due: datetime | None, term: Term | None) -> None:
        if due is not None and term is not None:
            items.append(PlanItem(key, label, due.astimezone(workflow.calendar.tz), str(term), term.clause))

    source = Source(Network.vk, "https://vk.com/wall-1_1", None, "plan", detected)
    incident, _ = workflow.register(CURATOR, detected, [source], importance=importance)
    answer_term = p.answer_term(importance)
    item("routing", "Направление в отраслевой орган", incident.deadlines.get(DeadlineKind.routing), p.routing)
    routed_at = incident.deadlines.get(DeadlineKind.routing, detected)
    workflow.route(incident, CURATOR, routed_at, [1])
    assignment = incident.assignments[0]
    item(
        "not_ours",
        "Возврат «не относится к компетенции»",
        assignment.deadlines.get(AssignmentDeadline.not_ours),
        p.not_ours,
    )
    item(
        "clarification",
        "Вопрос (уточнение) куратору",
        assignment.deadlines.get(AssignmentDeadline.clarification),
        p.clarification_question,
    )
    if p.reroute and p.not_ours:
        returned_at = assignment.deadlines[AssignmentDeadline.not_ours]
        item(
            "reroute",
            "Повторное направление после возврата",
            add_term(workflow.curator_calendar, returned_at, p.reroute),
            p.reroute,
        )
    item(
        "draft", "Проект ответа на согласование", incident.deadlines.get(DeadlineKind.draft), p.draft_before(importance)
    )
    answer_due = incident.deadlines[DeadlineKind.answer]
    item("answer", "Размещение ответа", answer_due, answer_term)
    workflow.accept(incident, EXECUTOR, routed_at)
    submitted_at = max(incident.deadlines.get(DeadlineKind.draft, routed_at), routed_at)
    workflow.submit_draft(incident, EXECUTOR, submitted_at, DraftKind.intermediate, "plan")
    item("approval", "Решение куратора по проекту", incident.deadlines.get(DeadlineKind.approval), p.approval)
    decided_at = incident.deadlines.get(DeadlineKind.approval, submitted_at)
    workflow.return_draft(incident, CURATOR, decided_at, ["spelling"])
    item("revision", "Доработка возвращённого проекта", incident.deadlines.get(DeadlineKind.revision), p.revision)
    revised_at = incident.deadlines.get(DeadlineKind.revision, decided_at)
    workflow.submit_draft(incident, EXECUTOR, revised_at, DraftKind.intermediate, "plan")
    approved_at = incident.deadlines.get(DeadlineKind.approval, revised_at)
    workflow.approve(incident, CURATOR, approved_at)
    if incident.state.value == "on_external_approval":
        workflow.approve(incident, CURATOR, approved_at)
    item(
        "publication",
        "Размещение согласованного ответа",
        incident.deadlines.get(DeadlineKind.publication),
        p.publication,
    )
    published_at = max(answer_due, approved_at)
    publisher = CURATOR if p.publisher.value is Role.curator else EXECUTOR
    workflow.publish(incident, publisher, published_at, "https://vk.com/wall-1_1?reply=2")
    item(
        "final",
        "Окончательный ответ (промежуточный размещён в срок)",
        incident.deadlines.get(DeadlineKind.final),
        p.final_after_intermediate,
    )
    if p.contribution:
        item(
            "contribution",
            "Информация для сводного ответа (каждый орган)",
            add_term(workflow.calendar, routed_at, p.contribution),
            p.contribution,
        )
    return items
