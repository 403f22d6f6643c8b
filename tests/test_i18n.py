"""Translations: every message in the code is translated into Russian and English, the catalogs compile without a
build step, and dates and working-time durations read naturally in both languages."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib.resources import files
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_keywords, parse_mapping_cfg
from babel.messages.pofile import read_po
from babel.util import pathmatch

from bot import i18n
from bot.i18n import (
    EXTRACT_COMMENT_TAG,
    EXTRACT_KEYWORDS,
    check_catalogs,
    compiled_catalogs,
    extract_command,
    format_duration,
    format_left,
    format_moment,
    locale_of,
    make_i18n,
    translate,
    translate_plural,
    update_command,
)

REPO = Path(__file__).resolve().parent.parent
MOSCOW = ZoneInfo("Europe/Moscow")


# --- every message in the code is translated -------------------------------------------------------------------


@dataclass(frozen=True)
class Extracted:
    context: str | None
    ids: tuple[str, ...]  # (msgid,) or (msgid, msgid_plural)
    where: str

    @property
    def label(self) -> str:
        context = f" (context {self.context!r})" if self.context else ""
        return f"{self.ids[0]!r}{context} at {self.where}"


def extract(root: Path, keywords: dict | None = None) -> list[Extracted]:
    """What ``pybabel extract -F babel.cfg`` with our keywords finds under ``root``."""
    with (REPO / "babel.cfg").open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg, filename=str(REPO / "babel.cfg"))
    found = extract_from_dir(
        root,
        method_map,
        options_map,
        keywords=parse_keywords(EXTRACT_KEYWORDS) if keywords is None else keywords,
        comment_tags=(EXTRACT_COMMENT_TAG,),
    )
    return [
        Extracted(context, message if isinstance(message, tuple) else (message,), f"{filename}:{lineno}")
        for filename, lineno, message, _comments, context in found
    ]


def shipped_catalogs() -> dict[str, Catalog]:
    catalogs = {}
    for locale in i18n.SUPPORTED_LOCALES:
        with (files("locales") / locale / "LC_MESSAGES" / "messages.po").open("rb") as po:
            catalogs[locale] = read_po(po, locale=locale)
    return catalogs


def untranslated(messages: list[Extracted], catalogs: dict[str, Catalog]) -> list[str]:
    problems = []
    for message in messages:
        for locale, catalog in catalogs.items():
            entry = catalog.get(message.ids[0], context=message.context)
            if entry is None:
                problems.append(f"{locale}: {message.label} is not in the catalog")
                continue
            forms = list(entry.string) if entry.pluralizable else [entry.string]
            if entry.fuzzy:
                problems.append(f"{locale}: {message.label} is fuzzy (gettext ignores it)")
            elif len(message.ids) > 1 and not entry.pluralizable:
                problems.append(f"{locale}: {message.label} is a plural in the code but not in the catalog")
            elif (entry.pluralizable and len(forms) < catalog.num_plurals) or not all(forms):
                problems.append(f"{locale}: {message.label} has an empty translation or plural form")
    return problems


def how_to_fix(problems: list[str]) -> str:
    return (
        "Messages without a usable translation:\n  "
        + "\n  ".join(problems)
        + "\nFix from the repository root:\n  "
        + extract_command()
        + "\n  "
        + update_command()
        + "\nthen fill every empty msgstr (all plural forms) in locales/ru/LC_MESSAGES/messages.po and"
        " locales/en/LC_MESSAGES/messages.po, and remove '#, fuzzy' flags after checking the text."
    )


def test_extraction_covers_bot_and_handlers() -> None:
    with (REPO / "babel.cfg").open() as cfg:
        method_map, _ = parse_mapping_cfg(cfg)
    assert any(pathmatch(pattern, "bot/services.py") for pattern, _ in method_map)
    assert any(pathmatch(pattern, "handlers/curator.py") for pattern, _ in method_map)
    assert not any(pathmatch(pattern, "tests/test_i18n.py") for pattern, _ in method_map)


def test_every_message_in_the_code_is_translated_into_russian_and_english() -> None:
    messages = extract(REPO)
    assert any(m.where.startswith("bot/i18n.py") for m in messages)
    problems = untranslated(messages, shipped_catalogs())
    assert not problems, how_to_fix(problems)


def test_a_new_untranslated_handler_message_fails_the_check(tmp_path: Path) -> None:
    (tmp_path / "handlers").mkdir()
    (tmp_path / "handlers" / "new.py").write_text(
        "from aiogram.utils.i18n import gettext as _, ngettext\n"
        "def render(n):\n"
        '    return _("New text"), ngettext("{n} new thing", "{n} new things", n)\n'
        'OLD = translate("ru", "overdue by {duration} of working time")\n',
        encoding="utf-8",
    )
    problems = untranslated(extract(tmp_path), shipped_catalogs())
    message = how_to_fix(problems)
    assert len(problems) == 4, message  # two new messages in two languages; the already translated one is fine
    assert "ru: 'New text' at handlers/new.py:3 is not in the catalog" in problems
    assert "en: '{n} new thing' at handlers/new.py:3 is not in the catalog" in problems
    assert "pybabel update" in message


def test_the_template_lists_every_message_in_the_code() -> None:
    with (files("locales") / "messages.pot").open("rb") as pot:
        template = read_po(pot)
    missing = [m.label for m in extract(REPO) if template.get(m.ids[0], context=m.context) is None]
    assert not missing, f"locales/messages.pot is stale, run: {extract_command()}\nmissing: {missing}"


def test_plurals_are_written_with_ngettext_not_underscore(tmp_path: Path) -> None:
    """``_("a", "b", n=n)`` extracts as a singular: its plural forms would never be translated."""
    two_strings = {"_": (1, 2), "__": (1, 2), "lazy_gettext": (1, 2)}
    misused = [m.label for m in extract(REPO, keywords=two_strings)]
    assert not misused, f"use ngettext / lazy_ngettext for plurals: {misused}"

    (tmp_path / "handlers").mkdir()
    (tmp_path / "handlers" / "bad.py").write_text('_("{n} file", "{n} files", n=2)\n_("Fine")\n')
    assert [m.ids for m in extract(tmp_path, keywords=two_strings)] == [("{n} file", "{n} files")]


def _documented(text: str) -> str:
    """A command as written in docs: comment markers, line continuations and indentation removed."""
    text = re.sub(r"^\s*#", "", text, flags=re.MULTILINE)
    return " ".join(text.replace("\\\n", " ").split())


def test_documented_commands_use_the_shared_keywords() -> None:
    for where, text in [("babel.cfg", (REPO / "babel.cfg").read_text()), ("bot/i18n.py", i18n.__doc__ or "")]:
        assert extract_command() in _documented(text), f"{where} documents another extract command"
        assert update_command() in _documented(text), f"{where} documents another update command"


# --- catalog checks and compilation ----------------------------------------------------------------------------


def test_shipped_catalogs_have_no_problems() -> None:
    assert check_catalogs() == []


def _write_catalog(root: Path, locale: str, plural_forms: str, entries: str) -> None:
    (root / locale / "LC_MESSAGES").mkdir(parents=True)
    (root / locale / "LC_MESSAGES" / "messages.po").write_text(
        f'msgid ""\nmsgstr ""\n"Language: {locale}\\n"\n"Plural-Forms: {plural_forms}\\n"\n'
        f'"Content-Type: text/plain; charset=UTF-8\\n"\n\n{entries}',
        encoding="utf-8",
    )


def test_check_catalogs_reports_fuzzy_empty_short_plurals_bad_placeholders_and_one_sided(tmp_path: Path) -> None:
    ru_plural = "nplurals=3; plural=(n%10==1 && n%100!=11 ? 0 : n%10>=2 && n%10<=4 && (n%100<10 || n%100>=20) ? 1 : 2);"
    _write_catalog(
        tmp_path,
        "ru",
        ru_plural,
        '#, fuzzy\nmsgid "Approve"\nmsgstr "Согласовать"\n\n'
        'msgid "Return"\nmsgstr ""\n\n'
        'msgid "{n} day"\nmsgid_plural "{n} days"\nmsgstr[0] "{n} день"\nmsgstr[1] "{n} дня"\n\n'
        'msgid "Hello, {name}"\nmsgstr "Здравствуйте, {nmae}"\n\n'
        'msgid "Only in Russian"\nmsgstr "Только по-русски"\n',
    )
    _write_catalog(
        tmp_path,
        "en",
        "nplurals=2; plural=(n != 1);",
        'msgid "Approve"\nmsgstr "Approve"\n\nmsgid "Return"\nmsgstr "Return"\n\n'
        'msgid "{n} day"\nmsgid_plural "{n} days"\nmsgstr[0] "{n} day"\nmsgstr[1] "{n} days"\n\n'
        'msgid "Hello, {name}"\nmsgstr "Hello, {name}"\n',
    )
    problems = "\n".join(check_catalogs(tmp_path))
    assert "ru: 'Approve' is fuzzy" in problems
    assert "ru: 'Return' has an empty translation or plural form" in problems
    assert "ru: '{n} day' has an empty translation or plural form" in problems  # msgstr[2] is left out
    assert "ru: 'Hello, {name}' translation uses unknown placeholders ['nmae']" in problems
    assert "en: 'Only in Russian' is missing (present in ru)" in problems
    assert len(problems.splitlines()) == 5, problems


def test_catalogs_compile_in_memory_once_and_write_no_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A read-only install, a service user without a home: nothing is written anywhere.
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    i18n.reload_catalogs()
    try:
        catalogs = compiled_catalogs()
        assert set(catalogs) == {"ru", "en"}
        assert catalogs["ru"].ngettext("{n} hour", "{n} hours", 2) == "{n} часа"

        def no_recompiling(*args: object, **kwargs: object) -> None:
            raise AssertionError("catalogs compiled again although unchanged")

        monkeypatch.setattr(i18n, "write_mo", no_recompiling)
        assert compiled_catalogs() is catalogs
        assert make_i18n().gettext("{n} hour", "{n} hours", 2, locale="ru") == "{n} часа"
        assert list(tmp_path.iterdir()) == []
    finally:
        monkeypatch.undo()
        i18n.reload_catalogs()


def test_aiogram_i18n_loads_both_locales() -> None:
    bot_i18n = make_i18n()
    assert set(bot_i18n.available_locales) == {"ru", "en"}
    assert bot_i18n.default_locale == "ru"
    assert bot_i18n.gettext("{n} hour", "{n} hours", 5, locale="ru") == "{n} часов"
    assert bot_i18n.gettext("overdue by {duration} of working time", locale="en") == (
        "overdue by {duration} of working time"
    )


# --- translation outside handlers -----------------------------------------------------------------------------


def test_translate_outside_handlers_uses_the_recipients_locale() -> None:
    assert translate("ru", "overdue by {duration} of working time", duration="1 час") == (
        "просрочено на 1 час рабочего времени"
    )
    assert translate("en-GB", "overdue by {duration} of working time", duration="1 hour") == (
        "overdue by 1 hour of working time"
    )
    assert translate_plural("ru", "{n} minute", "{n} minutes", 22) == "22 минуты"


def test_unknown_locale_falls_back_to_russian() -> None:
    assert translate_plural("de", "{n} hour", "{n} hours", 5) == "5 часов"


def test_message_without_params_keeps_its_braces() -> None:
    assert translate("en", "Not in the catalog {yet}") == "Not in the catalog {yet}"


@pytest.mark.parametrize(
    ("language_code", "locale"),
    [("ru", "ru"), ("be", "ru"), ("uk", "ru"), ("kk", "ru"), (None, "ru"), ("en", "en"), ("en-US", "en"),
     ("EN_gb", "en"), ("de", "ru"), ("", "ru")],
)  # fmt: skip
def test_locale_of_telegram_language_code(language_code: str | None, locale: str) -> None:
    assert locale_of(language_code) == locale


# --- formatting -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hours", "ru", "en"),
    [(1, "1 час", "1 hour"), (2, "2 часа", "2 hours"), (5, "5 часов", "5 hours"), (11, "11 часов", "11 hours"),
     (21, "21 час", "21 hours"), (22, "22 часа", "22 hours")],
)  # fmt: skip
def test_hours_take_the_russian_plural_forms(hours: int, ru: str, en: str) -> None:
    assert format_duration(timedelta(hours=hours), "ru") == ru
    assert format_duration(timedelta(hours=hours), "en") == en


@pytest.mark.parametrize(
    ("minutes", "ru", "en"),
    [(1, "1 минута", "1 minute"), (2, "2 минуты", "2 minutes"), (5, "5 минут", "5 minutes"),
     (11, "11 минут", "11 minutes"), (21, "21 минута", "21 minutes"), (45, "45 минут", "45 minutes")],
)  # fmt: skip
def test_minutes_take_the_russian_plural_forms(minutes: int, ru: str, en: str) -> None:
    assert format_duration(timedelta(minutes=minutes), "ru") == ru
    assert format_duration(timedelta(minutes=minutes), "en") == en


def test_working_time_is_shown_in_hours_and_minutes_without_days_or_seconds() -> None:
    assert format_duration(timedelta(hours=2, minutes=30), "ru") == "2 часа 30 минут"
    assert format_duration(timedelta(days=1, hours=2, minutes=5, seconds=59), "ru") == "26 часов 5 минут"
    assert format_duration(timedelta(days=1, hours=2, minutes=5, seconds=59), "en") == "26 hours 5 minutes"


def test_zero_duration_is_zero_minutes() -> None:
    assert format_duration(timedelta(0), "ru") == "0 минут"
    assert format_duration(timedelta(seconds=59), "en") == "0 minutes"


def test_negative_duration_is_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        format_duration(timedelta(minutes=-1), "ru")


@pytest.mark.parametrize(
    ("delta", "ru", "en"),
    [
        (timedelta(hours=2, minutes=30), "осталось 2 часа 30 минут рабочего времени",
         "2 hours 30 minutes of working time left"),
        (timedelta(hours=1), "остался 1 час рабочего времени", "1 hour of working time left"),
        (timedelta(hours=21, minutes=5), "остался 21 час 5 минут рабочего времени",
         "21 hours 5 minutes of working time left"),
        (timedelta(hours=5), "осталось 5 часов рабочего времени", "5 hours of working time left"),
        (timedelta(minutes=1), "осталась 1 минута рабочего времени", "1 minute of working time left"),
        (timedelta(minutes=21), "осталась 21 минута рабочего времени", "21 minutes of working time left"),
        (timedelta(minutes=2), "осталось 2 минуты рабочего времени", "2 minutes of working time left"),
        (timedelta(minutes=45, seconds=59), "осталось 45 минут рабочего времени", "45 minutes of working time left"),
        (timedelta(0), "осталось 0 минут рабочего времени", "0 minutes of working time left"),
    ],
)  # fmt: skip
def test_time_left_agrees_with_its_largest_unit(delta: timedelta, ru: str, en: str) -> None:
    assert format_left(delta, "ru") == ru
    assert format_left(delta, "en") == en


@pytest.mark.parametrize(
    ("delta", "ru", "en"),
    [
        (-timedelta(hours=1, minutes=5), "просрочено на 1 час 5 минут рабочего времени",
         "overdue by 1 hour 5 minutes of working time"),
        (-timedelta(minutes=1), "просрочено на 1 минуту рабочего времени", "overdue by 1 minute of working time"),
        (-timedelta(hours=21, minutes=21), "просрочено на 21 час 21 минуту рабочего времени",
         "overdue by 21 hours 21 minutes of working time"),
        (-timedelta(hours=2, minutes=2), "просрочено на 2 часа 2 минуты рабочего времени",
         "overdue by 2 hours 2 minutes of working time"),
        (-timedelta(hours=5), "просрочено на 5 часов рабочего времени", "overdue by 5 hours of working time"),
        (-timedelta(seconds=5), "просрочено на 1 минуту рабочего времени", "overdue by 1 minute of working time"),
    ],
)  # fmt: skip
def test_overdue_time_is_in_the_accusative_and_rounded_up(delta: timedelta, ru: str, en: str) -> None:
    assert format_left(delta, "ru") == ru
    assert format_left(delta, "en") == en


def test_moment_in_the_current_year_has_weekday_genitive_month_and_no_year() -> None:
    moment = datetime(2026, 3, 11, 7, 0, tzinfo=UTC)  # 10:00 in Moscow, a Wednesday
    now = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
    assert format_moment(moment, "Europe/Moscow", "ru", now=now) == "ср, 11 марта, 10:00"
    assert format_moment(moment, MOSCOW, "en", now=now) == "Wed, 11 March, 10:00"


def test_moment_in_another_year_shows_the_year() -> None:
    moment = datetime(2027, 3, 11, 7, 0, tzinfo=UTC)
    now = datetime(2026, 12, 30, 12, 0, tzinfo=UTC)
    assert format_moment(moment, MOSCOW, "ru", now=now) == "чт, 11 марта 2027, 10:00"
    assert format_moment(moment, MOSCOW, "en", now=now) == "Thu, 11 March 2027, 10:00"


def test_year_is_judged_in_the_organisations_zone() -> None:
    moment = datetime(2026, 12, 31, 22, 0, tzinfo=UTC)  # 1 January 2027, 01:00 in Moscow
    now = datetime(2026, 12, 31, 21, 30, tzinfo=UTC)  # already 2027 in Moscow, still 2026 in UTC
    assert format_moment(moment, MOSCOW, "ru", now=now) == "пт, 1 января, 01:00"


def test_moment_defaults_to_now_and_refuses_naive_datetimes() -> None:
    assert format_moment(datetime.now(UTC), MOSCOW, "en").count(",") == 2  # this year: no year shown
    with pytest.raises(ValueError, match="aware"):
        format_moment(datetime(2026, 3, 11, 10, 0), MOSCOW, "ru")


def literal_messages(root: Path) -> list[tuple[str, str]]:
    """Every string literal the code hands to a translating call (EXTRACT_KEYWORDS: ``_``, ``translate``'s
    second argument, ``Text``, ``ConfigError``…), found with Python's own parser, as (message, where)."""
    import ast

    positions = {}
    for keyword in EXTRACT_KEYWORDS:
        name, _, spec = keyword.partition(":")
        numbers = [part for part in spec.split(",") if part and not part.endswith("c")]
        positions[name] = int(numbers[0]) - 1 if numbers else 0
    found = []
    for path in sorted([*(root / "bot").rglob("*.py"), *(root / "handlers").rglob("*.py")]):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)
            index = positions.get(name or "")
            if index is None or len(node.args) <= index:
                continue
            argument = node.args[index]
            if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
                found.append((argument.value, f"{path.relative_to(root)}:{node.lineno}"))
    return found


def test_every_literal_message_is_extracted_even_nested_in_another() -> None:
    """pybabel loses a message written inside another message's arguments across lines
    (``ConfigError("{where} …", where=Text("…") if … else Text("…"))``): such a message would show untranslated.
    Python's parser finds every literal; each must be in what pybabel extracts."""
    extracted = {message.ids[0] for message in extract(REPO)}
    missing = [f"{message!r} at {where}" for message, where in literal_messages(REPO) if message not in extracted]
    assert not missing, "not extracted (write the inner message apart, before the call):\n" + "\n".join(missing)
