"""Set-up exactly as README «Start» writes it (issue 12 §1): the commands, the example config, the database file,
Telegram unreachable at start, directory entries by code, demo data, the files a clone has, the CLI's language."""

from __future__ import annotations

import asyncio
import logging
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import tomllib
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.app import make_services, wait_for_telegram
from bot.cli import main
from bot.config import ConfigError, load_settings
from storage.db import alembic_config, make_engine, make_session_factory, upgrade_async
from storage.directory import DirectoryRepository
from tests.botapi import BotAPIServer

ROOT = Path(__file__).resolve().parent.parent
ENV = {"PATH": "/usr/bin:/bin"}


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def config(tmp_path: Path, body: str, name: str = "config.toml") -> Path:
    """A config on a SQLite file in ``tmp_path``, in English (the tests read English unless they say otherwise)."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'otklik.sqlite3'}"
    return write(tmp_path / name, f'{body}\n[database]\nurl = "{url}"\n[bot]\ndefault_locale = "en"\n')


# --- the command line: --config before or after the command ------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["--config", "{cfg}", "check-config"],
        ["check-config", "--config", "{cfg}"],
        ["check-config", "-c", "{cfg}"],
        ["-c", "{cfg}", "check-config"],
    ],
)
def test_config_is_accepted_before_and_after_the_command(
    tmp_path: Path, args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = config(tmp_path, '[organisation]\nname = "Администрация Ключевского района"\npreset = "kluchi"')
    assert main([a.format(cfg=cfg) for a in args]) == 0
    assert "Organisation: Администрация Ключевского района" in capsys.readouterr().out


def test_config_after_a_nested_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db", "upgrade", "--config", str(config(tmp_path, ""))]) == 0
    assert (tmp_path / "otklik.sqlite3").exists()
    assert f"Database created: sqlite+aiosqlite:///{tmp_path / 'otklik.sqlite3'}" in capsys.readouterr().out


# --- the example config, uncommented as laid out -----------------------------------------------------------


def uncomment_directory(example: str) -> str:
    """The example with its departments, the first topics line and the locations uncommented, as an administrator
    would: every commented line of the «Departments» block and the `topics = [...]` / `locations = ...` lines."""
    out, in_departments = [], False
    for line in example.splitlines():
        if line.startswith("# Departments"):
            in_departments = True
        elif in_departments and not line.startswith("#"):
            in_departments = False
        if in_departments and re.match(r"# (\[\[departments\]\]|code = |name = )", line):
            line = line[2:]
        if re.match(r'# (topics = \["|locations = )', line):
            line = line[2:]
        out.append(line)
    return "\n".join(out) + "\n"


def test_the_example_config_uncommented_as_laid_out_works(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = uncomment_directory((ROOT / "config.example.toml").read_text(encoding="utf-8"))
    data = tomllib.loads(text)
    assert [d["code"] for d in data["departments"]] == ["zhkh", "education"]
    cfg = write(tmp_path / "config.toml", text)
    assert main(["check-config", "-c", str(cfg), "--locale", "en"]) == 0
    out = capsys.readouterr().out
    assert "Departments: 2, topics: 5, locations: 2" in out
    assert "  Department zhkh: Управление ЖКХ" in out and "  Department education: Комитет по образованию" in out
    assert "  Topic dorogi: Дороги" in out and "  Location s-kliuchi: с. Ключи" in out


def test_a_top_level_key_below_a_table_is_named_with_its_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = write(
        tmp_path / "config.toml",
        '[[departments]]\ncode = "zhkh"\nname = "ЖКХ"\n[[departments]]\ncode = "edu"\nname = "Образование"\n'
        'topics = ["Дороги"]\n',
    )
    assert main(["check-config", "-c", str(cfg), "--locale", "en"]) == 2
    err = capsys.readouterr().err
    assert "[[departments]] no. 2 topics: unknown key in the table [[departments]] no. 2" in err
    assert "move topics = … above the first [table] of the file" in err


def test_a_misspelt_key_names_its_table(tmp_path: Path) -> None:
    cfg = write(tmp_path / "config.toml", '[organisation.schedule]\nhourz = "09:00-18:00"\n')
    expected = r"\[organisation\.schedule\] hourz: unknown key in the table \[organisation\.schedule\]"
    with pytest.raises(ConfigError, match=expected):
        load_settings(cfg, env={})


# --- the database file: next to the config, wherever the command runs ---------------------------------------


def test_a_relative_database_path_is_next_to_the_config_from_any_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    etc, elsewhere = tmp_path / "etc", tmp_path / "elsewhere"
    cfg = write(etc / "config.toml", '[organisation]\npreset = "kluchi"\n')
    elsewhere.mkdir()
    first = subprocess.run(
        [sys.executable, "-m", "bot", "--config", str(cfg), "db", "upgrade", "--locale", "en"],
        capture_output=True,
        text=True,
        cwd=elsewhere,
        env=ENV,
        timeout=120,
    )
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == f"Database created: sqlite+aiosqlite:///{etc / 'otklik.sqlite3'}"
    assert (etc / "otklik.sqlite3").exists() and list(elsewhere.iterdir()) == []
    tables = {r[0] for r in sqlite3.connect(etc / "otklik.sqlite3").execute("select name from sqlite_master")}
    assert "incidents" in tables
    monkeypatch.chdir(elsewhere)  # again, in-process: a relative config path, from another directory
    assert main(["db", "upgrade", "-c", "../etc/config.toml"]) == 0
    assert (
        capsys.readouterr().out.strip()
        == f"База данных в актуальном состоянии: sqlite+aiosqlite:///{etc / 'otklik.sqlite3'}"
    )
    assert list(elsewhere.iterdir()) == []


def test_database_paths_absolute_and_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = write(tmp_path / "conf" / "c.toml", '[database]\nurl = "sqlite+aiosqlite:///data/bot.sqlite3"\n')
    assert load_settings(cfg, env={}).database.url == f"sqlite+aiosqlite:///{tmp_path / 'conf/data/bot.sqlite3'}"
    absolute = f"sqlite+aiosqlite:///{tmp_path / 'x.sqlite3'}"
    write(cfg, f'[database]\nurl = "{absolute}"\n')
    assert load_settings(cfg, env={}).database.url == absolute
    monkeypatch.chdir(tmp_path)
    env = {"OTKLIK_DATABASE_URL": "sqlite+aiosqlite:///env.sqlite3"}
    assert load_settings(cfg, env=env).database.url == f"sqlite+aiosqlite:///{tmp_path / 'env.sqlite3'}"
    pg = "postgresql+asyncpg://otklik:secret@127.0.0.1:5432/otklik"
    assert load_settings(None, env={"OTKLIK_DATABASE_URL": pg}).database.url == pg


# --- Telegram unreachable or refusing the token at start -----------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_a_server_error_at_start_is_one_line_and_retried(caplog: pytest.LogCaptureFixture) -> None:
    async with BotAPIServer(bot_username="kluchi_bot") as api:
        api.fail_next("getMe", 502, count=2)
        settings = load_settings(None, env={})
        settings.bot.api_base_url = api.base_url
        with caplog.at_level(logging.WARNING):
            assert await wait_for_telegram(settings, "1:TOKEN", backoff=(0.01, 0.02)) == "kluchi_bot"
    lines = [r for r in caplog.records if r.name == "bot.app"]
    assert [r.getMessage().split(" (")[0] for r in lines] == [
        f"the own Bot API server {api.base_url} answers with a server error"
    ] * 2
    assert all(r.exc_info is None and "\n" not in r.getMessage() for r in caplog.records)


async def test_a_refused_token_is_said_in_the_language_the_command_line_chooses() -> None:
    async with BotAPIServer(token="1:RIGHT") as api:
        settings = load_settings(None, env={})
        settings.bot.api_base_url = api.base_url
        with pytest.raises(ConfigError) as refused:
            await wait_for_telegram(settings, "1:WRONG", backoff=(0.01, 0.02))
    server = f"собственный сервер Bot API {api.base_url}"
    assert refused.value.text("ru").startswith(f"{server}: токен бота отклонён (401/404)")
    assert refused.value.text("en").startswith(f"the own Bot API server {api.base_url} refused the bot token")


async def test_a_wrong_token_stops_the_bot_with_one_line(tmp_path: Path) -> None:
    async with BotAPIServer(token="1:RIGHT") as api:
        cfg_path = write(tmp_path / "config.toml", f'[bot]\napi_base_url = "{api.base_url}"\ndefault_locale = "en"\n')
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "-c",
            str(cfg_path),
            cwd=tmp_path,
            env={**ENV, "OTKLIK_BOT_TOKEN": "1:WRONG"},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        _, err = await asyncio.wait_for(proc.communicate(), 120)
    errors = err.decode().strip().splitlines()
    assert proc.returncode == 2
    assert errors[-1].startswith(f"error: the own Bot API server {api.base_url} refused the bot token (401/404)")
    # Before it, the log of the start (the new database's migrations): one error line, no traceback.
    assert "Traceback" not in err.decode() and [e for e in errors if "error" in e.lower()] == errors[-1:], errors


async def test_an_unreachable_network_is_a_line_per_attempt_until_it_is_back(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there: the own Bot API server is down
    cfg = write(tmp_path / "config.toml", f'[bot]\napi_base_url = "http://127.0.0.1:{port}"\n')
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "-c",
        str(cfg),
        cwd=tmp_path,
        env={**ENV, "OTKLIK_BOT_TOKEN": "1:TOKEN"},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stderr is not None
    lines: list[str] = []
    while sum("does not answer" in line for line in lines) < 2:
        line = (await asyncio.wait_for(proc.stderr.readline(), 120)).decode()
        assert line, lines
        lines.append(line.rstrip("\n"))
    proc.send_signal(signal.SIGINT)
    _, rest = await asyncio.wait_for(proc.communicate(), 60)
    attempts = [line for line in lines if "does not answer" in line]
    assert attempts[0].endswith("; trying again in 1 s") and attempts[1].endswith("; trying again in 2 s")
    assert f"the own Bot API server http://127.0.0.1:{port} does not answer (network: " in attempts[0]
    assert "Traceback" not in "\n".join(lines) + rest.decode() and proc.returncode == 0


@pytest.mark.usefixtures("root_logging")  # the bot's start configures the root logger
async def test_a_database_that_cannot_be_opened_stops_the_start_before_telegram_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTKLIK_BOT_TOKEN", "1:TOKEN")
    url = f"sqlite+aiosqlite:///{write(tmp_path / 'otklik.sqlite3', 'not a database, a note left here')}"
    monkeypatch.setenv("OTKLIK_DATABASE_URL", url)
    async with BotAPIServer() as api:
        cfg = write(tmp_path / "config.toml", f'[bot]\napi_base_url = "{api.base_url}"\n')
        for locale, said in (
            ("en", f"error: the database {url} cannot be opened: file is not a database"),
            ("ru", f"ошибка: базу данных {url} не удаётся открыть: file is not a database"),
        ):
            # The start runs in a thread of its own (its own event loop); the stand-in answers in this one.
            code = await asyncio.wait_for(asyncio.to_thread(main, ["-c", str(cfg), "--locale", locale]), 60)
            errors = [line for line in capsys.readouterr().err.splitlines() if " INFO " not in line]
            assert code == 2
            assert errors == [said]
        assert api.calls("getMe") == []  # Telegram was not asked: the database is checked first


async def test_a_postgres_server_that_does_not_answer_stops_the_start_with_the_commands_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bot's start says PostgreSQL's known failures as every database command does (bot.db_errors)."""
    monkeypatch.setenv("OTKLIK_BOT_TOKEN", "1:TOKEN")
    monkeypatch.setenv("OTKLIK_DATABASE_URL", "postgresql+asyncpg://otklik:secret@127.0.0.1:1/otklik")
    async with BotAPIServer() as api:
        cfg = write(tmp_path / "config.toml", f'[bot]\napi_base_url = "{api.base_url}"\n')
        code = await asyncio.wait_for(asyncio.to_thread(main, ["-c", str(cfg), "--locale", "en"]), 60)
        errors = [line for line in capsys.readouterr().err.splitlines() if " INFO " not in line]
        assert code == 2
        assert errors == [
            "error: the PostgreSQL server at 127.0.0.1:1 does not answer (Connection refused): is it running, and "
            "is the address in the URL right?"
        ]
        assert api.calls("getMe") == []


# --- departments, topics and locations by code --------------------------------------------------------------

DIRECTORY = """
topics = ["Дороги", { code = "zhkh", name = "ЖКХ" }]
locations = ["с. Ключи", "с. Петухи"]
[[departments]]
code = "zhkh"
name = "Управление ЖКХ"
[[departments]]
code = "roads"
name = "Комитет по дорогам"
[[departments]]
code = "edu"
name = "Комитет по образованию"
"""


async def directory_of(cfg: Path) -> tuple[list[tuple[str, str, bool, int]], list[tuple[str, str, bool]]]:
    """Seed the database of ``cfg`` as the bot does at start; the departments (code, name, active, id) and the
    topics (code, name, active), by code."""
    settings = load_settings(cfg, env={})
    engine = make_engine(settings.database.url)
    try:
        await upgrade_async(engine)
        services = make_services(settings, engine)
        await services.seed(settings)
        async with services.sessions() as session:
            repo = DirectoryRepository(session)
            departments = sorted(
                (d.code, d.name, d.is_active, d.id) for d in await repo.list_departments(active_only=False)
            )
            topics = sorted((t.code, t.name, t.is_active) for t in await repo.list_topics(active_only=False))
    finally:
        await engine.dispose()
    return departments, topics


async def test_a_renamed_department_is_the_same_row_and_a_removed_one_is_deactivated(tmp_path: Path) -> None:
    cfg = config(tmp_path, DIRECTORY)
    before, topics = await directory_of(cfg)
    assert [(code, name, active) for code, name, active, _ in before] == [
        ("edu", "Комитет по образованию", True),
        ("roads", "Комитет по дорогам", True),
        ("zhkh", "Управление ЖКХ", True),
    ]
    assert topics == [("dorogi", "Дороги", True), ("zhkh", "ЖКХ", True)]
    renamed = (
        DIRECTORY.replace("Управление ЖКХ", "Управление ЖКХ и благоустройства")
        .replace('[[departments]]\ncode = "edu"\nname = "Комитет по образованию"\n', "")
        .replace('"Дороги"', '"Дороги и мосты"')
    )
    after, topics = await directory_of(config(tmp_path, renamed, name="renamed.toml"))
    ids = {code: row_id for code, _, _, row_id in before}
    assert after == [
        ("edu", "Комитет по образованию", False, ids["edu"]),
        ("roads", "Комитет по дорогам", True, ids["roads"]),
        ("zhkh", "Управление ЖКХ и благоустройства", True, ids["zhkh"]),  # renamed: the same row, one active
    ]
    # A bare topic name is its own code: a new name is a new topic, the old one deactivated.
    assert topics == [("dorogi", "Дороги", False), ("dorogi-i-mosty", "Дороги и мосты", True), ("zhkh", "ЖКХ", True)]
    back, _ = await directory_of(cfg)  # the department back in the config: active again, its old row
    assert ("edu", "Комитет по образованию", True, ids["edu"]) in back


async def test_rows_from_before_codes_get_codes_and_take_the_configs_at_start(tmp_path: Path) -> None:
    from alembic import command

    url = f"sqlite+aiosqlite:///{tmp_path / 'otklik.sqlite3'}"
    await asyncio.to_thread(command.upgrade, alembic_config(url), "0010")
    engine = make_engine(url)
    try:
        async with make_session_factory(engine)() as session, session.begin():
            for name in ("Управление ЖКХ", "Управление  ЖКХ!", "Отдел образования"):
                await session.execute(sa.text("INSERT INTO departments (name) VALUES (:n)"), {"n": name})
    finally:
        await engine.dispose()
    await upgrade_async(url)
    engine = make_engine(url)
    try:
        async with make_session_factory(engine)() as session:
            codes = (await session.execute(sa.text("SELECT name, code FROM departments ORDER BY id"))).all()
    finally:
        await engine.dispose()
    assert [tuple(row) for row in codes] == [
        ("Управление ЖКХ", "upravlenie-zhkkh"),
        ("Управление  ЖКХ!", "upravlenie-zhkkh-2"),
        ("Отдел образования", "otdel-obrazovaniia"),
    ]
    departments, _ = await directory_of(config(tmp_path, DIRECTORY))
    assert [(code, name, active) for code, name, active, _ in departments] == [
        ("edu", "Комитет по образованию", True),
        ("otdel-obrazovaniia", "Отдел образования", False),
        ("roads", "Комитет по дорогам", True),
        ("upravlenie-zhkkh-2", "Управление  ЖКХ!", False),
        ("zhkh", "Управление ЖКХ", True),  # matched by name: the config's code, the same row
    ]


def test_report_and_check_config_take_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = config(tmp_path, DIRECTORY)
    assert main(["-c", str(cfg), "report", "--month", "2026-01", "--department", "roads", "--format", "json"]) == 0
    assert '"department_id"' in capsys.readouterr().out
    assert main(["-c", str(cfg), "report", "--month", "2026-01", "--department", "zhkx"]) == 2
    err = capsys.readouterr().err
    assert "error: --department zhkx: no department has this code (known: edu, roads, zhkh)" in err
    assert "invalid int value" not in err
    assert main(["-c", str(cfg), "check-config"]) == 0
    out = capsys.readouterr().out
    assert "  Department roads: Комитет по дорогам" in out and "  Topic zhkh: ЖКХ" in out


def test_two_entries_with_one_code_are_refused(tmp_path: Path) -> None:
    cfg = write(tmp_path / "c.toml", 'topics = ["ЖКХ", { code = "zhkkh", name = "Жилищное хозяйство" }]\n')
    with pytest.raises(ConfigError, match="topics: 'ЖКХ' and 'Жилищное хозяйство' share the code 'zhkkh'"):
        load_settings(cfg, env={})


# --- demo data on the configured directory -------------------------------------------------------------------


def test_demo_data_uses_the_configured_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = config(tmp_path, DIRECTORY + '[organisation]\npreset = "kluchi"\n')
    assert main(["-c", str(cfg), "demo-data", "--incidents", "12", "--months", "2"]) == 0
    assert "Demo data uses the configured directory: 3 departments, 2 topics, 2 locations" in capsys.readouterr().out
    db = sqlite3.connect(tmp_path / "otklik.sqlite3")
    names = {r[0] for r in db.execute("SELECT name FROM departments")}
    assert names == {"Управление ЖКХ", "Комитет по дорогам", "Комитет по образованию"}
    assert {r[0] for r in db.execute("SELECT name FROM locations")} == {"с. Ключи", "с. Петухи"}
    routed = {
        r[0]
        for r in db.execute("SELECT DISTINCT d.name FROM assignments a JOIN departments d ON d.id = a.department_id")
    }
    assert routed and routed <= names


def test_demo_data_never_adds_its_organisation_to_a_database_with_departments(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    asyncio.run(directory_of(config(tmp_path, DIRECTORY)))  # a Ключи database
    bare = config(tmp_path, "", name="bare.toml")
    assert main(["-c", str(bare), "demo-data", "--incidents", "5", "--months", "1"]) == 2
    assert "the config names no departments, but the database has some (edu, roads, zhkh)" in capsys.readouterr().err
    db = sqlite3.connect(tmp_path / "otklik.sqlite3")
    assert db.execute("SELECT count(*) FROM incidents").fetchone() == (0,)
    assert "ст. Отрадная" not in {r[0] for r in db.execute("SELECT name FROM locations")}


# --- what a clone holds ------------------------------------------------------------------------------------------


def test_the_config_is_ignored_by_git_and_readme_links_stay_in_the_repository() -> None:
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", "config.toml"], cwd=ROOT, env=ENV, capture_output=True, timeout=30
    )
    assert ignored.returncode == 0, "config.toml (it may hold the token) must be in .gitignore"
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "../shared/SPEC.md" not in readme and "../shared/seeds" not in readme
    assert "## Regulation in brief" in readme


# --- the command line's language -----------------------------------------------------------------------------


def test_the_cli_speaks_the_configured_language_and_locale_chooses(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    russian = write(tmp_path / "ru.toml", '[organisation]\nname = "Администрация"\n')
    assert main(["check-config", "-c", str(russian)]) == 0
    out = capsys.readouterr().out
    assert "Организация: Администрация" in out and "Токен бота: НЕ ЗАДАН" in out
    assert main(["check-config", "-c", str(russian), "--locale", "en"]) == 0
    assert "Organisation: Администрация" in capsys.readouterr().out
    assert main(["-c", str(russian), "import", str(tmp_path / "нет.csv")]) == 2
    assert capsys.readouterr().err.strip() == f"ошибка: {tmp_path / 'нет.csv'}: файл не найден"
    assert main(["--locale", "en", "-c", str(russian), "import", str(tmp_path / "none.csv")]) == 2
    assert capsys.readouterr().err.strip() == f"error: {tmp_path / 'none.csv'}: no such file"


def test_usage_help_and_argparse_errors_speak_the_clis_language(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as done:
        main(["check-config", "--config", "x.toml", "--nonsense"])
    assert done.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("использование: python -m bot") and "ошибка: нераспознанные аргументы: --nonsense" in err
    with pytest.raises(SystemExit):
        main(["deadline", "--detected", "2026-03-10 10:00", "--importance", "urgent"])
    err = capsys.readouterr().err
    assert "аргумент --importance: недопустимое значение: 'urgent' (возможны: 'normal', 'high')" in err
    with pytest.raises(SystemExit):
        main(["--locale", "en", "calendar"])
    assert "error: the following arguments are required: year" in capsys.readouterr().err
    english = write(tmp_path / "en.toml", '[bot]\ndefault_locale = "en"\n')
    with pytest.raises(SystemExit):
        main(["-c", str(english), "report", "--format", "pdf"])  # the config's language, before it is validated
    assert "argument --format: invalid choice: 'pdf'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as done:
        main(["backup", "--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert "показать эту справку и выйти" in out and "куда записать" in out and "show this help" not in out


def test_a_bad_config_is_one_line_per_problem_in_the_configured_language(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = write(tmp_path / "bad.toml", '[bot]\nupdate_concurrency = "abc"\n[delivery]\nmax_attempts = 0\n')
    assert main(["check-config", "-c", str(bad)]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f'ошибка: {bad}: [bot] update_concurrency: нужно целое число от 1 до 256, получено "abc"',
        f"ошибка: {bad}: [delivery] max_attempts: нужно целое число от 1 до 100, получено 0",
    ]
    english = write(tmp_path / "en.toml", '[bot]\ndefault_locale = "en"\nwebhook_port = "x"\n')
    assert main(["check-config", "-c", str(english)]) == 2
    assert capsys.readouterr().err.strip() == (
        f'error: {english}: [bot] webhook_port: must be a whole number from 1 to 65535, got "x"'
    )


def test_the_missing_token_is_said_in_the_clis_language(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OTKLIK_BOT_TOKEN", raising=False)
    monkeypatch.delenv("OTKLIK_CONFIG", raising=False)
    monkeypatch.setenv("OTKLIK_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'x.sqlite3'}")
    assert main([]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ошибка: Не задан токен бота. Получите его у @BotFather") and "OTKLIK_BOT_TOKEN" in err
    assert main(["--locale", "en"]) == 2
    assert capsys.readouterr().err.startswith("error: The bot token is missing.")


@pytest.mark.parametrize(
    ("args", "russian", "english"),
    [
        (
            ["deadline", "--detected", "2026-03-10 10:00", "--preset", "borovichi"],
            ["Выявлено: 10.03.2026 10:00 (Europe/Moscow), важность: обычная", "Размещение ответа", "ср 11.03.2026"],
            ["Detected: 10.03.2026 10:00 (Europe/Moscow), importance: normal", "Answer published", "Wed 11.03.2026"],
        ),
        (
            ["check-draft", "--text", "Проблема будет решена."],
            ["Замечаний: 2", "⚠ Нет срока решения"],
            ["Remarks: 2", "⚠ No date for the solution"],
        ),
        (
            ["check-draft", "--text", "Яма на ул. Ленина заделана 12.03.2026, фото приложено.", "--attachments", "1"],
            ["Замечаний нет."],
            ["No remarks."],
        ),
        (
            ["calendar", "2026"],
            ["Производственный календарь 2026", "Месяц", "Январь", "Итого", "Официальный: постановление"],
            ["Production calendar 2026", "Month", "January", "Total", "Official: постановление"],
        ),
    ],
)
def test_commands_follow_locale(
    args: list[str], russian: list[str], english: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(args) == 0
    out = capsys.readouterr().out
    assert all(text in out for text in russian), out
    assert not any(text in out for text in english)
    assert main([*args, "--locale", "en"]) == 0
    out = capsys.readouterr().out
    assert all(text in out for text in english), out
    assert not any(text in out for text in russian)


def test_check_config_warns_when_no_administrator_is_configured(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    nobody = config(tmp_path, "[people]\ncurators = [100]", name="nobody.toml")
    assert main(["check-config", "-c", str(nobody)]) == 0
    out = capsys.readouterr().out
    assert "Warning: no administrators in [people] admins" in out and "@userinfobot" in out
    admin = config(tmp_path, "[people]\nadmins = [100]", name="admin.toml")
    assert main(["check-config", "-c", str(admin)]) == 0
    assert "no administrators" not in capsys.readouterr().out


def test_a_report_of_a_month_not_begun_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = config(tmp_path, DIRECTORY)
    assert main(["-c", str(cfg), "report", "--month", "2099-01"]) == 0
    out = capsys.readouterr().out
    assert "The month has not begun yet: there are no figures for it." in out
    assert "The month is not over" not in out and "No incidents this month" not in out
    assert main(["-c", str(cfg), "report", "--month", "2099-01", "--locale", "ru"]) == 0
    assert "Месяц ещё не начался: данных за него нет." in capsys.readouterr().out
    assert main(["-c", str(cfg), "report", "--month", "2026-13"]) == 2
    assert "error: --month '2026-13': write it as YYYY-MM, e.g. 2026-03" in capsys.readouterr().err


def test_demo_data_refuses_a_database_with_real_incidents_unless_forced(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = config(tmp_path, DIRECTORY + "[people]\ncurators = [100]\n[intake]\nmax_age_days = 3650\n")
    # Two months: near the start of a month (at midnight in Moscow) the current one has no past to fill yet.
    assert main(["-c", str(cfg), "demo-data", "--incidents", "3", "--months", "2"]) == 0
    assert main(["-c", str(cfg), "demo-data", "--incidents", "3", "--months", "2", "--seed", "2"]) == 0  # demo only
    printed = capsys.readouterr().out
    db = sqlite3.connect(tmp_path / "otklik.sqlite3")
    demo = db.execute("SELECT count(*) FROM incidents").fetchone()[0]
    said = sum(int(n) for n in re.findall(r"Demo data: (\d+) incidents? in", printed))
    assert demo == said > 0  # what it says it made is what is there
    detected = f"{datetime.now() - timedelta(days=2):%d.%m.%Y} 10:30"
    row = f"https://vk.com/wall-1_77;Яма у школы;{detected}"
    sheet = write(tmp_path / "real.csv", f"Ссылка;Текст;Дата выявления\n{row}\n")
    assert main(["-c", str(cfg), "import", str(sheet)]) == 0
    capsys.readouterr()
    assert main(["-c", str(cfg), "demo-data", "--incidents", "3", "--months", "2", "--seed", "3"]) == 2
    err = capsys.readouterr().err
    assert "holds real incidents (1), not made by demo-data" in err and "Nothing was added" in err
    assert "--force" in err
    assert db.execute("SELECT count(*) FROM incidents").fetchone()[0] == demo + 1
    assert main(["-c", str(cfg), "--locale", "ru", "demo-data", "--incidents", "3", "--seed", "3"]) == 2
    assert "есть настоящие инциденты (1), сделанные не demo-data" in capsys.readouterr().err
    assert main(["-c", str(cfg), "demo-data", "--incidents", "3", "--months", "2", "--seed", "3", "--force"]) == 0
    assert db.execute("SELECT count(*) FROM incidents").fetchone()[0] > demo + 1


def test_import_row_problems_speak_the_clis_language(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = config(tmp_path, DIRECTORY + "[people]\ncurators = [100]\n")
    sheet = write(tmp_path / "rows.csv", "Ссылка;Текст;Тема;Дата выявления\nhttps://vk.com/wall-1_5;Яма;Погода;вчера\n")
    assert main(["-c", str(cfg), "--locale", "ru", "import", str(sheet)]) == 2
    out = capsys.readouterr().out
    assert "неизвестная тема «Погода» (известны: Дороги, ЖКХ)" in out and "«вчера» — не момент выявления" in out
    assert "unknown" not in out
    assert main(["-c", str(cfg), "import", str(sheet)]) == 2
    assert "unknown topic «Погода» (known: Дороги, ЖКХ)" in capsys.readouterr().out


def test_an_unusable_link_in_an_import_is_said_in_the_clis_language(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'otklik.sqlite3'}"
    cfg = write(tmp_path / "ru.toml", f'{DIRECTORY}[people]\ncurators = [100]\n[database]\nurl = "{url}"\n')
    sheet = write(tmp_path / "rows.csv", "Ссылка;Текст\nftp://example.org/x;Яма\nhttps://vk.com/wall-1 _5;Лужа\n")
    scheme = (
        "ссылка на пост: «ftp://example.org/x» — не веб-ссылка: ссылка на пост начинается с https:// или http://",
        "the post's link: «ftp://example.org/x» is not a web link: a post's link starts with https:// or http://",
    )
    spaces = (
        "ссылка на пост: в ссылке пробелы, переносы строк или управляющие символы: отправьте одну ссылку без пробелов",
        "the post's link: the link contains spaces, line breaks or control characters: send one link, without spaces",
    )
    assert main(["-c", str(cfg), "import", str(sheet)]) == 2
    out = capsys.readouterr().out.replace(str(tmp_path), "")  # the database line names the test's folder
    assert scheme[0] in out and spaces[0] in out and "link" not in out, out
    assert main(["-c", str(cfg), "import", str(sheet), "--locale", "en"]) == 2
    out = capsys.readouterr().out.replace(str(tmp_path), "")
    assert scheme[1] in out and spaces[1] in out and "ссылк" not in out, out
