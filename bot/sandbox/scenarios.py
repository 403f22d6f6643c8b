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
from bot.domain.presets import Preset


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
    _draft(DraftKind.answer, *_APPROVED_DRAFT),
)
_PUBLISH = Step(
    "{publisher} размещает ответ в сети и нажимает «Размещено: отправить ссылку», затем присылает ссылку на "
    "комментарий, например https://vk.com/wall-1_101?reply=5.",
    _state(State.published),
)


_JOINT_APPROVE = Step(
    "Куратор согласовывает сводный ответ: «Согласовать»{external}.", _draft(DraftKind.answer, *_APPROVED_DRAFT)
)


def _joint_publish(publisher: str) -> Step:
    """The joint answer posted by ``publisher`` (a placeholder: the curator, or the writing department's
    executor)."""
    return Step(f"{publisher} размещает ответ: «Размещено: отправить ссылку» и ссылка.", _state(State.published))


def _clarification(preset: Preset) -> Scenario:
    """Боровичи п. 10 pauses the answer's clock while the author is silent; the other seeds are silent on it and
    the preset says what the bot does (``clarification_pauses_answer``); Отрадная п. 13 gives the question a term."""
    pauses = preset.clarification_pauses_answer
    rule = (
        f"пока автор молчит, срок ответа приостановлен ({pauses.clause})"
        if pauses.value
        else f"срок ответа на время уточнения не приостанавливается ({pauses.clause})"
    )
    term = preset.clarification_question
    when = f" — {term.in_seed} ({term.clause})" if term is not None else ""
    after = "срок ответа снова идёт" if pauses.value else "срок ответа всё это время шёл"
    return Scenario(
        "clarification",
        "Запрос уточнения у автора",
        f"Исполнитель готовит вопрос (уточнение) автору, куратор его согласовывает; {rule}.",
        (
            _REGISTER,
            _ROUTE,
            _ACCEPT,
            Step(
                f"Исполнитель{when}: «Запросить уточнение», пришлите вопрос автору, «Направить на согласование».",
                _draft(DraftKind.clarification, *_SUBMITTED),
            ),
            Step(
                "Куратор согласовывает вопрос: «Согласовать». Вопрос размещают в сети под постом автора.",
                _draft(DraftKind.clarification, DraftStatus.approved),
            ),
            Step(
                "Автор ответил в сети. Куратор (или исполнитель): «Автор ответил» на карточке инцидента, затем "
                f"напишите, что он ответил (или «-»): {after}.",
                _author_replied,
            ),
            _DRAFT,
            _APPROVE,
            _PUBLISH,
        ),
    )


def _intermediate(preset: Preset) -> Scenario:
    """An intermediate answer when the question cannot be solved within the answer's term (Отрадная п. 12); the
    final one is due within the preset's ``final_after_intermediate`` (7 working days in every seed)."""
    final = preset.final_after_intermediate
    return Scenario(
        "intermediate",
        "Промежуточный, затем окончательный ответ",
        "Когда решить вопрос в срок ответа нельзя, автору дают промежуточный ответ; окончательный — "
        f"{final.in_seed} ({final.clause}).",
        (
            _REGISTER,
            _ROUTE,
            _ACCEPT,
            Step(
                "Исполнитель: «Промежуточный ответ», текст (что сделано и когда будет решено), «Направить на "
                "согласование».",
                _draft(DraftKind.intermediate, *_SUBMITTED),
            ),
            Step(
                "Куратор согласовывает промежуточный ответ: «Согласовать»{external}.",
                _draft(DraftKind.intermediate, *_APPROVED_DRAFT),
            ),
            Step(
                "{publisher} размещает промежуточный ответ: «Размещено: отправить ссылку» и ссылка. Бот ставит срок "
                "окончательного ответа.",
                _draft(DraftKind.intermediate, DraftStatus.published),
            ),
            Step(
                "Исполнитель готовит окончательный ответ: «Подготовить ответ», текст, «Направить на согласование».",
                _draft(DraftKind.answer, *_SUBMITTED),
            ),
            _APPROVE,
            _PUBLISH,
        ),
    )


def _departments(preset: Preset) -> Scenario:
    """Several departments in the preset's mode (SPEC §3): Отрадная п. 19 all at once, then a designated one
    writes the joint answer; Удмуртия п. 16 one after another, the last writes it; Боровичи п. 17 the message is
    split and each answers the author. A seed that sets no mode (Ключи, Петровский) practises the first."""
    mode = preset.multi_mode
    register = Step(
        "Куратор ({curator}): зарегистрируйте пост о двух вопросах сразу — например «https://vk.com/wall-1_202 "
        "На ул. Ленина яма у остановки, а мусор у дома 5 не вывозят третий день».",
        _registered,
    )
    if mode.value is MultiMode.single:
        about = (
            "Регламент не устанавливает, как отвечают несколько отраслевых органов: потренируйтесь в сводном "
            "ответе — органы дают сведения одновременно, куратор назначает исполнителя сводного ответа."
        )
        label = "«➡ Сводный ответ: одновременно»"
    else:
        about = f"Вопрос касается двух отраслевых органов; регламент ({mode.clause}): {MODE_RULES[mode.value]}."
        label = "режим с пометкой «(по регламенту)»"
    route = Step(
        "Куратор: «Направить в подразделение», отметьте сначала «{department1}», затем «{department2}», и "
        f"нажмите {label}.",
        _split_in_two if mode.value is MultiMode.split else _two_departments,
    )
    term = preset.contribution
    within = f" ({term.in_seed}, {term.clause})" if term is not None else ""
    if mode.value is MultiMode.split:
        steps = (
            register,
            route,
            Step(
                "Сообщение разделено: у каждого исполнителя своя часть. {executor1} и {executor2}: «Принять в "
                "работу», «Подготовить ответ», текст по своему вопросу, «Направить на согласование».",
                _every_part(DraftKind.answer, *_SUBMITTED),
            ),
            Step(
                "Куратор согласовывает оба ответа: «Согласовать» на каждой части.",
                _every_part(DraftKind.answer, *_APPROVED_DRAFT),
            ),
            Step(
                "{publisher} размещает оба ответа — автор получает ответ от каждого исполнителя — и на каждой части "
                "«Размещено: отправить ссылку».",
                _state(State.published),
            ),
        )
    elif mode.value is MultiMode.joint_sequential:
        steps = (
            register,
            route,
            Step(
                f"{{executor1}} первым даёт сведения{within}: «Представить сведения», текст, «Направить на "
                "согласование». Затем инцидент получает {executor2}.",
                _contributed("executor1"),
            ),
            Step(
                "{executor2}, последний в очереди, пишет сводный ответ по сведениям первого: «Принять в работу», "
                "«Подготовить ответ», текст, «Направить на согласование».",
                _draft(DraftKind.answer, *_SUBMITTED),
            ),
            _JOINT_APPROVE,
            _joint_publish("{publisher2}"),
        )
    else:  # joint_parallel, and the seeds that set no mode
        steps = (
            register,
            route,
            Step(
                f"Оба исполнителя, {{executor1}} и {{executor2}}, дают сведения{within}: «Представить сведения», "
                "текст, «Направить на согласование».",
                _contributed("executor1", "executor2"),
            ),
            Step(
                "Куратор по сведениям обоих назначает исполнителя сводного ответа: «Исполнитель сводного ответа», "
                "«{department1}».",
                _designated("executor1"),
            ),
            Step(
                "{executor1} пишет сводный ответ: «Подготовить ответ», текст, «Направить на согласование».",
                _draft(DraftKind.answer, *_SUBMITTED),
            ),
            _JOINT_APPROVE,
            _joint_publish("{publisher}"),
        )
    return Scenario("departments", "Несколько отраслевых органов", about, steps)


PLAIN = Scenario(
    "plain",
    "Инцидент от регистрации до публикации",
    "Регистрация, направление в отраслевой орган, ответ, согласование и размещение (раздел 3 регламента).",
    (_REGISTER, _ROUTE, _ACCEPT, _DRAFT, _APPROVE, _PUBLISH),
)
RETURN = Scenario(
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
)

# What each mode means, in the seeds' words (SPEC §3 «Several departments»).
MODE_RULES = {
    MultiMode.joint_parallel: "куратор направляет инцидент во все органы одновременно, каждый даёт сведения, "
    "исполнителя сводного ответа назначает куратор",
    MultiMode.split: "куратор разделяет сообщение по тематике, и автор получает ответ от каждого исполнителя",
    MultiMode.joint_sequential: "очерёдность подготовки сведений определяет куратор, последний исполнитель "
    "готовит сводный ответ",
}
# The scenarios' keys and titles in the page's order (the same for every preset).
TITLES = (
    (PLAIN.key, PLAIN.title),
    (RETURN.key, RETURN.title),
    ("clarification", "Запрос уточнения у автора"),
    ("intermediate", "Промежуточный, затем окончательный ответ"),
    ("departments", "Несколько отраслевых органов"),
)


def get_scenario(key: str, preset: Preset) -> Scenario:
    """The scenario with this key, its texts and checks for ``preset``'s regulation. Raises KeyError for an unknown
    key."""
    builders = {
        PLAIN.key: lambda: PLAIN,
        RETURN.key: lambda: RETURN,
        "clarification": lambda: _clarification(preset),
        "intermediate": lambda: _intermediate(preset),
        "departments": lambda: _departments(preset),
    }
    return builders[key]()
