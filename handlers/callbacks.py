"""Callback data of every button family; the prefix keeps each family apart (≤ 64 bytes each)."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData


class CardCb(CallbackData, prefix="c"):
    """A button on an incident card: `a` is a workflow Action or a card view switch."""

    id: int
    a: str
    n: int = 0  # the draft number the button was drawn for (stale presses are refused)


class PickCb(CallbackData, prefix="p"):
    """A choice inside a dialog about one incident: departments, reasons, modes, executors."""

    id: int
    what: str
    v: int = 0


class IntakeCb(CallbackData, prefix="in"):
    """The curator's registration card: topic, location, importance, kind, repeats."""

    what: str
    v: int = 0


class QueueCb(CallbackData, prefix="q"):
    view: str
    page: int = 0


class LangCb(CallbackData, prefix="lang"):
    code: str


class InviteCb(CallbackData, prefix="inv"):
    role: str
    dep: int = 0


class AbsenceCb(CallbackData, prefix="abs"):
    """The absences menu: a: add, dep (department chosen), who (person chosen), sub (substitute), del,
    page (`id` is then the page of the list)."""

    a: str
    dep: int = 0
    user: int = 0
    id: int = 0


class FullCb(CallbackData, prefix="f"):
    """«Show in full» under a shortened card: the whole card of incident `id`, sent in parts."""

    id: int
