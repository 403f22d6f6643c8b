"""The lifecycle of SPEC §3 under each preset, with the deadlines an official would compute by hand.

All examples start on Tuesday 10 March 2026 (an ordinary week: 9 March is the observed holiday),
09:00–18:00 with lunch 13:00–14:00, in the preset's own time zone.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot.domain.errors import DomainError, IllegalTransition, InvalidInput, NotAllowed
from bot.domain.incident import (
    AssignmentDeadline,
    AssignmentState,
    DeadlineKind,
    DraftKind,
    DraftStatus,
    Importance,
    MultiMode,
    Network,
    ReturnReason,
    Role,
    Source,
    State,
)
from bot.domain.presets import PRESETS, get_preset
from bot.domain.workflow import Actor, SplitPart, Workflow
from bot.domain.worktime import WeeklySchedule, WorkCalendar

CURATOR = Actor(100, frozenset({Role.curator}))
APPROVER = Actor(200, frozenset({Role.external_approver}))
EXEC1 = Actor(1, frozenset({Role.executor}), departments=frozenset({1}))
EXEC2 = Actor(2, frozenset({Role.executor}), departments=frozenset({2}))
EXEC3 = Actor(3, frozenset({Role.executor}), departments=frozenset({3}))
HEAD1 = Actor(11, frozenset({Role.responsible}), responsible_for=frozenset({1}))
URL = "https://vk.com/wall-1_100?reply=5"


def make_workflow(preset: str) -> Workflow:
    p = get_preset(preset)
    return Workflow(p, WorkCalendar(p.timezone, WeeklySchedule.standard()))


def at(wf: Workflow, text: str) -> datetime:
    """A local moment of the preset's zone, 'DD HH:MM' in March 2026 or a full ISO date."""
    if len(text) <= 8:
        day, hm = text.split()
        text = f"2026-03-{int(day):02d} {hm}"
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(wf.preset.timezone))


def register(wf: Workflow, when: str = "10 10:00", importance: Importance = Importance.normal):
    source = Source(Network.vk, "https://vk.com/wall-1_100", "Иван Петров", "Яма на дороге", at(wf, when))
    return wf.register(CURATOR, at(wf, when), [source], importance=importance, topic_ids=[7])


def local(wf: Workflow, moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(ZoneInfo(wf.preset.timezone)).strftime("%d %H:%M")


# Expected deadlines for an incident detected Tue 10.03 10:00, normal importance.
LIFECYCLE = {
    # preset: routing, answer, draft, approval(after submit 15:00), revision(after return 15:10),
    #         publication(after approve 16:00), not_ours(after route 10:20)
    "kluchi": (None, "11 11:00", "10 16:00", None, "10 16:10", None, None),
    "otradnaya": ("10 10:30", "11 10:00", "10 16:00", "10 15:30", "10 16:10", "10 16:30", "10 10:50"),
    "borovichi": ("10 10:30", "11 10:00", "10 15:00", "10 15:30", "10 16:10", "10 16:30", None),
    "petrovsky": ("10 11:00", "11 10:00", "10 14:00", None, None, "10 16:30", "10 10:50"),
    "udmurtia": ("10 11:00", "12 10:00", "11 15:00", "10 16:00", "10 17:10", "10 17:00", "10 10:50"),
}


@pytest.mark.parametrize("preset", sorted(LIFECYCLE))
def test_full_lifecycle_deadlines_at_each_step(preset: str) -> None:
    routing, answer, draft, approval, revision, publication, not_ours = LIFECYCLE[preset]
    wf = make_workflow(preset)
    incident, _ = register(wf)
    assert incident.state is State.detected
    assert local(wf, incident.deadlines.get(DeadlineKind.routing)) == routing
    assert local(wf, incident.deadlines[DeadlineKind.answer]) == answer
    assert local(wf, incident.deadlines.get(DeadlineKind.draft)) == draft

    wf.route(incident, CURATOR, at(wf, "10 10:20"), [1])
    assert incident.state is State.routed
    assert DeadlineKind.routing not in incident.deadlines
    assert local(wf, incident.assignments[0].deadlines.get(AssignmentDeadline.not_ours)) == not_ours

    wf.accept(incident, EXEC1, at(wf, "10 10:30"))
    assert incident.state is State.in_work
    wf.submit_draft(incident, EXEC1, at(wf, "10 15:00"), DraftKind.answer, "Яму заделаем до 20 марта.")
    assert incident.state is State.on_approval
    assert DeadlineKind.draft not in incident.deadlines
    assert local(wf, incident.deadlines.get(DeadlineKind.approval)) == approval

    wf.return_draft(incident, CURATOR, at(wf, "10 15:10"), [ReturnReason.no_date, ReturnReason.spelling])
    assert incident.state is State.in_work
    assert incident.drafts[0].status is DraftStatus.returned
    assert local(wf, incident.deadlines.get(DeadlineKind.revision)) == revision

    wf.submit_draft(incident, EXEC1, at(wf, "10 15:40"), DraftKind.answer, "Яму заделаем до 20 марта, фото приложим.")
    wf.approve(incident, CURATOR, at(wf, "10 16:00"))
    if wf.preset.approval_levels.value == 2:
        assert incident.state is State.on_external_approval
        with pytest.raises(NotAllowed):
            wf.approve(incident, CURATOR, at(wf, "10 16:00"))
        wf.approve(incident, APPROVER, at(wf, "10 16:00"))
    assert incident.state is State.approved
    assert local(wf, incident.deadlines.get(DeadlineKind.publication)) == publication
    assert local(wf, incident.deadlines[DeadlineKind.answer]) == answer  # still running until publication

    publisher = CURATOR if wf.preset.publisher.value is Role.curator else EXEC1
    wf.publish(incident, publisher, at(wf, "10 16:20"), URL)
    assert incident.state is State.published
    assert incident.deadlines == {}
    assert incident.drafts[-1].published_url == URL


def test_high_importance_answer_due_in_4_working_hours_and_draft_2_before() -> None:
    wf = make_workflow("borovichi")
    incident, _ = register(wf, importance=Importance.high)
    assert local(wf, incident.deadlines[DeadlineKind.answer]) == "10 15:00"  # 3 h before lunch + 1 h
    assert local(wf, incident.deadlines[DeadlineKind.draft]) == "10 12:00"


def test_preset_without_high_term_keeps_the_normal_one() -> None:
    wf = make_workflow("udmurtia")
    incident, _ = register(wf, importance=Importance.high)
    assert local(wf, incident.deadlines[DeadlineKind.answer]) == "12 10:00"


def test_detection_after_hours_counts_from_next_morning() -> None:
    wf = make_workflow("otradnaya")
    incident, _ = register(wf, when="13 17:45")  # Friday evening
    assert local(wf, incident.deadlines[DeadlineKind.routing]) == "16 09:15"
    assert local(wf, incident.deadlines[DeadlineKind.answer]) == "16 17:45"


def test_importance_raised_mid_flight_recomputes_from_detection() -> None:
    wf = make_workflow("otradnaya")
    incident, _ = register(wf)
    wf.route(incident, CURATOR, at(wf, "10 10:10"), [1])
    wf.change_importance(incident, CURATOR, at(wf, "10 11:00"), Importance.high)
    assert local(wf, incident.deadlines[DeadlineKind.answer]) == "10 15:00"
    assert DeadlineKind.draft not in incident.deadlines  # Отрадная sets no draft mark for high


def test_return_not_ours_goes_back_to_curator_for_rerouting() -> None:
    wf = make_workflow("otradnaya")
    incident, _ = register(wf)
    wf.route(incident, CURATOR, at(wf, "10 10:10"), [1])
    events = wf.return_not_ours(incident, EXEC1, at(wf, "10 10:30"), "Дороги — не наш орган")
    assert incident.state is State.returned
    assert events[0].comment == "Дороги — не наш орган"
    assert local(wf, incident.deadlines[DeadlineKind.reroute]) == "10 11:00"
    wf.route(incident, CURATOR, at(wf, "10 10:50"), [2])
    assert incident.state is State.routed
    assert [a.state for a in incident.assignments] == [AssignmentState.returned, AssignmentState.routed]
    with pytest.raises(IllegalTransition) as refused:
        wf.accept(incident, EXEC1, at(wf, "10 11:00"))
    assert refused.value.key == "already_returned"
    wf.accept(incident, EXEC2, at(wf, "10 11:00"))
    assert incident.state is State.in_work


def test_clarification_pauses_the_answer_clock_until_the_author_replies() -> None:
    wf = make_workflow("borovichi")
    incident, _ = register(wf)
    wf.route(incident, CURATOR, at(wf, "10 10:10"), [1])
    wf.accept(incident, EXEC1, at(wf, "10 10:20"))
    wf.submit_draft(incident, EXEC1, at(wf, "10 11:00"), DraftKind.clarification, "Уточните адрес, пожалуйста.")
    wf.approve(incident, CURATOR, at(wf, "10 11:20"))
    assert incident.state is State.clarification
    assert DeadlineKind.answer not in incident.deadlines  # paused
    wf.record_author_reply(incident, CURATOR, at(wf, "11 12:00"), "ул. Ленина, 5")
    assert incident.state is State.in_work
    # 1 h 20 min ran before the pause; 6 h 40 min remain from Wed 12:00: 5 h on Wed, 1 h 40 on Thu.
    assert local(wf, incident.deadlines[DeadlineKind.answer]) == "12 10:40"


def test_two_pauses_across_a_weekend_count_only_working_time() -> None:
    wf = make_workflow("borovichi")
    incident, _ = register(wf, when="13 16:00")  # Friday
    wf.route(incident, CURATOR, at(wf, "13 16:05"), [1])
    wf.accept(incident, EXEC1, at(wf, "13 16:10"))
    for ask, approve, reply in (("13 16:20", "13 17:00", "16 10:00"), ("16 10:30", "16 11:00", "16 14:00")):
        wf.submit_draft(incident, EXEC1, at(wf, ask), DraftKind.clarification, "Уточните, пожалуйста.")
        wf.approve(incident, CURATOR, at(wf, approve))
        wf.record_author_reply(incident, CURATOR, at(wf, reply))
    # Ran: Fri 16:00-17:00 (1 h) + Mon 10:00-11:00 (1 h); 6 h left from Mon 14:00 → 4 h Mon + 2 h Tue.
    assert local(wf, incident.deadlines[DeadlineKind.answer]) == "17 11:00"
    assert len(incident.pauses) == 2


def test_pause_on_an_overdue_incident_keeps_it_overdue() -> None:
    wf = make_workflow("borovichi")
    incident, _ = register(wf)
    wf.route(incident, CURATOR, at(wf, "10 10:10"), [1])
    wf.accept(incident, EXEC1, at(wf, "10 10:20"))
    wf.submit_draft(incident, EXEC1, at(wf, "11 11:00"), DraftKind.clarification, "Уточните адрес.")
    wf.approve(incident, CURATOR, at(wf, "11 11:30"))  # answer was due 11 10:00
    wf.record_author_reply(incident, CURATOR, at(wf, "12 09:00"))
    assert incident.deadlines[DeadlineKind.answer] < at(wf, "12 09:00")


def test_intermediate_then_final_within_7_working_days() -> None:
    wf = make_workflow("otradnaya")
    incident, _ = register(wf)
    wf.route(incident, CURATOR, at(wf, "10 10:10"), [1])
    wf.accept(incident, EXEC1, at(wf, "10 10:20"))
    wf.submit_draft(incident, EXEC1, at(wf, "10 15:00"), DraftKind.intermediate, "Вопрос на контроле, ответим.")
    wf.approve(incident, CURATOR, at(wf, "10 15:20"))
    wf.publish(incident, EXEC1, at(wf, "11 11:00"), URL)
    assert incident.state is State.awaiting_final
    assert DeadlineKind.answer not in incident.deadlines
    assert local(wf, incident.deadlines[DeadlineKind.final]) == "20 11:00"
    with pytest.raises(InvalidInput):
        wf.submit_draft(incident, EXEC1, at(wf, "12 10:00"), DraftKind.intermediate, "Ещё промежуточный")
    draft, _ = wf.submit_draft(incident, EXEC1, at(wf, "19 10:00"), DraftKind.answer, "Работы выполнены.")
    assert draft.is_final
    wf.return_draft(incident, CURATOR, at(wf, "19 10:10"), [ReturnReason.no_evidence])
    assert incident.state is State.awaiting_final
    assert local(wf, incident.deadlines[DeadlineKind.final]) == "20 11:00"
    wf.submit_draft(incident, EXEC1, at(wf, "19 11:00"), DraftKind.answer, "Работы выполнены, фото.")
    wf.approve(incident, CURATOR, at(wf, "19 11:10"))
    wf.publish(incident, EXEC1, at(wf, "19 11:20"), URL + "1")
    assert incident.state is State.published


def test_joint_parallel_contributions_then_consolidator_writes_the_answer() -> None:
    wf = make_workflow("otradnaya")
    incident, _ = register(wf)
    wf.route(incident, CURATOR, at(wf, "10 10:10"), [1, 2])
    assert incident.mode is MultiMode.joint_parallel
    assert [local(wf, a.deadlines[AssignmentDeadline.contribution]) for a in incident.assignments] == [
        "10 12:10",
        "10 12:10",
    ]
    wf.submit_draft(incident, EXEC1, at(wf, "10 11:00"), DraftKind.contribution, "Часть 1")
    wf.submit_draft(incident, EXEC2, at(wf, "10 11:30"), DraftKind.contribution, "Часть 2")
    with pytest.raises(IllegalTransition):  # nobody named to consolidate yet
        wf.submit_draft(incident, EXEC1, at(wf, "10 11:40"), DraftKind.answer, "Сводный ответ")
    wf.designate_consolidator(incident, CURATOR, at(wf, "10 11:45"), 2)
    with pytest.raises(NotAllowed):
        wf.submit_draft(incident, EXEC1, at(wf, "10 11:50"), DraftKind.answer, "Сводный ответ")
    wf.submit_draft(incident, EXEC2, at(wf, "10 12:00"), DraftKind.answer, "Сводный ответ")
    assert incident.state is State.on_approval


def test_joint_sequential_each_department_in_turn_with_3_hours_and_last_writes() -> None:
    wf = make_workflow("udmurtia")
    incident, _ = register(wf)
    wf.route(incident, CURATOR, at(wf, "10 10:00"), [1, 2, 3])
    first, second, third = incident.assignments
    assert local(wf, first.deadlines[AssignmentDeadline.contribution]) == "10 13:00"
    assert second.state is AssignmentState.waiting and not second.deadlines
    with pytest.raises(IllegalTransition):
        wf.submit_draft(incident, EXEC2, at(wf, "10 10:30"), DraftKind.contribution, "Рано")
    wf.submit_draft(incident, EXEC1, at(wf, "10 11:00"), DraftKind.contribution, "Часть 1")
    assert second.state is AssignmentState.routed
    assert local(wf, second.deadlines[AssignmentDeadline.contribution]) == "10 15:00"  # lunch skipped
    wf.submit_draft(incident, EXEC2, at(wf, "10 12:00"), DraftKind.contribution, "Часть 2")
    assert third.state is AssignmentState.routed
    with pytest.raises(InvalidInput):
        wf.submit_draft(incident, EXEC3, at(wf, "10 12:30"), DraftKind.contribution, "Часть 3")
    wf.accept(incident, EXEC3, at(wf, "10 12:30"))
    wf.submit_draft(incident, EXEC3, at(wf, "10 14:30"), DraftKind.answer, "Общий ответ из трёх частей")
    assert incident.state is State.on_approval


def test_split_gives_each_department_its_own_incident_and_answer() -> None:
    wf = make_workflow("borovichi")
    incident, _ = register(wf)
    incident.id = 5
    result = wf.split(incident, CURATOR, at(wf, "10 10:10"), [SplitPart(1, (7,)), SplitPart(2, (8,))])
    assert incident.state is State.split and incident.closed
    assert [c.parent_id for c in result.children] == [5, 5]
    assert [c.assignments[0].department_id for c in result.children] == [1, 2]
    child = result.children[1]
    assert child.state is State.routed and child.topic_ids == [8]
    assert local(wf, child.deadlines[DeadlineKind.answer]) == "11 10:00"  # from the original detection
    wf.accept(child, EXEC2, at(wf, "10 10:20"))
    with pytest.raises(NotAllowed):
        wf.accept(result.children[0], EXEC2, at(wf, "10 10:20"))


def test_not_processable_closes_with_reason_and_refuses_further_actions() -> None:
    wf = make_workflow("udmurtia")
    incident, _ = register(wf)
    wf.mark_not_processable(incident, CURATOR, at(wf, "10 10:05"), "Нецензурные выражения")
    assert incident.state is State.not_processable and incident.closed_reason == "Нецензурные выражения"
    assert incident.deadlines == {}
    with pytest.raises(IllegalTransition):
        wf.route(incident, CURATOR, at(wf, "10 10:10"), [1])


def test_repeat_incident_is_linked_to_the_earlier_one() -> None:
    wf = make_workflow("kluchi")
    earlier, _ = register(wf)
    earlier.id = 41
    source = Source(Network.ok, "https://ok.ru/group/1/topic/2", "Иван Петров", "Опять яма", at(wf, "20 10:00"))
    again, events = wf.register(CURATOR, at(wf, "20 10:00"), [source], repeat_of=earlier)
    assert again.repeat_of == 41 and events[0].data == {"repeat_of": 41}


def test_further_post_joins_an_open_incident_as_a_source() -> None:
    wf = make_workflow("otradnaya")
    incident, _ = register(wf)
    extra = Source(Network.telegram, "https://t.me/chat/55", "Мария", "И у нас яма", at(wf, "10 11:00"))
    wf.add_source(incident, CURATOR, at(wf, "10 11:00"), extra)
    assert [s.network for s in incident.sources] == [Network.vk, Network.telegram]
    with pytest.raises(InvalidInput):
        wf.add_source(incident, CURATOR, at(wf, "10 11:01"), extra)


def test_responsible_official_reassigns_within_the_department() -> None:
    wf = make_workflow("petrovsky")
    incident, _ = register(wf)
    wf.route(incident, CURATOR, at(wf, "10 10:10"), [1])
    with pytest.raises(NotAllowed):
        wf.assign_executor(incident, EXEC1, at(wf, "10 10:15"), 1, 9)
    wf.assign_executor(incident, HEAD1, at(wf, "10 10:15"), 1, 9)
    assert incident.assignments[0].executor_id == 9 and incident.state is State.in_work


# ------------------------------------------------------------- illegal transitions


def _in_work(preset: str = "otradnaya"):
    wf = make_workflow(preset)
    incident, _ = register(wf)
    wf.route(incident, CURATOR, at(wf, "10 10:10"), [1])
    wf.accept(incident, EXEC1, at(wf, "10 10:20"))
    return wf, incident


ILLEGAL = {
    "accept before routing": lambda wf, i: wf.accept(register(wf)[0], EXEC1, at(wf, "10 11:00")),
    "accept twice": lambda wf, i: wf.accept(i, EXEC1, at(wf, "10 11:00")),
    "executor routes": lambda wf, i: wf.route(register(wf)[0], EXEC1, at(wf, "10 11:00"), [1]),
    "route an incident already routed": lambda wf, i: wf.route(i, CURATOR, at(wf, "10 11:00"), [2]),
    "other department submits": lambda wf, i: wf.submit_draft(i, EXEC2, at(wf, "10 11:00"), DraftKind.answer, "x"),
    "approve with nothing submitted": lambda wf, i: wf.approve(i, CURATOR, at(wf, "10 11:00")),
    "publish before approval": lambda wf, i: wf.publish(i, EXEC1, at(wf, "10 11:00"), URL),
    "author reply without clarification": lambda wf, i: wf.record_author_reply(i, CURATOR, at(wf, "10 11:00")),
    "empty draft": lambda wf, i: wf.submit_draft(i, EXEC1, at(wf, "10 11:00"), DraftKind.answer, "   "),
    "oversize draft": lambda wf, i: wf.submit_draft(i, EXEC1, at(wf, "10 11:00"), DraftKind.answer, "я" * 10_001),
    "contribution in single mode": lambda wf, i: wf.submit_draft(
        i, EXEC1, at(wf, "10 11:00"), DraftKind.contribution, "x"
    ),
    "consolidator in single mode": lambda wf, i: wf.designate_consolidator(i, CURATOR, at(wf, "10 11:00"), 1),
    "executor marks not processable": lambda wf, i: wf.mark_not_processable(i, EXEC1, at(wf, "10 11:00"), "x"),
    "route to no department": lambda wf, i: wf.route(register(wf)[0], CURATOR, at(wf, "10 11:00"), []),
    "several departments without a mode": lambda wf, i: wf.route(
        register(wf)[0], CURATOR, at(wf, "10 11:00"), [1, 2], MultiMode.single
    ),
    "detected in the future": lambda wf, i: wf.register(
        CURATOR,
        at(wf, "10 10:00"),
        [Source(Network.vk, None, None, "x", at(wf, "10 10:00"))],
        detected_at=at(wf, "10 12:00"),
    ),
    "naive detection moment": lambda wf, i: wf.register(
        CURATOR, at(wf, "10 10:00"), [Source(Network.vk, None, None, "x", datetime(2026, 3, 10, 10))]
    ),
    "source with a bad link": lambda wf, i: wf.register(
        CURATOR, at(wf, "10 10:00"), [Source(Network.vk, "javascript:alert(1)", None, "x", at(wf, "10 10:00"))]
    ),
}


@pytest.mark.parametrize("case", sorted(ILLEGAL))
def test_illegal_transition_is_refused_and_changes_nothing(case: str) -> None:
    wf, incident = _in_work()
    before = repr(incident)
    with pytest.raises(DomainError):
        ILLEGAL[case](wf, incident)
    assert repr(incident) == before


def test_stale_approval_of_an_already_decided_draft_is_refused() -> None:
    wf, incident = _in_work()
    wf.submit_draft(incident, EXEC1, at(wf, "10 11:00"), DraftKind.answer, "Ответ 1")
    wf.return_draft(incident, CURATOR, at(wf, "10 11:10"), [ReturnReason.spelling])
    wf.submit_draft(incident, EXEC1, at(wf, "10 11:40"), DraftKind.answer, "Ответ 2")
    with pytest.raises(IllegalTransition) as err:
        wf.approve(incident, CURATOR, at(wf, "10 11:50"), draft_number=1)  # a button under draft 1
    assert err.value.key == "stale_draft"
    assert incident.state is State.on_approval


def test_return_reason_other_needs_a_comment_and_reasons_are_kept() -> None:
    wf, incident = _in_work()
    wf.submit_draft(incident, EXEC1, at(wf, "10 11:00"), DraftKind.answer, "Ответ")
    with pytest.raises(InvalidInput):
        wf.return_draft(incident, CURATOR, at(wf, "10 11:10"), [ReturnReason.other])
    with pytest.raises(InvalidInput):
        wf.return_draft(incident, CURATOR, at(wf, "10 11:10"), [])
    wf.return_draft(
        incident, CURATOR, at(wf, "10 11:10"), [ReturnReason.wrong_format, ReturnReason.other], "Без канцелярита"
    )
    draft = incident.drafts[0]
    assert draft.return_reasons == [ReturnReason.wrong_format, ReturnReason.other]
    assert draft.return_comment == "Без канцелярита"


def test_publication_link_must_be_a_url_and_publisher_follows_preset() -> None:
    wf, incident = _in_work("borovichi")  # the curator publishes (п. 15)
    wf.submit_draft(incident, EXEC1, at(wf, "10 11:00"), DraftKind.answer, "Ответ")
    wf.approve(incident, CURATOR, at(wf, "10 11:10"))
    with pytest.raises(NotAllowed):
        wf.publish(incident, EXEC1, at(wf, "10 11:20"), URL)
    with pytest.raises(InvalidInput):
        wf.publish(incident, CURATOR, at(wf, "10 11:20"), "опубликовал")
    wf.publish(incident, CURATOR, at(wf, "10 11:20"), URL)
    assert incident.state is State.published


def test_events_record_who_when_from_and_to() -> None:
    wf, incident = _in_work()
    _, events = wf.submit_draft(incident, EXEC1, at(wf, "10 11:00"), DraftKind.answer, "Ответ")
    (event,) = events
    assert (event.name, event.actor_id, event.from_state, event.to_state) == (
        "draft_submitted",
        1,
        State.in_work,
        State.on_approval,
    )
    assert event.at == at(wf, "10 11:00")


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_value_cites_its_clause(name: str) -> None:
    preset = get_preset(name)
    for field_name, value in vars(preset).items():
        if hasattr(value, "clause"):
            assert value.clause, f"{name}.{field_name} has no clause"


def test_actions_offered_follow_role_department_and_state() -> None:
    from bot.domain.workflow import Action

    wf = make_workflow("otradnaya")
    incident, _ = register(wf)
    now = at(wf, "10 10:05")
    assert set(wf.actions_for(incident, CURATOR, now)) >= {Action.route, Action.not_processable, Action.importance}
    assert wf.actions_for(incident, EXEC1, now) == []
    wf.route(incident, CURATOR, now, [1])
    assert set(wf.actions_for(incident, EXEC1, now)) == {Action.accept, Action.not_ours}
    assert wf.actions_for(incident, EXEC2, now) == []
    wf.accept(incident, EXEC1, now)
    assert {Action.answer, Action.intermediate, Action.clarification} <= set(wf.actions_for(incident, EXEC1, now))
    wf.submit_draft(incident, EXEC1, now, DraftKind.answer, "Ответ")
    assert set(wf.actions_for(incident, CURATOR, now)) >= {Action.approve, Action.return_draft}
    assert Action.approve not in wf.actions_for(incident, EXEC1, now)
    wf.approve(incident, CURATOR, now)
    assert Action.publish in wf.actions_for(incident, EXEC1, now)  # Отрадная п. 16: the executor posts


def test_work_clock_differences_are_working_time_between_events() -> None:
    wf = make_workflow("otradnaya")
    incident, (registered,) = register(wf)
    (routed,) = wf.route(incident, CURATOR, at(wf, "10 11:00"), [1])
    (accepted,) = wf.accept(incident, EXEC1, at(wf, "11 10:00"))  # next morning: 7 h 00 of working time
    assert routed.work_clock - incident.detected_clock == 3600
    assert accepted.work_clock - routed.work_clock == 7 * 3600
    assert registered.work_clock == incident.detected_clock  # registered at the moment of detection
    other_year = wf.work_clock(datetime(2027, 1, 11, 10, tzinfo=ZoneInfo("Europe/Moscow")))
    assert other_year - accepted.work_clock == int(
        wf.calendar.between(
            at(wf, "11 10:00"), datetime(2027, 1, 11, 10, tzinfo=ZoneInfo("Europe/Moscow"))
        ).total_seconds()
    )


def test_publication_records_whether_the_answer_was_on_time() -> None:
    wf, incident = _in_work()
    wf.submit_draft(incident, EXEC1, at(wf, "10 15:00"), DraftKind.answer, "Ответ")
    wf.approve(incident, CURATOR, at(wf, "10 15:10"))
    (published,) = wf.publish(incident, EXEC1, at(wf, "11 10:30"), URL)  # due 11 10:00
    assert published.data["on_time"] is False and published.data["due"].startswith("2026-03-11T10:00")


def test_milestones_keep_the_first_of_each_mark_and_the_first_late_publication() -> None:
    wf = make_workflow("otradnaya")
    incident, _ = register(wf)  # detected Tue 10.03 10:00
    wf.route(incident, CURATOR, at(wf, "10 11:00"), [1])
    wf.accept(incident, EXEC1, at(wf, "10 12:00"))
    wf.submit_draft(incident, EXEC1, at(wf, "10 15:00"), DraftKind.intermediate, "Вопрос на контроле.")
    wf.return_draft(incident, CURATOR, at(wf, "10 15:10"), [ReturnReason.no_date])
    wf.submit_draft(incident, EXEC1, at(wf, "10 16:00"), DraftKind.intermediate, "Ответим до 20 марта.")
    wf.approve(incident, CURATOR, at(wf, "10 16:10"))
    wf.publish(incident, EXEC1, at(wf, "11 11:00"), URL)  # answer was due 11 10:00: one hour late
    marks = incident.milestones
    hours = {
        name: (getattr(marks, name) - incident.detected_clock) / 3600
        for name in ("route", "response", "draft", "publish")
    }
    # Working hours from detection; the resubmitted draft does not move the draft mark.
    assert hours == {"route": 1, "response": 2, "draft": 4, "publish": 9}
    assert local(wf, marks.late_at) == "11 11:00" and local(wf, marks.late_due) == "11 10:00"
    assert marks.late_by == 3600  # working seconds past the deadline

    # The final answer, also late, neither moves the publication mark nor the first late one.
    wf.submit_draft(incident, EXEC1, at(wf, "23 10:00"), DraftKind.answer, "Работы выполнены.")
    wf.approve(incident, CURATOR, at(wf, "23 10:10"))
    wf.publish(incident, EXEC1, at(wf, "23 10:20"), URL + "1")
    assert (marks.publish - incident.detected_clock) / 3600 == 9
    assert local(wf, marks.late_at) == "11 11:00"


def test_on_time_publication_leaves_no_late_mark_and_split_children_are_routed_at_the_split() -> None:
    wf = make_workflow("borovichi")
    incident, _ = register(wf)
    incident.id = 5
    result = wf.split(incident, CURATOR, at(wf, "10 10:30"), [SplitPart(1, (7,)), SplitPart(2, (8,))])
    assert [[e.name for e in trail] for trail in result.child_events] == [["split_from"], ["split_from"]]
    child = result.children[0]
    assert (child.milestones.route - child.detected_clock) == 30 * 60
    wf.accept(child, EXEC1, at(wf, "10 10:40"))
    wf.submit_draft(child, EXEC1, at(wf, "10 11:00"), DraftKind.answer, "Ответ")
    wf.approve(child, CURATOR, at(wf, "10 11:10"))
    wf.publish(child, CURATOR, at(wf, "10 11:20"), URL)
    assert child.milestones.publish - child.detected_clock == 80 * 60
    assert child.milestones.late_at is None and child.milestones.late_due is None and child.milestones.late_by is None


def test_text_typed_in_the_chat_loses_what_no_column_can_store_and_a_link_its_invisible_characters() -> None:
    """A NUL in a draft or a reason reached PostgreSQL, which refuses it; a zero-width space after the
    published link was stored inside it. A post with such a character is refused (its intake paths clean or
    name it first: bot.intake_rules, handlers/posts.py)."""
    wf, incident = _in_work("borovichi")
    wf.submit_draft(incident, EXEC1, at(wf, "10 11:00"), DraftKind.answer, "Отв\x00ет\ud800")
    assert incident.current_draft().text == "Ответ"
    wf.approve(incident, CURATOR, at(wf, "10 11:10"))
    for broken in (URL + "\x00", URL.replace("vk.com", "vk.com\ud800")):
        with pytest.raises(InvalidInput):
            wf.publish(incident, CURATOR, at(wf, "10 11:20"), broken)
    wf.publish(incident, CURATOR, at(wf, "10 11:20"), "\u200b" + URL + "\ufeff")
    assert incident.current_draft().published_url == URL

    other, _ = register(wf)
    wf.mark_not_processable(other, CURATOR, at(wf, "10 10:05"), "Угрозы\x00")
    assert other.closed_reason == "Угрозы"
    for field in ("text", "author", "external_id"):
        source = Source(Network.other, None, "Автор", "Текст", at(wf, "10 10:00"))
        setattr(source, field, "Яма\x00")
        with pytest.raises(InvalidInput) as refused:
            wf.register(CURATOR, at(wf, "10 10:00"), [source])
        assert refused.value.key == "bad_character"
