"""Buttons' callback data: every family fits Telegram's 64 bytes with the largest ids, the buttons of cards
already in people's chats keep working, and a forged or unknown value is refused politely and changes nothing."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Any

import pytest
from aiogram.filters.callback_data import MAX_CALLBACK_LENGTH, CallbackData

from bot.domain.incident import MultiMode, ReturnReason, Role
from bot.domain.workflow import Action
from handlers import callbacks
from handlers.callbacks import (
    AbsenceAction,
    AbsenceCb,
    CardAction,
    CardCb,
    Choice,
    DialogAction,
    DialogCb,
    IntakeAction,
    IntakeCb,
    InviteCb,
    LangCb,
    Language,
    QueueCb,
    QueueView,
    ReasonCb,
    RouteCb,
)
from tests.world import incident_number, world

LARGEST_ID = 2**31  # ids are 32-bit integers in the database: no id reaches this
FAMILIES = sorted(
    (
        family
        for family in vars(callbacks).values()
        if isinstance(family, type) and issubclass(family, CallbackData) and family is not CallbackData
    ),
    key=lambda family: family.__name__,
)


def longest(annotation: Any) -> Any:
    """The value of a field's type that packs to the most bytes."""
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return max(annotation, key=lambda member: len(str(member.value).encode()))
    if annotation is bool:
        return True
    assert annotation is int, annotation
    return LARGEST_ID


def test_the_families_are_all_found_and_each_has_a_prefix_of_its_own() -> None:
    assert len(FAMILIES) >= 19
    prefixes = [family.__prefix__ for family in FAMILIES]
    assert len(set(prefixes)) == len(prefixes), prefixes


@pytest.mark.parametrize("family", FAMILIES, ids=lambda family: family.__name__)
def test_every_family_packs_its_longest_values_and_largest_ids_within_64_bytes(family: type[CallbackData]) -> None:
    values = {name: longest(field.annotation) for name, field in family.model_fields.items()}
    data = family(**values).pack()  # aiogram refuses to pack more than 64 bytes; Telegram would refuse the button
    assert len(data.encode()) <= MAX_CALLBACK_LENGTH == 64
    assert family.unpack(data) == family(**values)


def test_every_workflow_action_has_a_card_button_of_the_same_value() -> None:
    for action in Action:
        assert CardAction.of(action).workflow is action
        assert CardAction.of(action).value == action.value


def test_the_buttons_of_cards_drawn_by_the_previous_version_still_unpack_to_the_same_action() -> None:
    """Cards stay in people's chats for weeks: their «Approve», «Accept», «History» must keep working."""
    assert CardCb.unpack("c:7:approve:2") == CardCb(incident_id=7, action=CardAction.approve, draft_number=2)
    assert CardCb.unpack("c:7:return_draft:3").action is CardAction.return_draft
    assert CardCb.unpack("c:7:history:0").action is CardAction.history
    assert CardCb(incident_id=12, action=CardAction.open).pack() == "c:12:open:0"


def forged(valid: CallbackData, value: str, bogus: str) -> str:
    """The packed `valid` data with the field value `value` replaced by `bogus`."""
    data = valid.pack()
    parts = data.split(":")
    assert value in parts, (data, value)
    return ":".join(bogus if part == value else part for part in parts)


async def test_unknown_values_in_any_family_are_refused_politely_and_change_nothing(tmp_path: Path) -> None:
    """A modified client or a button of a version that knew other values: one polite alert, nothing changed."""
    async with world(tmp_path, "otradnaya") as w:
        card = await w.register("https://vk.com/wall-1_100 На ул. Ленина третью неделю не вывозят мусор")
        number = incident_number(card)
        before = await w.app.services.get(number)
        presses = [
            forged(CardCb(incident_id=number, action=CardAction.route), "route", "teleport"),
            forged(RouteCb(incident_id=number, mode=MultiMode.joint_parallel), "joint_parallel", "everyone"),
            forged(ReasonCb(incident_id=number, choice=Choice.add, reason=ReturnReason.spelling), "spelling", "mood"),
            forged(ReasonCb(incident_id=number, choice=Choice.add, reason=ReturnReason.spelling), "+", "*"),
            forged(DialogCb(action=DialogAction.submit), "submit", "publish"),
            forged(IntakeCb(action=IntakeAction.save), "save", "delete"),
            forged(QueueCb(view=QueueView.overdue), "overdue", "everything"),
            forged(LangCb(locale=Language.en), "en", "fr"),
            forged(InviteCb(role=Role.curator), "curator", "owner"),
            forged(AbsenceCb(action=AbsenceAction.cancel, absence_id=5), "del", "drop"),
            f"c:{number}:take:1",  # «Take into work» as the version before drew it
            CardCb(incident_id=number, action=CardAction.route).pack() + ":0",  # one field too many
        ]
        for data in presses:
            await w.curator.press_data(card, data)
            alert = await w.curator.wait_alert()
            assert alert.show_alert and alert.text == "This button is no longer valid.", (data, alert.text)
        await w.settle()
        after = await w.app.services.get(number)
        assert (after.version, after.state, after.importance) == (before.version, before.state, before.importance)
        assert card.buttons[0][0] == "Route to a department"  # the card still shows its own buttons
