"""Who must hear about a transition: pure rules from events to card notices.

A notice asks the sender to show the incident's card in a chat: `fresh` sends a new message (the
recipient must act, and a new message rings), otherwise the existing card is edited in place.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from bot.domain.incident import AssignmentState, DraftKind, Event, Importance, Incident, MultiMode, Role


@dataclass(frozen=True)
class Notice:
    """Show incident ``incident_id``'s card in Telegram chat ``chat_id``: a new message when ``fresh``, else the
    card there edited; ``note`` names the event for the card's header."""

    chat_id: int
    incident_id: int
    fresh: bool
    note: str  # the event that caused it: the card's header line
    refresh: bool = False  # the actor's own card: only re-edited, never sent anew
    version: int = 0  # for a refresh: the incident version it must show

    def payload(self) -> dict[str, object]:
        """The outbox row's JSON payload: ``{"kind": "card", "incident_id", "fresh", "note"}``, plus
        ``"refresh": true`` and ``"version"`` for the actor's own card."""
        payload: dict[str, object] = {
            "kind": "card",
            "incident_id": self.incident_id,
            "fresh": self.fresh,
            "note": self.note,
        }
        if self.refresh:
            payload["refresh"] = True
            payload["version"] = self.version
        return payload


@dataclass(frozen=True)
class Audience:
    """Chats of the people concerned, with substitutes already put in place of absent people."""

    curators: frozenset[int] = frozenset()
    external_approvers: frozenset[int] = frozenset()
    members: Mapping[int, frozenset[int]] = field(default_factory=dict)  # department id -> chats
    responsible: Mapping[int, int] = field(default_factory=dict)  # department id -> chat
    group_chats: Mapping[int, int] = field(default_factory=dict)  # department id -> bound group chat
    users: Mapping[int, int] = field(default_factory=dict)  # user id -> chat
    publisher: Role = Role.executor
    heads: frozenset[int] = frozenset()
    report_high_to_head: bool = False  # the preset's immediate report (Отрадная п. 24, Удмуртия п. 22)

    def reminder_chats(self, audience: str, incident: Incident) -> set[int]:
        """Chats for a reminder mark's audience (see bot.domain.reminders.Mark.audience)."""
        if audience == "curators":
            return set(self.curators)
        if audience == "approvers":
            return set(self.external_approvers)
        if audience == "publisher":
            draft = incident.current_draft()
            if self.publisher is Role.curator or draft is None:
                return set(self.curators)
            return self.department(draft.department_id)
        if audience == "escalation":  # overdue: the departments' responsible officials and the curator
            chats = set(self.curators)
            for a in incident.assignments:
                if a.active and a.department_id in self.responsible:
                    chats.add(self.responsible[a.department_id])
            return chats
        if audience.startswith("department:"):
            department_id = int(audience.split(":", 1)[1])
            people = set(self.members.get(department_id, frozenset()))
            return people or ({self.group_chats[department_id]} if department_id in self.group_chats else set())
        return set()

    def department(self, department_id: int, *, group_first: bool = False) -> set[int]:
        """A department's people; a bound group chat replaces them for new work."""
        if group_first and department_id in self.group_chats:
            chats = {self.group_chats[department_id]}
        else:
            chats = set(self.members.get(department_id, frozenset()))
        if department_id in self.responsible:
            chats.add(self.responsible[department_id])
        return chats


def notices(incident: Incident, events: Iterable[Event], audience: Audience, actor_chat: int | None) -> list[Notice]:
    """The card notices for these events; the actor's own chat gets a quiet in-place refresh."""
    assert incident.id is not None
    wanted: dict[int, Notice] = {}

    def tell(chats: Iterable[int], event: Event, fresh: bool) -> None:
        for chat in chats:
            if chat == actor_chat:
                continue
            earlier = wanted.get(chat)
            if earlier is None or (fresh and not earlier.fresh):
                wanted[chat] = Notice(chat, incident.id, fresh, event.name)

    active = [a for a in incident.assignments if a.active]
    working = {a.department_id for a in incident.assignments if a.state is not AssignmentState.cancelled}
    draft = incident.current_draft()

    def answering_department() -> set[int]:
        return audience.department(draft.department_id) if draft else set()

    for event in events:
        name = event.name
        if (
            audience.report_high_to_head
            and incident.importance is Importance.high
            and (
                name == "registered" or (name == "importance_changed" and event.data.get("to") == Importance.high.value)
            )
        ):
            tell(audience.heads, Event("high_importance", event.at, event.actor_id, None, incident.state), True)
        if name == "registered" and event.data.get("via") == "api":
            # Nobody saw it arrive from the monitoring system: every curator gets the card, even the
            # one it is registered in the name of. (An imported file is not announced card by card:
            # the person who ran the import has the list, and the curators' /queue shows them.)
            for chat in audience.curators:
                wanted[chat] = Notice(chat, incident.id, True, "registered_via")
        if name in ("routed", "rerouted", "split_from"):
            for a in active:
                tell(audience.department(a.department_id, group_first=True), event, True)
        elif name == "returned_not_ours":
            tell(audience.curators, event, True)
        elif name == "accepted":
            tell(audience.curators, event, False)
        elif name == "executor_assigned":
            executor = event.data.get("executor_id")
            if isinstance(executor, int) and executor in audience.users:
                tell([audience.users[executor]], event, True)
        elif name == "contribution_submitted":
            everyone_done = all(
                a.state in (AssignmentState.contributed, AssignmentState.returned, AssignmentState.cancelled)
                for a in incident.assignments
            )
            tell(audience.curators, event, incident.mode is MultiMode.joint_parallel and everyone_done)
            if incident.mode is MultiMode.joint_sequential:
                for a in active:  # the next department in order just received it
                    tell(audience.department(a.department_id, group_first=True), event, True)
        elif name == "consolidator_designated" and event.department_id is not None:
            tell(audience.department(event.department_id), event, True)
        elif name == "draft_submitted":
            tell(audience.curators, event, True)
        elif name == "sent_to_external_approval":
            tell(audience.external_approvers, event, True)
            tell(audience.curators, event, False)
        elif name == "approved":
            if draft is not None and draft.kind is DraftKind.clarification:
                tell(answering_department(), event, True)
            elif audience.publisher is Role.curator:
                tell(audience.curators, event, True)
                tell(answering_department(), event, False)
            else:
                tell(answering_department(), event, True)
                tell(audience.curators, event, False)
        elif name == "draft_returned":
            tell(answering_department(), event, True)
            tell(audience.curators, event, False)  # a return by the regional ЦУР concerns the curator
        elif name == "author_replied":
            tell(answering_department(), event, True)
            tell(audience.curators, event, False)
        elif name == "published":
            tell(audience.curators, event, False)
            final_due = draft is not None and draft.kind is DraftKind.intermediate
            tell(answering_department(), event, final_due)
        elif name in ("not_processable", "importance_changed", "source_added"):
            for dep in working:
                tell(audience.department(dep), event, name == "importance_changed")
    if actor_chat is not None and actor_chat not in wanted and incident.id is not None:
        # The actor's own card is edited by the handler at once; this notice repeats the edit from
        # the outbox, so the card is right even if the bot dies between the commit and that edit.
        wanted[actor_chat] = Notice(actor_chat, incident.id, False, "", refresh=True, version=incident.version)
    return list(wanted.values())
