"""Working-time calendar: deadlines in working hours and working days, as a user would see them."""

from __future__ import annotations

import os
import time as systime
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.worktime import (
    CalendarOverrides,
    MonthTotal,
    NoWorkingTimeError,
    Span,
    WeeklySchedule,
    WorkCalendar,
)

H = timedelta(hours=1)
MIN = timedelta(minutes=1)

MSK = WorkCalendar("Europe/Moscow")  # 9–18, lunch 13–14, Mon–Fri, Russian calendar


def msk(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, s, tzinfo=ZoneInfo("Europe/Moscow"))


def short_friday_schedule() -> WeeklySchedule:
    """Mon–Thu 9:00–18:00, Friday 9:00–16:45, lunch 13:00–13:45 every day."""
    days = {wd: [(time(9), time(18))] for wd in range(4)}
    days[4] = [(time(9), time(16, 45))]
    return WeeklySchedule.from_intervals(days, lunch=(time(13), time(13, 45)))


# --------------------------------------------------------------------------- schedule building


def test_standard_week_is_forty_hours_of_eight_hour_days_with_lunch_cut_out() -> None:
    sched = WeeklySchedule.standard()
    assert set(sched.days) == {0, 1, 2, 3, 4}
    assert sched.days[0] == (Span(time(9), time(13)), Span(time(14), time(18)))
    assert sum(sp.seconds for wd in sched.days for sp in sched.days[wd]) == 40 * 3600


def test_overlapping_spans_in_a_schedule_are_rejected() -> None:
    with pytest.raises(ValueError, match="working hours overlap on monday: 09:00–13:00 and 12:00–18:00"):
        WeeklySchedule({0: (Span(time(9), time(13)), Span(time(12), time(18)))})


def test_a_span_must_start_before_it_ends() -> None:
    with pytest.raises(ValueError):
        Span(time(18), time(9))


# --------------------------------------------------------------------------- edge cases 1–5


def test_1_deadline_inside_working_hours_falls_on_the_same_day() -> None:
    assert MSK.add(msk(2025, 3, 4, 10), 2 * H) == msk(2025, 3, 4, 12)


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        (msk(2025, 3, 4, 19), msk(2025, 3, 5, 10)),  # evening → next morning
        (msk(2025, 3, 1, 12), msk(2025, 3, 3, 10)),  # Saturday → Monday
        (msk(2025, 6, 12, 10), msk(2025, 6, 16, 10)),  # Russia Day, transferred 13th, weekend
        (msk(2025, 3, 4, 7), msk(2025, 3, 4, 10)),  # early morning → same day opening
    ],
)
def test_2_start_outside_working_hours_counts_from_the_next_opening(start: datetime, expected: datetime) -> None:
    assert MSK.add(start, H) == expected


def test_3_seconds_before_closing_carry_into_the_next_working_day_exactly() -> None:
    assert MSK.add(msk(2025, 3, 4, 17, 59, 30), MIN) == msk(2025, 3, 5, 9, 0, 30)
    assert MSK.add(msk(2025, 3, 4, 17, 59, 59), timedelta(seconds=1)) == msk(2025, 3, 4, 18)


def test_3_precision_is_whole_seconds_microseconds_are_truncated() -> None:
    start = msk(2025, 3, 4, 10).replace(microsecond=999_999)
    result = MSK.add(start, timedelta(minutes=5, microseconds=999_999))
    assert result == msk(2025, 3, 4, 10, 5)
    assert result.microsecond == 0
    assert MSK.between(msk(2025, 3, 4, 10), start) == timedelta(0)


def test_4_start_exactly_at_opening_gives_a_full_day_ending_at_closing() -> None:
    assert MSK.add(msk(2025, 3, 4, 9), 8 * H) == msk(2025, 3, 4, 18)


def test_4_deadline_equal_to_closing_stays_at_closing_not_next_opening() -> None:
    assert MSK.add(msk(2025, 3, 4, 17), H) == msk(2025, 3, 4, 18)
    assert MSK.add(msk(2025, 3, 4, 12), H) == msk(2025, 3, 4, 13)  # lunch start likewise
    assert not MSK.is_working(msk(2025, 3, 4, 18))
    assert MSK.is_working(msk(2025, 3, 4, 9))


def test_4_start_and_end_both_after_hours_count_no_working_time() -> None:
    assert MSK.between(msk(2025, 3, 4, 19), msk(2025, 3, 4, 23)) == timedelta(0)
    assert MSK.between(msk(2025, 3, 4, 19), msk(2025, 3, 5, 8)) == timedelta(0)


def test_adding_zero_gives_the_next_working_moment() -> None:
    assert MSK.add(msk(2025, 3, 4, 10, 30), timedelta(0)) == msk(2025, 3, 4, 10, 30)
    assert MSK.add(msk(2025, 3, 4, 18), timedelta(0)) == msk(2025, 3, 5, 9)
    assert MSK.add(msk(2025, 3, 4, 13, 30), timedelta(0)) == msk(2025, 3, 4, 14)
    assert MSK.next_working_moment(msk(2025, 3, 8, 12)) == msk(2025, 3, 10, 9)


def test_negative_duration_is_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        MSK.add(msk(2025, 3, 4, 10), -H)
    with pytest.raises(ValueError, match="negative"):
        MSK.subtract(msk(2025, 3, 4, 10), -H)
    with pytest.raises(ValueError, match="negative"):
        MSK.add_working_days(msk(2025, 3, 4, 10), -1)


def test_naive_datetimes_are_refused_with_a_clear_message() -> None:
    with pytest.raises(ValueError, match="naive"):
        MSK.add(datetime(2025, 3, 4, 10), H)
    with pytest.raises(ValueError, match="naive"):
        MSK.between(msk(2025, 3, 4, 10), datetime(2025, 3, 4, 12))
    with pytest.raises(ValueError, match="naive"):
        MSK.is_working(datetime(2025, 3, 4, 10))


def test_results_are_aware_and_in_the_calendar_zone_whatever_the_input_zone() -> None:
    result = MSK.add(datetime(2025, 3, 4, 7, tzinfo=UTC), H)  # 10:00 Moscow
    assert result.tzinfo == ZoneInfo("Europe/Moscow")
    assert result == msk(2025, 3, 4, 11)


def test_5_lunch_break_splits_the_remaining_time() -> None:
    assert MSK.add(msk(2025, 3, 4, 12), 2 * H) == msk(2025, 3, 4, 15)
    assert MSK.between(msk(2025, 3, 4, 12), msk(2025, 3, 4, 15)) == 2 * H
    assert MSK.add(msk(2025, 3, 4, 13, 20), H) == msk(2025, 3, 4, 15)  # start during lunch


def test_5_lunch_is_not_a_holiday() -> None:
    assert MSK.is_working_day(date(2025, 3, 4))
    assert not MSK.is_working(msk(2025, 3, 4, 13, 30))
    assert MSK.next_working_moment(msk(2025, 3, 4, 13, 30)) == msk(2025, 3, 4, 14)


# --------------------------------------------------------------------------- edge case 6


def test_6_short_friday_rolls_the_remainder_into_monday() -> None:
    cal = WorkCalendar("Europe/Moscow", short_friday_schedule())
    assert cal.spans(date(2025, 3, 14)) == (
        Span(time(9), time(13)),
        Span(time(13, 45), time(16, 45)),
    )
    assert cal.add(msk(2025, 3, 14, 16), H) == msk(2025, 3, 17, 9, 15)
    assert cal.add(msk(2025, 3, 13, 17, 30), H) == msk(2025, 3, 14, 9, 30)


# --------------------------------------------------------------------------- edge case 7


def test_7_a_single_public_holiday_is_skipped() -> None:
    assert not MSK.is_working_day(date(2026, 6, 12))
    assert MSK.add(msk(2026, 6, 11, 16), 2 * H) == msk(2026, 6, 15, 10)  # 11th ends at 17:00


def test_7_new_year_holidays_8_working_hours_from_30_december_land_on_12_january() -> None:
    assert MSK.add(msk(2025, 12, 30, 16), 8 * H) == msk(2026, 1, 12, 16)
    assert MSK.between(msk(2025, 12, 30, 16), msk(2026, 1, 12, 16)) == 8 * H


def test_7_transferred_day_off_is_not_working() -> None:
    assert not MSK.is_working_day(date(2025, 11, 3))  # Monday, swapped with Saturday 1 Nov
    assert not MSK.is_working_day(date(2025, 12, 31))  # from Sunday 5 January
    assert not MSK.is_working_day(date(2026, 1, 9))  # from Saturday 3 January


def test_7_working_saturday_1_november_2025_works_a_shortened_day() -> None:
    assert MSK.spans(date(2025, 11, 1)) == (Span(time(9), time(13)), Span(time(14), time(17)))
    assert MSK.add(msk(2025, 10, 31, 17), 2 * H) == msk(2025, 11, 1, 10)


def test_7_pre_holiday_day_30_april_2026_ends_at_17_00() -> None:
    assert MSK.spans(date(2026, 4, 30))[-1].end == time(17)
    assert MSK.add(msk(2026, 4, 30, 16), 2 * H) == msk(2026, 5, 4, 10)
    # The eve of a transferred day off is a full day (30 December 2025 before 31 December).
    assert MSK.spans(date(2025, 12, 30))[-1].end == time(18)
    # Friday before a Saturday holiday is shortened too (8 May 2026 before Victory Day).
    assert MSK.spans(date(2026, 5, 8))[-1].end == time(17)


def test_7_shortening_can_be_switched_off() -> None:
    cal = WorkCalendar("Europe/Moscow", shorten_pre_holiday=False)
    assert cal.spans(date(2026, 4, 30))[-1].end == time(18)
    assert cal.spans(date(2025, 11, 1))[-1].end == time(18)


def test_7_without_a_production_calendar_holidays_are_ordinary_days() -> None:
    cal = WorkCalendar("Europe/Moscow", production_calendar=None)
    assert cal.is_working_day(date(2026, 1, 1))
    assert not cal.is_working_day(date(2025, 11, 1))


def test_7_holidays_follow_the_local_date_in_every_zone_not_a_shifted_feed() -> None:
    barnaul = WorkCalendar("Asia/Barnaul")
    # 31 Dec 2025 20:00 UTC is already 1 January (03:00) in Barnaul: still a holiday there.
    assert barnaul.next_working_moment(datetime(2025, 12, 31, 20, tzinfo=UTC)) == datetime(
        2026, 1, 12, 9, tzinfo=ZoneInfo("Asia/Barnaul")
    )
    # 11 Jan 23:00 UTC is 12 January 06:00 in Barnaul: the first working day, from 09:00.
    assert barnaul.add(datetime(2026, 1, 11, 23, tzinfo=UTC), H) == datetime(
        2026, 1, 12, 10, tzinfo=ZoneInfo("Asia/Barnaul")
    )


@pytest.mark.parametrize(
    ("year", "days", "hours"),
    [
        (
            2025,
            [17, 20, 21, 22, 18, 19, 23, 21, 22, 23, 19, 22],
            # May is 144 h (7 May 2025 is a full day): the brief said 143 and 1971; see below.
            [136, 160, 167, 175, 144, 151, 184, 168, 176, 184, 151, 176],
        ),
        (
            2026,
            [15, 19, 21, 22, 19, 21, 23, 21, 22, 22, 20, 22],
            [120, 152, 168, 175, 151, 167, 184, 168, 176, 176, 159, 176],
        ),
    ],
)
def test_7_month_norms_match_the_government_production_calendar(year: int, days: list[int], hours: list[int]) -> None:
    """Working days and hours per month for the 40-hour, 5-day week.

    2025: Постановление Правительства РФ от 04.10.2024 № 1335 — 247 days, 1972 hours;
    shortened days 7 March, 30 April, 11 June, 1 November (7 May 2025 is a full day: the
    8 May day off is transferred from 23 February, not a public holiday).
    2026: Постановление Правительства РФ от 24.09.2025 № 1466 — 247 days, 1972 hours.
    """
    totals = MSK.month_totals(year)
    assert [t.month for t in totals] == list(range(1, 13))
    assert [t.working_days for t in totals] == days
    assert [t.working_time for t in totals] == [h * H for h in hours]
    assert sum(days) == 247
    assert sum(hours) == 1972
    assert isinstance(totals[0], MonthTotal)


# --------------------------------------------------------------------------- overrides


def test_local_overrides_win_over_the_production_calendar_in_documented_order() -> None:
    special = (Span(time(10), time(12)),)
    cal = WorkCalendar(
        "Europe/Moscow",
        overrides=CalendarOverrides(
            days_off=frozenset({date(2025, 3, 5), date(2025, 3, 6), date(2025, 11, 1)}),
            working_days=frozenset({date(2025, 3, 6), date(2025, 3, 8), date(2025, 6, 12)}),
            custom_hours={date(2025, 3, 5): special, date(2026, 1, 1): special},
        ),
    )
    assert cal.spans(date(2025, 3, 5)) == special  # custom_hours beats days_off
    assert not cal.is_working_day(date(2025, 3, 6))  # days_off beats working_days
    assert cal.spans(date(2025, 3, 8)) == MSK.spans(date(2025, 3, 4))  # Saturday made working
    assert cal.is_working_day(date(2025, 6, 12))  # working_days beats a public holiday
    assert not cal.is_working_day(date(2025, 11, 1))  # a local day off on a working Saturday
    assert cal.spans(date(2026, 1, 1)) == special  # custom_hours on New Year's Day
    assert cal.add(msk(2025, 3, 5, 9), 3 * H) == msk(2025, 3, 7, 10)


def test_custom_hours_with_an_empty_tuple_is_a_day_off() -> None:
    cal = WorkCalendar("Europe/Moscow", overrides=CalendarOverrides(custom_hours={date(2025, 3, 4): ()}))
    assert not cal.is_working_day(date(2025, 3, 4))


def test_calendars_of_different_organisations_live_side_by_side() -> None:
    short = WorkCalendar("Europe/Samara", short_friday_schedule(), production_calendar=None)
    assert MSK.spans(date(2025, 3, 7))[-1].end == time(17)  # eve of 8 March, Moscow org
    assert short.spans(date(2025, 3, 7))[-1].end == time(16, 45)
    assert MSK.tz == ZoneInfo("Europe/Moscow") and short.tz == ZoneInfo("Europe/Samara")


# --------------------------------------------------------------------------- edge case 8


@pytest.mark.parametrize(
    ("deadline", "before", "expected"),
    [
        (msk(2025, 3, 4, 18), 8 * H, msk(2025, 3, 4, 9)),  # start of span stays
        (msk(2025, 3, 4, 15), 3 * H, msk(2025, 3, 4, 11)),  # across lunch
        (msk(2025, 3, 4, 10), 4 * H, msk(2025, 3, 3, 15)),  # across the night
        (msk(2025, 3, 3, 10), 4 * H, msk(2025, 2, 28, 15)),  # across the weekend
        (msk(2025, 3, 3, 9), H, msk(2025, 2, 28, 17)),  # Monday opening: not midnight
        (msk(2025, 3, 8, 12), H, msk(2025, 3, 7, 16)),  # Saturday deadline; 7 March short
        (msk(2026, 1, 12, 11), 4 * H, msk(2025, 12, 30, 16)),  # across New Year
        (msk(2025, 3, 4, 14), H, msk(2025, 3, 4, 12)),  # from the end of lunch
    ],
)
def test_8_counting_backwards_crosses_lunch_nights_and_weekends_in_working_time(
    deadline: datetime, before: timedelta, expected: datetime
) -> None:
    result = MSK.subtract(deadline, before)
    assert result == expected
    assert MSK.is_working(result)
    assert MSK.between(result, deadline) == before


def test_8_subtracting_zero_stays_in_working_time() -> None:
    assert MSK.subtract(msk(2025, 3, 4, 10), timedelta(0)) == msk(2025, 3, 4, 10)
    assert MSK.subtract(msk(2025, 3, 4, 9), timedelta(0)) == msk(2025, 3, 4, 9)
    assert MSK.subtract(msk(2025, 3, 4, 20), timedelta(0)) == msk(2025, 3, 4, 18)


# --------------------------------------------------------------------------- edge case 9


def test_9_same_utc_moment_gives_different_deadlines_in_moscow_samara_and_barnaul() -> None:
    detected = datetime(2025, 3, 3, 5, tzinfo=UTC)  # Mon 08:00 MSK, 09:00 SAMT, 12:00 Barnaul
    deadlines = {tz: WorkCalendar(tz).add(detected, 8 * H) for tz in ("Europe/Moscow", "Europe/Samara", "Asia/Barnaul")}
    assert deadlines["Europe/Moscow"] == datetime(2025, 3, 3, 15, tzinfo=UTC)  # 18:00 local
    assert deadlines["Europe/Samara"] == datetime(2025, 3, 3, 14, tzinfo=UTC)  # 18:00 local
    assert deadlines["Asia/Barnaul"] == datetime(2025, 3, 4, 5, tzinfo=UTC)  # Tue 12:00 local
    assert deadlines["Asia/Barnaul"].tzinfo == ZoneInfo("Asia/Barnaul")


def test_9_the_server_time_zone_never_matters(monkeypatch: pytest.MonkeyPatch) -> None:
    detected = datetime(2025, 12, 30, 12, tzinfo=UTC)

    def compute() -> tuple[datetime, ...]:
        cal = WorkCalendar("Europe/Samara")  # fresh caches
        return (
            cal.add(detected, 8 * H),
            cal.subtract(detected, 5 * H),
            cal.add_working_days(detected, 2),
        )

    before = compute()
    for server_tz in ("America/New_York", "Asia/Tokyo"):
        monkeypatch.setenv("TZ", server_tz)
        systime.tzset()
        assert compute() == before
    monkeypatch.delenv("TZ")
    systime.tzset()
    assert os.environ.get("TZ") is None


def test_9_dst_zone_counts_real_elapsed_time_across_a_clock_change() -> None:
    # Berlin springs forward 2025-03-30 02:00 → 03:00: a 00:00–06:00 shift lasts 5 real hours.
    cal = WorkCalendar(
        "Europe/Berlin",
        WeeklySchedule.from_intervals({6: [(time(0), time(6))]}),
        production_calendar=None,
    )
    berlin = ZoneInfo("Europe/Berlin")
    sunday = datetime(2025, 3, 30, 0, tzinfo=berlin)
    assert cal.between(sunday, datetime(2025, 3, 30, 6, tzinfo=berlin)) == 5 * H
    assert cal.add(sunday, 3 * H) == datetime(2025, 3, 30, 4, tzinfo=berlin)


# --------------------------------------------------------------------------- edge case 10


def test_10_seven_working_days_across_new_year_finish_fast() -> None:
    start = msk(2025, 12, 26, 10)
    assert MSK.add_working_days(start, 7) == msk(2026, 1, 16, 10)
    assert MSK.add(start, 56 * H) == msk(2026, 1, 16, 10)
    began = systime.perf_counter()
    for _ in range(2000):
        MSK.add_working_days(start, 7)
        MSK.add(start, 56 * H)
    assert systime.perf_counter() - began < 1.0


def test_10_a_calendar_without_working_time_fails_clearly_instead_of_looping() -> None:
    empty = WorkCalendar("Europe/Moscow", WeeklySchedule({}), production_calendar=None)
    moment = msk(2025, 3, 4, 10)
    began = systime.perf_counter()
    with pytest.raises(NoWorkingTimeError, match="no working time"):
        empty.add(moment, H)
    with pytest.raises(NoWorkingTimeError):
        empty.next_working_moment(moment)
    with pytest.raises(NoWorkingTimeError):
        empty.subtract(moment, H)
    with pytest.raises(NoWorkingTimeError):
        empty.add_working_days(moment, 1)
    assert empty.between(moment, moment + 30 * timedelta(days=1)) == timedelta(0)
    assert systime.perf_counter() - began < 2.0
    assert issubclass(NoWorkingTimeError, ValueError)


# --------------------------------------------------------------------------- edge cases 11–12


def test_11_several_pauses_are_each_taken_off_the_working_time() -> None:
    start, end = msk(2025, 3, 4, 9), msk(2025, 3, 4, 18)
    pauses = [(msk(2025, 3, 4, 10), msk(2025, 3, 4, 11)), (msk(2025, 3, 4, 15), msk(2025, 3, 4, 16))]
    assert MSK.between(start, end, pauses) == 6 * H


def test_11_overlapping_pauses_are_counted_once() -> None:
    start, end = msk(2025, 3, 4, 9), msk(2025, 3, 4, 18)
    pauses = [(msk(2025, 3, 4, 10), msk(2025, 3, 4, 12)), (msk(2025, 3, 4, 11), msk(2025, 3, 4, 15))]
    assert MSK.between(start, end, pauses) == 4 * H  # 10–15 minus lunch = 4 h paused


def test_11_a_pause_across_a_night_and_a_weekend_stops_only_working_time() -> None:
    # Detected Thu 9:00, paused Fri 17:00 → Mon 10:00, checked Mon 18:00.
    pauses = [(msk(2025, 3, 7, 16), msk(2025, 3, 10, 10))]
    total = MSK.between(msk(2025, 3, 6, 9), msk(2025, 3, 10, 18))
    assert total == 8 * H + 7 * H + 8 * H  # 7 March (eve of 8 March) is 7 h
    assert MSK.between(msk(2025, 3, 6, 9), msk(2025, 3, 10, 18), pauses) == total - 2 * H


def test_11_an_open_pause_runs_to_the_end_of_the_range() -> None:
    pauses = [(msk(2025, 3, 4, 15), None)]
    assert MSK.between(msk(2025, 3, 4, 9), msk(2025, 3, 5, 12), pauses) == 5 * H


def test_11_an_incident_created_already_paused_accrues_nothing_until_resumed() -> None:
    pauses = [(msk(2025, 3, 4, 8), msk(2025, 3, 4, 14))]
    assert MSK.between(msk(2025, 3, 4, 10), msk(2025, 3, 4, 16), pauses) == 2 * H


def test_11_a_pause_after_the_deadline_does_not_change_time_spent_before_it() -> None:
    deadline = MSK.add(msk(2025, 3, 4, 9), 8 * H)
    pauses = [(msk(2025, 3, 5, 10), None)]
    assert MSK.between(msk(2025, 3, 4, 9), msk(2025, 3, 5, 12), pauses) == 9 * H
    assert MSK.between(msk(2025, 3, 4, 9), deadline, pauses) == 8 * H


def test_12_between_with_reversed_bounds_is_negative() -> None:
    assert MSK.between(msk(2025, 3, 5, 10), msk(2025, 3, 4, 17)) == -2 * H


def test_12_a_pause_ending_before_it_starts_is_rejected() -> None:
    with pytest.raises(ValueError, match="pause"):
        MSK.between(msk(2025, 3, 4, 9), msk(2025, 3, 4, 18), [(msk(2025, 3, 4, 12), msk(2025, 3, 4, 10))])


# --------------------------------------------------------------------------- edge case 17


@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [
        (msk(2025, 3, 3, 10), 2, msk(2025, 3, 5, 10)),  # Mon → Wed, same clock time
        (msk(2025, 3, 14, 15), 2, msk(2025, 3, 18, 15)),  # Fri → Tue across the weekend
        # The evening is the end of Monday: Tue and Wed are the two days, to the end of Wednesday (the same
        # working moment as Thu 09:00, written where the working time runs out).
        (msk(2025, 3, 3, 20), 2, msk(2025, 3, 5, 18)),
        (msk(2025, 3, 3, 13, 30), 1, msk(2025, 3, 4, 13)),  # lunch: 4 h of Monday gone → Tuesday 13:00
        (msk(2025, 3, 3, 9), 2, msk(2025, 3, 4, 18)),  # from the opening: Monday and Tuesday, whole
        (msk(2025, 3, 3, 10), 0, msk(2025, 3, 3, 10)),
        (msk(2025, 3, 1, 10), 0, msk(2025, 3, 3, 9)),  # 0 days from Saturday = next opening
        (msk(2025, 12, 26, 10), 7, msk(2026, 1, 16, 10)),  # 7 days across New Year
    ],
)
def test_17_n_working_days_is_the_same_clock_time_on_the_nth_working_day(
    start: datetime, n: int, expected: datetime
) -> None:
    assert MSK.add_working_days(start, n) == expected


def test_17_working_days_landing_on_a_shortened_day_are_clamped_to_its_end() -> None:
    # 30 April 2026 ends at 17:00; a 17:30 start two working days earlier lands at 17:00.
    assert MSK.add_working_days(msk(2026, 4, 28, 17, 30), 2) == msk(2026, 4, 30, 17)
    assert MSK.add_working_days(msk(2026, 4, 28, 16, 30), 2) == msk(2026, 4, 30, 16, 30)
    # Past the shortened day the clock time is kept again.
    assert MSK.add_working_days(msk(2026, 4, 28, 17, 30), 3) == msk(2026, 5, 4, 17, 30)


def test_17_a_start_at_the_end_of_the_morning_ends_at_the_end_of_the_morning() -> None:
    # Удмуртия п. 10 from 16.09.2025 13:00: 4 h of the day are gone; on Thursday 18.09 4 h are gone at 13:00
    # (the end of the morning interval) — not at 14:00, the opening of the next one.
    samara = WorkCalendar("Europe/Samara")
    sam = ZoneInfo("Europe/Samara")
    assert samara.add_working_days(datetime(2025, 9, 16, 13, tzinfo=sam), 2) == datetime(2025, 9, 18, 13, tzinfo=sam)
    # Боровичи п. 16 from the answer deadline 17.09.2025 13:00 (detected 16.09 13:30, 8 W-h): 26.09 13:00.
    assert MSK.add_working_days(msk(2025, 9, 17, 13), 7) == msk(2025, 9, 26, 13)


def test_17_a_start_at_the_end_of_the_day_ends_at_the_end_of_the_nth_day() -> None:
    # An answer deadline at 18:00 on Wed 17.09.2025: the 7 working days are 18, 19, 22, 23, 24, 25, 26 September,
    # and the final answer is due at the end of the 7th, Fri 26.09 18:00 (not Mon 29.09 09:00).
    assert MSK.add_working_days(msk(2025, 9, 17, 18), 7) == msk(2025, 9, 26, 18)


def test_17_two_days_from_new_years_eve_are_the_first_two_working_days_of_january() -> None:
    # 31.12.2026 is a day off (moved from 4 January by decree № 1466); 1–10 January 2027 are off, so the two
    # working days are Mon 11 and Tue 12 January: the deadline is the end of Tue 12.01.2027, not 13.01 09:00.
    samara = WorkCalendar("Europe/Samara")
    sam = ZoneInfo("Europe/Samara")
    assert not samara.is_working_day(date(2026, 12, 31))
    assert samara.add_working_days(datetime(2026, 12, 31, 10, tzinfo=sam), 2) == datetime(2027, 1, 12, 18, tzinfo=sam)


def test_17_a_working_saturday_counts_as_a_working_day() -> None:
    assert MSK.add_working_days(msk(2025, 10, 30, 10), 2) == msk(2025, 11, 1, 10)
    assert MSK.add_working_days(msk(2025, 10, 31, 17, 30), 1) == msk(2025, 11, 1, 17)
    assert MSK.add_working_days(msk(2025, 10, 31, 10), 2) == msk(2025, 11, 5, 10)


# --------------------------------------------------------------------------- properties

_LO = int(datetime(2024, 6, 1, tzinfo=UTC).timestamp())
_HI = int(datetime(2027, 6, 1, tzinfo=UTC).timestamp())
moments = st.integers(_LO, _HI).map(lambda s: datetime.fromtimestamp(s, UTC))
durations = st.integers(0, 120 * 3600).map(lambda s: timedelta(seconds=s))
positive_durations = st.integers(1, 120 * 3600).map(lambda s: timedelta(seconds=s))
calendars = st.sampled_from(
    [
        MSK,
        WorkCalendar("Asia/Barnaul", short_friday_schedule()),
        WorkCalendar(
            "Europe/Berlin",
            WeeklySchedule.from_intervals({wd: [(time(1), time(4)), (time(8), time(20))] for wd in range(6)}),
            production_calendar=None,
        ),
    ]
)
PROPS = settings(max_examples=200, deadline=None)


def _is_span_end(cal: WorkCalendar, moment: datetime) -> bool:
    return not cal.is_working(moment) and cal.is_working(moment - timedelta(seconds=1))


@PROPS
@given(calendars, moments, durations)
def test_property_adding_then_measuring_gives_back_the_duration(cal: WorkCalendar, t: datetime, d: timedelta) -> None:
    assert cal.between(t, cal.add(t, d)) == d


@PROPS
@given(calendars, moments, positive_durations)
def test_property_an_added_deadline_is_in_working_time_or_at_a_span_end(
    cal: WorkCalendar, t: datetime, d: timedelta
) -> None:
    result = cal.add(t, d)
    assert _is_span_end(cal, result) or cal.is_working(result)
    assert cal.is_working(result - timedelta(seconds=1))


@PROPS
@given(calendars, moments, durations)
def test_property_subtracting_what_was_added_returns_the_next_working_moment(
    cal: WorkCalendar, t: datetime, d: timedelta
) -> None:
    assert cal.subtract(cal.add(t, d), d) == cal.next_working_moment(t)


@PROPS
@given(calendars, moments, positive_durations, positive_durations)
def test_property_adding_back_what_was_subtracted_returns_the_deadline(
    cal: WorkCalendar, t: datetime, d0: timedelta, d: timedelta
) -> None:
    deadline = cal.add(t, d0)  # deadlines are working moments or span ends
    assert cal.add(cal.subtract(deadline, d), d) == deadline


@PROPS
@given(calendars, moments, positive_durations)
def test_property_counting_back_measures_exactly_and_never_lands_off_hours(
    cal: WorkCalendar, e: datetime, d: timedelta
) -> None:
    s = cal.subtract(e, d)
    assert cal.between(s, e) == d
    assert cal.is_working(s)
    assert cal.between(s + timedelta(seconds=1), e) < d  # it is the latest such moment


@PROPS
@given(calendars, moments, moments, durations)
def test_property_a_later_start_never_gives_an_earlier_deadline(
    cal: WorkCalendar, t1: datetime, t2: datetime, d: timedelta
) -> None:
    t1, t2 = min(t1, t2), max(t1, t2)
    assert cal.add(t1, d) <= cal.add(t2, d)
    assert cal.subtract(t1, d) <= cal.subtract(t2, d)


@PROPS
@given(calendars, moments, durations, durations)
def test_property_a_longer_duration_never_gives_an_earlier_deadline(
    cal: WorkCalendar, t: datetime, d1: timedelta, d2: timedelta
) -> None:
    d1, d2 = min(d1, d2), max(d1, d2)
    assert cal.add(t, d1) <= cal.add(t, d2)
    assert cal.subtract(t, d1) >= cal.subtract(t, d2)


@PROPS
@given(calendars, moments, moments, moments)
def test_property_working_time_between_is_additive(cal: WorkCalendar, a: datetime, b: datetime, c: datetime) -> None:
    assert cal.between(a, c) == cal.between(a, b) + cal.between(b, c)


@PROPS
@given(calendars, moments, moments, moments, moments)
def test_property_pauses_take_off_exactly_the_working_time_inside_them(
    cal: WorkCalendar, a: datetime, b: datetime, p: datetime, q: datetime
) -> None:
    a, p, q, b = sorted((a, b, p, q))
    assert cal.between(a, b, [(p, q)]) == cal.between(a, p) + cal.between(q, b)
    assert cal.between(a, b, [(p, None)]) == cal.between(a, p)
    assert cal.between(a, b, [(p, q), (p, q), (a, a)]) == cal.between(a, b, [(p, q)])


@PROPS
@given(calendars, moments, st.integers(0, 30), st.integers(0, 30))
def test_property_more_working_days_never_give_an_earlier_deadline(
    cal: WorkCalendar, t: datetime, n1: int, n2: int
) -> None:
    n1, n2 = min(n1, n2), max(n1, n2)
    r1, r2 = cal.add_working_days(t, n1), cal.add_working_days(t, n2)
    assert r1 <= r2
    assert cal.is_working(r2) or _is_span_end(cal, r2)
    if n2 > n1:
        assert r1 < r2
