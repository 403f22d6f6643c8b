"""The Russian production calendar year by year: days off, working weekend days, and whose word each year rests on.

The ``holidays`` package lists the public holidays of every year and, for the years whose government decree on
the transfer of days off it knows, the transfers and the Labour Code art. 112 moves. For a later year it lists
only the holidays themselves. Such a year is *provisional* here: art. 112 part 2 is applied (a holiday that falls
on a Saturday or Sunday gives the next working day off — except the January holidays, 1–8 January, whose weekend
days only a decree moves, art. 112 part 5), and the organisation may enter the decree's transfers in its config
(``[organisation.calendar] decrees``) before a ``holidays`` release carries them. A year with a decree — from the
package or from the config — is *official*.

Pure Python: the package's data is read in memory, nothing here touches the network or the disk beyond it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from types import MappingProxyType

import holidays

from bot.domain.texts import Sentence

__all__ = ["DECREES", "Decree", "YearCalendar", "YearStatus", "check_country", "decrees_by_year", "year_calendar"]

# The decrees behind the years the package knows, named where we checked the number against the government's
# text (README «Working time»). The package cites consultant.ru pages, not numbers; a year missing here is
# official all the same and says "decree not named in the calendar data".
DECREES: Mapping[int, str] = MappingProxyType(
    {
        2025: "Постановление Правительства РФ от 04.10.2024 № 1335",
        2026: "Постановление Правительства РФ от 24.09.2025 № 1466",
    }
)

# "Day off (substituted from 11/01/2025)" in the package's en_US names.
_SUBSTITUTED_FROM = re.compile(r"substituted from (\d{2})/(\d{2})/(\d{4})")
_ONE_DAY = timedelta(days=1)
_SATURDAY = 5


def _is_january_holiday(day: date) -> bool:
    """1–8 January (art. 112 part 1, paragraphs 2 and 3): a weekend among them moves only by a decree."""
    return day.month == 1 and day.day <= 8


@dataclass(frozen=True)
class Decree:
    """A government decree on the transfer of days off for one year (Labour Code art. 112 part 5).

    ``transfers`` are ``(from, to)`` pairs of local dates, both in ``year``: the day off of ``from`` (a Saturday
    or Sunday) moves to ``to``. A ``from`` that is an ordinary weekend day becomes a working day (it "replaces"
    ``to``, so it is shortened where ``to`` would have been, art. 95); a ``from`` that is a holiday stays a day off
    and its art. 112 move is the decree's ``to`` instead of the next working day.

    Raises ValueError for a date outside ``year``, a ``from`` on a weekday, or ``from == to``.
    """

    year: int
    name: str  # e.g. "Постановление Правительства РФ от 24.09.2025 № 1466"
    transfers: tuple[tuple[date, date], ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "transfers", tuple((a, b) for a, b in self.transfers))
        if not self.name.strip():
            raise ValueError(Sentence("the decree for {year} needs its name and number", year=self.year))
        for frm, to in self.transfers:
            for day in (frm, to):
                if day.year != self.year:
                    raise ValueError(
                        Sentence("{day} is not in {year}, the decree's year", day=day.isoformat(), year=self.year)
                    )
            if frm.weekday() < _SATURDAY:
                raise ValueError(
                    Sentence(
                        "{day} is a weekday: a decree moves the day off of a Saturday or Sunday", day=frm.isoformat()
                    )
                )
            if frm == to:
                raise ValueError(Sentence("{day} is moved to itself", day=frm.isoformat()))


@dataclass(frozen=True)
class YearStatus:
    """Whose word a year of the calendar rests on.

    ``official``: the government's decree for the year is known — from the ``holidays`` package (``source`` =
    "holidays") or from the config (``source`` = "config"); ``decree`` names it where known (None: the calendar
    data does not name it). Not official: ``source`` = "art112" (provisional: the holidays, with art. 112's
    automatic moves) or "none" (no production calendar configured: every weekday is a working day).
    ``config_ignored`` is True when the config names a decree for a year the package already knows (the
    package wins; the config entry can go).
    """

    year: int
    official: bool
    source: str  # "holidays" | "config" | "art112" | "none"
    decree: str | None = None
    config_ignored: bool = False

    @property
    def provisional(self) -> bool:
        """Whether the year rests on Labour Code art. 112 alone: the decree's transfers may still move days."""
        return self.source == "art112"

    def describe(self) -> str:
        """One English line for logs and ``check-config``: ``"2026: official (Постановление … № 1466)"``."""
        if self.source == "none":
            return f"{self.year}: no production calendar (holidays are not taken into account)"
        if self.provisional:
            return (
                f"{self.year}: provisional: the government's decree for {self.year} is not yet known "
                "(holidays on a weekend moved by Labour Code art. 112; the January holidays are not)"
            )
        decree = self.decree or "decree not named in the calendar data"
        where = ", from the config" if self.source == "config" else ""
        ignored = "; the config's decree for this year is not used: the holidays package has it" * self.config_ignored
        return f"{self.year}: official ({decree}{where}){ignored}"


@dataclass(frozen=True)
class YearCalendar:
    """The days of one year that differ from an ordinary Monday–Friday week."""

    public: frozenset[date]  # public (non-working) holidays proper — they shorten the eve (art. 95)
    transferred: frozenset[date]  # days off moved by a decree or by art. 112 — they do not
    weekend_workdays: frozenset[date]  # working Saturdays/Sundays
    replaces: Mapping[date, date]  # working weekend day -> the weekday whose day off it took
    status: YearStatus


@lru_cache(maxsize=256)
def _package_year(country: str, year: int) -> tuple[YearCalendar, bool]:
    """One year from the ``holidays`` package (names parsed in en_US) and whether the package knows its decree.

    The package marks every transfer ("substituted") and every art. 112 move ("observed"); a year with neither
    is one it has no decree for (every year 1991–2027 has some: the January weekend days alone always move).
    """
    hol = holidays.country_holidays(country, years=year, language="en_US")
    public: set[date] = set()
    transferred: set[date] = set()
    replaces: dict[date, date] = {}
    for day, names in hol.items():
        parts = [p.strip() for p in names.split(";")]
        moved = [p for p in parts if "substituted" in p.lower() or "observed" in p.lower()]
        # A date carrying both a real holiday and a transfer is a real holiday.
        (transferred if len(moved) == len(parts) else public).add(day)
        for p in moved:
            m = _SUBSTITUTED_FROM.search(p)
            if m:
                month, dom, yr = map(int, m.groups())
                replaces[date(yr, month, dom)] = day
    weekend_workdays = frozenset(getattr(hol, "weekend_workdays", ()))
    known = bool(transferred or weekend_workdays or replaces)
    calendar = YearCalendar(
        public=frozenset(public),
        transferred=frozenset(transferred),
        weekend_workdays=weekend_workdays,
        # Only substitutions *from a working weekend day* matter for shortening; the others
        # are holidays that fell on a weekend ("substituted from 01/04/2025").
        replaces=MappingProxyType({k: v for k, v in replaces.items() if k in weekend_workdays}),
        status=YearStatus(year, official=known, source="holidays" if known else "art112", decree=DECREES.get(year)),
    )
    return calendar, known


def check_country(country: str) -> None:
    """Raise NotImplementedError (from ``holidays``) for a country code the package does not know."""
    _package_year(country, 2025)


def _next_weekday_off(day: date, taken: set[date], public: frozenset[date]) -> date:
    """The next Monday–Friday after ``day`` that is neither a holiday nor already a day off (art. 112 part 2)."""
    nxt = day + _ONE_DAY
    while nxt.weekday() >= _SATURDAY or nxt in public or nxt in taken:
        nxt += _ONE_DAY
    return nxt


def year_calendar(country: str, year: int, decree: Decree | None = None) -> YearCalendar:
    """The production calendar of ``year``: the package's where it knows the decree, else built here.

    Built here (a year after the package's last decree): the package's public holidays; the config decree's
    transfers when given (official); every holiday outside 1–8 January that falls on a Saturday or Sunday and
    that the decree does not move itself gives the next free weekday off (Labour Code art. 112 part 2) —
    4 November 2028, a Saturday, makes Monday 6 November a day off.
    """
    package, known = _package_year(country, year)
    if known:
        if decree is None:
            return package
        return YearCalendar(
            package.public,
            package.transferred,
            package.weekend_workdays,
            package.replaces,
            YearStatus(year, True, "holidays", package.status.decree, config_ignored=True),
        )
    public = package.public
    transferred: set[date] = set()
    weekend_workdays: set[date] = set()
    replaces: dict[date, date] = {}
    moved_by_decree: set[date] = set()
    for frm, to in decree.transfers if decree is not None else ():
        transferred.add(to)
        if frm in public:
            moved_by_decree.add(frm)
        else:
            weekend_workdays.add(frm)
            replaces[frm] = to
    for holiday in sorted(public):
        if holiday.weekday() >= _SATURDAY and not _is_january_holiday(holiday) and holiday not in moved_by_decree:
            transferred.add(_next_weekday_off(holiday, transferred, public))
    status = YearStatus(year, True, "config", decree.name) if decree is not None else YearStatus(year, False, "art112")
    return YearCalendar(
        public=public,
        transferred=frozenset(transferred),
        weekend_workdays=frozenset(weekend_workdays),
        replaces=MappingProxyType(replaces),
        status=status,
    )


def decrees_by_year(decrees: Iterable[Decree]) -> dict[int, Decree]:
    """``{year: decree}``; raises ValueError when two decrees name the same year."""
    result: dict[int, Decree] = {}
    for d in decrees:
        if d.year in result:
            raise ValueError(Sentence("two decrees for {year}: enter one with all its transfers", year=d.year))
        result[d.year] = d
    return result
