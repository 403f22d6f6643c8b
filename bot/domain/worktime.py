"""Working-time calendar of an organisation (time zone, weekly schedule, production calendar).

Precision: all arithmetic is done in whole seconds.  Microseconds of input moments and
durations are truncated (floored), so every returned datetime and timedelta has
``microsecond == 0``; a moment ``17:59:59.999`` is treated as ``17:59:59``.

Conventions used throughout (``[a, b)`` is one working span of a day):

* a span's start is working time, its end is not (``is_working(18:00)`` is False);
* ``add`` stops exactly at a span end when the time runs out there, ``subtract`` stops
  exactly at a span start;
* every result is an aware datetime in the calendar's ``ZoneInfo``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from types import MappingProxyType
from zoneinfo import ZoneInfo

from bot.domain.production_calendar import (
    Decree,
    YearCalendar,
    YearStatus,
    check_country,
    decrees_by_year,
    year_calendar,
)
from bot.domain.texts import Sentence

__all__ = [
    "CalendarOverrides",
    "MonthTotal",
    "NoWorkingTimeError",
    "Span",
    "WeeklySchedule",
    "WorkCalendar",
]

_ONE_DAY = timedelta(days=1)
_SECOND = timedelta(seconds=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# The weekdays as the config names them (0 = Monday), for the sentences that name one.
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
# How far add/subtract/next_working_moment look for working time before giving up.
_SEARCH_DAYS = 3 * 366
# Art. 95 of the Labour Code: the day before a public holiday is one hour shorter.
_PRE_HOLIDAY_CUT = 3600
# Per-calendar caches are plain dicts; this bound only guards against a pathological caller
# sweeping centuries (a real organisation touches a few thousand dates).
_CACHE_LIMIT = 50_000


class NoWorkingTimeError(ValueError):
    """The calendar has no working time within the search horizon (about three years)."""


# --------------------------------------------------------------------------- value types


def _tsec(t: time) -> int:
    return t.hour * 3600 + t.minute * 60 + t.second


def _from_sec(s: int) -> time:
    return time(s // 3600, s // 60 % 60, s % 60)


@dataclass(frozen=True)
class Span:
    """A local working interval within one day, ``start < end`` (naive times, whole seconds)."""

    start: time
    end: time

    def __post_init__(self) -> None:
        for t in (self.start, self.end):
            if not isinstance(t, time):
                raise TypeError(f"Span bounds must be datetime.time, got {t!r}")
            if t.tzinfo is not None:
                raise ValueError("Span bounds are local wall-clock times; drop the tzinfo")
            if t.microsecond:
                raise ValueError("Span bounds are kept to whole seconds")
        if not self.start < self.end:
            raise ValueError(f"Span start must be before end: {self.start}–{self.end}")

    @property
    def seconds(self) -> int:
        """The span's length in seconds of wall-clock time (``WorkCalendar`` counts a DST change inside it)."""
        return _tsec(self.end) - _tsec(self.start)


def _hhmm(span: Span) -> str:
    return f"{span.start:%H:%M}–{span.end:%H:%M}"


def _normalise_spans(spans: Iterable[Span | tuple[time, time]], where: str) -> tuple[Span, ...]:
    """Sort spans, merge touching ones, reject overlaps (an overlap is a config mistake)."""
    items = sorted((s if isinstance(s, Span) else Span(*s) for s in spans), key=lambda s: (s.start, s.end))
    out: list[Span] = []
    for s in items:
        if out and s.start < out[-1].end:
            raise ValueError(
                Sentence(
                    "working hours overlap on {day}: {first} and {second}",
                    day=where,
                    first=_hhmm(out[-1]),
                    second=_hhmm(s),
                )
            )
        if out and s.start == out[-1].end:
            # 9–13 and 13–18 are one continuous span; merging keeps "end is not working" true.
            out[-1] = Span(out[-1].start, s.end)
        else:
            out.append(s)
    return tuple(out)


def _cut_lunch(start: time, end: time, lunch: tuple[time, time] | None) -> list[Span]:
    if lunch is None:
        return [Span(start, end)]
    ls, le = lunch
    if not ls < le:
        raise ValueError(f"Lunch start must be before its end: {ls}–{le}")
    if le <= start or ls >= end:
        return [Span(start, end)]
    pieces = []
    if start < ls:
        pieces.append(Span(start, ls))
    if le < end:
        pieces.append(Span(le, end))
    return pieces


@dataclass(frozen=True)
class WeeklySchedule:
    """Working spans per weekday (0 = Monday … 6 = Sunday); a missing weekday is a day off."""

    days: Mapping[int, tuple[Span, ...]]

    def __post_init__(self) -> None:
        norm: dict[int, tuple[Span, ...]] = {}
        for wd, spans in self.days.items():
            if wd not in range(7):
                raise ValueError(f"Weekday must be 0 (Monday) … 6 (Sunday), got {wd!r}")
            norm[wd] = _normalise_spans(spans, _WEEKDAYS[wd])
        # Read-only copy: the calendar caches derived data, so the schedule must not change.
        object.__setattr__(self, "days", MappingProxyType(norm))

    @classmethod
    def standard(
        cls,
        start: time = time(9),
        end: time = time(18),
        lunch: tuple[time, time] | None = (time(13), time(14)),
        workdays: Iterable[int] = range(5),
    ) -> WeeklySchedule:
        """The 40-hour week: Monday–Friday 9:00–18:00 with lunch 13:00–14:00 (8 h a day)."""
        return cls.from_intervals({wd: [(start, end)] for wd in workdays}, lunch=lunch)

    @classmethod
    def from_intervals(
        cls,
        days: Mapping[int, Iterable[tuple[time, time]]],
        lunch: tuple[time, time] | None = None,
    ) -> WeeklySchedule:
        """Build from ``{weekday: [(start, end), ...]}``; lunch is cut out of spans it overlaps."""
        return cls(
            {wd: tuple(p for s, e in intervals for p in _cut_lunch(s, e, lunch)) for wd, intervals in days.items()}
        )


@dataclass(frozen=True)
class CalendarOverrides:
    """Local exceptions of one organisation; they win over the production calendar.

    Precedence: ``custom_hours`` > ``days_off`` > ``working_days`` > production calendar >
    weekly schedule.  A date in ``working_days`` gets the spans of the schedule's first
    weekday that has any (Monday for a normal Monday–Friday week), like a working Saturday.
    ``custom_hours`` gives exact spans (an empty tuple makes the date a day off) and is never
    shortened before a holiday.
    """

    days_off: frozenset[date] = frozenset()
    working_days: frozenset[date] = frozenset()
    custom_hours: Mapping[date, tuple[Span, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "days_off", frozenset(self.days_off))
        object.__setattr__(self, "working_days", frozenset(self.working_days))
        object.__setattr__(
            self,
            "custom_hours",
            MappingProxyType({d: _normalise_spans(s, d.isoformat()) for d, s in self.custom_hours.items()}),
        )


@dataclass(frozen=True)
class MonthTotal:
    """Working days and working time of one month (1–12) of a year (``WorkCalendar.month_totals``)."""

    month: int
    working_days: int
    working_time: timedelta


def _cut_from_end(spans: tuple[Span, ...], seconds: int) -> tuple[Span, ...]:
    """Remove the last ``seconds`` of working time (from the last span, then earlier ones)."""
    out = list(spans)
    while seconds > 0 and out:
        last = out.pop()
        if last.seconds > seconds:
            out.append(Span(last.start, _from_sec(_tsec(last.end) - seconds)))
            seconds = 0
        else:
            seconds -= last.seconds
    return tuple(out)


# --------------------------------------------------------------------------- the calendar

_Intervals = tuple[tuple[int, int], ...]


class WorkCalendar:
    """Working time of one organisation; instances are independent and safe to keep per org.

    Rules for a local date, in order of precedence:

    1. ``overrides.custom_hours`` — exact spans;
    2. ``overrides.days_off`` — day off;
    3. ``overrides.working_days`` — the normal-day spans (first weekday with spans);
    4. production calendar (``bot.domain.production_calendar``: the ``holidays`` package, Labour Code
       art. 112 moves for a year without a known decree, and the ``decrees`` given here for such a
       year): public holidays and transferred days off are days off; working weekend days get the
       normal-day spans;
    5. the weekly schedule.

    With ``shorten_pre_holiday`` (Labour Code art. 95) a working day from rules 3–5 whose next
    date is a *public holiday* (not a transferred day off, not a weekend) loses its last hour;
    so does a working weekend day that replaces a weekday which would have been shortened
    (2025-11-01 works for Monday 2025-11-03, the eve of 4 November).

    Errors, for every method: a naive datetime raises ValueError, a value of the wrong type TypeError, a
    negative duration ValueError; ``add``, ``subtract``, ``next_working_moment`` and ``add_working_days`` raise
    NoWorkingTimeError when no working time lies within about three years (a schedule without working days).
    """

    def __init__(
        self,
        tz: str | ZoneInfo,
        schedule: WeeklySchedule | None = None,
        *,
        production_calendar: str | None = "RU",
        shorten_pre_holiday: bool = True,
        overrides: CalendarOverrides | None = None,
        decrees: Iterable[Decree] = (),
    ) -> None:
        self._tz = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)
        self._schedule = schedule if schedule is not None else WeeklySchedule.standard()
        self._country = production_calendar
        if production_calendar is not None:
            check_country(production_calendar)  # fail fast on an unknown country code
        self._decrees = decrees_by_year(decrees)
        self._years: dict[int, YearCalendar] = {}
        self._shorten = shorten_pre_holiday
        self._overrides = overrides if overrides is not None else CalendarOverrides()
        self._normal_day: tuple[Span, ...] = next(
            (self._schedule.days[wd] for wd in range(7) if self._schedule.days.get(wd)), ()
        )
        self._spans_cache: dict[date, tuple[Span, ...]] = {}
        self._day_cache: dict[date, tuple[_Intervals, int]] = {}

    def __repr__(self) -> str:
        return f"WorkCalendar(tz={self._tz.key!r}, production_calendar={self._country!r})"

    @property
    def tz(self) -> ZoneInfo:
        """The organisation's zone: local dates and every result of this calendar are in it."""
        return self._tz

    # ----------------------------------------------------------------- per-day data

    def spans(self, day: date) -> tuple[Span, ...]:
        """The working spans of a local date after all rules (cached)."""
        day = self._as_date(day)
        cached = self._spans_cache.get(day)
        if cached is None:
            if len(self._spans_cache) > _CACHE_LIMIT:
                self._spans_cache.clear()
            cached = self._spans_cache[day] = self._compute_spans(day)
        return cached

    def _compute_spans(self, day: date) -> tuple[Span, ...]:
        ov = self._overrides
        if day in ov.custom_hours:
            return ov.custom_hours[day]
        if day in ov.days_off:
            return ()
        replaced: date | None = None
        if day in ov.working_days:
            base = self._normal_day
        elif self._country is not None:
            year = self._year(day.year)
            if day in year.public or day in year.transferred:
                return ()
            if day in year.weekend_workdays:
                base = self._normal_day
                replaced = self._replaced_weekday(day)
            else:
                base = self._schedule.days.get(day.weekday(), ())
        else:
            base = self._schedule.days.get(day.weekday(), ())
        if (
            base
            and self._shorten
            and (
                self._is_eve_of_public_holiday(day)
                or (replaced is not None and self._is_eve_of_public_holiday(replaced))
            )
        ):
            base = _cut_from_end(base, _PRE_HOLIDAY_CUT)
        return base

    def _replaced_weekday(self, workday: date) -> date | None:
        assert self._country is not None
        # The substitution is listed under the year of the replaced day, usually the same year.
        for year in (workday.year, workday.year + 1):
            replaced = self._year(year).replaces.get(workday)
            if replaced is not None:
                return replaced
        return None

    def _is_eve_of_public_holiday(self, day: date) -> bool:
        if self._country is None:
            return False
        nxt = day + _ONE_DAY
        return nxt in self._year(nxt.year).public

    def _year(self, year: int) -> YearCalendar:
        assert self._country is not None
        cached = self._years.get(year)
        if cached is None:
            cached = self._years[year] = year_calendar(self._country, year, self._decrees.get(year))
        return cached

    def year_status(self, year: int) -> YearStatus:
        """Whether ``year`` rests on a known government decree (official) or on art. 112 alone (provisional)."""
        if self._country is None:
            return YearStatus(year, official=False, source="none")
        return self._year(year).status

    def _day(self, day: date) -> tuple[_Intervals, int]:
        """Spans of ``day`` as epoch-second intervals plus their total (cached)."""
        cached = self._day_cache.get(day)
        if cached is None:
            if len(self._day_cache) > _CACHE_LIMIT:
                self._day_cache.clear()
            tz = self._tz
            ivs: list[tuple[int, int]] = []
            prev_end = -(2**62)
            for sp in self.spans(day):
                # combine() with tzinfo localises wall-clock time correctly for ZoneInfo; a
                # span crossing a DST change therefore counts the real elapsed seconds.
                a = (datetime.combine(day, sp.start, tzinfo=tz) - _EPOCH) // _SECOND
                b = (datetime.combine(day, sp.end, tzinfo=tz) - _EPOCH) // _SECOND
                a = max(a, prev_end)  # a span inside a DST gap must not run backwards
                if b > a:
                    ivs.append((a, b))
                    prev_end = b
            cached = self._day_cache[day] = (tuple(ivs), sum(b - a for a, b in ivs))
        return cached

    def is_working_day(self, day: date) -> bool:
        """Whether the local date has any working time after all rules (an aware datetime stands for its local
        date here; a naive datetime raises ValueError)."""
        return bool(self.spans(day))

    # ----------------------------------------------------------------- conversions

    @staticmethod
    def _ts(moment: datetime, what: str = "moment") -> int:
        if not isinstance(moment, datetime):
            raise TypeError(f"{what} must be a datetime, got {type(moment).__name__}")
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError(
                f"{what} is a naive datetime ({moment.isoformat()}); working-time arithmetic "
                "needs a timezone-aware datetime, e.g. datetime.now(UTC)"
            )
        return (moment - _EPOCH) // _SECOND

    @staticmethod
    def _seconds(duration: timedelta) -> int:
        if not isinstance(duration, timedelta):
            raise TypeError(f"duration must be a timedelta, got {type(duration).__name__}")
        if duration < timedelta(0):
            raise ValueError(f"duration must not be negative, got {duration}")
        return duration // _SECOND

    def _dt(self, ts: int) -> datetime:
        return datetime.fromtimestamp(ts, self._tz)

    def _date_of(self, ts: int) -> date:
        return datetime.fromtimestamp(ts, self._tz).date()

    def _as_date(self, day: date) -> date:
        if isinstance(day, datetime):
            # An aware datetime means "the local date of this moment in the calendar's zone".
            return self._date_of(self._ts(day, "day"))
        return day

    def _no_working_time(self, since: date) -> NoWorkingTimeError:
        return NoWorkingTimeError(
            Sentence(
                "the working calendar ({zone}) has no working time within {days} days of {day}: check the weekly "
                "schedule and the local days off",
                zone=self._tz.key,
                days=_SEARCH_DAYS,
                day=since.isoformat(),
            )
        )

    # ----------------------------------------------------------------- queries

    def is_working(self, moment: datetime) -> bool:
        """True if ``moment`` is inside a working span (a span's end is not working)."""
        ts = self._ts(moment)
        return any(a <= ts < b for a, b in self._day(self._date_of(ts))[0])

    def next_working_moment(self, moment: datetime) -> datetime:
        """``moment`` itself if it is working, else the start of the next working span."""
        return self.add(moment, timedelta(0))

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The moment when ``duration`` of working time has elapsed since ``start``.

        A start outside working time counts from the next working moment; a result that
        falls exactly on a span end stays there (8 W-h from 09:00 → 18:00 the same day).
        ``add(t, 0)`` is ``next_working_moment(t)``.
        """
        ts = self._ts(start, "start")
        rem = self._seconds(duration)
        day = self._date_of(ts)
        for a, b in self._day(day)[0]:
            if b > ts:
                cur = a if a > ts else ts
                if rem <= b - cur:
                    return self._dt(cur + rem)
                rem -= b - cur
        idle = 0
        while True:
            day += _ONE_DAY
            ivs, total = self._day(day)
            if not total:
                idle += 1
                if idle > _SEARCH_DAYS:
                    raise self._no_working_time(day - _SEARCH_DAYS * _ONE_DAY)
                continue
            idle = 0
            if rem > total:  # skip a whole day by its precomputed length
                rem -= total
                continue
            for a, b in ivs:
                if rem <= b - a:
                    return self._dt(a + rem)
                rem -= b - a

    def subtract(self, end: datetime, duration: timedelta) -> datetime:
        """The latest moment ``s`` with ``between(s, end) == duration``.

        Counting backwards crosses lunch, nights, weekends and holidays and never lands in
        non-working time; a result exactly at a span start stays there (8 W-h before 18:00 →
        09:00 the same day).  ``subtract(end, 0)`` is ``end`` when it is working, otherwise
        the end of the last working span before it (mirror of ``add(t, 0)``).
        """
        ts = self._ts(end, "end")
        rem = self._seconds(duration)
        day = self._date_of(ts)
        ivs = self._day(day)[0]
        if rem == 0 and any(a <= ts < b for a, b in ivs):
            return self._dt(ts)
        for a, b in reversed(ivs):
            if a < ts:
                cur = b if b < ts else ts
                if rem <= cur - a:
                    return self._dt(cur - rem)
                rem -= cur - a
        idle = 0
        while True:
            day -= _ONE_DAY
            ivs, total = self._day(day)
            if not total:
                idle += 1
                if idle > _SEARCH_DAYS:
                    raise self._no_working_time(day)
                continue
            idle = 0
            if rem > total:
                rem -= total
                continue
            for a, b in reversed(ivs):
                if rem <= b - a:
                    return self._dt(b - rem)
                rem -= b - a

    def _work(self, s: int, e: int) -> int:
        """Working seconds in ``[s, e)`` (epoch seconds, ``s <= e``)."""
        if e <= s:
            return 0
        d1, d2 = self._date_of(s), self._date_of(e)
        if d1 == d2:
            return sum(min(b, e) - max(a, s) for a, b in self._day(d1)[0] if b > s and a < e)
        total = sum(b - max(a, s) for a, b in self._day(d1)[0] if b > s)
        day = d1 + _ONE_DAY
        while day < d2:
            total += self._day(day)[1]
            day += _ONE_DAY
        return total + sum(min(b, e) - a for a, b in self._day(d2)[0] if a < e)

    def between(
        self,
        start: datetime,
        end: datetime,
        pauses: Iterable[tuple[datetime, datetime | None]] = (),
    ) -> timedelta:
        """Working time in ``[start, end)`` minus the working time inside any pause.

        Pauses may overlap each other and stick out of the range; a pause whose end is
        ``None`` is still open and runs to the later bound.  ``end < start`` gives
        ``-between(end, start, pauses)``.
        """
        s, e = self._ts(start, "start"), self._ts(end, "end")
        if e < s:
            return -self.between(end, start, pauses)
        clipped: list[tuple[int, int]] = []
        for p_start, p_end in pauses:
            ps = self._ts(p_start, "pause start")
            # An open pause that begins after the range simply does not touch it.
            pe = max(e, ps) if p_end is None else self._ts(p_end, "pause end")
            if pe < ps:
                raise ValueError(f"pause ends before it starts: {p_start} – {p_end}")
            ps, pe = max(ps, s), min(pe, e)
            if ps < pe:
                clipped.append((ps, pe))
        total = self._work(s, e)
        # Merge overlapping pauses so that shared time is subtracted once.
        clipped.sort()
        cur_s: int | None = None
        cur_e = 0
        for ps, pe in clipped:
            if cur_s is not None and ps <= cur_e:
                cur_e = max(cur_e, pe)
                continue
            if cur_s is not None:
                total -= self._work(cur_s, cur_e)
            cur_s, cur_e = ps, pe
        if cur_s is not None:
            total -= self._work(cur_s, cur_e)
        return timedelta(seconds=total)

    def add_working_days(self, start: datetime, days: int) -> datetime:
        """``days`` working days after ``start`` — the project's rule for "N рабочих дней" (README «Working time»).

        The deadline is the same point of the working day, ``days`` working days later:

        * let ``s = next_working_moment(start)`` and ``e`` the working time elapsed on s's local date
          before ``s`` (counted from the day's first span);
        * ``e > 0``: the result is on the ``days``-th working day after s's date, at the *first* moment
          where ``e`` has elapsed — so a start at the end of an interval ends at the end of the same
          interval (13:00 before lunch → 13:00, not 14:00), like every deadline that lands on a span end;
          on a shorter day (pre-holiday) the result is that day's end;
        * ``e == 0`` (a start at the opening of a day, or in the non-working time before it — the evening,
          the weekend, a holiday): the whole of s's date is the first of the ``days`` working days and the
          result is the end of the ``days``-th one — a start at 18:00 ends at 18:00 of the ``days``-th
          working day, not at 09:00 of the day after it (the same working moment, written where the
          working time runs out, as ``add`` does).

        Mon 10:00 + 2 → Wed 10:00; Fri 15:00 + 2 → Tue 15:00; Mon 13:00 + 2 → Wed 13:00;
        Mon 18:00 or 20:00 + 2 → Wed 18:00; Mon 09:00 + 2 → Tue 18:00 (two whole working days).
        Working Saturdays are working days. ``days == 0`` returns ``s``. Raises TypeError for a non-int,
        ValueError for a negative ``days``, NoWorkingTimeError when the calendar runs out of working days.
        """
        if isinstance(days, bool) or not isinstance(days, int):
            raise TypeError(f"days must be an int, got {days!r}")
        if days < 0:
            raise ValueError(f"days must not be negative, got {days}")
        s = self._ts(self.next_working_moment(start))
        if days == 0:
            return self._dt(s)
        day = self._date_of(s)
        elapsed = sum(min(b, s) - a for a, b in self._day(day)[0] if a < s)
        if elapsed == 0:
            days -= 1  # s's own date is the first working day, counted whole
        idle = 0
        while days:
            day += _ONE_DAY
            if self._day(day)[1]:
                days -= 1
                idle = 0
            else:
                idle += 1
                if idle > _SEARCH_DAYS:
                    raise self._no_working_time(day - _SEARCH_DAYS * _ONE_DAY)
        ivs, total = self._day(day)
        if elapsed == 0 or elapsed >= total:
            return self._dt(ivs[-1][1])
        for a, b in ivs:
            if elapsed <= b - a:
                return self._dt(a + elapsed)
            elapsed -= b - a
        raise AssertionError("unreachable: elapsed < total")  # pragma: no cover

    def month_totals(self, year: int) -> list[MonthTotal]:
        """Working days and working time of each month of ``year`` (12 entries)."""
        days = [0] * 12
        secs = [0] * 12
        day = date(year, 1, 1)
        while day.year == year:
            total = self._day(day)[1]
            if total:
                days[day.month - 1] += 1
                secs[day.month - 1] += total
            day += _ONE_DAY
        return [
            MonthTotal(month=m + 1, working_days=days[m], working_time=timedelta(seconds=secs[m])) for m in range(12)
        ]
