"""Callback data of every button family: one `CallbackData` class per family, each with its own prefix, typed
fields and `Enum` actions, so a handler is chosen by a filter (`CardCb.filter(F.action == CardAction.approve)`).

Telegram carries at most 64 bytes of callback data per button (Bot API, InlineKeyboardButton.callback_data):
prefixes and the values of the handlers' own enums are short, and tests/test_callbacks.py packs the longest value
of every family with ids of 2**31 (ids are 32-bit integers in the database). A press whose data no family
accepts — a forged button, an enum value no longer known — matches no handler and is refused politely by the one
error handler (handlers/common.py).
"""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData

from bot.domain.incident import MultiMode, ReturnReason, Role
from bot.domain.workflow import Action

# --- incident cards -----------------------------------------------------------------------------------------


class CardAction(StrEnum):
    """A button on an incident card: a workflow action, or a way to look at the card.

    The workflow actions keep the values of bot.domain.workflow.Action, so the buttons of cards drawn before an
    upgrade still work."""

    refresh = "refresh"  # redraw the card where it is («Back» from a picker)
    open = "open"  # send the card anew (a line of /queue)
    history = "history"  # who did what and when
    route = Action.route.value
    not_processable = Action.not_processable.value
    importance = Action.importance.value
    accept = Action.accept.value
    not_ours = Action.not_ours.value
    answer = Action.answer.value
    intermediate = Action.intermediate.value
    clarification = Action.clarification.value
    contribution = Action.contribution.value
    designate = Action.designate.value
    approve = Action.approve.value
    return_draft = Action.return_draft.value
    author_reply = Action.author_reply.value
    publish = Action.publish.value
    assign = Action.assign.value

    @classmethod
    def of(cls, action: Action) -> CardAction:
        """The card button of a workflow action."""
        return cls(action.value)

    @property
    def workflow(self) -> Action:
        """The workflow action this button asks for; ValueError for a view switch (refresh, open, history)."""
        return Action(self.value)


class CardCb(CallbackData, prefix="c"):
    """A button on the card of incident `incident_id`; `draft_number` is the draft the card showed when it was
    drawn (0: none), so a press on an older draft is refused as stale."""

    incident_id: int
    action: CardAction
    draft_number: int = 0


class FullCb(CallbackData, prefix="f"):
    """«Show in full» under a shortened card: the whole card of incident `incident_id`, sent in parts."""

    incident_id: int


class TakeCb(CallbackData, prefix="t"):
    """«Take into work» on a card in the group chat of department `department_id`: any member takes it."""

    incident_id: int
    department_id: int


# --- dialogs about one incident -----------------------------------------------------------------------------


class Choice(StrEnum):
    """A press on a checklist says what it means (add or drop), so a press delivered twice (a restart, a flaky
    network) sets the same choice again instead of toggling it back."""

    add = "+"
    drop = "-"


class DepartmentCb(CallbackData, prefix="dep"):
    """A department in the routing picker of incident `incident_id`: choose it, or take it back."""

    incident_id: int
    choice: Choice
    department_id: int


class RouteCb(CallbackData, prefix="rt"):
    """Route incident `incident_id` to the chosen departments; `mode` is how several answer
    (`single`: the one chosen department)."""

    incident_id: int
    mode: MultiMode


class DesignateCb(CallbackData, prefix="ds"):
    """The department `department_id` writes the joint answer to incident `incident_id`."""

    incident_id: int
    department_id: int


class AssignCb(CallbackData, prefix="as"):
    """The responsible official hands incident `incident_id` of department `department_id` to the executor
    `executor_id` (a user id of the bot, not a Telegram id)."""

    incident_id: int
    department_id: int
    executor_id: int


class ReasonCb(CallbackData, prefix="rs"):
    """A reason in the «Return for revision» picker of incident `incident_id`: choose it, or take it back."""

    incident_id: int
    choice: Choice
    reason: ReturnReason


class ReturnCb(CallbackData, prefix="rd"):
    """Return draft `draft_number` of incident `incident_id` for revision with the chosen reasons; `with_comment`
    asks the curator for a comment first (the reason «other» always does)."""

    incident_id: int
    draft_number: int
    with_comment: bool = False


class DialogAction(StrEnum):
    """The buttons under a dialog's prompt or a draft's preview."""

    submit = "submit"  # the draft goes to approval («Send as is» when the pre-check found something)
    cancel = "cancel"  # the dialog ends, nothing changed
    fix = "fix"  # the pre-check found something: the executor sends a corrected text
    confirm = "ok"  # the reason the screening filled in is the one: closed as not to be answered


class DialogCb(CallbackData, prefix="dlg"):
    """A button of the dialog that is open in this chat (the dialog's data is in the FSM state)."""

    action: DialogAction


# --- the curator's registration card ------------------------------------------------------------------------


class IntakeAction(StrEnum):
    """A button on the registration card of a post."""

    topics = "topics"  # show the topics to choose from
    locations = "places"  # show the locations to choose from
    importance = "imp"  # normal ↔ high
    kind = "kind"  # incident ↔ publication found by the administration
    back = "back"  # from a list back to the card
    save = "save"  # register the incident
    cancel = "cancel"  # forget the post
    exclude = "excl"  # not to be answered: show the reason from the screening's flags
    exclude_ok = "exok"  # register it closed as not to be answered, with that reason
    keep = "keep"  # back from «not to be answered» to the card


class IntakeCb(CallbackData, prefix="in"):
    """A button on the registration card that needs no value."""

    action: IntakeAction


class IntakeTopicCb(CallbackData, prefix="it"):
    """A topic chosen on the registration card; 0: none."""

    topic_id: int


class IntakeLocationCb(CallbackData, prefix="il"):
    """A location chosen on the registration card; 0: none."""

    location_id: int


class IntakeRepeatCb(CallbackData, prefix="ir"):
    """The post repeats the question of incident `incident_id` (the answer must state measures taken)."""

    incident_id: int


class IntakeAttachCb(CallbackData, prefix="ia"):
    """The post is one more source of incident `incident_id`, still being answered."""

    incident_id: int


INTAKE_FAMILIES: tuple[type[CallbackData], ...] = (
    IntakeCb,
    IntakeTopicCb,
    IntakeLocationCb,
    IntakeRepeatCb,
    IntakeAttachCb,
)


# --- queues, language, invitations, absences ----------------------------------------------------------------


class QueueView(StrEnum):
    """A queue of /queue (the values are Services.queue's views)."""

    mine = "mine"
    department = "department"
    approval = "approval"
    overdue = "overdue"


class QueueCb(CallbackData, prefix="q"):
    """Page `page` (from 0) of a queue."""

    view: QueueView
    page: int = 0


class QueueOpenCb(CallbackData, prefix="qo"):
    """Open a queue in a new message, leaving the message with the button as it is (a burst summary)."""

    view: QueueView


class Language(StrEnum):
    """The languages the bot speaks (bot.i18n.SUPPORTED_LOCALES)."""

    ru = "ru"
    en = "en"


class LangCb(CallbackData, prefix="lang"):
    """The language a person chose in /lang."""

    locale: Language


class InviteCb(CallbackData, prefix="inv"):
    """An invitation for `role`; roles of a department need `department_id` (0: not chosen yet)."""

    role: Role
    department_id: int = 0


class AbsenceAction(StrEnum):
    """A button of /absence."""

    add = "add"  # record an absence: choose the department
    department = "dep"  # the department is chosen: choose the person
    person = "who"  # the person is chosen: ask the period
    substitute = "sub"  # the substitute is chosen: record the absence
    cancel = "del"  # cancel a recorded absence
    page = "page"  # another page of the list


class AbsenceCb(CallbackData, prefix="abs"):
    """A button of /absence; the fields its action needs are set, the rest are 0."""

    action: AbsenceAction
    department_id: int = 0
    user_id: int = 0  # the absent person, or (substitute) the one who stands in
    absence_id: int = 0
    page: int = 0


# --- answer templates (issue 13 §5) ---------------------------------------------------------------------------


class TemplateAction(StrEnum):
    """A button of /templates, or of the executor's draft step."""

    show = "show"  # one template: its text, «Edit», «Delete»
    add = "add"  # a new template: choose its topic
    topic = "top"  # the new template's topic chosen (0: any): ask for the text
    edit = "edit"  # ask for the template's new text
    delete = "del"  # delete the template
    back = "back"  # the list again
    use = "use"  # the executor's draft starts from this template


class TemplateCb(CallbackData, prefix="tpl"):
    """A button of /templates or «From a template»; the fields its action needs are set, the rest are 0."""

    action: TemplateAction
    template_id: int = 0
    topic_id: int = 0
