"""Every renderer fits Telegram's limits whatever people and the config put in, and keeps what matters.

Property tests (hypothesis) per renderer: any content gives messages within 4096 UTF-16 units, buttons
within 64 units and callback data within 64 bytes, with the essentials present; and the three cards of
issue 9 §2 (a 300-character post, a 540-character draft, 11, 13 and 14 further VK comments).
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.domain.clock import ManualClock
from bot.domain.incident import (
    Assignment,
    AssignmentState,
    DeadlineKind,
    Draft,
    DraftKind,
    DraftStatus,
    Event,
    Importance,
    Incident,
    Kind,
    Network,
    Pause,
    ReturnReason,
    Role,
    Source,
    State,
)
from bot.domain.message_size import BUTTON_TEXT_LIMIT, CALLBACK_DATA_LIMIT, TEXT_LIMIT, split, units
from bot.domain.presets import get_preset
from bot.domain.workflow import Action, Actor, Workflow
from bot.domain.worktime import WeeklySchedule, WorkCalendar
from bot.i18n import format_moment, make_i18n, translate
from bot.report import (
    GroupTimeliness,
    LiveStats,
    MonthlyReport,
    OverdueItem,
    Quality,
    Timeliness,
    VolumeRow,
    Volumes,
    stats_text,
    summary_text,
)
from bot.services import DepartmentRecord, Directory, Person, Services
from handlers.admin import absences_page
from handlers.callbacks import AbsenceAction, AbsenceCb, CardAction, CardCb
from handlers.delivery import DIGEST_LINES, render_text
from handlers.intake import intake_text
from handlers.keyboards import card_keyboard
from handlers.queue import render_queue
from handlers.render import (
    card_full_text,
    deadline_label,
    draft_kind_label,
    history_text,
    render_card,
    state_label,
    with_locale,
)
from storage.directory import AbsenceRecord
from storage.reports import Durations, LiveFigures

MSK = ZoneInfo("Europe/Moscow")
NOW = datetime(2026, 3, 10, 10, 0, tzinfo=MSK)
I18N = make_i18n()
PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Cyrillic, Latin, digits, punctuation, line breaks and astral emoji (two UTF-16 units each).
ALPHABET = st.sampled_from([*list("абвгдеёжзий ЖКХ ABCxyz019.,!?«»\n"), "😀", "🏠", "𝔸"])


def texts(max_chunks: int = 20, min_chunks: int = 0) -> st.SearchStrategy[str]:
    """From empty to long: a random chunk of up to 60 characters repeated (fast to generate)."""
    return st.builds(
        lambda chunk, times: chunk * times,
        st.text(ALPHABET, min_size=1, max_size=60),
        st.integers(min_chunks, max_chunks),
    )


NAME_ALPHABET = st.sampled_from([*list("абвгдеёжзий ЖКХ ABCxyz019.,!?«»"), "😀", "🏠", "𝔸"])


def names(max_chunks: int = 8) -> st.SearchStrategy[str]:
    """A name of one line (Telegram names and the config's have no line breaks), of any length."""
    return st.builds(
        lambda chunk, times: chunk * times, st.text(NAME_ALPHABET, min_size=1, max_size=60), st.integers(1, max_chunks)
    )


URLS = st.builds(
    lambda n, tail: f"https://vk.com/wall-1_{n}?reply={tail}",
    st.integers(0, 10**12),
    st.text(st.sampled_from("abc123-_"), max_size=2000),  # links up to 2048 characters
)


def services(preset: str = "otradnaya") -> Services:
    p = get_preset(preset)
    return Services(None, Workflow(p, WorkCalendar(p.timezone, WeeklySchedule.standard())), ManualClock(NOW))  # type: ignore[arg-type]


def moment_after(minutes: int) -> datetime:
    return NOW + timedelta(minutes=minutes)


@st.composite
def incidents(draw: st.DrawFn) -> tuple[Incident, Directory, dict[int, str]]:
    """Any incident the bot can hold: up to 30 sources, 12 departments, every deadline, drafts up to
    the workflow's 10,000 characters, comments and reasons up to its 1,000, names of any length."""
    dep_ids = draw(st.lists(st.integers(1, 12), unique=True, max_size=12))
    directory = Directory(
        tuple(DepartmentRecord(d, draw(names()), None, None, True) for d in range(1, 13)),
        {t: draw(names()) for t in range(1, 4)},
        {1: draw(names())},
    )
    people = {u: draw(names(3)) for u in range(1, 4)}
    sources = [
        Source(
            draw(st.sampled_from(list(Network))),
            draw(st.none() | URLS),
            draw(st.none() | names(4)),
            draw(texts(850)),  # a post's text is kept up to 50,000 characters
            NOW,
        )
        for _ in range(draw(st.integers(1, 30)))
    ]
    assignments = [
        Assignment(
            d,
            NOW,
            state=draw(st.sampled_from(list(AssignmentState))),
            executor_id=draw(st.none() | st.integers(1, 3)),
            return_reason=draw(st.none() | texts(16)),
        )
        for d in dep_ids
    ]
    drafts = []
    for number in range(1, draw(st.integers(0, 3)) + 1):
        status = draw(st.sampled_from(list(DraftStatus)))
        drafts.append(
            Draft(
                draw(st.sampled_from(list(DraftKind))),
                draw(texts(166, 1)),  # up to 10,000 characters (bot/domain/workflow.py MAX_TEXT)
                1,
                draw(st.sampled_from(dep_ids or [1])),
                NOW,
                status=status,
                number=number,
                return_reasons=draw(st.lists(st.sampled_from(list(ReturnReason)), unique=True)),
                return_comment=draw(st.none() | texts(16)),
                published_url=draw(st.none() | URLS),
            )
        )
    incident = Incident(
        "org",
        NOW,
        sources,
        importance=draw(st.sampled_from(list(Importance))),
        kind=draw(st.sampled_from(list(Kind))),
        state=draw(st.sampled_from(list(State))),
        topic_ids=draw(st.lists(st.integers(1, 3), unique=True)),
        location_id=draw(st.none() | st.just(1)),
        repeat_of=draw(st.none() | st.integers(1, 10**9)),
        assignments=assignments,
        drafts=drafts,
        pauses=[Pause(NOW)] if draw(st.booleans()) else [],
        deadlines={
            k: moment_after(m)
            for k, m in draw(st.dictionaries(st.sampled_from(list(DeadlineKind)), st.integers(-50_000, 50_000))).items()
        },
        consolidator_department_id=draw(st.none() | st.sampled_from(dep_ids or [1])),
        closed_reason=draw(st.none() | texts(16)),
        id=draw(st.integers(1, 10**9)),
    )
    return incident, directory, people


def assert_keyboard_fits(markup: Any) -> None:
    for row in markup.inline_keyboard if markup else []:
        for button in row:
            assert units(button.text) <= BUTTON_TEXT_LIMIT, button.text
            assert len((button.callback_data or "").encode()) <= CALLBACK_DATA_LIMIT, button.callback_data


def _fixed_prefix(msgid: str) -> str:
    """The fixed text of a translated template before its first placeholder."""
    return translate_current(msgid).split("{")[0]


def translate_current(msgid: str) -> str:
    from aiogram.utils.i18n import gettext

    return gettext(msgid)


@pytest.mark.parametrize("locale", ["ru", "en"])
@given(case=incidents())
@PROPERTY
def test_any_card_fits_one_message_and_keeps_status_departments_deadlines_and_the_draft(
    locale: str, case: tuple[Incident, Directory, dict[int, str]]
) -> None:
    incident, directory, people = case
    svc = services()
    with with_locale(I18N, locale):
        view = render_card(incident, directory, svc, locale, note="draft_submitted", names=people)
        assert units(view.text) <= TEXT_LIMIT
        lines = view.text.split("\n")
        assert translate_current("Incident No. {number}").format(number=incident.id) in lines[1]
        assert translate_current("State: {state}").format(state=state_label(incident.state)) in lines
        for a in incident.assignments:
            if a.state is not AssignmentState.cancelled:
                status = {
                    AssignmentState.waiting: "waits for its turn",
                    AssignmentState.routed: "not accepted yet",
                    AssignmentState.accepted: "accepted",
                    AssignmentState.returned: "returned: {reason}",
                    AssignmentState.contributed: "contribution given",
                }[a.state]
                assert any(ln.startswith("• ") and " — " + _fixed_prefix(status) in ln for ln in lines), status
        for kind, due in incident.deadlines.items():
            assert any(
                ln.startswith(f"⏱ {deadline_label(kind)}: {format_moment(due, MSK, locale, now=NOW)} (") for ln in lines
            )
        if incident.open_pause is not None:
            assert any(ln.startswith("⏸") for ln in lines)
        draft = incident.current_draft()
        if draft is not None:
            header = (
                translate_current("Draft No. {number} ({kind}), {status}:").split("(")[0].format(number=draft.number)
            )
            assert any(ln.startswith(header) for ln in lines)
            if view.draft_apart is None:
                assert f"«{draft.text}»" in view.text  # the draft under decision whole on the card
            else:  # or whole in messages of its own, and the card says so
                assert draft.text in view.draft_apart and view.shortened
                assert all(units(piece) <= TEXT_LIMIT for piece in split(view.draft_apart))
                assert (
                    _fixed_prefix(
                        "The draft is too long for the card: its full text ({count} characters) is in separate "
                        "messages above; «Show in full» sends it again."
                    )
                    in view.text
                )
            if draft.status is DraftStatus.returned:
                assert _fixed_prefix("Returned: {reasons}") in view.text
        markup = card_keyboard(incident, list(Action), full=view.shortened)
        assert_keyboard_fits(markup)
        labels = [b.text for row in markup.inline_keyboard for b in row] if markup else []
        assert (translate_current("Show in full") in labels) == view.shortened
        full = card_full_text(incident, directory, svc, locale, people)
        for source in incident.sources:
            assert source.text in full and (source.url or "") in full
        assert all(units(piece) <= TEXT_LIMIT for piece in split(full))
        if not view.shortened:
            plain = render_card(incident, directory, svc, locale, names=people)
            assert plain.text == full


@pytest.fixture(scope="module")
def three_cards() -> dict[int, tuple[Incident, Any, Actor]]:
    """Issue 9 §2: a routed, accepted incident with a 300-character post, a 540-character draft
    (ending in a marker) and 11, 13 or 14 further sources: VK comment links with 250-character texts."""
    svc = services()
    wf = svc.workflow
    curator = Actor(1, frozenset({Role.curator}))
    executor = Actor(2, frozenset({Role.executor}), frozenset({7}))
    cards = {}
    for further in (11, 13, 14):
        post = Source(Network.vk, "https://vk.com/wall-1_100", "Пётр Иванов", ("Во дворе яма. " * 22)[:300], NOW)
        incident, _ = wf.register(curator, NOW, [post], topic_ids=[1])
        incident.id = 42
        for k in range(further):
            text = (f"Комментарий {k}: тоже яма у дома. " * 10)[:250]
            wf.add_source(
                incident,
                curator,
                NOW,
                Source(Network.vk, f"https://vk.com/wall-1_100?reply={500 + k}", None, text, NOW),
            )
        wf.route(incident, curator, NOW, [7])
        wf.accept(incident, executor, NOW)
        wf.submit_draft(
            incident, executor, NOW, DraftKind.answer, ("Яму засыплют щебнем до пятницы. " * 20)[:533] + " КОНЕЦ."
        )
        cards[further] = (incident, svc, curator)
    return cards


@pytest.mark.parametrize("further", [11, 13, 14])
def test_the_issues_cards_keep_the_whole_draft_status_department_and_deadlines(
    three_cards: dict[int, tuple[Incident, Any, Actor]], further: int
) -> None:
    incident, svc, curator = three_cards[further]
    directory = Directory((DepartmentRecord(7, "Управление ЖКХ", None, None, True),), {1: "ЖКХ"}, {})
    with with_locale(I18N, "ru"):
        view = render_card(incident, directory, svc, "ru", note="draft_submitted")
        actions = svc.workflow.actions_for(incident, curator, NOW)
        markup = card_keyboard(incident, actions, full=view.shortened)
    text = view.text
    draft = incident.current_draft()
    assert draft is not None and len(draft.text) == 540 and len(incident.sources) == further + 1
    assert units(text) <= TEXT_LIMIT and view.draft_apart is None
    assert f"«{draft.text}»" in text and text.count("КОНЕЦ.") == 1  # the draft's end (lost at 11 before)
    labels = [b.text for row in markup.inline_keyboard for b in row]
    assert "Согласовать" in labels and "Показать полностью" in labels  # approve with the full draft visible
    assert "Статус: проект на согласовании" in text  # the status line (lost at 14 before)
    assert "• Управление ЖКХ — принят в работу" in text  # the department (lost at 14 before)
    assert "⏱ Срок рассмотрения проекта куратором: вт, 10 марта, 10:30" in text
    assert "⏱ Срок ответа: ср, 11 марта, 10:00" in text  # every running deadline (lost at 14 before)
    assert f"«{incident.sources[0].text}»" in text  # the 300-character post whole
    assert "https://vk.com/wall-1_100?reply=500" in text
    with with_locale(I18N, "ru"):
        full = card_full_text(incident, directory, svc, "ru")
    assert all(s.text in full for s in incident.sources) and all(s.url in full for s in incident.sources)


def test_a_draft_longer_than_the_card_goes_whole_in_its_own_messages_and_the_card_says_so(
    three_cards: dict[int, tuple[Incident, Any, Actor]],
) -> None:
    incident, svc, _ = three_cards[14]
    draft = incident.current_draft()
    assert draft is not None
    draft.text = "Ответ по существу с датой и фото. " * 290  # 9,860 characters: three messages
    directory = Directory((DepartmentRecord(7, "Управление ЖКХ", None, None, True),), {1: "ЖКХ"}, {})
    with with_locale(I18N, "ru"):
        view = render_card(incident, directory, svc, "ru", note="draft_submitted")
        kind = draft_kind_label(draft.kind)
    assert units(view.text) <= TEXT_LIMIT and view.shortened
    assert "Проект не помещается в карточку: полный текст (символов: 9860)" in view.text
    assert "⏱ Срок ответа: ср, 11 марта, 10:00" in view.text and "• Управление ЖКХ — принят в работу" in view.text
    assert view.draft_apart is not None and view.draft_apart.startswith(f"Проект № 1 ({kind}) по инциденту № 42")
    pieces = split(view.draft_apart)
    assert len(pieces) == 3 and all(units(p) <= TEXT_LIMIT for p in pieces)
    assert "".join("".join(pieces).split()) == "".join(view.draft_apart.split())


# --- the other renderers ----------------------------------------------------------------------------------


@st.composite
def queue_pages(draw: st.DrawFn) -> list[Incident]:
    items = []
    for _ in range(draw(st.integers(0, 8))):
        incident = Incident(
            "org", NOW, [Source(Network.vk, None, None, "x", NOW)], state=draw(st.sampled_from(list(State)))
        )
        incident.id = draw(st.integers(1, 10**12))
        if draw(st.booleans()):
            incident.deadlines[DeadlineKind.answer] = moment_after(draw(st.integers(-(10**6), 10**6)))
        items.append(incident)
    return items


@pytest.mark.parametrize("locale", ["ru", "en"])
@given(
    items=queue_pages(),
    total=st.integers(0, 10**6),
    page=st.integers(0, 10**5),
    view=st.sampled_from(["mine", "department", "approval", "overdue"]),
)
@PROPERTY
async def test_any_queue_page_fits_and_its_buttons_stay_short(
    locale: str, items: list[Incident], total: int, page: int, view: str
) -> None:
    svc = services()

    async def queue(person: Person, view: str, page: int, size: int) -> tuple[list[Incident], int]:
        return items, max(total, len(items))

    fake = SimpleNamespace(queue=queue, clock=svc.clock, workflow=svc.workflow)
    person = Person(1, 1, "Анна", locale, frozenset({Role.curator}), frozenset({1}), frozenset({1}))
    with with_locale(I18N, locale):
        text, markup = await render_queue(person, fake, view, page)  # type: ignore[arg-type]
    assert units(text) <= TEXT_LIMIT and str(page + 1) in text
    assert_keyboard_fits(markup)
    opened = [
        b.callback_data
        for row in markup.inline_keyboard
        for b in row
        if (b.callback_data or "").startswith(CardCb.__prefix__ + ":")
    ]
    # every incident of the page has its button
    assert opened == [CardCb(incident_id=i.id, action=CardAction.open).pack() for i in items]


@given(
    numbers=st.dictionaries(
        st.sampled_from(["due_today", "overdue", "approval"]), st.lists(st.integers(1, 10**9), max_size=1000)
    ),
    locale=st.sampled_from(["ru", "en"]),
)
@PROPERTY
def test_the_morning_digest_fits_one_message_whatever_the_lists(numbers: dict[str, list[int]], locale: str) -> None:
    text = render_text(locale, {"kind": "text", "key": "digest", "params": {"date": "2026-03-10", **numbers}})
    assert units(text) <= TEXT_LIMIT
    lines = text.split("\n")
    for name, listed in numbers.items():
        if not listed:
            continue
        prefix = translate(locale, DIGEST_LINES[name]).split("{")[0]
        found = next(ln for ln in lines if ln.startswith(prefix))
        shown = [int(n) for n in re.findall(r"(?:№|No\.) (\d+)", found.split(" (+")[0])]  # ru «№ 5», en "No. 5"
        assert shown == listed[: len(shown)] and shown  # the first numbers, in order
        if len(shown) < len(listed):
            assert found.endswith(f" (+{len(listed) - len(shown)}: /queue)")  # and how many more


def test_a_digest_of_700_overdue_incidents_shows_the_first_and_counts_the_rest() -> None:
    text = render_text(
        "ru", {"kind": "text", "key": "digest", "params": {"date": "2026-03-10", "overdue": list(range(1, 701))}}
    )
    line = next(ln for ln in text.split("\n") if "№ 1," in ln)
    shown = line.count("№")
    assert units(text) <= TEXT_LIMIT and line.endswith(f" (+{700 - shown}: /queue)") and 100 < shown < 700


@given(
    events=st.lists(
        st.tuples(
            st.sampled_from(["registered", "routed", "returned_not_ours", "draft_returned", "author_replied", "x"]),
            st.none() | texts(70),  # a reason or comment up to 1,000, an author's reply up to 4,096 characters
            st.none() | st.integers(1, 3),
        ),
        max_size=60,
    ),
    people=st.dictionaries(st.integers(1, 3), names(3)),
    locale=st.sampled_from(["ru", "en"]),
)
@PROPERTY
def test_history_is_sent_in_parts_within_the_limit_with_every_event_and_whole_comments(
    events: list[tuple[str, str | None, int | None]], people: dict[int, str], locale: str
) -> None:
    history = [
        Event(name, moment_after(i), actor, None, State.in_work, comment=comment)
        for i, (name, comment, actor) in enumerate(events)
    ]
    with with_locale(I18N, locale):
        text = history_text(7, history, people, services(), locale)
    pieces = split(text)
    assert all(units(p) <= TEXT_LIMIT for p in pieces)
    joined = "".join("".join(pieces).split())
    for event in history:
        if event.comment:
            assert "".join(event.comment.split()) in joined  # whole, not cut at 300 characters
    assert len(re.findall(r"^\S.*? — ", text, re.M)) >= len(history)


def _group(name: str, department_id: int | None = None) -> GroupTimeliness:
    durations = {k: Durations(3, 3600.0, 3000.0, 7200.0) for k in ("route", "response", "draft", "publish")}
    return GroupTimeliness(department_id, name, 10, 8, 6, 2, durations)


@given(
    scope=names(80),
    topics=st.lists(names(80), max_size=5),
    departments=st.lists(names(80), max_size=40),
    overdue=st.integers(0, 500),
    locale=st.sampled_from(["ru", "en"]),
)
@PROPERTY
def test_the_report_summary_fits_one_message_whatever_the_names(
    scope: str, topics: list[str], departments: list[str], overdue: int, locale: str
) -> None:
    row = VolumeRow(None, "—", 0, 0)
    report = MonthlyReport(
        "org",
        "Europe/Moscow",
        date(2026, 3, 1),
        None,
        scope,
        NOW,
        True,
        Volumes(12, 10, {"topic": [VolumeRow(i, t, 3, 1) for i, t in enumerate(topics)]}, []),
        Timeliness(
            _group(scope),
            _group(scope),
            [_group(d, i) for i, d in enumerate(departments)],
            [OverdueItem(n, NOW, "normal", "in_work", NOW, None, 60, ()) for n in range(overdue)],
        ),
        Quality(5, 4, 3, 2, 1, 1, [], row, row),
    )
    text = summary_text(report, locale)
    assert units(text) <= TEXT_LIMIT
    assert translate(locale, "Incidents: {total} ({change} vs previous month)", total=12, change="+2") in text
    assert (
        translate(
            locale,
            "Answered on time: {share} ({change}); overdue: {overdue}",
            share="75%" if locale == "en" else "75\u00a0%",  # Babel: Russian puts a no-break space before %
            change="±0 pp" if locale == "en" else "±0 п. п.",
            overdue=2,
        )
        in text
    )
    if overdue:
        assert ("№ 0" if locale == "ru" else "No. 0") in text


@given(
    departments=st.dictionaries(st.integers(1, 500), st.tuples(names(40), st.integers(1, 10**6)), max_size=300),
    locale=st.sampled_from(["ru", "en"]),
)
@PROPERTY
def test_live_stats_fit_one_message_with_hundreds_of_departments(
    departments: dict[int, tuple[str, int]], locale: str
) -> None:
    figures = LiveFigures({"in_work": 3}, {d: n for d, (_, n) in departments.items()}, 1, 2, 3, 3600.0)
    text = stats_text(LiveStats(NOW, figures, {d: name for d, (name, _) in departments.items()}), locale)
    assert units(text) <= TEXT_LIMIT
    assert translate(locale, "Registered today: {n}", n=3) in text


@given(
    count=st.integers(0, 300),
    people=st.dictionaries(st.integers(1, 5), names(10), min_size=5, max_size=5),
    page=st.integers(-3, 40),
    locale=st.sampled_from(["ru", "en"]),
)
@PROPERTY
def test_any_absences_page_fits_and_pages_through_hundreds(
    count: int, people: dict[int, str], page: int, locale: str
) -> None:
    records = [
        AbsenceRecord(n, 1 + n % 5, 1 + (n + 1) % 5, NOW + timedelta(days=n), NOW + timedelta(days=n + 3), None)
        for n in range(count)
    ]
    with with_locale(I18N, locale):
        text, markup = absences_page(records, people, MSK, locale, page)
    assert units(text) <= TEXT_LIMIT
    assert_keyboard_fits(markup)
    buttons = [AbsenceCb.unpack(b.callback_data or "") for row in markup.inline_keyboard for b in row]
    cancels = [b for b in buttons if b.action is AbsenceAction.cancel]
    assert len(cancels) == min(10, max(count - 10 * min(max(page, 0), max((count - 1) // 10, 0)), 0))
    assert len([ln for ln in text.split("\n") if ln.startswith("• ")]) == len(cancels)
    if count > 10:
        assert "›" in str(markup) or "‹" in str(markup)


@given(
    post=st.fixed_dictionaries(
        {
            "network": st.sampled_from([n.value for n in Network]),
            "url": st.none() | URLS,
            "author": st.none() | names(4),
            "text": texts(850),
            "attachments": st.just([]),
        }
    ),
    topic=names(40),
    location=names(40),
    locale=st.sampled_from(["ru", "en"]),
)
@PROPERTY
def test_the_registration_card_fits_whatever_the_post_link_and_names(
    post: dict[str, Any], topic: str, location: str, locale: str
) -> None:
    from handlers.keyboards import intake_keyboard

    data = {
        "post": post,
        "importance": "normal",
        "kind": "incident",
        "topic": 1,
        "location": 1,
        "candidates": [{"id": 5, "open": True}],
    }
    dictionary = {"topics": {1: topic}, "locations": {1: location}}
    with with_locale(I18N, locale):
        text = intake_text(data, dictionary)
        markup = intake_keyboard(data, dictionary)
        assert text.startswith(translate_current("New incident — check and register:"))
        assert ("№ 5" if locale == "ru" else "No. 5") in text
    assert units(text) <= TEXT_LIMIT
    assert_keyboard_fits(markup)
