"""Training scenarios as data: short guided scripts from the regulations (SPEC §3, the seeds), each step a Russian
instruction shown on the sandbox page and a check over the sandbox's incidents that says the step was done."""

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
    """One instruction (Russian; ``{publisher}``, ``{executor1}``… are filled in by ``Scenario.texts``) and the
    check that it was done."""

    text: str
    check: Check


@dataclass(frozen=True)
class Scenario:
    """A guided script: its key, title, what it teaches (the regulation's clause) and its steps in order."""

    key: str
    title: str
    about: str
    steps: tuple[Step, ...]

    def texts(self, names: dict[str, str]) -> list[str]:
        """The steps' instructions with the people's names and the publisher filled in (``names``: placeholder ->
        text)."""
        return [step.text.format(**names) for step in self.steps]

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


def _author_replied(view: View) -> bool:
    focus = view.focus
    return (
        focus is not None
        and focus.state is State.in_work
        and any(d.kind is DraftKind.clarification and d.status is DraftStatus.approved for d in focus.drafts)
    )


_APPROVED = (State.approved, State.published, State.awaiting_final)

# ----- the scenarios --------------------------------------------------------------------------------------------

_REGISTER = Step(
    "Куратор ({curator}): пришлите боту ссылку на пост ВКонтакте с его текстом — например "
    "«https://vk.com/wall-1_101 Третий день не вывозят мусор у дома 5 по ул. Ленина» — или перешлите пост "
    "(кнопка «Переслать пост»), выберите тему и нажмите «Зарегистрировать».",
    _registered,
)
_ROUTE = Step(
    "Куратор: «Направить в подразделение», отметьте «{department1}» и нажмите «Направить».",
    _routed_to("executor1"),
)
_ACCEPT = Step("Теперь исполнитель {executor1} принимает инцидент: «Принять в работу».", _accepted_by("executor1"))
_DRAFT = Step(
    "Исполнитель: «Подготовить ответ», пришлите текст ответа (со сроком решения), затем «Направить на согласование»"
    " (если проверка проекта дала советы — «Исправить» или «Отправить как есть»).",
    _draft(DraftKind.answer, *_SUBMITTED),
)
_APPROVE = Step(
    "Куратор согласовывает проект: «Согласовать»{external}.",
    _state(*_APPROVED),
)
_PUBLISH = Step(
    "{publisher} размещает ответ в сети и нажимает «Размещено: отправить ссылку», затем присылает ссылку на "
    "комментарий, например https://vk.com/wall-1_101?reply=5.",
    _state(State.published),
)

SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        "plain",
        "Инцидент от регистрации до публикации",
        "Регистрация, направление в отраслевой орган, ответ, согласование и размещение (раздел 3 регламента).",
        (_REGISTER, _ROUTE, _ACCEPT, _DRAFT, _APPROVE, _PUBLISH),
    ),
    Scenario(
        "return",
        "Возврат проекта на доработку",
        "Куратор возвращает проект ответа с причинами из перечня (Отрадная п. 14), исполнитель дорабатывает.",
        (
            _REGISTER,
            _ROUTE,
            _ACCEPT,
            _DRAFT,
            Step(
                "Куратор: «Вернуть на доработку», отметьте причины (например, «не указан срок решения "
                "проблемы») и нажмите «Вернуть».",
                _draft(DraftKind.answer, DraftStatus.returned),
            ),
            Step(
                "Исполнитель видит причины и срок доработки: «Подготовить ответ», исправленный текст, "
                "«Направить на согласование».",
                _returned_then_resubmitted,
            ),
            _APPROVE,
            _PUBLISH,
        ),
    ),
    Scenario(
        "clarification",
        "Запрос уточнения у автора",
        "Исполнитель запрашивает уточнение; пока автор молчит, срок ответа стоит (Боровичи п. 10).",
        (
            _REGISTER,
            _ROUTE,
            _ACCEPT,
            Step(
                "Исполнитель: «Запросить уточнение», пришлите вопрос автору, «Направить на согласование».",
                _draft(DraftKind.clarification, *_SUBMITTED),
            ),
            Step("Куратор согласовывает вопрос: «Согласовать».", _state(State.clarification)),
            Step(
                "Автор ответил в сети. Куратор: «Автор ответил» на карточке инцидента, затем напишите, что он "
                "ответил (или «-»): срок ответа снова идёт.",
                _author_replied,
            ),
            _DRAFT,
            _APPROVE,
            _PUBLISH,
        ),
    ),
    Scenario(
        "intermediate",
        "Промежуточный, затем окончательный ответ",
        "Промежуточный ответ открывает срок 7 рабочих дней для окончательного.",
        (
            _REGISTER,
            _ROUTE,
            _ACCEPT,
            Step(
                "Исполнитель: «Промежуточный ответ», текст, «Направить на согласование».",
                _draft(DraftKind.intermediate, *_SUBMITTED),
            ),
            Step("Куратор: «Согласовать»{external}.", _state(State.approved, State.awaiting_final)),
            Step(
                "{publisher} размещает промежуточный ответ: «Размещено: отправить ссылку» и ссылка.",
                _state(State.awaiting_final),
            ),
            Step(
                "Исполнитель готовит окончательный ответ: «Подготовить ответ», текст, «Направить на согласование».",
                _draft(DraftKind.answer, *_SUBMITTED),
            ),
            _APPROVE,
            _PUBLISH,
        ),
    ),
    Scenario(
        "departments",
        "Несколько отраслевых органов",
        "Инцидент касается двух отраслевых органов: режим, который предписывает регламент ({mode}).",
        (
            _REGISTER,
            Step(
                "Куратор: «Направить в подразделение», отметьте «{department1}» и «{department2}», выберите "
                "режим, отмеченный как предписанный регламентом.",
                _two_departments,
            ),
            Step(
                "Исполнитель {executor1} принимает инцидент: «Принять в работу». {executor2} получает его тоже "
                "(при поочерёдном режиме — после первого).",
                lambda view: _accepted_by("executor1")(view),
            ),
            Step(
                "Совместный ответ: каждый отраслевой орган даёт свою часть («Представить сведения»), сводный ответ "
                "направляет на согласование один из них; раздельно — каждый отвечает по своему инциденту. Куратор "
                "согласовывает.",
                lambda view: any(p.state in _APPROVED for p in view.parts()),
            ),
            Step("{publisher} размещает ответ: «Размещено: отправить ссылку».", _state(State.published)),
        ),
    ),
)

MODE_NAMES = {
    MultiMode.single: "один отраслевой орган за раз",
    MultiMode.joint_parallel: "совместный ответ, все сразу",
    MultiMode.split: "раздельно: у каждого свой инцидент",
    MultiMode.joint_sequential: "совместный ответ по очереди",
}


def get_scenario(key: str) -> Scenario:
    """The scenario with this key. Raises KeyError for an unknown one."""
    for scenario in SCENARIOS:
        if scenario.key == key:
            return scenario
    raise KeyError(key)
