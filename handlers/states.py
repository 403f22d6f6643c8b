"""All FSM states of the bot's dialogs in one place."""

from __future__ import annotations

from aiogram.fsm.state import State, StatesGroup


class Intake(StatesGroup):
    """The curator registers a post."""

    card = State()  # the registration card is open: buttons set topic, location, importance…
    exclude = State()  # «not to be answered» pressed: the reason may be replaced by a message, then confirmed


class Dialog(StatesGroup):
    """A dialog a card button opened: it waits for a text or a draft."""

    reason = State()  # a free-text reason: not ours, not processable
    draft = State()  # collecting a draft: text and media, then preview and submit
    return_comment = State()  # the curator's comment to a return
    link = State()  # the link to the published comment
    author_reply = State()  # the author's reply to a clarification


class AbsenceDialog(StatesGroup):
    """Recording an absence in /absence."""

    period = State()  # the absent person is chosen: waiting for the dates
    substitute = State()  # the dates are known: waiting for the substitute's button


class TemplateDialog(StatesGroup):
    """Keeping answer templates in /templates."""

    text = State()  # the topic is chosen: waiting for the title and the text
    edit = State()  # waiting for a template's new text
