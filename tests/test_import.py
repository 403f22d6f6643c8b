"""python -m bot import FILE: a monitoring export or an old spreadsheet becomes incidents, the same way a
forwarded post does, in one transaction; a bad file registers nothing and says what is wrong, row by row;
one post is registered once, also when two imports of one file run at once."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from openpyxl import Workbook
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import make_services
from bot.cli import main
from bot.config import Settings
from bot.domain.clock import ManualClock
from bot.domain.errors import InvalidInput
from bot.domain.incident import DeadlineKind, Importance, Incident, Kind, Network, State
from bot.importing import import_rows
from bot.intake_rules import Context, check
from bot.services import Person, Services
from storage.db import make_engine, make_session_factory, upgrade_async
from storage.incidents import IncidentRepository
from tests.conftest import MigratedDatabase

MSK = ZoneInfo("Europe/Moscow")
HEADER = "Ссылка;Текст;Автор;Дата выявления;Тема;Важность;Территория;Охват"
ROWS = [
    "https://vk.com/wall-1_1;Яма на дороге у школы;Иван Петров;24.11.2026 10:30;Дороги;;с. Ключи;1200",
    "https://t.me/news/55;Третий день не вывозят мусор;;24.11.2026 11:00;ЖКХ;высокая;;300",
    ";Жалоба из таблицы, без ссылки;Мария;24.11.2026 12:00;Дороги, ЖКХ;;;",
]


def config(tmp_path: Path, url: str | None = None) -> Path:
    """A config for the import, on ``url`` (default: a SQLite file in ``tmp_path``)."""
    path = tmp_path / "config.toml"
    url = url or f"sqlite+aiosqlite:///{tmp_path / 'otklik.sqlite3'}"
    path.write_text(
        'topics = ["Дороги", "ЖКХ"]\nlocations = ["с. Ключи"]\n'
        f'[database]\nurl = "{url}"\n'
        '[organisation]\npreset = "otradnaya"\n[people]\ncurators = [100]\nheads = [400]\n'
        "[intake]\nmax_age_days = 3650\n"  # the rows below are dated: keep them importable as the years pass
        '[bot]\ndefault_locale = "en"\n'  # the import speaks the configured language; these tests read English
        '[[departments]]\ncode = "zhkh"\nname = "Управление ЖКХ"\n',
        encoding="utf-8",
    )
    return path


def stored(tmp_path: Path) -> list[Incident]:
    async def load() -> list[Incident]:
        engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'otklik.sqlite3'}")
        try:
            async with make_session_factory(engine)() as session:
                repo = IncidentRepository(session)
                found, _ = await repo.search(limit=100)
                return sorted(found, key=lambda i: i.id or 0)
        finally:
            await engine.dispose()

    return asyncio.run(load())


def test_a_windows_1251_csv_becomes_incidents_and_a_second_run_adds_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = config(tmp_path)
    sheet = tmp_path / "выгрузка.csv"
    sheet.write_bytes("\r\n".join([HEADER, *ROWS]).encode("cp1251"))  # as Excel saves a CSV in Russia

    assert main(["--config", str(cfg), "import", str(sheet), "--dry-run"]) == 0
    assert "3 rows can be registered (dry run: nothing was)." in capsys.readouterr().out
    assert stored(tmp_path) == []

    assert main(["--config", str(cfg), "import", str(sheet)]) == 0
    out = capsys.readouterr().out
    assert "Columns not used: Охват" in out and "Registered 3 incidents: No. 1–3." in out
    pothole, garbage, no_link = stored(tmp_path)
    assert (pothole.network, pothole.sources[0].author, pothole.state) == (Network.vk, "Иван Петров", State.detected)
    assert pothole.detected_at == datetime(2026, 11, 24, 10, 30, tzinfo=MSK)
    assert pothole.location_id is not None and len(pothole.topic_ids) == 1
    # Otradnaya: 8 working hours from Tue 24.11 10:30 — 6.5 h that day, 1.5 h the next morning.
    assert pothole.deadlines[DeadlineKind.answer] == datetime(2026, 11, 25, 10, 30, tzinfo=MSK)
    assert (garbage.network, garbage.importance) == (Network.telegram, Importance.high)
    assert garbage.deadlines[DeadlineKind.answer] == datetime(2026, 11, 24, 16, 0, tzinfo=MSK)  # 4 working hours
    assert (no_link.sources[0].url, no_link.network, len(no_link.topic_ids)) == (None, Network.other, 2)

    # The same file again (say, after an interruption, or with rows appended): nothing twice.
    assert main(["--config", str(cfg), "import", str(sheet)]) == 0
    out = capsys.readouterr().out
    assert "Registered 0 incidents." in out and "Already registered, skipped: 3 rows (2–4)." in out
    assert len(stored(tmp_path)) == 3


def test_an_import_that_loses_every_race_for_a_post_says_so_in_one_line_and_saves_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another path registered one of the file's posts between the import's look and its write, at every attempt
    (a race SQLite's one writer never lets happen, PostgreSQL may): one line saying to run the import again, not a
    traceback, and none of the file's other posts saved; the next run registers them and skips that one."""
    from storage.posts import PostRepository

    cfg = config(tmp_path)
    first, sheet = tmp_path / "first.csv", tmp_path / "export.csv"
    first.write_text("\n".join([HEADER, ROWS[0]]), encoding="utf-8")
    sheet.write_text("\n".join([HEADER, *ROWS]), encoding="utf-8")
    assert main(["--config", str(cfg), "import", str(first)]) == 0  # the other path: the pothole is No. 1
    capsys.readouterr()

    async def looked_a_moment_before(self: PostRepository, keys: object) -> dict[str, int]:
        return {}  # as the import saw the posts before the other path's commit

    with monkeypatch.context() as patched:
        patched.setattr(PostRepository, "registered", looked_a_moment_before)
        assert main(["--config", str(cfg), "import", str(sheet)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "at the same time, 3 times in a row; nothing was saved: run the import again" in err
    assert [i.id for i in stored(tmp_path)] == [1]

    assert main(["--config", str(cfg), "import", str(sheet)]) == 0
    out = capsys.readouterr().out
    assert "Registered 2 incidents: No. 2–3." in out and "Already registered, skipped: 1 row (2)." in out


def test_an_xlsx_with_date_cells_and_english_headers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["URL", "Text", "Network", "Detected", "Kind", "Importance"])
    first, second = datetime(2026, 11, 23, 9, 15), datetime(2026, 11, 23, 9, 45)  # Excel cells: naive, local
    sheet.append(["https://example.org/news/1", "Пост администрации", "сайт", first, "публикация", "обычная"])
    sheet.append([None, "Сообщение из мессенджера", "мессенджер", second, None, None])
    workbook.save(tmp_path / "monitoring.xlsx")

    assert main(["--config", str(config(tmp_path)), "import", str(tmp_path / "monitoring.xlsx")]) == 0
    assert "Registered 2 incidents: No. 1–2." in capsys.readouterr().out
    post, chat = stored(tmp_path)
    assert (post.network, post.kind) == (Network.site, Kind.publication)
    assert post.detected_at == datetime(2026, 11, 23, 9, 15, tzinfo=MSK)
    assert (chat.network, chat.kind) == (Network.messenger, Kind.incident)


def test_one_bad_row_and_nothing_is_registered_with_every_problem_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [
        ROWS[0],
        "https://vk.com/wall-1_2;Текст;;25.13.2026 10:00;Дорги;срочно;;",
        ";;;24.11.2026;;;;",
        "https://vk.com/wall-1_3;Из будущего;;01.01.2099 10:00;;;;",
        "https://vk.com/wall-1_4;Где это?;;24.11.2026 10:00;;;Петухи;",
    ]
    sheet = tmp_path / "bad.csv"
    sheet.write_text("\n".join([HEADER, *rows]), encoding="utf-8")
    assert main(["--config", str(config(tmp_path)), "import", str(sheet)]) == 2
    out = capsys.readouterr().out
    assert "Nothing was registered: 4 of 5 rows cannot be." in out
    assert "row 3: «25.13.2026 10:00» is not a moment of detection" in out
    assert "unknown importance «срочно»" in out and "unknown topic «Дорги» (known: Дороги, ЖКХ)" in out
    assert "row 4: neither a link nor a text; the moment of detection needs a time too" in out
    assert "row 5: the moment of detection is in the future" in out
    assert "row 6: unknown location «Петухи»" in out
    assert stored(tmp_path) == []


def test_files_that_cannot_be_read_and_a_registrar_who_is_not_a_curator(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = config(tmp_path)
    cases = {
        "notes.txt": ("Заметки без колонок\nещё строка", "no column with the link or the text"),
        "report.pdf": ("%PDF-1.4", "expected a .csv or .xlsx file"),
        "broken.xlsx": ("not a zip at all", "not a readable XLSX workbook"),
        "empty.csv": ("\n\n", "the file is empty"),
    }
    for name, (content, message) in cases.items():
        (tmp_path / name).write_text(content, encoding="utf-8")
        assert main(["--config", str(cfg), "import", str(tmp_path / name)]) == 2
        assert message in capsys.readouterr().err, name
    assert main(["--config", str(cfg), "import", str(tmp_path / "missing.csv")]) == 2
    assert "no such file" in capsys.readouterr().err

    sheet = tmp_path / "ok.csv"
    sheet.write_text("\n".join([HEADER, ROWS[0]]), encoding="utf-8")
    assert main(["--config", str(cfg), "import", str(sheet), "--curator", "400"]) == 2  # the head
    assert "not a curator" in capsys.readouterr().err
    assert stored(tmp_path) == []


# --- one transaction, one post once ---------------------------------------------------------------


def rows_file(tmp_path: Path, name: str, count: int, *, link: str = "https://vk.com/wall-7_{n}") -> Path:
    sheet = tmp_path / name
    lines = [HEADER] + [
        f"{link.format(n=n)};Пост {n} о дорогах;Автор {n};24.11.2026 10:30;Дороги;;;" for n in range(count)
    ]
    sheet.write_text("\n".join(lines), encoding="utf-8")
    return sheet


def test_a_300_character_author_is_named_before_anything_is_registered(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """On PostgreSQL the dry run passed and the real import committed rows 1–2, then crashed on
    varchar(255): the one validator now carries the schema's limits, for the dry run too."""
    cfg = config(tmp_path)
    sheet = tmp_path / "authors.csv"
    sheet.write_text("\n".join([HEADER, ROWS[0], ROWS[1], f"https://vk.com/wall-1_3;Текст;{'А' * 300};;;;;"]), "utf-8")
    for extra in (["--dry-run"], []):
        assert main(["--config", str(cfg), "import", str(sheet), *extra]) == 2
        out = capsys.readouterr().out
        assert "row 4: the author's name is longer than 255 characters" in out
    assert stored(tmp_path) == []


def test_the_same_post_in_other_link_forms_is_registered_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = config(tmp_path)
    first = tmp_path / "first.csv"
    first.write_text("\n".join([HEADER, "https://vk.com/wall-123_456?reply=789;Яма;;24.11.2026 10:30;;;;"]), "utf-8")
    assert main(["--config", str(cfg), "import", str(first)]) == 0
    forms = [
        "https://m.vk.com/wall-123_456?reply=789",
        "https://vk.ru/wall-123_456?reply=789",
        "https://vk.com/wall-123_456?reply=789&utm_source=tg",
        "http://vk.com/wall-123_456/?reply=789",
    ]
    again = tmp_path / "again.csv"
    again.write_text("\n".join([HEADER, *(f"{u};Яма;;24.11.2026 10:30;;;;" for u in forms)]), "utf-8")
    capsys.readouterr()
    assert main(["--config", str(cfg), "import", str(again)]) == 0
    out = capsys.readouterr().out
    assert "Registered 0 incidents." in out and "Already registered, skipped: 4 rows (2–5)." in out
    assert len(stored(tmp_path)) == 1


def test_a_network_contradicting_the_link_and_a_bad_link_are_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sheet = tmp_path / "networks.csv"
    sheet.write_text(
        "\n".join(
            [
                "Ссылка;Текст;Сеть;Дата выявления",
                "https://vk.com/wall-1_88;Яма;ок;24.11.2026 10:30",
                "ftp://vk.com/wall-1_89;Яма;;24.11.2026 10:30",
                ";Пост в Дзене;дзен;24.11.2026 10:30",
                ";Старая жалоба;;01.01.1999 10:00",
            ]
        ),
        "utf-8",
    )
    assert main(["--config", str(config(tmp_path)), "import", str(sheet)]) == 2
    out = capsys.readouterr().out
    assert "row 2: the link is a vk link, not ok" in out
    assert "row 3: the post's link: «ftp://vk.com/wall-1_89» is not a web link" in out
    assert "row 4" not in out
    assert "row 5: the moment of detection is more than 3650 days ago" in out


def test_a_csv_field_over_131072_characters_is_a_row_problem_not_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sheet = tmp_path / "long.csv"
    sheet.write_text("\n".join([HEADER, f"https://vk.com/wall-1_1;{'я' * 140_000};;24.11.2026 10:30;;;;"]), "utf-8")
    assert main(["--config", str(config(tmp_path)), "import", str(sheet)]) == 2
    captured = capsys.readouterr()
    assert "row 2: the text is longer than 50 000 characters" in captured.out
    assert "Traceback" not in captured.err and "_csv.Error" not in captured.err


def test_over_10000_rows_is_refused_with_the_limit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sheet = rows_file(tmp_path, "huge.csv", 10_001)
    assert main(["--config", str(config(tmp_path)), "import", str(sheet)]) == 2
    assert "over 10000 rows; split the file" in capsys.readouterr().err


def test_progress_as_lines_in_a_log_and_a_summary_not_a_line_per_row(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sheet = rows_file(tmp_path, "many.csv", 25)
    assert main(["--config", str(config(tmp_path)), "import", str(sheet)]) == 0
    lines = capsys.readouterr().out.splitlines()
    progress = [line for line in lines if line.startswith("Registering:")]
    assert progress[-1] == "Registering: 25 of 25 rows" and len(progress) <= 10
    assert lines[-1] == "Registered 25 incidents: No. 1–25."
    assert not any(line.strip().startswith("row ") for line in lines)


def test_many_bad_rows_print_the_first_hundred_and_count_the_rest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sheet = rows_file(tmp_path, "bad.csv", 150, link="ftp://vk.com/wall-7_{n}")
    assert main(["--config", str(config(tmp_path)), "import", str(sheet)]) == 2
    out = capsys.readouterr().out
    assert "Nothing was registered: 150 of 150 rows cannot be." in out
    assert sum(line.startswith("  row ") for line in out.splitlines()) == 100
    assert "… and 50 more rows: url: link_scheme ×50" in out


def test_a_progress_bar_on_a_terminal() -> None:
    import io

    from bot.cli import _Progress

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    screen = Terminal()
    progress = _Progress(200, screen)
    for n in range(1, 201):
        progress(n)
    progress.finish()
    drawn = screen.getvalue()
    assert drawn.count("\r") == 101  # redrawn in place once per percent, 0 to 100
    assert drawn.endswith(f"\rRegistering [{'#' * 25}] 200/200\n")


def test_two_imports_of_one_file_at_once_register_each_post_once(tmp_path: Path) -> None:
    """Two `python -m bot import big.csv` at once gave 711 duplicates of 10,000 rows."""
    import subprocess
    import sys

    cfg = config(tmp_path)
    sheet = rows_file(tmp_path, "big.csv", 300)
    assert main(["--config", str(cfg), "db", "upgrade"]) == 0  # the bot's database, as it is when the bot runs
    command = [sys.executable, "-m", "bot", "--config", str(cfg), "import", str(sheet)]
    runs = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [run.communicate(timeout=600) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    summaries = sorted(out.splitlines()[-1] for out, _ in outputs)
    assert summaries == ["Already registered, skipped: 300 rows (2–301).", "Registered 300 incidents: No. 1–300."]

    async def count() -> int:
        engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'otklik.sqlite3'}")
        try:
            return await incidents_in(engine)
        finally:
            await engine.dispose()

    assert asyncio.run(count()) == 300


# --- on every database ------------------------------------------------------------------------------


async def import_services(engine: AsyncEngine) -> tuple[Services, Person, Context]:
    settings = Settings.model_validate(
        {"organisation": {"preset": "otradnaya"}, "topics": ["Дороги"], "people": {"curators": [100]}}
    )
    services = make_services(settings, engine, ManualClock(datetime(2026, 11, 25, 12, 0, tzinfo=MSK)))
    await services.seed(settings)
    person = await services.identify(100)
    assert person is not None
    context = Context(services.workflow, person, await services.directory(), services.clock.now())
    return services, person, context


def table_rows(count: int) -> list[tuple[int, dict[str, object]]]:
    return [
        (n + 2, {"url": f"https://vk.com/wall-9_{n}", "text": f"Пост {n}", "detected_at": "25.11.2026 09:00"})
        for n in range(count)
    ]


async def incidents_in(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        return (await connection.exec_driver_sql("SELECT count(*) FROM incidents")).scalar_one()


async def test_an_import_is_one_transaction_on_every_database(engine: AsyncEngine) -> None:
    services, person, context = await import_services(engine)
    checked = check(context, table_rows(3))

    def interrupted(done: int) -> None:
        if done == 3:
            raise KeyboardInterrupt  # Ctrl-C, a crash: after rows 1–2 were written

    with pytest.raises(KeyboardInterrupt):
        await import_rows(services, person, checked.rows, interrupted)
    assert await incidents_in(engine) == 0

    # A row the database itself refuses (a post registered by another path meanwhile is one such):
    # rows 1–2 do not stay behind either.
    long_author = replace(checked.rows[2].source, author="А" * 300)
    items = [(r.source, r.options) for r in checked.rows[:2]] + [(long_author, checked.rows[2].options)]
    with pytest.raises(InvalidInput):
        await services.register_many(person, items, via="import")
    assert await incidents_in(engine) == 0

    done = await import_rows(services, person, checked.rows)
    assert ([line for line, _ in done.registered], done.skipped) == ([2, 3, 4], [])
    assert await incidents_in(engine) == 3


async def test_two_imports_at_once_on_every_database(database: MigratedDatabase) -> None:
    """Two processes (two engines) importing one file at the same moment: each post once."""
    engines = [database.engine(), database.engine()]
    try:
        first, second = [await import_services(e) for e in engines]
        rows = table_rows(60)
        results = await asyncio.gather(*(import_rows(s, p, check(c, rows).rows) for s, p, c in (first, second)))
        assert sorted((len(r.registered), len(r.skipped)) for r in results) == [(0, 60), (60, 0)]
        assert await incidents_in(engines[0]) == 60
    finally:
        for engine in engines:
            await engine.dispose()


def incidents_at(url: str) -> int:
    """How many incidents the database at ``url`` holds (for tests that run the CLI, which opens its own)."""

    async def count() -> int:
        engine = make_engine(url)
        try:
            return await incidents_in(engine)
        finally:
            await engine.dispose()

    return asyncio.run(count())


def test_the_issues_postgresql_import_a_long_author_registers_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], database_url: str
) -> None:
    """Issue 9 §6, as it was met: `python -m bot import` on PostgreSQL, the dry run fine, the real run
    committing rows 1–2 and crashing on a 300-character author (varchar(255)). SQLite too, alike."""
    cfg = config(tmp_path, database_url)
    sheet = tmp_path / "three.csv"
    rows = [ROWS[0], ROWS[1], f"https://vk.com/wall-1_3;Текст;{'А' * 300};24.11.2026 12:00;;;;"]
    sheet.write_text("\n".join([HEADER, *rows]), "utf-8")
    for extra in (["--dry-run"], []):
        assert main(["--config", str(cfg), "import", str(sheet), *extra]) == 2
        assert "row 4: the author's name is longer than 255 characters" in capsys.readouterr().out
    sheet.write_text("\n".join([HEADER, *rows[:2]]), "utf-8")
    assert main(["--config", str(cfg), "import", str(sheet)]) == 0
    assert "Registered 2 incidents: No. 1–2." in capsys.readouterr().out
    assert incidents_at(database_url) == 2


# --- characters no database can store; what a dry run says; counts in words -------------------------------


def test_an_import_with_a_character_no_database_can_store_does_what_its_dry_run_said(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], database_url: str
) -> None:
    """QA, on PostgreSQL: --dry-run said every row could be registered; the real import of the same file
    raised DBAPIError (NUL, 0x00) with a traceback. SQLite stored the NUL. Now both name the row."""
    cfg = config(tmp_path, database_url)
    sheet = tmp_path / "nul.csv"
    rows = [
        ROWS[0],
        "https://vk.com/wall-1_3;Яма\x00у школы;Автор;24.11.2026 12:00;;;;",
        "https://vk.com/wall-1_4;Яма;Ав\x00тор;24.11.2026 12:00;ЖКХ, Дороги\x00;;;",
    ]
    sheet.write_text("\n".join([HEADER, *rows]), "utf-8")
    for extra, said in (
        (["--dry-run"], "Dry run: 2 of 3 rows cannot be registered; an import would register nothing."),
        ([], "Nothing was registered: 2 of 3 rows cannot be."),
    ):
        assert main(["--config", str(cfg), "import", str(sheet), *extra]) == 2
        out = capsys.readouterr().out
        assert said in out
        assert "row 3: the text contains the character U+0000 (a NUL), which cannot be stored: remove it" in out
        assert "row 4: the author's name contains the character U+0000" in out and "a topic contains" in out
    assert incidents_at(database_url) == 0
    sheet.write_text("\n".join([HEADER, *(row.replace("\x00", " ") for row in rows)]), "utf-8")
    assert main(["--config", str(cfg), "import", str(sheet)]) == 0
    assert "Registered 3 incidents: No. 1–3." in capsys.readouterr().out


def test_a_dry_run_names_the_rows_it_would_skip_and_counts_read_right(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--dry-run said "All 4 rows can be registered" of rows registered already; "Registered 1 incidents",
    "Checking 1 rows…"."""
    cfg = config(tmp_path)
    one = tmp_path / "one.csv"
    one.write_text("\n".join([HEADER, ROWS[0]]), "utf-8")
    assert main(["--config", str(cfg), "import", str(one)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"Database: sqlite+aiosqlite:///{tmp_path / 'otklik.sqlite3'}"
    assert "Checking 1 row…" in lines and "Registering: 1 of 1 row" in lines
    assert lines[-1] == "Registered 1 incident: No. 1."

    sheet = tmp_path / "again.csv"
    rows = [ROWS[0].replace("https://vk.com/", "https://m.vk.com/"), ROWS[1], ROWS[1], ROWS[2]]
    sheet.write_text("\n".join([HEADER, *rows]), "utf-8")
    assert main(["--config", str(cfg), "import", str(sheet), "--dry-run"]) == 0
    out = capsys.readouterr().out.splitlines()
    # Row 2 is incident No. 1 in another link form; row 4 repeats row 3 of the file.
    assert out[-2:] == [
        "2 rows can be registered (dry run: nothing was).",
        "Already registered, would be skipped: 2 rows (2, 4).",
    ]
    assert len(stored(tmp_path)) == 1
    assert main(["--config", str(cfg), "import", str(sheet)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-2:] == ["Registered 2 incidents: No. 2–3.", "Already registered, skipped: 2 rows (2, 4)."]
    assert main(["--config", str(cfg), "import", str(one), "--dry-run"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-2:] == [
        "0 rows can be registered (dry run: nothing was).",
        "Already registered, would be skipped: 1 row (2).",
    ]
    assert main(["--config", str(cfg), "import", str(one)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-2:] == ["Registered 0 incidents.", "Already registered, skipped: 1 row (2)."]


@pytest.mark.parametrize(
    ("n", "ru", "en"),
    [
        (1, "Зарегистрирован 1 инцидент: № 1.", "Registered 1 incident: No. 1."),
        (3, "Зарегистрировано 3 инцидента: № 1.", "Registered 3 incidents: No. 1."),
        (11, "Зарегистрировано 11 инцидентов: № 1.", "Registered 11 incidents: No. 1."),
        (21, "Зарегистрирован 21 инцидент: № 1.", "Registered 21 incidents: No. 1."),
    ],
)
def test_the_imports_counts_have_their_plural_forms_in_both_languages(n: int, ru: str, en: str) -> None:
    from bot.i18n import translate_plural

    singular, plural = "Registered {n} incident: No. {numbers}.", "Registered {n} incidents: No. {numbers}."
    assert translate_plural("ru", singular, plural, n, numbers="1") == ru
    assert translate_plural("en", singular, plural, n, numbers="1") == en


def test_rows_the_screening_flags_are_counted_in_the_summary_and_flagged_on_their_cards(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    masked = "".join(("х", "*", "й"))  # a masked obscenity, assembled so that this file stays clean
    rows = [
        ROWS[0],
        f"https://vk.com/wall-1_2;Да {masked} вам, а не ремонт;;24.11.2026 10:40;Дороги;;;",
        "https://vk.com/wall-1_3;Если не почините, я вам эту администрацию сожгу;;24.11.2026 10:50;ЖКХ;;;",
    ]
    cfg = config(tmp_path)
    sheet = tmp_path / "flagged.csv"
    sheet.write_text("\n".join([HEADER, *rows]), encoding="utf-8")
    assert main(["--config", str(cfg), "import", str(sheet), "--dry-run"]) == 0
    assert "Possibly not to be answered (obscene, insulting, threatening): 2 rows (3–4)." in capsys.readouterr().out
    assert main(["--config", str(cfg), "import", str(sheet)]) == 0
    out = capsys.readouterr().out
    assert "Registered 3 incidents: No. 1–3." in out
    assert (
        "Possibly not to be answered (obscene, insulting, threatening): 2 incidents: No. 2–3; "
        "their cards offer «Not processable»." in out
    )
    # Flagged, not excluded: a person decides, so all three wait for the curator as usual.
    assert [i.state for i in stored(tmp_path)] == [State.detected] * 3


async def test_import_rows_lists_the_flagged_rows_and_nothing_when_screening_is_off(tmp_path: Path) -> None:
    masked = "".join(("п", "#", "зда"))
    text = f"Опять во дворе {masked}, сколько можно"
    for screening, expected in ((True, [(3, 2, ("obscenity",))]), (False, [])):
        url = f"sqlite+aiosqlite:///{tmp_path / f'screening-{screening}.sqlite3'}"
        settings = Settings.model_validate(
            {
                "database": {"url": url},
                "organisation": {"preset": "otradnaya"},
                "people": {"curators": [100]},
                "assistant": {"screening": screening},
            }
        )
        engine = make_engine(url)
        try:
            await upgrade_async(engine)
            services = make_services(settings, engine)
            await services.seed(settings)
            person = await services.identify(100)
            assert person is not None
            context = Context(services.workflow, person, await services.directory(), services.clock.now())
            checked = check(context, [(2, {"text": "Яма на дороге у школы"}), (3, {"text": text})])
            assert not checked.errors
            done = await import_rows(services, person, checked.rows)
            assert done.flagged == expected
            assert [n for _, n in done.registered] == [1, 2]
        finally:
            await engine.dispose()
