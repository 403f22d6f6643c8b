"""Absences (vacation, sick leave, business trip) as people write them: a period of whole days.

Отрадная п. 8.2 and Боровичи п. 6 let another person do an absent executor's work; the bot sends the
absent person's notices to the substitute and lets them act for the department meanwhile. An absence
covers whole local days: from the midnight that starts its first day to the midnight after its last.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.domain.errors import InvalidInput

LONGEST = timedelta(days=366)
HALF_YEAR = timedelta(days=183)
_DAY = re.compile(r"(\d{1,2})\.(\d{1,2})(?:\.(\d{2}|\d{4}))?")
_SEPARATOR = re.compile(r"\s*(?:-|–|—|по|to)\s*", re.IGNORECASE)


def parse_period(text: str, today: date) -> tuple[date, date]:
    """``"01.12.2026–05.12.2026"``, ``"1.12–5.12"``, ``"с 1.12 по 5.12"`` or one day ``"03.12"``.

    Without a year, a date is this year's, or next year's if this year's was more than half a year
    ago ("10.01" written in December); a last day before the first moves to the next year when that
    makes a short period ("28.12–10.01"). The period must not be over already.

    Returns (first, last) local dates, both included. Raises InvalidInput ``bad_period`` (not such a text),
    ``bad_date`` (param ``date``: no such day), ``period_order``, ``period_past`` (ended before ``today``),
    ``period_long`` (a year or more).
    """
    cleaned = re.sub(r"^\s*(?:с|from)\s+", "", text.strip(), flags=re.IGNORECASE)
    parts = [p.strip() for p in _SEPARATOR.split(cleaned, maxsplit=1)]
    if not all(_DAY.fullmatch(p) for p in parts):
        raise InvalidInput(f"not a period: {text!r}", key="bad_period")
    first, first_has_year = _day(parts[0], today.year)
    if not first_has_year and first < today - HALF_YEAR:
        first = _day(parts[0], today.year + 1)[0]
    last, last_has_year = _day(parts[-1], first.year)
    if not last_has_year and last < first and _day(parts[-1], first.year + 1)[0] - first < HALF_YEAR:
        last = _day(parts[-1], first.year + 1)[0]
    if last < first:
        raise InvalidInput("the period ends before it starts", key="period_order")
    if last < today:
        raise InvalidInput("the period is over", key="period_past")
    if last - first >= LONGEST:
        raise InvalidInput("the period is longer than a year", key="period_long")
    return first, last


def _day(text: str, default_year: int) -> tuple[date, bool]:
    """The date and whether the text gave its year."""
    match = _DAY.fullmatch(text)
    assert match is not None
    day, month, year = int(match[1]), int(match[2]), match[3]
    try:
        if year is None:
            return date(default_year, month, day), False
        return date(int(year) + (2000 if len(year) == 2 else 0), month, day), True
    except ValueError:
        raise InvalidInput(f"no such date: {text}", key="bad_date", date=text) from None


def day_bounds(first: date, last: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The instants an absence of whole local days starts and ends (the midnight after ``last``)."""
    return datetime.combine(first, time(), tz), datetime.combine(last + timedelta(days=1), time(), tz)


def days_of(starts_at: datetime, ends_at: datetime, tz: ZoneInfo) -> tuple[date, date]:
    """The first and the last local day of an absence stored as :func:`day_bounds` made it."""
    return starts_at.astimezone(tz).date(), (ends_at.astimezone(tz) - timedelta(days=1)).date()
