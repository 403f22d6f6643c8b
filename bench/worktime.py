"""Benchmark bot.domain.worktime against the businesstimedelta package: speed and agreement on random cases.

Run from the repository root: ``python bench/worktime.py [--cases N] [--seed S]``.
Exit status 1 if the two libraries disagree on any case.
"""

from __future__ import annotations

import argparse
import random
import sys
import time as systime
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import businesstimedelta as btd
import holidays
import pytz

# Allow ``python bench/worktime.py`` without installing the package.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.domain.worktime import CalendarOverrides, WorkCalendar

TZ = "Europe/Moscow"
H = timedelta(hours=1)
# businesstimedelta's HolidayRule scans day by day up to 5 years each way, so its holiday
# list must reach well past the random range (2025–2026) in both directions.
YEARS = range(2024, 2029)
RANGE_START = datetime(2025, 1, 1, tzinfo=UTC)
RANGE_SECONDS = int((datetime(2027, 1, 1, tzinfo=UTC) - RANGE_START).total_seconds())

Op = Callable[[datetime, datetime], object]


def comparison_calendar() -> WorkCalendar:
    """Our calendar reduced to what businesstimedelta can express.

    No shortened pre-holiday days and no working Saturdays (they become days off through
    ``custom_hours`` with an empty tuple), public holidays and transferred days off kept.
    """
    saturdays = {d for y in YEARS for d in holidays.RU(years=y).weekend_workdays}
    return WorkCalendar(
        TZ,
        shorten_pre_holiday=False,
        overrides=CalendarOverrides(custom_hours={d: () for d in saturdays}),
    )


def businesstimedelta_rules(cal: WorkCalendar) -> btd.Rules:
    """WorkDayRule 9–18 Mon–Fri, LunchTimeRule 13–14, HolidayRule with our weekday days off."""
    ptz = pytz.timezone(TZ)  # businesstimedelta calls tz.localize(): it needs pytz zones
    days_off: set[date] = set()
    day = date(YEARS[0], 1, 1)
    while day.year <= YEARS[-1]:
        if day.weekday() < 5 and not cal.is_working_day(day):
            days_off.add(day)
        day += timedelta(days=1)
    weekdays = [0, 1, 2, 3, 4]
    return btd.Rules(
        [
            btd.WorkDayRule(start_time=time(9), end_time=time(18), working_days=weekdays, tz=ptz),
            btd.LunchTimeRule(start_time=time(13), end_time=time(14), working_days=weekdays, tz=ptz),
            btd.HolidayRule(days_off, tz=ptz),
        ]
    )


def random_cases(n: int, rng: random.Random) -> list[tuple[datetime, datetime]]:
    """(start, other) pairs: start uniform over 2025–2026, other up to 14 days later."""
    cases = []
    for _ in range(n):
        start = RANGE_START + timedelta(seconds=rng.randrange(RANGE_SECONDS))
        cases.append((start, start + timedelta(seconds=rng.randrange(14 * 86400))))
    return cases


def ours_ops(cal: WorkCalendar) -> dict[str, Op]:
    return {
        "add 8 working hours": lambda t, _u: cal.add(t, 8 * H),
        "add 2 working days": lambda t, _u: cal.add_working_days(t, 2),
        "add 7 working days": lambda t, _u: cal.add_working_days(t, 7),
        "working time between": lambda t, u: cal.between(t, u),
        "subtract 4 working hours": lambda t, _u: cal.subtract(t, 4 * H),
    }


def bt_ops(rules: btd.Rules) -> dict[str, Op]:
    def add_hours(hours: int) -> Op:
        return lambda t, _u: t + btd.BusinessTimeDelta(rules, hours=hours)

    def add_days(days: int) -> Op:
        # N × 8 business hours: on uniform 8-hour days this is our rule, which also stops at a
        # closing time (13:00, 18:00) rather than the next opening (README «Working time»).
        def op(t: datetime, _u: datetime) -> datetime:
            return t + btd.BusinessTimeDelta(rules, hours=8 * days)

        return op

    return {
        "add 8 working hours": add_hours(8),
        "add 2 working days": add_days(2),
        "add 7 working days": add_days(7),
        "working time between": lambda t, u: rules.difference(t, u).timedelta,
        "subtract 4 working hours": lambda t, _u: t - btd.BusinessTimeDelta(rules, hours=4),
    }


def run_timed(op: Op, cases: list[tuple[datetime, datetime]]) -> tuple[list[object], float]:
    began = systime.perf_counter()
    results = [op(t, u) for t, u in cases]
    return results, systime.perf_counter() - began


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--cases",
        type=int,
        default=2000,
        help="random cases per operation for the comparison (default 2000: 5 ops = 10,000)",
    )
    parser.add_argument("--seed", type=int, default=20250101)
    parser.add_argument(
        "--ours-repeat",
        type=int,
        default=5,
        help="our side is timed over this many passes of the cases (it is too fast for one)",
    )
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    cases = random_cases(args.cases, rng)

    russian = WorkCalendar(TZ)  # the real one: shortened days, working Saturdays
    reduced = comparison_calendar()
    rules = businesstimedelta_rules(reduced)
    ours_full, ours_reduced, theirs = ours_ops(russian), ours_ops(reduced), bt_ops(rules)

    print(f"Europe/Moscow, 9–18 Mon–Fri, lunch 13–14; {args.cases} random starts over 2025–2026")
    print(f"per operation, {args.cases * len(theirs):,} cases in total (seed {args.seed}).")
    print("Ours timed on the full Russian production calendar with warm per-date caches;")
    print("N working days in businesstimedelta = N × 8 business hours (equal to our rule on")
    print("uniform 8-hour days: both stop at a closing time, not the next opening).\n")

    rows = []
    mismatches = 0
    for name, their_op in theirs.items():
        # Agreement: the reduced calendar against businesstimedelta, case by case.
        their_results, their_time = run_timed(their_op, cases)
        our_results, _ = run_timed(ours_reduced[name], cases)
        bad = [(c, o, t) for c, o, t in zip(cases, our_results, their_results, strict=True) if o != t]
        mismatches += len(bad)
        for (start, other), o, t in bad[:3]:
            print(
                f"  MISMATCH {name}: start={start.isoformat()} other={other.isoformat()} ours={o} businesstimedelta={t}"
            )
        # Speed: the full calendar, several passes.
        ours_op = ours_full[name]
        run_timed(ours_op, cases)  # warm the per-date caches, as in a long-running bot
        total = 0.0
        for _ in range(args.ours_repeat):
            total += run_timed(ours_op, cases)[1]
        ours_rate = args.cases * args.ours_repeat / total
        their_rate = args.cases / their_time
        rows.append((name, ours_rate, their_rate, len(bad)))

    print(f"{'operation':<26} {'ours ops/s':>12} {'btd ops/s':>12} {'ratio':>8} {'mismatch':>9}")
    for name, ours_rate, their_rate, bad_count in rows:
        print(f"{name:<26} {ours_rate:>12,.0f} {their_rate:>12,.0f} {ours_rate / their_rate:>7.1f}× {bad_count:>9}")
    worst = min(o / t for _, o, t, _ in rows)
    print(
        f"\nTarget ≥ 3× faster than businesstimedelta: {'MET' if worst >= 3 else 'NOT MET'} "
        f"(slowest ratio {worst:.1f}×)."
    )
    print(f"Mismatches: {mismatches} of {args.cases * len(rows):,} cases.")
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
