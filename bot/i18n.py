"""Translations and locale-aware formatting: catalogs compiled on first use, gettext outside handlers, dates and
working-time durations in Russian and English.

The catalogs live in the ``locales`` package as ``.po`` files only; ``compiled_catalogs()`` compiles them in memory
once per process, so neither a checkout nor an installed wheel needs a build step or a writable cache folder.

Handlers translate with aiogram's ``_`` / ``ngettext`` (the locale middleware sets the context). Scheduler jobs and
the outbox sender have no such context: they call ``translate`` / ``translate_plural`` with the recipient's locale.
Plurals must go through ``ngettext`` (or ``translate_plural``): a plural written as ``_("a", "b", n=n)`` loses its
plural form at extraction.

After adding or changing a message, extract and update the catalogs from the repository root (the keywords are
``EXTRACT_KEYWORDS`` below; tests/test_i18n.py extracts with the same ones)::

    pybabel extract -F babel.cfg --no-location -c TRANSLATORS: -k _ -k __ -k N_ -k lazy_gettext -k ngettext:1,2 \
        -k lazy_ngettext:1,2 -k translate:2 -k translate_plural:2,3 -k translate_plural_ctx:2c,3,4 \
        -k Text -k Sentence -k ConfigError -k BackupError -k CopyRefused -k Invalid -o locales/messages.pot .
    pybabel update -i locales/messages.pot -d locales -D messages --no-fuzzy-matching

then fill the new empty ``msgstr`` in both ``locales/ru`` and ``locales/en`` and run ``pytest tests/test_i18n.py``.
"""

from __future__ import annotations

import functools
import gettext
import io
import logging
import string
from datetime import date, datetime, timedelta
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.plurals import get_plural
from babel.messages.pofile import read_po
from babel.support import Translations

from bot.texts import N_ as N_

if TYPE_CHECKING:  # aiogram's import takes seconds: only the bot itself needs it, not the command line's texts
    from aiogram.utils.i18n import I18n

logger = logging.getLogger(__name__)

DOMAIN = "messages"
DEFAULT_LOCALE = "ru"
SUPPORTED_LOCALES = ("ru", "en")

# The one list of gettext keywords, in pybabel's ``-k`` syntax: the documented command and the test both use it.
EXTRACT_KEYWORDS: tuple[str, ...] = (
    "_",
    "__",
    "N_",
    "lazy_gettext",
    "ngettext:1,2",
    "lazy_ngettext:1,2",
    "translate:2",
    "translate_plural:2,3",
    "translate_plural_ctx:2c,3,4",
    "Text",  # bot.texts: said later, in the reader's language
    "Sentence",  # bot.domain.texts: the domain's refusals, said by the application
    "ConfigError",
    "BackupError",
    "CopyRefused",
    "Invalid",
)
EXTRACT_COMMENT_TAG = "TRANSLATORS:"
TEMPLATE = "locales/messages.pot"


def extract_command() -> str:
    """The ``pybabel extract`` command line, as documented in this module and in babel.cfg."""
    keywords = " ".join(f"-k {keyword}" for keyword in EXTRACT_KEYWORDS)
    return f"pybabel extract -F babel.cfg --no-location -c {EXTRACT_COMMENT_TAG} {keywords} -o {TEMPLATE} ."


def update_command() -> str:
    """The ``pybabel update`` command line that merges the template into both catalogs."""
    return f"pybabel update -i {TEMPLATE} -d locales -D {DOMAIN} --no-fuzzy-matching"


def locale_of(language_code: str | None) -> str:
    """The catalog locale for a Telegram ``language_code``: "en" for any English, otherwise Russian.

    Russian is the default for everyone else on purpose: the users are municipal staff in Russia, and a Belarusian,
    Ukrainian or Kazakh client (or an unset one) reads Russian more surely than English.
    """
    if language_code is None:
        return DEFAULT_LOCALE
    primary = language_code.strip().replace("_", "-").split("-", 1)[0].lower()
    return "en" if primary == "en" else DEFAULT_LOCALE


# --- catalogs ---------------------------------------------------------------------------------------------------


def _catalog_sources(root: Traversable | None = None) -> dict[str, bytes]:
    """``{locale: .po bytes}`` for every ``<locale>/LC_MESSAGES/messages.po`` of the ``locales`` package."""
    root = files("locales") if root is None else root
    sources: dict[str, bytes] = {}
    for entry in root.iterdir():
        po = entry / "LC_MESSAGES" / f"{DOMAIN}.po"
        if entry.is_dir() and po.is_file():
            sources[entry.name] = po.read_bytes()
    if not sources:
        raise FileNotFoundError(f"no {DOMAIN}.po catalogs under {root}; is the 'locales' package installed?")
    return dict(sorted(sources.items()))


def _read_catalog(locale: str, source: bytes) -> Catalog:
    return read_po(io.BytesIO(source), locale=locale, domain=DOMAIN)


@functools.cache
def compiled_catalogs() -> dict[str, Translations]:
    """``{locale: translations}`` compiled in memory from the shipped ``.po`` catalogs, once per process.

    No build step and no files: an installed wheel, a read-only checkout and a service user without a home directory
    all work the same. Fuzzy and untranslated entries are left out (gettext semantics) and logged as warnings.
    """
    sources = _catalog_sources()
    compiled: dict[str, Translations] = {}
    for locale, source in sources.items():
        mo = io.BytesIO()
        write_mo(mo, _read_catalog(locale, source), use_fuzzy=False)
        mo.seek(0)
        compiled[locale] = Translations(mo, domain=DOMAIN)
    for problem in _problems(sources):
        logger.warning("translation catalog problem (the message will show untranslated): %s", problem)
    return compiled


def _placeholders(text: str) -> set[str]:
    try:
        return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
    except ValueError:  # unbalanced braces
        return {"<invalid format string>"}


def check_catalogs(root: Traversable | None = None) -> list[str]:
    """Problems in the shipped catalogs: fuzzy or empty translations, missing plural forms, placeholders a
    translation invents, wrong plural rules, and messages present in one language but not in the other.

    An empty list means every message shows translated in every language.
    """
    return _problems(_catalog_sources(root))


def _problems(sources: dict[str, bytes]) -> list[str]:
    problems: list[str] = []
    catalogs = {locale: _read_catalog(locale, source) for locale, source in sources.items()}
    keys: dict[str, set[tuple[str | None, str]]] = {}
    for locale, catalog in catalogs.items():
        expected = get_plural(locale)
        if catalog.num_plurals != expected.num_plurals:
            problems.append(
                f"{locale}: Plural-Forms has nplurals={catalog.num_plurals}, expected {expected.plural_forms!r}"
            )
        keys[locale] = set()
        for message in catalog:
            if not message.id:  # the header
                continue
            msgid = message.id[0] if message.pluralizable else message.id
            keys[locale].add((message.context, msgid))
            label = f"{locale}: {msgid!r}" + (f" (context {message.context!r})" if message.context else "")
            if message.fuzzy:
                problems.append(f"{label} is fuzzy")
            forms = list(message.string) if message.pluralizable else [message.string]
            # read_po pads missing plural forms with "", so this also catches "msgstr[2]" left out.
            if not all(forms) or (message.pluralizable and len(forms) < catalog.num_plurals):
                problems.append(f"{label} has an empty translation or plural form")
            allowed = set().union(*(_placeholders(i) for i in (message.id if message.pluralizable else [message.id])))
            if message.pluralizable:
                allowed.add("n")
            for form in forms:
                unknown = _placeholders(form or "") - allowed
                if unknown:
                    problems.append(f"{label} translation uses unknown placeholders {sorted(unknown)}")
    for locale, present in keys.items():
        for other, other_present in keys.items():
            for context, msgid in sorted(other_present - present, key=lambda k: (k[0] or "", k[1])):
                where = f" (context {context!r})" if context else ""
                problems.append(f"{locale}: {msgid!r}{where} is missing (present in {other})")
    return problems


@functools.cache
def _catalog_i18n() -> type[I18n]:
    """aiogram's I18n whose locales come from :func:`compiled_catalogs` (in memory) instead of ``.mo`` files;
    made on first use, so that translating outside the bot (the command line) does not import aiogram."""
    from aiogram.utils.i18n import I18n

    class CatalogI18n(I18n):
        def find_locales(self) -> dict[str, gettext.GNUTranslations]:
            """``{locale: translations}`` compiled in memory (aiogram calls it instead of reading ``.mo`` files);
            raises FileNotFoundError when the ``locales`` package holds no catalog."""
            return dict(compiled_catalogs())

    # aiogram keeps "the current instance" in a context variable per class (ContextInstanceMixin), and its gettext
    # asks I18n's: the subclass must set that one, or `_()` would find no context inside `i18n.context()`.
    CatalogI18n._ContextInstanceMixin__context_instance = I18n._ContextInstanceMixin__context_instance  # type: ignore[attr-defined]
    return CatalogI18n


def make_i18n() -> I18n:
    """aiogram's I18n over the shipped catalogs, Russian by default."""
    return _catalog_i18n()(path=Path(str(files("locales"))), default_locale=DEFAULT_LOCALE, domain=DOMAIN)


# --- translation outside handlers ----------------------------------------------------------------------------


def _translations(locale: str) -> Translations:
    return compiled_catalogs()[locale]


def reload_catalogs() -> None:
    """Forget the compiled translations (after the catalogs changed)."""
    compiled_catalogs.cache_clear()


def translate(locale: str, message: str, **params: object) -> str:
    """``message`` translated into ``locale`` (Russian for unknown locales), then ``str.format(**params)`` if any
    params are given — a message without params is returned as is, literal braces included."""
    text = _translations(locale_of(locale)).gettext(message)
    return text.format(**params) if params else text


def incident_number(locale: str, number: int) -> str:
    """An incident's number as lists show it: «№ 12» in Russian, "No. 12" in English."""
    return translate(locale, N_("No. {number}"), number=number)


def translate_plural(locale: str, singular: str, plural: str, n: int, **params: object) -> str:
    """The plural form for ``n``, then formatted with ``n`` and ``params`` (msgids use ``{n}``)."""
    return _translations(locale_of(locale)).ngettext(singular, plural, n).format(n=n, **params)


def translate_plural_ctx(locale: str, context: str, singular: str, plural: str, n: int, **params: object) -> str:
    """``translate_plural`` for a message that needs a context (``msgctxt``): the same English words that other
    languages inflect differently, such as the accusative minutes of "overdue by 5 minutes" in Russian."""
    return _translations(locale_of(locale)).npgettext(context, singular, plural, n).format(n=n, **params)


# --- formatting ------------------------------------------------------------------------------------------------

_MOMENT_FORMAT = "EEE, d MMMM, HH:mm"
_MOMENT_FORMAT_WITH_YEAR = "EEE, d MMMM y, HH:mm"


def format_moment(moment: datetime, tz: ZoneInfo | str, locale: str, now: datetime | None = None) -> str:
    """``"ср, 11 марта, 10:00"`` / ``"Wed, 11 March, 10:00"`` in the zone ``tz``; the year is added only when it
    differs from the current year there (``now`` defaults to the system clock). Raises ValueError for a naive
    ``moment``."""
    if moment.tzinfo is None:
        raise ValueError("format_moment needs an aware datetime")
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    local = moment.astimezone(zone)
    current = datetime.now(zone) if now is None else now.astimezone(zone)
    pattern = _MOMENT_FORMAT if local.year == current.year else _MOMENT_FORMAT_WITH_YEAR
    return format_datetime(local, pattern, tzinfo=zone, locale=locale_of(locale))


def format_day(day: date, locale: str) -> str:
    """``"1 декабря 2026"`` / ``"1 December 2026"``: no trailing "г.", which would meet the sentence's full stop."""
    return format_date(day, "d MMMM y", locale=locale_of(locale))


def _whole_minutes(delta: timedelta) -> int:
    if delta < timedelta(0):
        raise ValueError(f"a duration cannot be negative: {delta}")
    return delta // timedelta(minutes=1)


def _hours_and_minutes(minutes_total: int, locale: str) -> str:
    hours, minutes = divmod(minutes_total, 60)
    parts = []
    if hours:
        parts.append(translate_plural(locale, "{n} hour", "{n} hours", hours))
    if minutes or not hours:
        parts.append(translate_plural(locale, "{n} minute", "{n} minutes", minutes))
    return " ".join(parts)


def _hours_and_minutes_overdue(minutes_total: int, locale: str) -> str:
    hours, minutes = divmod(minutes_total, 60)
    parts = []
    if hours:
        # TRANSLATORS: after "overdue by"; Russian uses the accusative: "просрочено на 1 час".
        parts.append(translate_plural_ctx(locale, "overdue", "{n} hour", "{n} hours", hours))
    if minutes or not hours:
        # TRANSLATORS: after "overdue by"; Russian uses the accusative: "просрочено на 1 минуту, 2 минуты, 5 минут".
        parts.append(translate_plural_ctx(locale, "overdue", "{n} minute", "{n} minutes", minutes))
    return " ".join(parts)


def format_duration(delta: timedelta, locale: str) -> str:
    """Working time for people, in hours and minutes only (no days: ``"26 часов 5 минут"``); seconds are dropped.
    ``"2 часа 30 минут"``, ``"1 час"``, ``"45 минут"``, ``"0 минут"``. Raises ValueError for a negative ``delta``."""
    return _hours_and_minutes(_whole_minutes(delta), locale)


def format_left(delta: timedelta, locale: str) -> str:
    """The working time left until a deadline, or how much it is overdue when ``delta`` is negative.

    ``"осталось 2 часа 30 минут рабочего времени"``, ``"остался 1 час рабочего времени"``,
    ``"осталась 1 минута рабочего времени"``, ``"просрочено на 1 час 5 минут рабочего времени"``;
    ``"2 hours 30 minutes of working time left"``, ``"overdue by 1 hour 5 minutes of working time"``.
    Time left is rounded down and time overdue up, so a deadline passed by seconds never reads "overdue by 0".
    """
    if delta < timedelta(0):
        overdue = -(delta // timedelta(minutes=1))  # ceiling of the overdue minutes
        return translate(
            locale, "overdue by {duration} of working time", duration=_hours_and_minutes_overdue(overdue, locale)
        )
    minutes_total = _whole_minutes(delta)
    hours = minutes_total // 60
    duration = _hours_and_minutes(minutes_total, locale)
    # The Russian verb agrees with the largest unit: "остался 1 час", "осталась 1 минута", "осталось 2 часа".
    if hours:
        # TRANSLATORS: {duration} starts with the hours ("2 hours 30 minutes"); the plural form follows the hours.
        return translate_plural(
            locale, "{duration} of working time left", "{duration} of working time left", hours, duration=duration
        )
    # TRANSLATORS: {minutes} is minutes only ("45 minutes"); the plural form follows the minutes.
    return translate_plural(
        locale, "{minutes} of working time left", "{minutes} of working time left", minutes_total, minutes=duration
    )
