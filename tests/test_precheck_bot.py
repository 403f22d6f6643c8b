"""The draft pre-check in use (issue 13 §1): advice in the executor's preview with «Исправить» / «Отправить как
есть», the findings on the curator's card and pre-ticked in «Return for revision», the `[assistant]` switch,
the monthly report's two figures and `python -m bot check-draft`."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import assistant
from bot.cli import main
from bot.domain.incident import DraftKind, DraftStatus, Incident, Network, ReturnReason, Role, Source, State
from bot.domain.message_size import TEXT_LIMIT, units
from bot.domain.precheck import Reason
from bot.domain.precheck.findings import finding
from bot.draft_check import load_checker
from bot.report import build_report, returns_match, summary_text
from bot.report_files import workbook_xlsx
from tests.test_report import Office, at, workflow
from tests.world import world

POST = "https://vk.com/wall-1_100 На улице Ленина не вывозят мусор уже неделю!"
NO_DATE = "Здравствуйте! Вывоз мусора на улице Ленина включён в график, контейнеры вывезут."
WITH_DATE = "Здравствуйте! Контейнеры на улице Ленина вывезут 11 марта до 12:00."
NO_DATE_RU = "⚠ Нет срока решения: укажите, когда будет устранено."
NO_DATE_EN = "No date for the solution: say when it will be fixed."
NO_DATE_REASON = "no date by which the problem will be solved"


@pytest.fixture(scope="module", autouse=True)
def _checker_loaded() -> None:
    """Load the language tools once for the module, before any bot starts (the bot's own start-up load in a
    thread is then instant and does not slow the first scenario)."""
    load_checker()


async def _accepted_by_russian_executor(w: Any) -> Any:
    anna = await w.executor(200, "Анна Исполнитель", "Управление ЖКХ", language="ru")
    card = await w.register(POST)
    await w.route(card, "Управление ЖКХ")
    mine = await anna.wait_message(contains="Новый инцидент")
    await w.press(anna, mine, "Принять в работу")
    await w.press(anna, mine, "Подготовить ответ")
    return anna


async def test_preview_advises_fix_lets_the_executor_resend_and_send_as_is_submits(tmp_path: Path) -> None:
    async with world(tmp_path, "otradnaya", assistant={"precheck": True}) as w:
        anna = await _accepted_by_russian_executor(w)
        await anna.send(NO_DATE)
        preview = await anna.wait_message(contains="Проект по инциденту")
        await w.settle()
        assert NO_DATE_RU in preview.text
        assert preview.buttons == [["Исправить", "Отправить как есть"], ["Отменить"]]

        # «Исправить»: the text comes back to correct; the corrected text gets a clean preview.
        await w.press(anna, preview, "Исправить")
        prompt = await anna.wait_message(contains="Пришлите исправленный текст")
        assert NO_DATE in prompt.text
        await anna.send(WITH_DATE)
        clean = await anna.wait_message(contains=WITH_DATE)
        await w.settle()
        assert "⚠" not in clean.text
        assert clean.buttons == [["Направить на согласование", "Отменить"]]

        # Back to a text without a date, and «Отправить как есть»: it goes to the curator with the finding.
        await anna.send(NO_DATE)
        again = await anna.wait_message(contains="Нет срока решения")
        await w.settle()
        await w.press(anna, again, "Отправить как есть")
        incident = await w.app.services.get(1)
        assert incident.state is State.on_approval
        draft = incident.drafts[-1]
        assert draft.text == NO_DATE
        assert [f.reason for f in draft.precheck or []] == [Reason.no_date]

        # The curator's card lists it; «Return for revision» opens with that reason ticked; one tap unticks.
        review = w.card_of(w.curator, 1)
        assert "The pre-check found (the executor sent it as is):" in review.text
        assert NO_DATE_EN in review.text
        await w.press(w.curator, review, "Return for revision")
        ticked = [b for row in review.buttons for b in row if b.startswith("✅")]
        assert ticked == ["✅ " + NO_DATE_REASON]
        await w.press(w.curator, review, "✅ " + NO_DATE_REASON)
        assert not [b for row in review.buttons for b in row if b.startswith("✅")]
        await w.press(w.curator, review, NO_DATE_REASON)
        await w.press(w.curator, review, "Return")
        returned = await w.app.services.get(1)
        assert returned.drafts[-1].status is DraftStatus.returned
        assert returned.drafts[-1].return_reasons == [ReturnReason.no_date]


async def test_a_draft_from_a_template_is_checked_at_once_and_a_clean_one_goes_straight_on(tmp_path: Path) -> None:
    async with world(tmp_path, "otradnaya", assistant={"precheck": True}) as w:
        admin = await w.app.services.identify(100)
        assert admin is not None
        await assistant.add_template(
            w.app.services, admin, None, None, "Вывезли", "Здравствуйте! По обращению № {номер} контейнеры вывезли."
        )
        await assistant.add_template(w.app.services, admin, None, None, "Со сроком", WITH_DATE)
        anna = await _accepted_by_russian_executor(w)
        prompt = await anna.wait_message(contains="Подготовьте ответ по инциденту № 1")
        # A template that reports work done: the advice is in the preview the tap brings, before any text is sent.
        await w.press(anna, prompt, "📄 Из шаблона: Вывезли")
        preview = await anna.wait_message(contains="По обращению № 1 контейнеры вывезли.")
        await w.settle()
        assert "Работы указаны выполненными («вывезли»)" in preview.text
        assert preview.buttons == [["Исправить", "Отправить как есть"], ["Отменить"]]
        # Another template, with a date and nothing reported done: a clean preview; the older one loses its buttons.
        await w.press(anna, prompt, "📄 Из шаблона: Со сроком")
        clean = await anna.wait_message(contains=WITH_DATE)
        await w.settle()
        assert "⚠" not in clean.text and clean.buttons == [["Направить на согласование", "Отменить"]]
        assert preview.buttons == []
        await w.press(anna, clean, "Направить на согласование")
        draft = (await w.app.services.get(1)).drafts[-1]
        assert (draft.text, draft.precheck) == (WITH_DATE, [])


async def test_advice_is_in_the_preview_of_an_album_and_evidence_counts_the_photos(tmp_path: Path) -> None:
    async with world(tmp_path, "otradnaya", assistant={"precheck": True}) as w:
        anna = await _accepted_by_russian_executor(w)
        await anna.send("Здравствуйте! Контейнеры на улице Ленина вывезли, площадку убрали.")
        preview = await anna.wait_message(contains="Работы указаны выполненными («вывезли», «убрали»)")
        await w.settle()
        assert "приложите фото, видео или акт" in preview.text
        await anna.send(photo=True)
        after_photo = await anna.wait_message(contains="Вложений: 1")
        await w.settle()
        assert "⚠" not in after_photo.text and after_photo.buttons[0][0] == "Направить на согласование"


async def test_with_precheck_off_there_is_no_advice_no_findings_and_nothing_ticked(tmp_path: Path) -> None:
    async with world(tmp_path, "otradnaya", assistant={"precheck": False}) as w:
        assert not w.app.services.assistant.enabled
        anna = await _accepted_by_russian_executor(w)
        await anna.send(NO_DATE)
        preview = await anna.wait_message(contains="Проект по инциденту")
        await w.settle()
        assert "⚠" not in preview.text
        assert preview.buttons == [["Направить на согласование", "Отменить"]]
        await w.press(anna, preview, "Направить на согласование")
        incident = await w.app.services.get(1)
        assert incident.state is State.on_approval and incident.drafts[-1].precheck is None
        review = w.card_of(w.curator, 1)
        assert "pre-check" not in review.text
        await w.press(w.curator, review, "Return for revision")
        assert not [b for row in review.buttons for b in row if b.startswith("✅")]
        assert NO_DATE_REASON in [b for row in review.buttons for b in row]


# --- the monthly report -------------------------------------------------------------------------------------


def test_a_return_matches_when_its_reasons_are_exactly_the_findings() -> None:
    assert returns_match(["no_date"], ["no_date"])
    assert returns_match(["bureaucratese", "abbreviations"], ["wrong_format", "other"])  # both are «wrong format»
    assert returns_match([], ["other"])
    assert not returns_match(["no_date"], ["no_date", "spelling"])  # the curator saw more
    assert not returns_match(["no_date", "spelling"], ["no_date"])  # the curator unticked one
    assert not returns_match([], ["spelling"])


async def test_report_gives_the_share_sent_with_findings_and_the_share_of_returns_that_matched(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    o = await Office(sessions, workflow()).setup()
    f = o.flow

    async def submit(number: int, when: str, found: list[Reason] | None) -> None:
        def transition(incident: Incident) -> Any:
            draft, events = f.submit_draft(incident, o.a, at(*when.split()), DraftKind.answer, "Ответ")
            draft.precheck = None if found is None else [finding(r, ["слово"]) for r in found]
            return draft, events

        await o.act(number, transition)

    async def returned(number: int, when: str, *reasons: ReturnReason) -> None:
        comment = "Дополнить" if ReturnReason.other in reasons else None
        await o.act(number, lambda i: f.return_draft(i, o.curator, at(*when.split()), list(reasons), comment))

    async def approve(number: int, when: str) -> None:
        await o.act(number, lambda i: f.approve(i, o.curator, at(*when.split())))

    async def incident(day: str) -> int:
        number = await o.register(at(day), Network.vk)
        await o.route(number, f"{day} 10:05", "A")
        await o.act(number, lambda i: f.accept(i, o.a, at(day, "10:10")))
        return number

    # February: one checked draft, sent with a finding.
    p = await incident("02-10")
    await submit(p, "02-10 10:20", [Reason.no_date])
    # March. 1: sent as is with no_date, returned for no_date (matched), resent clean and approved.
    n1 = await incident("03-10")
    await submit(n1, "03-10 10:20", [Reason.no_date])
    await returned(n1, "03-10 10:30", ReturnReason.no_date)
    await submit(n1, "03-10 10:40", [])
    await approve(n1, "03-10 10:50")
    # 2: officialese and abbreviations, returned for «wrong format» and «other» (matched: «other» aside).
    n2 = await incident("03-11")
    await submit(n2, "03-11 10:20", [Reason.bureaucratese, Reason.abbreviations])
    await returned(n2, "03-11 10:30", ReturnReason.wrong_format, ReturnReason.other)
    # 3: no_date found, the curator returned for no_date and spelling (not matched).
    n3 = await incident("03-12")
    await submit(n3, "03-12 10:20", [Reason.no_date])
    await returned(n3, "03-12 10:30", ReturnReason.no_date, ReturnReason.spelling)
    # 4: submitted with the pre-check off, returned: counted nowhere.
    n4 = await incident("03-13")
    await submit(n4, "03-13 10:20", None)
    await returned(n4, "03-13 10:30", ReturnReason.spelling)
    # 5: clean, approved.
    n5 = await incident("03-16")
    await submit(n5, "03-16 10:20", [])
    await approve(n5, "03-16 10:30")

    report = await build_report(sessions, o.flow, at("03-01").date(), None, at("04-05", "12:00"))
    now, before = report.precheck.current, report.precheck.previous
    assert (now.checked, now.with_findings, now.returned, now.matched) == (5, 3, 3, 2)
    assert now.open_share == pytest.approx(0.6) and now.match_share == pytest.approx(2 / 3)
    assert (before.checked, before.with_findings, before.returned) == (1, 1, 0) and before.match_share is None

    assert "Draft pre-check: sent with open findings 60% of 5; returns that matched the findings: 67% of 3" in (
        summary_text(report, "en")
    )
    assert "Проверка проектов: направлено с замечаниями 60\xa0% из 5" in summary_text(report, "ru")
    data = json.loads(report.to_json())
    assert data["precheck"]["current"]["open_share"] == pytest.approx(0.6)
    assert data["precheck"]["current"]["matched"] == 2

    sheet = load_workbook(io.BytesIO(workbook_xlsx(report, "en")))["Quality"]
    rows = {r[0]: r[1:] for r in sheet.iter_rows(min_row=2, values_only=True)}
    assert rows["Sent with open pre-check findings"] == (3, 1)
    assert rows["Sent with open pre-check findings, share"][0] == pytest.approx(0.6)
    assert rows["Returns that matched the findings, share"] == (pytest.approx(2 / 3), None)


# --- the command line ---------------------------------------------------------------------------------------


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert main(["check-draft", *args]) == 0
    return capsys.readouterr().out


def test_cli_check_draft_prints_advice_in_text_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    text = _run(capsys, "--text", "Здравствуйте! Яму во дворе заделали.", "--post", "Яма во дворе дома 5")
    assert text.splitlines() == [
        "Замечаний: 1",
        "⚠ Работы указаны выполненными («заделали»), но ничего не приложено: приложите фото, видео или акт.",
    ]
    assert _run(capsys, "--text", "Здравствуйте! Яму во дворе заделали.", "--attachments", "2") == "Замечаний нет.\n"
    data = json.loads(_run(capsys, "--text", "Мусор вывезут в ближайшее время.", "--json"))
    assert data == {
        "findings": [
            {
                "reason": "no_date",
                "return_reason": "no_date",
                "words": ["в ближайшее время"],
                "advice": "⚠ Нет срока решения («в ближайшее время»): укажите, когда будет устранено.",
            }
        ]
    }


def test_cli_check_draft_refuses_a_negative_attachment_count(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-draft", "--text", "Ответ", "--attachments", "-1"]) == 2
    assert "--attachments" in capsys.readouterr().err


# --- sizes --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("draft_length", [500, 3900, 10_000])
def test_a_card_with_every_finding_and_long_words_stays_within_one_message(draft_length: int) -> None:
    from bot.domain.workflow import Actor
    from bot.services import DepartmentRecord, Directory
    from handlers.render import render_card, with_locale
    from tests.test_render_limits import I18N, NOW, services

    svc = services()
    svc.assistant.enabled = True  # findings set by hand below: nothing to load
    wf = svc.workflow
    curator, executor = Actor(1, frozenset({Role.curator})), Actor(2, frozenset({Role.executor}), frozenset({7}))
    post = Source(Network.vk, "https://vk.com/wall-1_100", "Автор", "Во дворе яма. " * 300, NOW)
    incident, _ = wf.register(curator, NOW, [post])
    incident.id = 42
    wf.route(incident, curator, NOW, [7])
    wf.accept(incident, executor, NOW)
    draft, _ = wf.submit_draft(incident, executor, NOW, DraftKind.answer, ("Яму засыплют. " * 800)[:draft_length])
    draft.precheck = [finding(r, [f"{r.value}-слово-" * 10 + str(k) for k in range(5)]) for r in Reason]
    directory = Directory((DepartmentRecord(7, "Управление ЖКХ", None, None, True),), {}, {})
    with with_locale(I18N, "ru"):
        view = render_card(incident, directory, svc, "ru", note="draft_submitted")
    assert units(view.text) <= TEXT_LIMIT
    assert "Проверка проекта нашла (исполнитель направил как есть):" in view.text
    assert all(phrase in view.text for phrase in ("⚠ Нет срока решения", "⚠ Канцелярит", "⚠ Ошибки в написании"))
    assert "⚠ Ошибки в написании или пунктуации (" in view.text and ", …): проверьте и исправьте." in view.text
    # The draft under decision is never cut: whole on the card, or whole in messages of its own before it.
    if draft_length == 500:
        assert f"«{draft.text}»" in view.text and view.draft_apart is None
    else:
        assert view.draft_apart is not None and draft.text in view.draft_apart
