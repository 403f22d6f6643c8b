"""Years of the production calendar: the ones a government decree fixed, and the ones it has not yet (art. 112)."""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.cli import main
from bot.config import ConfigError, Settings, load_settings
from bot.domain.production_calendar import Decree
from bot.domain.worktime import Span, WorkCalendar

H = timedelta(hours=1)
MSK = WorkCalendar("Europe/Moscow")
DAY = (Span(time(9), time(13)), Span(time(14), time(18)))
SHORT_DAY = (Span(time(9), time(13)), Span(time(14), time(17)))


def msk(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=ZoneInfo("Europe/Moscow"))


# --- years the holidays package knows --------------------------------------------------------------------


def test_2025_and_2026_are_official_and_name_their_decrees() -> None:
    assert MSK.year_status(2025).official
    assert MSK.year_status(2025).decree == "Постановление Правительства РФ от 04.10.2024 № 1335"
    assert MSK.year_status(2026).decree == "Постановление Правительства РФ от 24.09.2025 № 1466"


def test_2027_is_official_with_the_decrees_transfers() -> None:
    """The 2027 transfers (the lowest holidays release that has them is 0.107): 2 January → Fri 5 November,
    3 January → Fri 31 December, Sat 20 February works for Mon 22 February."""
    status = MSK.year_status(2027)
    assert status.official and status.source == "holidays"
    assert status.decree is None  # the package cites a web page, not the decree's number
    assert "decree not named in the calendar data" in status.describe()
    assert not MSK.is_working_day(date(2027, 11, 5))
    assert not MSK.is_working_day(date(2027, 12, 31))
    assert not MSK.is_working_day(date(2027, 2, 22))
    # Sat 20.02 replaces Mon 22.02, the eve of 23 February: shortened like it (art. 95).
    assert MSK.spans(date(2027, 2, 20)) == SHORT_DAY


# --- a year no decree is known for: Labour Code art. 112 -----------------------------------------------


def test_2028_is_provisional() -> None:
    status = MSK.year_status(2028)
    assert not status.official and status.provisional
    assert "provisional: the government's decree for 2028 is not yet known" in status.describe()


def test_a_holiday_on_saturday_makes_the_next_monday_a_day_off() -> None:
    # 4 November 2028 is a Saturday: art. 112 part 2 moves the day off to Monday 6 November by law.
    assert date(2028, 11, 4).weekday() == 5
    assert not MSK.is_working_day(date(2028, 11, 6))
    assert MSK.spans(date(2028, 11, 3)) == SHORT_DAY  # Friday, the eve of the holiday (art. 95)
    assert MSK.spans(date(2028, 11, 7)) == DAY
    # November 2028: 22 weekdays less Monday the 6th = 21 days; 21 × 8 h less the short 3rd = 167 h.
    november = MSK.month_totals(2028)[10]
    assert (november.working_days, november.working_time) == (21, 167 * H)


def test_a_holiday_on_sunday_moves_too() -> None:
    # 4 November 2029 is a Sunday → Monday 5 November; 23 February 2030 a Saturday → Monday 25 February.
    assert not MSK.is_working_day(date(2029, 11, 5))
    assert not MSK.is_working_day(date(2030, 2, 25))
    assert MSK.is_working_day(date(2030, 2, 26))


def test_january_holidays_on_a_weekend_are_not_moved_without_a_decree() -> None:
    # 1 and 8 January 2028 are Saturdays: only the government's decree moves them (art. 112 part 5).
    assert not MSK.is_working_day(date(2028, 1, 7))
    assert MSK.spans(date(2028, 1, 10)) == DAY
    assert MSK.month_totals(2028)[0].working_days == 16  # 21 weekdays less 3–7 January


def test_otradnaya_answer_from_friday_3_november_2028_is_due_on_tuesday() -> None:
    # 03.11.2028 16:00, 8 W-h (Отрадная п. 9): Friday ends at 17:00 (1 h), Sat–Mon are off (Mon by art. 112),
    # Tuesday 09–13 4 h + 14–17 3 h → Tue 07.11.2028 17:00, not Mon 06.11.
    assert MSK.add(msk(2028, 11, 3, 16), 8 * H) == msk(2028, 11, 7, 17)


def test_cli_deadline_from_3_november_2028_and_the_provisional_year(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["deadline", "--detected", "2028-11-03 16:00", "--preset", "otradnaya", "--json"]) == 0
    due = {d["key"]: d["due"] for d in json.loads(capsys.readouterr().out)["deadlines"]}
    assert due["answer"] == "2028-11-07T17:00:00+03:00"
    assert main(["deadline", "--detected", "2028-11-03 16:00", "--preset", "otradnaya"]) == 0
    assert "Календарь 2028 года — предварительный" in capsys.readouterr().out
    assert main(["deadline", "--detected", "2028-11-03 16:00", "--preset", "otradnaya", "--locale", "en"]) == 0
    assert "Calendar of 2028 — provisional: the government's decree" in capsys.readouterr().out


# --- the decree entered in the config ---------------------------------------------------------------------


DECREE_2028 = """
[organisation]
preset = "otradnaya"
[[organisation.calendar.decrees]]
year = 2028
name = "Постановление Правительства РФ от 01.10.2027 № 1234"
transfers = [
    { from = 2028-01-01, to = 2028-05-08 },
    { from = 2028-01-08, to = 2028-12-29 },
    { from = 2028-03-11, to = 2028-03-10 },
]
"""


def _config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_decree_in_the_config_makes_the_year_official_and_moves_its_days(tmp_path: Path) -> None:
    settings = load_settings(_config(tmp_path, DECREE_2028), env={})
    cal = settings.calendar()
    status = cal.year_status(2028)
    assert status.official and status.source == "config"
    assert status.decree == "Постановление Правительства РФ от 01.10.2027 № 1234"
    assert not cal.is_working_day(date(2028, 5, 8))  # from 1 January
    assert not cal.is_working_day(date(2028, 12, 29))  # from 8 January
    assert not cal.is_working_day(date(2028, 3, 10))  # Friday, for the working Saturday 11 March
    assert cal.spans(date(2028, 3, 11)) == DAY  # the working Saturday: Fri 10.03 is the eve of no holiday
    assert not cal.is_working_day(date(2028, 11, 6))  # art. 112 still moves 4 November: no decree lists it
    # The curator's calendar (Боровичи п. 5) takes the organisation's decree: it is national.
    curator = load_settings(
        _config(tmp_path, DECREE_2028 + '\n[curator_calendar]\ntimezone = "Europe/Moscow"\n'), env={}
    )
    assert curator.curator_work_calendar().year_status(2028).official


def test_a_decree_the_package_already_has_is_not_used(tmp_path: Path) -> None:
    text = """
[[organisation.calendar.decrees]]
year = 2027
name = "Постановление, набранное до обновления holidays"
transfers = [{ from = 2027-01-02, to = 2027-05-07 }]
"""
    settings = load_settings(_config(tmp_path, text), env={})
    status = settings.calendar().year_status(2027)
    assert status.source == "holidays" and status.config_ignored
    assert "the config's decree for this year is not used" in status.describe()
    assert settings.calendar().is_working_day(date(2027, 5, 7))  # not moved by the ignored entry


@pytest.mark.parametrize(
    ("transfer", "message"),
    [
        ("{ from = 2028-01-03, to = 2028-05-08 }", "2028-01-03 is a weekday"),
        ("{ from = 2027-01-02, to = 2028-05-08 }", "2027-01-02 is not in 2028"),
        ("{ from = 2028-01-01, to = 2028-01-01 }", "moved to itself"),
    ],
)
def test_a_wrong_transfer_is_refused_with_its_date(tmp_path: Path, transfer: str, message: str) -> None:
    text = f'[[organisation.calendar.decrees]]\nyear = 2028\nname = "№ 1"\ntransfers = [{transfer}]\n'
    with pytest.raises(ConfigError, match=message):
        load_settings(_config(tmp_path, text), env={})


def test_two_decrees_for_one_year_are_refused() -> None:
    one = {"year": 2028, "name": "№ 1"}
    with pytest.raises(ValueError, match="two decrees for 2028"):
        Settings.model_validate({"organisation": {"calendar": {"decrees": [one, one]}}})
    with pytest.raises(ValueError, match="weekday"):
        Decree(2028, "№ 1", ((date(2028, 1, 3), date(2028, 5, 8)),))


# --- where the status is shown ------------------------------------------------------------------------------


def test_calendar_command_marks_each_year(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["calendar", "2026"]) == 0
    assert "Официальный: постановление Правительства РФ от 24.09.2025 № 1466." in capsys.readouterr().out
    assert main(["calendar", "2027"]) == 0
    assert "Официальный: постановление Правительства (в данных календаря не названо)." in capsys.readouterr().out
    assert main(["calendar", "2028"]) == 0
    out = capsys.readouterr().out
    assert "Предварительный: постановление Правительства о переносе выходных дней в 2028 году ещё не известно" in out
    assert "Ноябрь                21            167" in out
    assert main(["calendar", "2028", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["calendar"]["official"] is False and data["calendar"]["source"] == "art112"
    assert data["months"][10] == {"month": 11, "working_days": 21, "working_hours": 167.0}


def test_check_config_and_the_start_up_log_name_each_year(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    settings = load_settings(_config(tmp_path, DECREE_2028), env={})
    lines = [s.describe() for s in settings.calendar_years(msk(2027, 12, 1, 10))]
    assert lines == [
        "2027: official (decree not named in the calendar data)",
        "2028: official (Постановление Правительства РФ от 01.10.2027 № 1234, from the config)",
    ]
    plain = Settings.model_validate({}).calendar_years(msk(2028, 3, 1, 10))
    assert [s.year for s in plain] == [2028, 2029] and all(s.provisional for s in plain)
    assert main(["--config", str(_config(tmp_path, DECREE_2028)), "check-config", "--locale", "en"]) == 0
    out = capsys.readouterr().out
    assert (
        "Production calendar 2028 — official: постановление Правительства РФ от 01.10.2027 № 1234 — from the config."
        in out
    )
    assert main(["--config", str(_config(tmp_path, DECREE_2028)), "check-config"]) == 0  # the default: Russian
    out = capsys.readouterr().out
    assert (
        "Производственный календарь 2028 — официальный: постановление Правительства РФ от 01.10.2027 № 1234"
        " — из конфигурации." in out
    )
    assert "official" not in out


def test_without_a_production_calendar_no_year_is_official() -> None:
    status = WorkCalendar("Europe/Moscow", production_calendar=None).year_status(2026)
    assert status.source == "none" and not status.official and not status.provisional
