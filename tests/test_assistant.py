"""The assistant's helps (issue 13 §2–§5) through the real bot and the Bot API stand-in: posts flagged as not to
be answered, repeats by meaning, routing hints and the report's shares, answer templates.

The obscene example is assembled from harmless parts (``_w``), as in tests/test_screening.py.
"""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import assistant
from bot.domain import precheck
from bot.domain.incident import Network, Source, State
from bot.domain.similar import find_similar, normalise
from bot.i18n import translate
from bot.report import build_report, summary_text
from bot.report_files import workbook_xlsx
from bot.services import Services
from tests.test_services import directory, service
from tests.world import incident_number, world

POST = "https://vk.com/wall-1_100 На ул. Ленина третью неделю не вывозят мусор, контейнеры переполнены"
REWORDED = "https://vk.com/wall-1_200 Мусор с улицы Ленина не вывозили уже три недели, все контейнеры переполнены!"
OTHER = "https://vk.com/wall-1_300 В школе № 2 не работает отопление, дети сидят в куртках"


def _w(*parts: str) -> str:
    return "".join(parts)


# --- §3, pure: the same question in other words -------------------------------------------------------------


def test_normalise_keeps_meaningful_lemmas_once_in_order() -> None:
    assert normalise("Третий день не вывозят мусор во дворе, мусор!") == "вывозить двор день мусор третий"


def test_a_reworded_post_scores_high_and_another_question_is_not_offered() -> None:
    pool = {1: normalise(POST.split(" ", 1)[1]), 2: normalise(OTHER.split(" ", 1)[1]), 3: "мусор"}
    found = find_similar(normalise(REWORDED.split(" ", 1)[1]), pool)
    assert [s.number for s in found] == [1]
    assert 80 <= found[0].score <= 100
    assert find_similar("мусор двор", pool) == []  # too short to compare by meaning


# --- §2: not to be answered -----------------------------------------------------------------------------------


async def test_flagged_post_is_offered_as_not_to_be_answered_with_the_reason_filled_in(tmp_path: Path) -> None:
    masked = _w("х", "*", "й")
    async with world(tmp_path, "otradnaya") as w:
        await w.curator.send(f"https://vk.com/wall-1_7 Да {masked} вам, а не ремонт дороги")
        card = await w.curator.wait_message(contains="New incident — check and register:")
        assert f"Possibly not to be answered: obscene language («{masked}»)." in card.text
        await w.press(w.curator, card, "Not processable")
        await w.until(lambda: "Reason: Not to be answered: obscene language" in (card.text or ""))
        assert [b for row in card.buttons for b in row] == ["Confirm", "Back"]
        await w.press(w.curator, card, "Back")  # the person decides: back to the card, nothing saved
        await w.until(lambda: any("Register" in b for row in card.buttons for b in row))
        assert await w.app.services.registered_posts([]) == []
        await w.press(w.curator, card, "Not processable")
        await w.curator.send("Нецензурная брань в адрес администрации")  # the curator's own words win
        await w.until(lambda: "Reason: Нецензурная брань в адрес администрации" in (card.text or ""))
        await w.press(w.curator, card, "Confirm")
        await w.until(lambda: "No. 1" in (card.text or ""))
        incident = await w.app.services.get(1)
        assert incident.state is State.not_processable
        assert incident.closed_reason == "Нецензурная брань в адрес администрации"
        assert [e.name for e in await w.app.services.history(1)][-1] == "not_processable"


async def test_a_clean_post_has_no_flag_and_screening_can_be_turned_off(tmp_path: Path) -> None:
    masked = _w("х", "*", "й")
    async with world(tmp_path, "otradnaya", assistant={"screening": False}) as w:
        await w.curator.send(f"https://vk.com/wall-1_7 Да {masked} вам, а не ремонт дороги")
        card = await w.curator.wait_message(contains="New incident — check and register:")
        assert "not to be answered" not in card.text
        assert not any("Not processable" in b for row in card.buttons for b in row)


# --- §3: repeats by meaning on the registration card --------------------------------------------------------


async def test_a_reworded_post_is_offered_as_possibly_the_same_question(tmp_path: Path) -> None:
    async with world(tmp_path, "otradnaya") as w:
        await w.register(POST, topic="ЖКХ")
        await w.register(OTHER, topic="Образование")
        await w.curator.send(REWORDED)
        card = await w.curator.wait_message(contains="New incident — check and register:")
        line = next(x for x in card.text.splitlines() if x.startswith("Possibly the same question"))
        assert line.startswith("Possibly the same question: No. 1 (") and line.endswith(" %)")
        assert "No. 2" not in line
        score = int(line.split("(")[1].split()[0])
        assert 80 <= score <= 100
        assert any(b == "Repeat of No. 1" for row in card.buttons for b in row)
        # On another topic the incident on ЖКХ is not offered.
        await w.curator.press(card, card.buttons[0][0])
        await w.until(lambda: any("Дороги" in row for row in card.buttons))
        await w.press(w.curator, card, "Дороги")
        await w.until(lambda: "Topic: Дороги" in (card.text or ""))
        assert "Possibly the same question" not in card.text


# --- §4: where to route ---------------------------------------------------------------------------------------


def _ticked(card) -> list[str]:  # type: ignore[no-untyped-def]
    return [b for row in card.buttons for b in row if b.startswith("✅")]


async def test_routing_is_pre_ticked_from_the_rubricator_then_from_history_and_reported(tmp_path: Path) -> None:
    topics = ["Дороги", {"name": "ЖКХ", "department": "d0"}, "Образование"]
    async with world(tmp_path, "otradnaya", topics=topics) as w:
        anna = await w.executor(200, "Анна Исполнитель", "Управление ЖКХ")
        # 1: the rubricator names Управление ЖКХ; the curator keeps it.
        card = await w.register(POST, topic="ЖКХ")
        await w.curator.press(card, "Route to a department")
        await w.until(lambda: _ticked(card) == ["✅ 1. Управление ЖКХ"])
        await w.press(w.curator, card, "Route")
        # The department returns it "not ours"; the curator re-routes it to the roads committee.
        mine = await anna.wait_message(contains="New incident")
        await w.press(anna, mine, "Not our competence")
        await anna.send("Это дорога, а не двор")
        await w.settle()
        back = w.card_of(w.curator, 1)
        await w.curator.press(back, "Route to a department")  # the department that returned it is not suggested
        await w.until(lambda: any("Управление ЖКХ" in b for row in back.buttons for b in row))
        assert _ticked(back) == []
        await w.curator.press(back, "Комитет по дорогам")
        await w.until(lambda: _ticked(back) == ["✅ 1. Комитет по дорогам"])
        await w.press(w.curator, back, "Route")
        # 2: history now says the roads committee answered ЖКХ, and Управление ЖКХ returned it: pre-ticked the former.
        card = await w.register(OTHER.replace("1_300", "1_301"), topic="ЖКХ")
        await w.curator.press(card, "Route to a department")
        await w.until(lambda: _ticked(card) == ["✅ 1. Комитет по дорогам"])
        # The curator changes the choice: untick, tick Отдел образования.
        await w.curator.press(card, "✅ 1. Комитет по дорогам")
        await w.until(lambda: _ticked(card) == [])
        await w.curator.press(card, "Отдел образования")
        await w.until(lambda: _ticked(card) == ["✅ 1. Отдел образования"])
        await w.press(w.curator, card, "Route")
        # 3: the change is remembered.
        card = await w.register(OTHER.replace("1_300", "1_302"), topic="ЖКХ")
        await w.curator.press(card, "Route to a department")
        await w.until(lambda: _ticked(card) == ["✅ 1. Отдел образования"])

        services = w.app.services
        start = datetime(2026, 3, 1, tzinfo=w.tz)
        figures = await assistant.routing_figures(services, start, datetime(2026, 4, 1, tzinfo=w.tz))
        assert (figures.suggested, figures.followed, figures.routed, figures.returned_not_ours) == (2, 1, 2, 1)
        report = await build_report(services.sessions, services.workflow, start.date(), None, services.clock.now())
        assert "Routed as suggested: 50% (1 of 2); returned «not ours»: 50% (1 of 2)" in summary_text(report, "en")
        # The workbook's «Quality» sheet has them too, beside the month before (nothing routed then).
        book = load_workbook(io.BytesIO(workbook_xlsx(report, "en")))
        quality = {r[0]: (r[1], r[2]) for r in book["Quality"].iter_rows(min_row=2, values_only=True)}
        assert quality["Routed with a suggestion"] == (2, 0)
        assert quality["Routed as suggested"] == (1, 0)
        assert quality["Routed as suggested, share"] == (0.5, None)
        assert quality["Routed"] == (2, 0)
        assert quality["Returned «not ours»"] == (1, 0)
        assert quality["Returned «not ours», share"] == (0.5, None)
        share = next(r for r in book["Quality"].iter_rows(min_row=2) if r[0].value == "Returned «not ours», share")
        assert "%" in share[1].number_format
        ru = load_workbook(io.BytesIO(workbook_xlsx(report, "ru")))
        ru_rows = {r[0]: r[1] for r in ru[translate("ru", "Quality")].iter_rows(min_row=2, values_only=True)}
        assert ru_rows["Направлено по подсказке, доля"] == 0.5
        # A department's report has no routing figures: they are the organisation's.
        department = await build_report(services.sessions, services.workflow, start.date(), 1, services.clock.now())
        sheet = load_workbook(io.BytesIO(workbook_xlsx(department, "en")))["Quality"]
        assert not any(r[0] == "Routed as suggested" for r in sheet.iter_rows(min_row=2, values_only=True))


async def test_routing_hints_off_tick_nothing(tmp_path: Path) -> None:
    topics = ["Дороги", {"name": "ЖКХ", "department": "d0"}, "Образование"]
    async with world(tmp_path, "otradnaya", topics=topics, assistant={"routing_hints": False}) as w:
        card = await w.register(POST, topic="ЖКХ")
        await w.curator.press(card, "Route to a department")
        await w.until(lambda: any("Управление ЖКХ" in b for row in card.buttons for b in row))
        assert _ticked(card) == []


# --- §5: answer templates --------------------------------------------------------------------------------------


TEMPLATE = "Вывоз мусора\nПо обращению № {номер} ({адрес}): контейнеры вывезут до {срок}, фото приложим."


@pytest.fixture(scope="module")
def language_tools() -> None:
    """The pre-check's language tools loaded before the scenario (3–5 s once per process, more on a busy machine),
    so its 5-second waits measure the bot, not the first load."""
    precheck.warm_up()


@pytest.mark.usefixtures("language_tools")
async def test_templates_are_kept_in_templates_and_start_an_executors_draft(tmp_path: Path) -> None:
    async with world(tmp_path, "otradnaya") as w:
        anna = await w.executor(200, "Анна Исполнитель", "Управление ЖКХ")
        # An executor keeps no templates.
        await anna.send("/templates")
        refused = await anna.wait_message(contains="Only administrators and responsible officials")
        assert refused.text == "Only administrators and responsible officials keep answer templates."

        # The administrator adds one for ЖКХ; the pre-check's advice comes with it.
        await w.curator.send("/templates")
        listing = await w.curator.wait_message(contains="Answer templates:")
        assert "(none yet)" in listing.text
        await w.press(w.curator, listing, "➕ Add a template")
        await w.until(lambda: any("ЖКХ" in row for row in listing.buttons))
        await w.press(w.curator, listing, "ЖКХ")
        await w.curator.wait_message(contains="Placeholders: {номер}")
        await w.curator.send(TEMPLATE)
        saved = await w.curator.wait_message(contains="Template saved: Вывоз мусора.")
        assert "pre-check" in saved.text

        # Edited: the new text is checked again.
        await w.curator.send("/templates")
        listing = await w.curator.wait_message(contains="• Вывоз мусора — ЖКХ")
        await w.press(w.curator, listing, "Вывоз мусора")
        await w.until(lambda: "контейнеры вывезут" in (listing.text or ""))
        await w.press(w.curator, listing, "✏️ Edit")
        await w.curator.wait_message(contains="Send the new text of «Вывоз мусора».")
        await w.curator.send("Обращение № {номер}: согласно графика мусор вывезут до {срок}.")
        updated = await w.curator.wait_message(contains="Template updated.")
        assert "pre-check advises" in updated.text

        # The executor starts the answer from it: placeholders filled.
        card = await w.register(POST, topic="ЖКХ")
        await w.route(card, "Управление ЖКХ")
        mine = await anna.wait_message(contains="New incident")
        await w.press(anna, mine, "Accept")
        await w.press(anna, mine, "Write the answer")
        prompt = await anna.wait_message(contains="Write the answer for incident No. 1")
        await w.press(anna, prompt, "📄 From a template: Вывоз мусора")
        preview = await anna.wait_message(contains="Draft for incident No. 1")
        assert "Обращение № 1: согласно графика мусор вывезут до Wed, 11 March, 10:00." in preview.text
        await w.press(anna, preview, "Submit for approval")
        incident = await w.app.services.get(1)
        assert incident.drafts[-1].text.startswith("Обращение № 1: согласно графика")

        # Deleted: the list is empty again, and an old button of it changes nothing.
        await w.curator.send("/templates")
        listing = await w.curator.wait_message(contains="• Вывоз мусора — ЖКХ")
        await w.press(w.curator, listing, "Вывоз мусора")
        await w.until(lambda: "контейнеры" not in (listing.text or "") and "согласно графика" in (listing.text or ""))
        await w.press(w.curator, listing, "🗑 Delete")
        await w.until(lambda: "Template deleted." in (listing.text or ""))
        assert "(none yet)" in listing.text
        assert await assistant.templates_for(w.app.services, await w.app.services.identify(100)) == []  # type: ignore[arg-type]
        _ = incident_number


# --- §3: the in-memory pool follows the database --------------------------------------------------------------


async def test_the_pool_sees_other_instances_registrations_and_drops_old_closed_incidents(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    curator, _, _ = await directory(sessions)
    one, other = service(sessions), service(sessions)  # two bot instances on one database
    text = POST.split(" ", 1)[1]
    assert await assistant.similar_incidents(one, REWORDED) == []  # the pool is loaded, empty
    first = await other.register(curator, [_post(other, "https://vk.com/wall-1_1", text)])
    assert [s.number for s in await assistant.similar_incidents(one, REWORDED)] == [first.id]
    await other.not_processable(curator, first.id, "угрозы")  # closed: still offered while recent
    assert [s.number for s in await assistant.similar_incidents(one, REWORDED)] == [first.id]
    one.clock.advance(timedelta(days=31))  # type: ignore[attr-defined]
    assert await assistant.similar_incidents(one, REWORDED) == []


def _post(services: Services, url: str, text: str) -> Source:
    return Source(Network.vk, url, None, text, services.clock.now())
