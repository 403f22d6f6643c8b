"""Training scenarios as data: short guided scripts from the regulations (SPEC §3, the seeds), each step an
instruction shown on the sandbox page and a check over the sandbox's incidents that says the step was done.

The texts are msgids of the catalogs (``N_``), translated when shown; their ``{placeholders}`` — the people, the
bot's own button labels (the same msgids as the keyboards, so a renamed button renames the instruction) and what the
preset's regulation says — come from ``placeholders``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from bot.domain.incident import (
    AssignmentState,
    DraftKind,
    DraftStatus,
    Incident,
    MultiMode,
    Role,
    State,
)
from bot.domain.presets import Preset, Term
from bot.i18n import N_, translate


@dataclass(frozen=True)
class View:
    """What a check sees: the incidents registered since the scenario started (oldest first, split parts
    included), the regulation's publisher and multi-department mode, and the sandbox's people by key with their
    department ids (``departments``: person key -> department id)."""

    incidents: Sequence[Incident]
    publisher: Role
    mode: MultiMode
    approval_levels: int
    departments: dict[str, int] = field(default_factory=dict)

    @property
    def focus(self) -> Incident | None:
        """The scenario's incident: the first one registered since it started (not a split part)."""
        return next((i for i in self.incidents if i.parent_id is None), None)

    def parts(self) -> list[Incident]:
        """The focus incident, or its parts when it was split (Боровичи п. 17)."""
        focus = self.focus
        if focus is None:
            return []
        children = [i for i in self.incidents if i.parent_id == focus.id]
        return children or [focus]


Check = Callable[[View], bool]


@dataclass(frozen=True)
class Step:
    """One instruction (a msgid; its ``{placeholders}`` are filled in by ``Scenario.texts``) and the check that it
    was done."""

    text: str
    check: Check


@dataclass(frozen=True)
class Scenario:
    """A guided script: its key, title, what it teaches (the regulation's clause) and its steps in order; title,
    about and steps are msgids."""

    key: str
    title: str
    about: str
    steps: tuple[Step, ...]

    def texts(self, locale: str, names: dict[str, str]) -> list[str]:
        """The steps' instructions in ``locale`` with ``names`` (``placeholders``) filled in."""
        return [translate(locale, step.text, **names) for step in self.steps]

    def progress(self, view: View, done: int = 0) -> int:
        """How many steps are done (0..len(steps)), going on from ``done`` steps already done: each next step
        counts once its check holds, in order — a step once done stays done, as the incident moves on."""
        while done < len(self.steps) and self.steps[done].check(view):
            done += 1
        return done


# ----- checks ---------------------------------------------------------------------------------------------------


def _registered(view: View) -> bool:
    return view.focus is not None


def _routed_to(key: str) -> Check:
    def check(view: View) -> bool:
        focus = view.focus
        department = view.departments.get(key)
        return focus is not None and any(
            a.department_id == department and a.state is not AssignmentState.cancelled
            for part in view.parts()
            for a in part.assignments
        )

    return check


def _accepted_by(key: str) -> Check:
    def check(view: View) -> bool:
        department = view.departments.get(key)
        return any(
            a.department_id == department and a.state in (AssignmentState.accepted, AssignmentState.contributed)
            for part in view.parts()
            for a in part.assignments
        )

    return check


def _draft(kind: DraftKind, *statuses: DraftStatus) -> Check:
    def check(view: View) -> bool:
        return any(d.kind is kind and d.status in statuses for part in view.parts() for d in part.drafts)

    return check


_SUBMITTED = (
    DraftStatus.on_approval,
    DraftStatus.on_external_approval,
    DraftStatus.approved,
    DraftStatus.published,
    DraftStatus.returned,
)


def _state(*states: State) -> Check:
    def check(view: View) -> bool:
        parts = view.parts()
        return bool(parts) and all(p.state in states for p in parts)

    return check


def _returned_then_resubmitted(view: View) -> bool:
    for part in view.parts():
        answers = [d for d in part.drafts if d.kind is DraftKind.answer]
        returned = [i for i, d in enumerate(answers) if d.status is DraftStatus.returned]
        if returned and any(d.status is not DraftStatus.returned for d in answers[returned[0] + 1 :]):
            return True
    return False


def _two_departments(view: View) -> bool:
    routed = {
        a.department_id for part in view.parts() for a in part.assignments if a.state is not AssignmentState.cancelled
    }
    return {view.departments.get("executor1"), view.departments.get("executor2")} <= routed


def _split_in_two(view: View) -> bool:
    return len(view.parts()) > 1 and _two_departments(view)


def _author_replied(view: View) -> bool:
    """The clarification was approved and the incident has left ``clarification``: the reply is recorded (the
    check holds from then on, as the incident moves on)."""
    focus = view.focus
    return (
        focus is not None
        and focus.state is not State.clarification
        and any(d.kind is DraftKind.clarification and d.status is DraftStatus.approved for d in focus.drafts)
    )


def _contributed(*keys: str) -> Check:
    def check(view: View) -> bool:
        given = {d.department_id for part in view.parts() for d in part.drafts if d.kind is DraftKind.contribution}
        return all(view.departments.get(key) in given for key in keys)

    return check


def _designated(key: str) -> Check:
    def check(view: View) -> bool:
        focus = view.focus
        return focus is not None and focus.consolidator_department_id == view.departments.get(key)

    return check


def _every_part(kind: DraftKind, *statuses: DraftStatus) -> Check:
    """Every part of the incident (the incident itself unless split) has a draft of ``kind`` in ``statuses``."""

    def check(view: View) -> bool:
        parts = view.parts()
        return bool(parts) and all(any(d.kind is kind and d.status in statuses for d in p.drafts) for p in parts)

    return check


_APPROVED_DRAFT = (DraftStatus.approved, DraftStatus.published)

# ----- the scenarios --------------------------------------------------------------------------------------------

_REGISTER = Step(
    N_(
        "Curator ({curator}): send the bot a link to a VK post with its text — for example "
        "«https://vk.com/wall-1_101 Третий день не вывозят мусор у дома 5 по ул. Ленина» — or forward a post "
        "(the forward button under the chat), choose the topic and press «{register}»."
    ),
    _registered,
)
_ROUTE = Step(N_("Curator: «{route_to}», tick «{department1}» and press «{route}»."), _routed_to("executor1"))
_ACCEPT = Step(N_("Now executor {executor1} takes the incident: «{accept}»."), _accepted_by("executor1"))
_DRAFT = Step(
    N_(
        "Executor: «{write}», send the answer's text (with the date the problem will be solved), then «{submit}» "
        "(if the draft check gives advice — «{fix}» or «{as_is}»)."
    ),
    _draft(DraftKind.answer, *_SUBMITTED),
)
_APPROVE = Step(
    N_("The curator approves the draft: «{approve}»{external}."), _draft(DraftKind.answer, *_APPROVED_DRAFT)
)
_PUBLISH = Step(
    N_(
        "{publisher} posts the answer in the network, presses «{published}» and sends the link to the comment, "
        "for example https://vk.com/wall-1_101?reply=5."
    ),
    _state(State.published),
)

PLAIN = Scenario(
    "plain",
    N_("An incident from registration to publication"),
    N_("Registration, routing to a department, the answer, its approval and publication: every incident's way."),
    (_REGISTER, _ROUTE, _ACCEPT, _DRAFT, _APPROVE, _PUBLISH),
)

RETURN = Scenario(
    "return",
    N_("Returning a draft for revision"),
    N_(
        "The curator returns the draft with reasons from the checklist (Отрадная п. 14); the executor revises "
        "it{revision_term}."
    ),
    (
        _REGISTER,
        _ROUTE,
        _ACCEPT,
        _DRAFT,
        Step(
            N_("Curator: «{return_for}», tick the reasons (for example «{no_date}») and press «{return}»."),
            _draft(DraftKind.answer, DraftStatus.returned),
        ),
        Step(
            N_("The executor sees the reasons and the revision term: «{write}», the corrected text, «{submit}»."),
            _returned_then_resubmitted,
        ),
        _APPROVE,
        _PUBLISH,
    ),
)

# Боровичи п. 10 pauses the answer's term while the author is silent; the other seeds are silent on it and the
# preset says what the bot does (``clarification_pauses_answer``); Отрадная п. 13 gives the question a term.
CLARIFICATION = Scenario(
    "clarification",
    N_("Asking the author a clarification"),
    N_("The executor prepares a question (clarification) to the author and the curator approves it; {pause_rule}."),
    (
        _REGISTER,
        _ROUTE,
        _ACCEPT,
        Step(
            N_("Executor{question_term}: «{clarify}», send the question to the author, «{submit}»."),
            _draft(DraftKind.clarification, *_SUBMITTED),
        ),
        Step(
            N_("The curator approves the question: «{approve}». The question is posted in the network under the post."),
            _draft(DraftKind.clarification, DraftStatus.approved),
        ),
        Step(
            N_(
                "The author replied in the network. The curator (or the executor): «{author_replied}» on the "
                "incident's card, then write what the author replied (or «-»): {reply_effect}."
            ),
            _author_replied,
        ),
        _DRAFT,
        _APPROVE,
        _PUBLISH,
    ),
)

_INTERMEDIATE_DRAFT = Step(
    N_("Executor: «{intermediate}», the text (what is done and when it will be solved), «{submit}»."),
    _draft(DraftKind.intermediate, *_SUBMITTED),
)
_INTERMEDIATE_APPROVE = Step(
    N_("The curator approves the intermediate answer: «{approve}»{external}."),
    _draft(DraftKind.intermediate, *_APPROVED_DRAFT),
)
_INTERMEDIATE_PUBLISH = Step(
    N_("{publisher} posts the intermediate answer: «{published}» and the link. The bot sets the final answer's term."),
    _draft(DraftKind.intermediate, DraftStatus.published),
)
_FINAL_DRAFT = Step(
    N_("The executor prepares the final answer: «{write}», the text, «{submit}»."),
    _draft(DraftKind.answer, *_SUBMITTED),
)

# An intermediate answer when the question cannot be solved within the answer's term (Отрадная п. 12); the final
# one is due within the preset's ``final_after_intermediate`` (7 working days in every seed).
INTERMEDIATE = Scenario(
    "intermediate",
    N_("An intermediate, then the final answer"),
    N_(
        "When the question cannot be solved within the answer's term, the author gets an intermediate answer; the "
        "final one is due {final_term}."
    ),
    (
        _REGISTER,
        _ROUTE,
        _ACCEPT,
        _INTERMEDIATE_DRAFT,
        _INTERMEDIATE_APPROVE,
        _INTERMEDIATE_PUBLISH,
        _FINAL_DRAFT,
        _APPROVE,
        _PUBLISH,
    ),
)

# Several departments in the preset's mode (SPEC §3): Отрадная п. 19 all at once, then a designated one writes the
# joint answer; Удмуртия п. 16 one after another, the last writes it; Боровичи п. 17 the message is split and each
# answers the author. A seed that sets no mode (Ключи, Петровский) practises the first.
_TWO_REGISTER = Step(
    N_(
        "Curator ({curator}): register a post about two questions at once — for example "
        "«https://vk.com/wall-1_202 На ул. Ленина яма у остановки, а мусор у дома 5 не вывозят третий день»."
    ),
    _registered,
)
_TWO_ROUTE = N_("Curator: «{route_to}», tick first «{department1}», then «{department2}», and press {route_mode}.")
_JOINT_APPROVE = Step(
    N_("The curator approves the joint answer: «{approve}»{external}."), _draft(DraftKind.answer, *_APPROVED_DRAFT)
)
_DEPARTMENTS_TITLE = N_("Several departments")
_DEPARTMENTS_ABOUT = N_("The question concerns two departments; the regulation ({mode_clause}): {mode_rule}.")


def _several(route: Check, *steps: Step) -> Scenario:
    """The several-departments scenario: a post about two questions registered, routed to both (``route`` checks
    how), then ``steps``."""
    return Scenario(
        "departments", _DEPARTMENTS_TITLE, _DEPARTMENTS_ABOUT, (_TWO_REGISTER, Step(_TWO_ROUTE, route), *steps)
    )


def _writes(text: str) -> Step:
    """A step whose check is an answer's draft submitted (the joint answer)."""
    return Step(text, _draft(DraftKind.answer, *_SUBMITTED))


def _joint(*steps: Step, publish: str) -> Scenario:
    """A joint answer of both departments: ``steps`` up to its draft, then the approval and ``publish`` (a msgid)."""
    return _several(_two_departments, *steps, _JOINT_APPROVE, Step(publish, _state(State.published)))


DEPARTMENTS: dict[MultiMode, Scenario] = {
    MultiMode.joint_parallel: _joint(
        Step(
            N_(
                "Both executors, {executor1} and {executor2}, give their information{contribution_term}: "
                "«{contribute}», the text, «{submit}»."
            ),
            _contributed("executor1", "executor2"),
        ),
        Step(
            N_(
                "From both pieces of information the curator designates who writes the joint answer: "
                "«{designate}», «{department1}»."
            ),
            _designated("executor1"),
        ),
        _writes(N_("{executor1} writes the joint answer: «{write}», the text, «{submit}».")),
        publish=N_("{publisher} posts the answer: «{published}» and the link."),
    ),
    MultiMode.joint_sequential: _joint(
        Step(
            N_(
                "{executor1} gives information first{contribution_term}: «{contribute}», the text, «{submit}». "
                "Then {executor2} receives the incident."
            ),
            _contributed("executor1"),
        ),
        _writes(
            N_(
                "{executor2}, the last in the order, writes the joint answer from the first one's information: "
                "«{accept}», «{write}», the text, «{submit}»."
            )
        ),
        publish=N_("{publisher2} posts the answer: «{published}» and the link."),
    ),
    MultiMode.split: _several(
        _split_in_two,
        Step(
            N_(
                "The message is split: each executor has their part. {executor1} and {executor2}: «{accept}», "
                "«{write}», the text on their question, «{submit}»."
            ),
            _every_part(DraftKind.answer, *_SUBMITTED),
        ),
        Step(
            N_("The curator approves both answers: «{approve}» on each part{external}."),
            _every_part(DraftKind.answer, *_APPROVED_DRAFT),
        ),
        Step(
            N_(
                "{publisher} posts both answers — the author gets an answer from each executor — and presses "
                "«{published}» on each part."
            ),
            _state(State.published),
        ),
    ),
}
# A seed that sets no mode: the same steps as the joint answer all at once, with its own explanation.
DEPARTMENTS[MultiMode.single] = Scenario(
    "departments",
    _DEPARTMENTS_TITLE,
    N_(
        "The regulation does not say how several departments answer: practise the joint answer — the departments "
        "give their information at once, and the curator designates who writes the joint answer."
    ),
    DEPARTMENTS[MultiMode.joint_parallel].steps,
)

# What each mode means, in the seeds' words (SPEC §3 «Several departments»).
_MODE_RULES = {
    MultiMode.joint_parallel: N_(
        "the curator sends the incident to all departments at once, each gives its information, and the curator "
        "designates who writes the joint answer"
    ),
    MultiMode.split: N_("the curator splits the message by topic, and the author gets an answer from each executor"),
    MultiMode.joint_sequential: N_(
        "the curator sets the order in which the departments give information; the last one writes the joint answer"
    ),
}

# The scenarios in the page's order; the one for several departments depends on the preset's mode.
ORDER = (PLAIN, RETURN, CLARIFICATION, INTERMEDIATE, DEPARTMENTS[MultiMode.joint_parallel])


def get_scenario(key: str, mode: MultiMode) -> Scenario:
    """The scenario with this key, for a regulation whose several-departments mode is ``mode``. Raises KeyError for
    an unknown key."""
    if key == "departments":
        return DEPARTMENTS[mode]
    return {s.key: s for s in ORDER}[key]


def _cited(term: Term | None, template: str, locale: str) -> str:
    """``template`` (a msgid with ``{words}`` and ``{clause}``) filled with the seed's words of ``term``; "" when the
    regulation sets no such term."""
    if term is None:
        return ""
    return translate(locale, template, words=term.in_seed, clause=term.clause)


def placeholders(
    preset: Preset, locale: str, people: dict[str, str], departments: Sequence[str], approver: str = ""
) -> dict[str, str]:
    """What the scenarios' texts refer to, in ``locale``: ``people`` (person key -> name: curator, executor1,
    executor2…), the two ``departments``' names, the ``approver``'s role where the preset approves twice
    (Петровский п. 10), who publishes (the preset's publisher: the curator, or the answering department's
    executor), the bot's button labels, and what the regulation says about clarifications, intermediate answers,
    revisions and several departments."""

    def t(message: str, **params: object) -> str:
        return translate(locale, message, **params)

    curator_publishes = preset.publisher.value is Role.curator
    pauses = preset.clarification_pauses_answer
    mode = preset.multi_mode
    return {
        **people,
        "department1": departments[0],
        "department2": departments[1],
        "publisher": t(N_("Curator ({name})"), name=people["curator"])
        if curator_publishes
        else t(N_("Executor ({name})"), name=people["executor1"]),
        "publisher2": t(N_("Curator ({name})"), name=people["curator"])
        if curator_publishes
        else t(N_("Executor ({name})"), name=people["executor2"]),
        "external": t(N_(", then {approver} approves it too: «{approve}»"), approver=approver, approve=t("Approve"))
        if preset.approval_levels.value == 2
        else "",
        # The bot's own labels: the same msgids as handlers/keyboards.py and handlers/render.py.
        "register": t("Register"),
        "route_to": t("Route to a department"),
        "route": t("Route"),
        "accept": t("Accept"),
        "write": t("Write the answer"),
        "submit": t("Submit for approval"),
        "fix": t("Fix"),
        "as_is": t("Send as is"),
        "approve": t("Approve"),
        "published": t("Published: send the link"),
        "return_for": t("Return for revision"),
        "return": t("Return"),
        "no_date": t("no date by which the problem will be solved"),
        "clarify": t("Ask a clarification"),
        "author_replied": t("Author replied"),
        "intermediate": t("Intermediate answer"),
        "contribute": t("Add our contribution"),
        "designate": t("Choose who writes the joint answer"),
        # What the preset's regulation says.
        "revision_term": _cited(preset.revision, N_(" — «{words}» ({clause})"), locale),
        "question_term": _cited(preset.clarification_question, N_(" — «{words}» ({clause})"), locale),
        "pause_rule": t(N_("while the author is silent, the answer's term is paused ({clause})"), clause=pauses.clause)
        if pauses.value
        else t(N_("the answer's term is not paused meanwhile ({clause})"), clause=pauses.clause),
        "reply_effect": t(N_("the answer's term runs again"))
        if pauses.value
        else t(N_("the answer's term ran all along")),
        "final_term": _cited(preset.final_after_intermediate, N_("«{words}» ({clause})"), locale),
        "contribution_term": _cited(preset.contribution, N_(" («{words}», {clause})"), locale),
        "mode_clause": mode.clause,
        "mode_rule": t(_MODE_RULES[mode.value]) if mode.value in _MODE_RULES else "",
        "route_mode": t(N_("the mode marked «{mark}»"), mark=t("(by the regulation)"))
        if mode.value is not MultiMode.single
        else "«➡ " + t("Joint answer: all at once") + "»",
    }
