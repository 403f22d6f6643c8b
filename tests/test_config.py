"""Configuration: the example file works, wrong files fail with the key named, secrets from env."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.config import ConfigError, load_settings
from bot.domain.incident import Role

ROOT = Path(__file__).resolve().parent.parent


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_example_config_loads_and_matches_the_defaults() -> None:
    settings = load_settings(ROOT / "config.example.toml", env={})
    assert settings.preset().name == "otradnaya"
    assert settings.calendar().tz.key == "Europe/Moscow"
    assert settings.database.url.startswith("sqlite+aiosqlite")


def test_without_a_file_the_embedded_defaults_apply_and_the_token_is_asked_for() -> None:
    settings = load_settings(None, env={})
    with pytest.raises(ConfigError, match="OTKLIK_BOT_TOKEN"):
        settings.require_token()


def test_secrets_come_from_the_environment() -> None:
    env = {"OTKLIK_BOT_TOKEN": "1:abc", "OTKLIK_DATABASE_URL": "postgresql+asyncpg://u@h/db"}
    settings = load_settings(None, env=env)
    assert settings.require_token() == "1:abc"
    assert settings.database.url == "postgresql+asyncpg://u@h/db"


def test_config_path_from_environment(tmp_path: Path) -> None:
    path = write(tmp_path, '[organisation]\npreset = "udmurtia"\n')
    settings = load_settings(None, env={"OTKLIK_CONFIG": str(path)})
    assert settings.preset().name == "udmurtia"
    assert settings.calendar().tz.key == "Europe/Samara"  # the preset's zone by default


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[organisation]\npreset = "moscow"\n', "[organisation] preset: unknown preset 'moscow'"),
        ('[organisation]\ntimezone = "Mars/Base"\n', "[organisation] timezone: unknown time zone"),
        ('[organisation.schedule]\nhours = "18:00-09:00"\n', "[organisation.schedule]: hours: '18:00-09:00' ends"),
        ('[organisation.schedule]\nlunch = "25:00-26:00"\n', "impossible time"),
        ('[organisation.schedule]\nworkdays = ["funday"]\n', "'funday' is not one of"),
        (
            '[organisation.overrides]\nanswer_normal = "eight hours"\n',
            "[organisation]: overrides.answer_normal: 'eight hours'",
        ),
        ('[organisation.overrides]\nnonsense = "1h"\n', "overrides.nonsense: no such preset parameter"),
        ('[organisation.overrides]\npublisher = "head"\n', "overrides.publisher"),
        ("[database]\nurll = 1\n", "[database] urll: unknown key in the table [database]"),
        ('[database]\nurl = "mysql://x"\n', "[database] url: must start with"),
        ("[organisation.calendar]\ndays_off = [2026-01-12]\nworking_days = [2026-01-12]\n", "both a day off"),
        ('[people]\ncurators = ["me"]\n', '[people] curators[1]: must be a whole number, got "me"'),
        (
            '[[departments]]\ncode = "Жкх"\nname = "ЖКХ"\n',
            '[[departments]] no. 1 code: must be 1–32 latin small letters, digits, - and _, got "Жкх"',
        ),
        ("this is not toml", "is not valid TOML"),
    ],
)
def test_wrong_config_fails_with_the_key_and_the_problem(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(write(tmp_path, text), env={})
    assert message in str(err.value)
    assert "Traceback" not in str(err.value) and "pydantic" not in str(err.value)


def test_missing_file_is_named() -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings("/nonexistent/otklik.toml", env={})


def test_overrides_replace_preset_parameters(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[organisation]\npreset = "otradnaya"\n[organisation.overrides]\n'
        'answer_normal = "9h"\npublisher = "curator"\n'
        'draft_before_normal = "none"\nfinal_after_intermediate = "5d"\n',
    )
    preset = load_settings(path, env={}).preset()
    assert preset.answer_normal.minutes == 540 and preset.answer_normal.clause == "config"
    assert preset.publisher.value is Role.curator
    assert preset.draft_before_normal is None
    assert preset.final_after_intermediate.days == 5


def test_schedule_short_friday_and_calendar_overrides(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[organisation]\npreset = "borovichi"\n'
        '[organisation.schedule]\nfriday = ["09:00-16:45"]\n'
        "[organisation.calendar]\ndays_off = [2026-03-11]\n"
        '[organisation.calendar.custom_hours]\n2026-03-12 = ["10:00-12:00"]\n',
    )
    cal = load_settings(path, env={}).calendar()
    spans = cal.spans(datetime(2026, 3, 13).date())  # Friday: lunch still cut out
    assert [(s.start, s.end) for s in spans] == [(time(9), time(13)), (time(14), time(16, 45))]
    assert not cal.is_working_day(datetime(2026, 3, 11).date())
    moscow = ZoneInfo("Europe/Moscow")
    # Tuesday 17:00 + 2 working hours: 1 h on Tuesday, Wednesday off, Thursday 10:00-11:00.
    assert cal.add(datetime(2026, 3, 10, 17, tzinfo=moscow), timedelta(hours=2)) == datetime(
        2026, 3, 12, 11, tzinfo=moscow
    )


def test_curator_calendar_may_differ(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[organisation]\npreset = "borovichi"\n[curator_calendar]\ntimezone = "Europe/Moscow"\n'
        '[curator_calendar.schedule]\nhours = "08:00-17:00"\nlunch = "12:00-13:00"\n',
    )
    settings = load_settings(path, env={})
    moment = datetime(2026, 3, 10, 8, 30, tzinfo=ZoneInfo("Europe/Moscow"))
    assert settings.curator_work_calendar().is_working(moment)
    assert not settings.calendar().is_working(moment)


def test_every_problem_is_one_line_naming_the_file_and_the_key_in_the_readers_language(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[bot]\nupdate_concurrency = "abc"\n[delivery]\nheadroom = 2\nconcurrency = 0\n'
        '[reminders]\nmorning_digest = "maybe"\n',
    )
    with pytest.raises(ConfigError) as err:
        load_settings(path, env={})
    assert str(err.value).splitlines() == [
        f'{path}: [bot] update_concurrency: must be a whole number from 1 to 256, got "abc"',
        f'{path}: [reminders] morning_digest: must be true or false, got "maybe"',
        f"{path}: [delivery] headroom: must be a number from 0.5 to 1.0, got 2",
        f"{path}: [delivery] concurrency: must be a whole number from 1 to 1000, got 0",
    ]
    assert err.value.text("ru").splitlines() == [
        f'{path}: [bot] update_concurrency: нужно целое число от 1 до 256, получено "abc"',
        f'{path}: [reminders] morning_digest: нужно true или false, получено "maybe"',
        f"{path}: [delivery] headroom: нужно число от 0.5 до 1.0, получено 2",
        f"{path}: [delivery] concurrency: нужно целое число от 1 до 1000, получено 0",
    ]


def test_a_validators_own_message_is_translated_too(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(write(tmp_path, '[organisation]\npreset = "moscow"\n'), env={})
    assert "[organisation] preset: неизвестный пресет 'moscow'; выберите один из: kluchi" in err.value.text("ru")


def uncomment_every_setting(example: str) -> str:
    """The example with every commented-out setting and table header uncommented: each line ``# key = value``,
    ``# [table]`` or ``# [[table]]`` — what an administrator does who takes every example at once."""
    setting = re.compile(r"# ((\[\[?[a-z_.]+\]\]?)|([a-z0-9_-]+ = .*))$")
    return "\n".join(line[2:] if setting.match(line) else line for line in example.splitlines()) + "\n"


def test_every_commented_setting_of_the_example_can_be_uncommented_together(tmp_path: Path) -> None:
    text = uncomment_every_setting((ROOT / "config.example.toml").read_text(encoding="utf-8"))
    settings = load_settings(write(tmp_path, text), env={})  # raises on a key twice, or one in the wrong table
    assert [t.name for t in settings.topics] == ["Дороги", "ЖКХ", "Образование", "Здравоохранение", "Благоустройство"]
    assert settings.topic_departments == {"ЖКХ": "zhkh"}
    assert [d.code for d in settings.departments] == ["zhkh", "education"]
    assert [loc.name for loc in settings.locations] == ["с. Ключи", "с. Петухи"]
