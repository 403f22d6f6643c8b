"""Every inline keyboard the bot shows, built with aiogram's InlineKeyboardBuilder: what each button says and
which callback data (handlers/callbacks.py) it carries.

Labels are translated by the caller's gettext context, so keyboards are built inside a handler or under
``with_locale`` (a lazy string is refused by InlineKeyboardButton). A label that carries a name (a department,
a person, a topic) is kept to one line by bot.domain.message_size.button_text.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.domain.incident import AssignmentState, Importance, Incident, Kind, MultiMode, ReturnReason, Role
from bot.domain.message_size import Elastic, button_text, template
from bot.domain.workflow import Action
from handlers.callbacks import (
    AbsenceAction,
    AbsenceCb,
    AssignCb,
    CardAction,
    CardCb,
    Choice,
    DepartmentCb,
    DesignateCb,
    DialogAction,
    DialogCb,
    FullCb,
    IntakeAction,
    IntakeAttachCb,
    IntakeCb,
    IntakeLocationCb,
    IntakeRepeatCb,
    IntakeTopicCb,
    InviteCb,
    LangCb,
    Language,
    QueueCb,
    QueueOpenCb,
    QueueView,
    ReasonCb,
    ReturnCb,
    RouteCb,
    TakeCb,
    TemplateAction,
    TemplateCb,
)
from handlers.render import (
    action_label,
    importance_label,
    kind_label,
    mode_label,
    reason_label,
    role_label,
    view_label,
)

# The modes a curator chooses from when several departments answer, in the picker's order.
MODE_CHOICES = (MultiMode.joint_parallel, MultiMode.split, MultiMode.joint_sequential)
INTAKE_CANDIDATES = 3  # "possibly the same question" buttons on the registration card
NAME_ON_BUTTON = 8  # units of a topic or location name on the registration card's buttons, at least


def _row(*buttons: tuple[str, CallbackData]) -> InlineKeyboardBuilder:
    """One row of buttons, each a (label, callback data) pair."""
    row = InlineKeyboardBuilder()
    for text, data in buttons:
        row.button(text=text, callback_data=data)
    return row


def _column(buttons: Iterable[tuple[str, CallbackData]]) -> InlineKeyboardBuilder:
    """One button a row."""
    column = InlineKeyboardBuilder()
    for text, data in buttons:
        column.button(text=text, callback_data=data)
    return column.adjust(1)


def _stack(*parts: InlineKeyboardBuilder) -> InlineKeyboardMarkup:
    """The parts' rows one under another."""
    keyboard = InlineKeyboardBuilder()
    for part in parts:
        keyboard.attach(part)
    return keyboard.as_markup()


def _back(incident_id: int) -> InlineKeyboardBuilder:
    """«Back»: from a picker to the incident's card as it is."""
    return _row((_("Back"), CardCb(incident_id=incident_id, action=CardAction.refresh)))


# --- incident cards -----------------------------------------------------------------------------------------


def card_keyboard(incident: Incident, actions: Sequence[Action], *, full: bool = False) -> InlineKeyboardMarkup:
    """The allowed actions two a row, each carrying the draft number it was drawn for; then «History», and
    (`full`: the card is shortened) «Show in full» beside it."""
    assert incident.id is not None
    draft = incident.current_draft()
    number = draft.number if draft is not None else 0
    buttons = InlineKeyboardBuilder()
    for action in actions:
        data = CardCb(incident_id=incident.id, action=CardAction.of(action), draft_number=number)
        buttons.button(text=action_label(action), callback_data=data)
    history = (_("History"), CardCb(incident_id=incident.id, action=CardAction.history))
    last = _row(history, _full_button(incident.id)) if full else _row(history)
    return _stack(buttons.adjust(2), last)


def _full_button(incident_id: int) -> tuple[str, FullCb]:
    """«Show in full»: the whole card, nothing shortened, sent in parts (handlers/card.py)."""
    return _("Show in full"), FullCb(incident_id=incident_id)


def group_keyboard(incident: Incident, department_id: int, *, full: bool = False) -> InlineKeyboardMarkup | None:
    """In a department's group chat any member may take a new incident; `full` adds «Show in full». None: no
    buttons at all."""
    if incident.id is None:
        return None
    buttons: list[tuple[str, CallbackData]] = []
    assignment = incident.assignment_for(department_id)
    if assignment is not None and assignment.state is AssignmentState.routed:
        buttons.append((_("Take into work"), TakeCb(incident_id=incident.id, department_id=department_id)))
    if full:
        buttons.append(_full_button(incident.id))
    return _stack(_column(buttons)) if buttons else None


# --- dialogs about one incident -----------------------------------------------------------------------------


def cancel_keyboard() -> InlineKeyboardMarkup:
    """«Cancel» under a dialog's prompt."""
    return _stack(cancel_row())


def confirm_keyboard() -> InlineKeyboardMarkup:
    """«Confirm» and «Cancel» under a reason the bot filled in (the screening's, for «Not processable»)."""
    return _stack(_row((_("Confirm"), DialogCb(action=DialogAction.confirm))), cancel_row())


def cancel_row() -> InlineKeyboardBuilder:
    """The «Cancel» row that ends any open dialog."""
    return _row((_("Cancel"), DialogCb(action=DialogAction.cancel)))


def draft_keyboard(findings: bool = False) -> InlineKeyboardMarkup:
    """«Submit for approval» and «Cancel» under a draft's preview; with the pre-check's ``findings`` on it,
    «Fix» and «Send as is» instead, then «Cancel»."""
    if findings:
        return _stack(
            _row(
                (_("Fix"), DialogCb(action=DialogAction.fix)),
                (_("Send as is"), DialogCb(action=DialogAction.submit)),
            ),
            cancel_row(),
        )
    return _stack(
        _row(
            (_("Submit for approval"), DialogCb(action=DialogAction.submit)),
            (_("Cancel"), DialogCb(action=DialogAction.cancel)),
        )
    )


def department_picker(
    incident_id: int, departments: Sequence[tuple[int, str]], chosen: Sequence[int], preset_mode: MultiMode
) -> InlineKeyboardMarkup:
    """The routing picker: every (id, name) department, the chosen ones ticked in their order; with several
    chosen, a button per joint or split mode (the preset's marked), with one, «Route»; then «Back»."""
    ticks = []
    for department_id, name in departments:
        picked = department_id in chosen
        mark = f"✅ {chosen.index(department_id) + 1}. " if picked else ""
        choice = Choice.drop if picked else Choice.add
        data = DepartmentCb(incident_id=incident_id, choice=choice, department_id=department_id)
        ticks.append((button_text(mark + name), data))
    routes: list[tuple[str, CallbackData]] = []
    if len(chosen) > 1:
        for mode in MODE_CHOICES:
            suffix = " " + _("(by the regulation)") if mode is preset_mode else ""
            routes.append(("➡ " + mode_label(mode) + suffix, RouteCb(incident_id=incident_id, mode=mode)))
    elif chosen:
        routes.append((_("Route"), RouteCb(incident_id=incident_id, mode=MultiMode.single)))
    return _stack(_column(ticks), _column(routes), _back(incident_id))


def designate_keyboard(incident_id: int, departments: Sequence[tuple[int, str]]) -> InlineKeyboardMarkup:
    """Which of the (id, name) departments writes the joint answer; then «Back»."""
    choices = [
        (button_text(name), DesignateCb(incident_id=incident_id, department_id=department_id))
        for department_id, name in departments
    ]
    return _stack(_column(choices), _back(incident_id))


def assign_keyboard(incident_id: int, executors: Sequence[tuple[int, int, str]]) -> InlineKeyboardMarkup:
    """To whom the responsible official hands the incident: (department id, user id, name) each; then «Back»."""
    choices = [
        (
            button_text(name),
            AssignCb(incident_id=incident_id, department_id=department_id, executor_id=user_id),
        )
        for department_id, user_id, name in executors
    ]
    return _stack(_column(choices), _back(incident_id))


def reasons_picker(incident_id: int, chosen: Sequence[ReturnReason], draft_number: int) -> InlineKeyboardMarkup:
    """«Return for revision»: every reason, the chosen ones ticked; «Return» and «Return with a comment» for
    draft `draft_number`; then «Back»."""
    ticks = [
        (
            ("✅ " if reason in chosen else "") + reason_label(reason),
            ReasonCb(incident_id=incident_id, choice=Choice.drop if reason in chosen else Choice.add, reason=reason),
        )
        for reason in ReturnReason
    ]
    returns = _row(
        (_("Return"), ReturnCb(incident_id=incident_id, draft_number=draft_number)),
        (_("Return with a comment"), ReturnCb(incident_id=incident_id, draft_number=draft_number, with_comment=True)),
    )
    return _stack(_column(ticks), returns, _back(incident_id))


# --- the curator's registration card ------------------------------------------------------------------------


def intake_keyboard(data: dict[str, Any], names: dict[str, dict[int, str]]) -> InlineKeyboardMarkup:
    """The registration card's buttons: topic and location (with the chosen names, shortened), importance and
    kind, up to INTAKE_CANDIDATES incidents that may be the same question (a repeat; or, while open, one more
    source of it), «Not processable» when the screening flagged the post, «Register» and «Cancel»; once «Not
    processable» is pressed, «Confirm» and «Back» only. `data` is the card's FSM data, `names` the directory's
    topics and locations by id."""
    topic = names["topics"].get(data.get("topic") or 0, "—")
    location = names["locations"].get(data.get("location") or 0, "—")
    settings = InlineKeyboardBuilder()
    settings.button(
        text=button_text(template(_("Topic: {topic}"), topic=Elastic(topic, NAME_ON_BUTTON))),
        callback_data=IntakeCb(action=IntakeAction.topics),
    )
    settings.button(
        text=button_text(template(_("Location: {location}"), location=Elastic(location, NAME_ON_BUTTON))),
        callback_data=IntakeCb(action=IntakeAction.locations),
    )
    settings.button(
        text=importance_label(Importance(data["importance"])), callback_data=IntakeCb(action=IntakeAction.importance)
    )
    settings.button(text=kind_label(Kind(data["kind"])), callback_data=IntakeCb(action=IntakeAction.kind))
    if data.get("exclude") is not None:  # «not to be answered» pressed: confirm it or go back
        return _row(
            (_("Confirm"), IntakeCb(action=IntakeAction.exclude_ok)),
            (_("Back"), IntakeCb(action=IntakeAction.keep)),
        ).as_markup()
    parts = [settings.adjust(2)]
    if data.get("flags"):
        parts.append(_row((_("Not processable"), IntakeCb(action=IntakeAction.exclude))))
    for candidate in (data.get("candidates") or [])[:INTAKE_CANDIDATES]:
        number = candidate["id"]
        row = _row((_("Repeat of No. {number}").format(number=number), IntakeRepeatCb(incident_id=number)))
        if candidate["open"]:  # a further post on a question still being answered joins it
            row.button(
                text=_("Add to No. {number} as a source").format(number=number),
                callback_data=IntakeAttachCb(incident_id=number),
            )
        parts.append(row)
    parts.append(
        _row(
            (_("Register"), IntakeCb(action=IntakeAction.save)),
            (_("Cancel"), IntakeCb(action=IntakeAction.cancel)),
        )
    )
    return _stack(*parts)


def topics_keyboard(topics: dict[int, str]) -> InlineKeyboardMarkup:
    """The topics by name to choose from on the registration card, «— none —» and «Back»."""
    return _choices(topics, lambda topic_id: IntakeTopicCb(topic_id=topic_id))


def locations_keyboard(locations: dict[int, str]) -> InlineKeyboardMarkup:
    """The locations by name to choose from on the registration card, «— none —» and «Back»."""
    return _choices(locations, lambda location_id: IntakeLocationCb(location_id=location_id))


def _choices(options: dict[int, str], choose: Callable[[int], CallbackData]) -> InlineKeyboardMarkup:
    """One button per option (id 0 is «none»), sorted by name."""
    listed = _column((button_text(name), choose(key)) for key, name in sorted(options.items(), key=lambda kv: kv[1]))
    return _stack(listed, _row((_("— none —"), choose(0)), (_("Back"), IntakeCb(action=IntakeAction.back))))


# --- queues, language, invitations, absences ----------------------------------------------------------------


def queue_keyboard(
    lines: Sequence[tuple[int, str]], view: QueueView, page: int, pages: int, views: Sequence[QueueView]
) -> InlineKeyboardMarkup:
    """A queue's page: a button per (incident id, title) that opens its card, ‹ › between `pages` pages
    (`page` from 0), and the person's `views`, the current one marked."""
    opened = _column(
        (button_text(title), CardCb(incident_id=number, action=CardAction.open)) for number, title in lines
    )
    turns = _row(*_turns(page, pages, lambda to: QueueCb(view=view, page=to)))
    tabs = _row(*((("• " if v == view else "") + view_label(v), QueueCb(view=v)) for v in views))
    return _stack(opened, turns, tabs)


def _turns(page: int, pages: int, turn: Callable[[int], CallbackData]) -> list[tuple[str, CallbackData]]:
    """‹ and › to the neighbouring pages that exist."""
    buttons: list[tuple[str, CallbackData]] = []
    if page > 0:
        buttons.append(("‹", turn(page - 1)))
    if page + 1 < pages:
        buttons.append(("›", turn(page + 1)))
    return buttons


def open_queue_keyboard() -> InlineKeyboardMarkup:
    """One button under a burst summary: the person's own queue, in a new message."""
    return _stack(_row(("📋 " + _("Open the queue"), QueueOpenCb(view=QueueView.mine))))


def language_keyboard() -> InlineKeyboardMarkup:
    """Russian and English, each named in its own language."""
    return _stack(_row(("Русский", LangCb(locale=Language.ru)), ("English", LangCb(locale=Language.en))))


def invite_roles_keyboard(roles: Sequence[Role]) -> InlineKeyboardMarkup:
    """The roles an administrator invites to, one a row."""
    return _stack(_column((role_label(role), InviteCb(role=role)) for role in roles))


def invite_departments_keyboard(role: Role, departments: Sequence[tuple[int, str]]) -> InlineKeyboardMarkup:
    """The (id, name) departments an invitation for `role` may be for."""
    return _stack(
        _column((button_text(name), InviteCb(role=role, department_id=d)) for d, name in departments),
    )


def absences_keyboard(cancels: Sequence[tuple[str, int]], page: int, pages: int) -> InlineKeyboardMarkup:
    """A page of /absence: a «Cancel» button per (label, absence id), ‹ › between `pages` pages, and «Record»."""
    listed = _column((label, AbsenceCb(action=AbsenceAction.cancel, absence_id=a)) for label, a in cancels)
    turns = _row(*_turns(page, pages, lambda to: AbsenceCb(action=AbsenceAction.page, page=to)))
    record = _row((_("➕ Record an absence"), AbsenceCb(action=AbsenceAction.add)))
    return _stack(listed, turns, record)


def absence_departments_keyboard(departments: Sequence[tuple[int, str]]) -> InlineKeyboardMarkup:
    """Whose absence: the (id, name) departments the person manages."""
    return _stack(
        _column(
            (button_text(name), AbsenceCb(action=AbsenceAction.department, department_id=d)) for d, name in departments
        )
    )


def absence_people_keyboard(department_id: int, people: Sequence[tuple[int, str]]) -> InlineKeyboardMarkup:
    """Who will be away: the (user id, name) people of the department."""
    return _stack(
        _column(
            (button_text(name), AbsenceCb(action=AbsenceAction.person, department_id=department_id, user_id=user_id))
            for user_id, name in people
        )
    )


def substitutes_keyboard(people: Sequence[tuple[int, str]]) -> InlineKeyboardMarkup:
    """Who stands in: the (user id, name) candidates, then «Cancel»."""
    choices = _column(
        (button_text(name), AbsenceCb(action=AbsenceAction.substitute, user_id=user_id)) for user_id, name in people
    )
    return _stack(choices, cancel_row())


# --- answer templates (issue 13 §5) ---------------------------------------------------------------------------


def templates_keyboard(found: Sequence[Any]) -> InlineKeyboardMarkup:
    """/templates: a button per template (its title; `found` are bot.assistant.TemplateRecord), then «Add»."""
    listed = _column((button_text(t.title), TemplateCb(action=TemplateAction.show, template_id=t.id)) for t in found)
    return _stack(listed, _row(("➕ " + _("Add a template"), TemplateCb(action=TemplateAction.add))))


def template_keyboard(template_id: int) -> InlineKeyboardMarkup:
    """One template: «Edit», «Delete», «Back» to the list."""
    return _stack(
        _row(
            ("✏️ " + _("Edit"), TemplateCb(action=TemplateAction.edit, template_id=template_id)),
            ("🗑 " + _("Delete"), TemplateCb(action=TemplateAction.delete, template_id=template_id)),
        ),
        _row((_("Back"), TemplateCb(action=TemplateAction.back))),
    )


def topics_for_template(topics: dict[int, str]) -> InlineKeyboardMarkup:
    """The topics by name for a new template, «any topic» and «Back»."""
    listed = _column(
        (button_text(name), TemplateCb(action=TemplateAction.topic, topic_id=topic_id))
        for topic_id, name in sorted(topics.items(), key=lambda kv: kv[1])
    )
    return _stack(
        listed,
        _row(
            (_("any topic"), TemplateCb(action=TemplateAction.topic, topic_id=0)),
            (_("Back"), TemplateCb(action=TemplateAction.back)),
        ),
    )


def draft_start_keyboard(found: Sequence[Any]) -> InlineKeyboardMarkup:
    """Under the draft step's prompt: «From a template: <title>» per template (bot.assistant.TemplateRecord, at
    most five), then «Cancel»."""
    buttons = (
        (
            button_text("📄 " + _("From a template: {title}").format(title=t.title)),
            TemplateCb(action=TemplateAction.use, template_id=t.id),
        )
        for t in found[:5]
    )
    return _stack(_column(buttons), cancel_row())
