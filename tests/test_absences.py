"""Absences and substitutes through the bot (SPEC §1; Отрадная п. 8.2, Боровичи п. 6): who records them,
what the period may be, who is told, and that an absent executor's notices go to the substitute."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from bot.domain.absence import parse_period
from bot.domain.errors import InvalidInput
from handlers.callbacks import AbsenceAction, AbsenceCb
from tests.botapi import ChatMessage
from tests.world import World, world

POST = "https://vk.com/wall-1_100 Во дворе дома 5 по ул. Ленина третий день не вывозят мусор"


async def ask_substitute(w: World, name: str, period: str) -> ChatMessage:
    """The administrator opens /absence, chooses the department and the person, sends the period;
    returns the question with the substitutes' buttons."""
    await w.curator.send("/absence")
    menu = await w.curator.wait_message(where=lambda m: bool(m.buttons))
    await w.press(w.curator, menu, "➕ Record an absence")
    await w.press(w.curator, menu, "Управление ЖКХ")
    await w.press(w.curator, menu, name)
    assert "Send the period" in menu.text
    await w.curator.send(period)
    return await w.curator.wait_message(contains="Who stands in")


async def record_absence(w: World, name: str, period: str, substitute: str) -> None:
    question = await ask_substitute(w, name, period)
    await w.press(w.curator, question, substitute)
    assert question.text.startswith("Recorded:")


async def test_absent_executor_is_replaced_by_the_substitute_until_the_absence_is_cancelled(tmp_path: Path) -> None:
    async with world(tmp_path, "otradnaya", start="2026-03-10 10:00") as w:
        anna = await w.executor(200, "Анна Исполнитель", "Управление ЖКХ")
        boris = await w.executor(201, "Борис Исполнитель", "Управление ЖКХ")
        await w.curator.send("/absence")
        assert "No absences are recorded" in (await w.curator.wait_message()).text

        await w.curator.send("/absence")
        menu = await w.curator.wait_message(where=lambda m: bool(m.buttons))
        await w.press(w.curator, menu, "➕ Record an absence")
        await w.press(w.curator, menu, "Управление ЖКХ")
        assert menu.buttons == [["Анна Исполнитель"], ["Борис Исполнитель"]]
        await w.press(w.curator, menu, "Анна Исполнитель")
        # A bad period is explained and the dialog waits for a better one.
        await w.curator.send("в понедельник")
        assert "Write the period as dates" in (await w.curator.wait_message()).text
        await w.curator.send("02.03–06.03")
        assert "already over" in (await w.curator.wait_message()).text
        await w.curator.send("13.03–10.03.2026")
        assert "ends before it starts" in (await w.curator.wait_message()).text
        await w.curator.send("10.03–13.03")
        question = await w.curator.wait_message(contains="Who stands in")
        assert "10 March 2026" in question.text and "13 March 2026" in question.text
        assert question.buttons == [["Борис Исполнитель"], ["Cancel"]]  # not Anna herself
        await w.press(w.curator, question, "Борис Исполнитель")
        assert question.text.startswith("Recorded: Анна Исполнитель is away")
        told = await boris.wait_message(contains="Meanwhile you stand in")
        assert "Анна Исполнитель" in told.text and "13 March 2026" in told.text
        assert "Борис Исполнитель stands in for you" in (await anna.wait_message(contains="Your absence")).text

        # While she is away, the department's new incident reaches Boris, not Anna.
        def new_incidents(user: object) -> int:
            return len([m for m in user.messages if "New incident" in (m.text or "")])  # type: ignore[attr-defined]

        anna_before, boris_before = new_incidents(anna), new_incidents(boris)
        card = await w.register(POST)
        await w.route(card, "Управление ЖКХ")
        assert (new_incidents(anna), new_incidents(boris)) == (anna_before, boris_before + 1)

        await w.curator.send("/absence")
        overview = await w.curator.wait_message(where=lambda m: bool(m.buttons))
        assert "Анна Исполнитель: 10 March 2026 – 13 March 2026; Борис Исполнитель stands in" in overview.text
        await w.curator.press(overview, "❌ Cancel: Анна Исполнитель, 10.03–13.03")
        assert "substitute is notified" in (await w.curator.wait_alert()).text
        await w.settle()
        assert "No absences are recorded" in overview.text
        assert "no longer stand in" in (await boris.wait_message(contains="cancelled")).text

        card = await w.register("https://vk.com/wall-1_101 Снова не вывезли мусор")
        await w.route(card, "Управление ЖКХ")
        assert (new_incidents(anna), new_incidents(boris)) == (anna_before + 1, boris_before + 2)


async def test_absences_refuse_strangers_overlaps_and_forged_buttons(tmp_path: Path) -> None:
    async with world(tmp_path, "otradnaya", start="2026-03-10 10:00") as w:
        anna = await w.executor(200, "Анна Исполнитель", "Управление ЖКХ")
        await w.executor(201, "Борис Исполнитель", "Управление ЖКХ")
        await w.executor(202, "Вера Исполнитель", "Управление ЖКХ")
        await anna.send("/absence")
        assert "Your role does not allow this" in (await anna.wait_message()).text

        await record_absence(w, "Анна Исполнитель", "11.03–20.03", "Борис Исполнитель")
        # The same person again in an overlapping period: refused, nothing recorded twice.
        question = await ask_substitute(w, "Анна Исполнитель", "19.03–25.03")
        await w.curator.press(question, "Вера Исполнитель")
        assert "already has an absence" in (await w.curator.wait_alert()).text
        # The substitute cannot be away at the same time.
        await w.curator.send("/cancel")
        await w.settle()
        question = await ask_substitute(w, "Вера Исполнитель", "12.03")
        await w.curator.press(question, "Анна Исполнитель")
        assert "away in that period themselves" in (await w.curator.wait_alert()).text
        absences = await w.app.services.absences(await w.app.services.identify(w.curator.user_id))
        assert len(absences) == 1

        # Forged and stale buttons change nothing.
        substitute = AbsenceCb(action=AbsenceAction.substitute, user_id=201).pack()
        await w.curator.press_data(question, substitute)  # a substitute with no dialog open
        await w.curator.send("/cancel")
        await w.settle()
        await w.curator.press_data(question, substitute)
        assert "no longer valid" in (await w.curator.wait_alert()).text
        await w.curator.press_data(question, AbsenceCb(action=AbsenceAction.cancel, absence_id=999).pack())
        assert "no longer recorded" in (await w.curator.wait_alert()).text
        await w.curator.press_data(question, AbsenceCb(action=AbsenceAction.department, department_id=999).pack())
        assert "no longer valid" in (await w.curator.wait_alert()).text
        # an executor forging a cancellation
        await anna.press_data(anna.messages[-1], AbsenceCb(action=AbsenceAction.cancel, absence_id=1).pack())
        assert "Your role does not allow this" in (await anna.wait_alert()).text
        assert len(await w.app.services.absences(await w.app.services.identify(w.curator.user_id))) == 1


async def test_responsible_official_records_absences_of_their_department_only(tmp_path: Path) -> None:
    async with world(tmp_path, "petrovsky", start="2026-03-10 10:00") as w:
        code = await w.invite("responsible official of a department", "Управление ЖКХ")
        head = w.api.user(250, "Начальник ЖКХ", language_code="en")
        await head.send(f"/start {code}")
        await head.wait_message(contains="Начальник ЖКХ")
        await w.executor(200, "Анна Исполнитель", "Управление ЖКХ")
        await w.executor(210, "Олег Дорожник", "Комитет по дорогам")
        await head.send("/absence")
        menu = await head.wait_message(where=lambda m: bool(m.buttons))
        await w.press(head, menu, "➕ Record an absence")
        assert menu.buttons == [["Управление ЖКХ"]]  # only the official's own department
        roads = await w.department_id("Комитет по дорогам")
        await head.press_data(menu, AbsenceCb(action=AbsenceAction.department, department_id=roads).pack())
        assert "no longer valid" in (await head.wait_alert()).text
        await w.press(head, menu, "Управление ЖКХ")
        await w.press(head, menu, "Анна Исполнитель")
        await head.send("16.03")
        question = await head.wait_message(contains="Who stands in")
        assert question.buttons == [["Начальник ЖКХ"], ["Cancel"]]  # nobody else: the official stands in
        await w.press(head, question, "Начальник ЖКХ")
        assert question.text.startswith("Recorded:")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("01.12.2026–05.12.2026", (date(2026, 12, 1), date(2026, 12, 5))),
        ("с 1.12 по 5.12", (date(2026, 12, 1), date(2026, 12, 5))),
        ("03.12", (date(2026, 12, 3), date(2026, 12, 3))),
        ("28.12–10.01", (date(2026, 12, 28), date(2027, 1, 10))),  # over the New Year
        ("10.01", (date(2027, 1, 10), date(2027, 1, 10))),  # January written in November: the coming one
        ("20.11 - 30.11", (date(2026, 11, 20), date(2026, 11, 30))),  # began last week, still running
    ],
)
def test_periods_as_officials_write_them(text: str, expected: tuple[date, date]) -> None:
    assert parse_period(text, date(2026, 11, 25)) == expected


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("завтра", "bad_period"),
        ("31.02", "bad_date"),
        ("05.12–01.12", "period_order"),
        ("01.11–02.11", "period_past"),
        ("01.12.2026–01.01.2028", "period_long"),
        ("1.12–5.12–7.12", "bad_period"),
    ],
)
def test_periods_that_cannot_be_recorded(text: str, key: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_period(text, date(2026, 11, 25))
    assert refused.value.key == key
