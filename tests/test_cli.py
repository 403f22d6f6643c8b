"""The command line as a person or a script uses it: python -m bot …"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", **(env or {})},
        timeout=60,
    )


def test_help_lists_the_commands() -> None:
    out = run("--help").stdout
    for command in ("run", "db", "calendar", "deadline", "check-config"):
        assert command in out


def test_bot_without_token_says_what_is_missing_without_traceback(tmp_path: Path) -> None:
    result = run(env={"OTKLIK_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/x.sqlite3"})
    assert result.returncode == 2
    assert "Не задан токен бота" in result.stderr and "OTKLIK_BOT_TOKEN" in result.stderr
    assert "Traceback" not in result.stderr


def test_wrong_config_names_the_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[organisation]\npreset = "nowhere"\n', encoding="utf-8")
    assert main(["--config", str(path), "calendar", "2026"]) == 2
    assert f"ошибка: {path}: [organisation] preset: неизвестный пресет 'nowhere'" in capsys.readouterr().err


def test_calendar_2026_json_matches_the_production_calendar(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["calendar", "2026", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [m["working_days"] for m in data["months"]] == [15, 19, 21, 22, 19, 21, 23, 21, 22, 22, 20, 22]
    assert data["total"] == {"working_days": 247, "working_hours": 1972}


def test_calendar_text_has_months_and_total(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["calendar", "2025"]) == 0
    out = capsys.readouterr().out
    assert "Май" in out and "Итого" in out and "1972" in out


def test_deadline_plan_for_udmurtia_in_local_time(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["deadline", "--detected", "2026-03-10 10:00", "--preset", "udmurtia", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    due = {d["key"]: d["due"] for d in data["deadlines"]}
    assert due["routing"] == "2026-03-10T11:00:00+04:00"
    assert due["answer"] == "2026-03-12T10:00:00+04:00"  # 2 working days, п. 10
    assert due["draft"] == "2026-03-11T15:00:00+04:00"  # 4 hours before, п. 11
    clauses = {d["key"]: d["clause"] for d in data["deadlines"]}
    assert clauses["answer"] == "п. 10"


def test_deadline_high_importance_text(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["deadline", "--detected", "2026-03-10 10:00", "--preset", "borovichi", "--importance", "high"]) == 0
    out = capsys.readouterr().out
    assert "Размещение ответа" in out and "вт 10.03.2026 15:00" in out
    assert "Проект ответа на согласование" in out and "вт 10.03.2026 12:00" in out


def test_deadline_rejects_a_malformed_moment(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["deadline", "--detected", "10.03.2026 10:00", "--preset", "otradnaya"]) == 2
    assert "ГГГГ-ММ-ДД ЧЧ:ММ" in capsys.readouterr().err  # the CLI speaks the default language, Russian


def test_deadline_names_a_date_that_does_not_exist(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["deadline", "--detected", "2026-02-30 10:00", "--preset", "otradnaya"]) == 2
    err = capsys.readouterr().err
    assert "даты 2026-02-30 не существует" in err and "укажите в виде" not in err
    assert main(["deadline", "--detected", "2026-03-10 24:30", "--preset", "otradnaya"]) == 2
    assert "времени 24:30 не существует" in capsys.readouterr().err


def test_deadline_far_in_the_future_is_a_clear_error_not_a_traceback() -> None:
    result = run("deadline", "--detected", "9999-12-31 10:00", "--preset", "otradnaya")
    assert result.returncode == 2
    assert "год должен быть от 1991 до 2100" in result.stderr
    assert "Traceback" not in result.stderr


def test_udmurtia_two_days_from_13_00_end_at_13_00(capsys: pytest.CaptureFixture[str]) -> None:
    # Удмуртия п. 10 from Tue 16.09.2025 13:00, the end of the morning: 4 h of the day gone, reached again on
    # Thu 18.09 at 13:00 — the moment the draft mark (4 h before, п. 11) already counted back from.
    assert main(["deadline", "--detected", "2025-09-16 13:00", "--preset", "udmurtia", "--json"]) == 0
    due = {d["key"]: d["due"] for d in json.loads(capsys.readouterr().out)["deadlines"]}
    assert due["answer"] == "2025-09-18T13:00:00+04:00"
    assert due["draft"] == "2025-09-18T09:00:00+04:00"


def test_borovichi_final_answer_is_7_working_days_after_a_13_00_answer_deadline(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Боровичи, detected Tue 16.09.2025 13:30 (lunch): 8 W-h from 14:00 → Wed 17.09 13:00 (п. 8); the final
    # answer 7 working days after it (п. 16): Thu 18 … Fri 26.09 at 13:00.
    assert main(["deadline", "--detected", "2025-09-16 13:30", "--preset", "borovichi", "--json"]) == 0
    due = {d["key"]: d["due"] for d in json.loads(capsys.readouterr().out)["deadlines"]}
    assert due["answer"] == "2025-09-17T13:00:00+03:00"
    assert due["final"] == "2025-09-26T13:00:00+03:00"


def test_deadline_uses_the_config_calendar(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "c.toml"
    path.write_text(
        '[organisation]\npreset = "otradnaya"\n[organisation.calendar]\ndays_off = [2026-03-11]\n', encoding="utf-8"
    )
    assert main(["--config", str(path), "deadline", "--detected", "2026-03-10 10:00", "--json"]) == 0
    due = {d["key"]: d["due"] for d in json.loads(capsys.readouterr().out)["deadlines"]}
    assert due["answer"] == "2026-03-12T10:00:00+03:00"  # the local day off is skipped


def test_db_upgrade_creates_the_schema(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/otklik.sqlite3"
    result = run("db", "upgrade", env={"OTKLIK_DATABASE_URL": url})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"База данных создана: {url}"
    import sqlite3

    tables = {r[0] for r in sqlite3.connect(tmp_path / "otklik.sqlite3").execute("select name from sqlite_master")}
    assert {"incidents", "drafts", "events", "outbox", "processed_updates", "alembic_version"} <= tables
    again = run("db", "upgrade", env={"OTKLIK_DATABASE_URL": url})  # idempotent
    assert again.returncode == 0 and again.stdout.strip() == f"База данных в актуальном состоянии: {url}"


def test_db_copy_speaks_the_clis_language(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    source, target = f"sqlite+aiosqlite:///{tmp_path}/a.sqlite3", f"sqlite+aiosqlite:///{tmp_path}/b.sqlite3"
    monkeypatch.setenv("OTKLIK_DATABASE_URL", source)
    assert main(["db", "upgrade"]) == 0
    capsys.readouterr()
    assert main(["db", "copy", "--to", target]) == 0
    out = capsys.readouterr().out
    assert f"Создаётся схема в {target}…" in out and "Скопировано и проверено: строк — " in out
    assert "таблица" in out and "источник" in out and "Ежемесячный отчёт" in out and "одинаков в обеих базах" in out
    assert f"Теперь укажите [database] url (или OTKLIK_DATABASE_URL) = {target} и запустите бот." in out
    assert "Copied" not in out and "Monthly report" not in out
    assert main(["db", "copy", "--to", source, "--locale", "en"]) == 2
    assert capsys.readouterr().err.strip() == "error: --to names the configured database itself"


# --- the domain's refusals, said in the command line's language (Russian unless --locale en) ----------------


def said_both_ways(
    capsys: pytest.CaptureFixture[str], args: list[str], russian: str | tuple[str, ...], english: str | tuple[str, ...]
) -> None:
    """``args`` fail (exit 2) saying every part of ``russian`` on stderr by default, and every part of ``english``
    with ``--locale en`` (and none of the other language's)."""
    ru = (russian,) if isinstance(russian, str) else russian
    en = (english,) if isinstance(english, str) else english
    assert main(args) == 2
    err = capsys.readouterr().err
    assert all(part in err for part in ru) and not any(part in err for part in en), err
    assert main([*args, "--locale", "en"]) == 2
    err = capsys.readouterr().err
    assert all(part in err for part in en) and not any(part in err for part in ru), err


@pytest.mark.parametrize(
    ("body", "russian", "english"),
    [
        (
            '[organisation.overrides]\nrouting = "3x"',
            "overrides.routing: '3x' — не срок: укажите, например, 30m, 1h, 1h30m, 8h или 2d",
            "overrides.routing: '3x' is not a duration: write e.g. 30m, 1h, 1h30m, 8h or 2d",
        ),
        (
            '[organisation.overrides]\nanswer_normal = "1d2h"',
            "overrides.answer_normal: '1d2h' смешивает рабочие дни и часы: используйте одну единицу",
            "overrides.answer_normal: '1d2h' mixes working days and hours: use one unit",
        ),
        (
            '[organisation.overrides]\nmulti_mode = "sometimes"',
            "overrides.multi_mode: 'sometimes' — не одно из значений single, joint_parallel, split, joint_sequential",
            "overrides.multi_mode: 'sometimes' is not one of single, joint_parallel, split, joint_sequential",
        ),
        (
            '[organisation.schedule]\nmonday = ["08:00-12:00", "11:00-12:30"]',
            "рабочие часы пересекаются (monday): 08:00–12:00 и 11:00–12:30",
            "working hours overlap on monday: 08:00–12:00 and 11:00–12:30",
        ),
        (
            '[organisation.schedule]\nhours = "9-18"',
            "hours: '9-18' — не интервал вида 09:00-18:00",
            "hours: '9-18' is not an interval like 09:00-18:00",
        ),
        (
            '[organisation.schedule]\nlunch = "19:00-20:00"',
            "lunch: 19:00-20:00 вне рабочих часов (09:00-18:00): он ничего не вычтет — проверьте оба",
            "lunch: 19:00-20:00 lies outside the working hours (09:00-18:00): it would cut nothing — check both",
        ),
        (
            '[[organisation.calendar.decrees]]\nyear = 2027\nname = "Постановление № 1"\n'
            "transfers = [{ from = 2027-01-04, to = 2027-05-10 }]",
            "2027-01-04 — будний день: постановление переносит выходной с субботы или воскресенья",
            "2027-01-04 is a weekday: a decree moves the day off of a Saturday or Sunday",
        ),
    ],
)
def test_a_config_the_rules_refuse_is_said_in_the_clis_language(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], body: str, russian: str, english: str
) -> None:
    """Preset overrides, the schedule and the decrees are checked by the domain (bot.domain.presets, worktime,
    production_calendar): its words come out in the command line's language too."""
    path = tmp_path / "c.toml"
    path.write_text(f'[organisation]\npreset = "otradnaya"\n{body}\n', encoding="utf-8")
    said_both_ways(capsys, ["--config", str(path), "check-config"], russian, english)


def test_deadline_on_a_calendar_without_working_time_is_said_in_the_clis_language(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[organisation]\npreset = "otradnaya"\n[organisation.schedule]\nworkdays = []\n', encoding="utf-8")
    said_both_ways(
        capsys,
        ["--config", str(path), "deadline", "--detected", "2026-03-10 10:00"],
        (
            "ошибка: --detected '2026-03-10 10:00': в рабочем календаре (Europe/Moscow) нет рабочего времени в "
            "пределах 1098 дней от 20",  # the day the search began
            ": проверьте недельный график и местные выходные",
        ),
        (
            "error: --detected '2026-03-10 10:00': the working calendar (Europe/Moscow) has no working time within "
            "1098 days of 20",
            ": check the weekly schedule and the local days off",
        ),
    )


def test_the_systems_refusals_are_said_in_the_clis_language(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "config.toml"
    folder.mkdir()
    said_both_ways(
        capsys,
        ["--config", str(folder), "check-config"],
        f"ошибка: Файл конфигурации {folder} не читается: это папка",
        f"error: Config file {folder} cannot be read: it is a folder",
    )


def test_db_copy_to_a_relative_sqlite_file_names_it_absolute(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A relative path in --to is taken from the current directory; the advice names it absolute, so the URL put
    in a config file means the same file (there a relative path would mean next to the config)."""
    monkeypatch.setenv("OTKLIK_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path}/a.sqlite3")
    assert main(["db", "upgrade"]) == 0
    monkeypatch.chdir(tmp_path)
    capsys.readouterr()
    assert main(["db", "copy", "--to", "sqlite+aiosqlite:///back.sqlite3", "--locale", "en"]) == 0
    out = capsys.readouterr().out
    absolute = f"sqlite+aiosqlite:///{tmp_path}/back.sqlite3"
    assert (tmp_path / "back.sqlite3").is_file()
    assert f"Now set [database] url (or OTKLIK_DATABASE_URL) to {absolute} and start the bot." in out


def _postgres_answers() -> bool:
    import socket

    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", 5432)) == 0


@pytest.mark.parametrize("command", [["db", "upgrade"], ["report"], ["import", "FILE"], ["restore", "FILE"]])
def test_postgres_failures_at_start_are_one_line(
    command: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The driver not installed, nothing listening, a database not created: one line each, exit 2, for every
    command that opens the database (db copy's target too)."""
    sheet = tmp_path / "in.csv"
    sheet.write_text("Ссылка;Текст\n", encoding="utf-8")
    dump = tmp_path / "x.dump"
    dump.write_bytes(b"PGDMP" + bytes(16))
    argv = [str(sheet) if a == "FILE" and command[0] == "import" else str(dump) if a == "FILE" else a for a in command]
    refused = "postgresql+asyncpg://otklik:secret@127.0.0.1:1/otklik"
    cases = [(refused, "error: the PostgreSQL server at 127.0.0.1:1 does not answer (Connection refused)")]
    if _postgres_answers():
        missing = f"otklik_missing_{tmp_path.name[-12:].lower().replace('-', '_')}"
        cases.append(
            (
                f"postgresql+asyncpg://postgres@127.0.0.1:5432/{missing}",
                f"error: the database {missing} does not exist on the PostgreSQL server at 127.0.0.1:5432: "
                f"create it first, e.g. createdb {missing}",
            )
        )
    for url, said in cases:
        monkeypatch.setenv("OTKLIK_DATABASE_URL", url)
        assert main([*argv, "--locale", "en"]) == 2
        err = capsys.readouterr().err
        assert err.startswith(said) and err.count("\n") == 1 and "secret" not in err
    monkeypatch.setitem(sys.modules, "asyncpg", None)  # as without pip install -e '.[postgres]'
    assert main([*argv, "--locale", "en"]) == 2
    assert capsys.readouterr().err == (
        "error: the PostgreSQL driver (asyncpg) is not installed: run pip install -e '.[postgres]'\n"
    )


def test_db_copy_to_a_postgres_server_that_does_not_answer_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTKLIK_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path}/a.sqlite3")
    assert main(["db", "upgrade"]) == 0
    capsys.readouterr()
    assert main(["db", "copy", "--to", "postgresql+asyncpg://u:secret@127.0.0.1:1/otklik"]) == 2
    assert capsys.readouterr().err == (
        "ошибка: сервер PostgreSQL 127.0.0.1:1 не отвечает (Connection refused): запущен ли он и верен ли адрес "
        "в URL?\n"
    )


def test_check_config_writes_the_decree_lower_case_after_the_colon(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["calendar", "2026"]) == 0
    second = capsys.readouterr().out.splitlines()[1]
    assert second.startswith("Официальный: постановление Правительства"), second


def test_report_names_its_database_and_where_it_wrote(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """JSON on stdout stays JSON (the database is named on stderr); a report written to a file says where."""
    url = f"sqlite+aiosqlite:///{tmp_path}/r.sqlite3"
    monkeypatch.setenv("OTKLIK_DATABASE_URL", url)
    monkeypatch.chdir(tmp_path)
    assert main(["report", "--month", "2026-10", "--format", "json", "--locale", "en"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["month"] == "2026-10"
    assert captured.err == f"Database: {url}\n"
    assert main(["report", "--month", "2026-10", "--format", "json", "--output", "r.json"]) == 0
    assert capsys.readouterr().out == f"База данных: {url}\nОтчёт записан: {tmp_path / 'r.json'}\n"
    assert json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))["month"] == "2026-10"
