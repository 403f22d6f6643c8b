"""python -m bot import FILE: a monitoring export or an old spreadsheet becomes incidents, the same way a
forwarded post does; a bad file registers nothing and says what is wrong, row by row."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from openpyxl import Workbook

from bot.__main__ import main
from bot.incident import DeadlineKind, Importance, Incident, Kind, Network, State
from storage.db import make_engine, make_session_factory
from storage.repositories import IncidentRepository

MSK = ZoneInfo("Europe/Moscow")
HEADER = "Ссылка;Текст;Автор;Дата выявления;Тема;Важность;Территория;Охват"
ROWS = [
    "https://vk.com/wall-1_1;Яма на дороге у школы;Иван Петров;24.11.2026 10:30;Дороги;;с. Ключи;1200",
    "https://t.me/news/55;Третий день не вывозят мусор;;24.11.2026 11:00;ЖКХ;высокая;;300",
    ";Жалоба из таблицы, без ссылки;Мария;24.11.2026 12:00;Дороги, ЖКХ;;;",
]


def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        'topics = ["Дороги", "ЖКХ"]\nlocations = ["с. Ключи"]\n'
        f'[database]\nurl = "sqlite+aiosqlite:///{tmp_path / "otklik.sqlite3"}"\n'
        '[organisation]\npreset = "otradnaya"\n[people]\ncurators = [100]\nheads = [400]\n'
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
    assert "All 3 rows can be registered" in capsys.readouterr().out
    assert stored(tmp_path) == []

    assert main(["--config", str(cfg), "import", str(sheet)]) == 0
    out = capsys.readouterr().out
    assert "Columns not used: Охват" in out and "Registered 3 incidents." in out
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
    assert "Registered 0 incidents." in out and "Already registered, skipped: 3." in out
    assert len(stored(tmp_path)) == 3


def test_an_xlsx_with_date_cells_and_english_headers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["URL", "Text", "Network", "Detected", "Kind", "Importance"])
    first, second = datetime(2026, 11, 23, 9, 15), datetime(2026, 11, 23, 9, 45)  # Excel cells: naive, local
    sheet.append(["https://example.org/news/1", "Пост администрации", "сайт", first, "публикация", "обычная"])
    sheet.append([None, "Сообщение из мессенджера", "мессенджер", second, None, None])
    workbook.save(tmp_path / "monitoring.xlsx")

    assert main(["--config", str(config(tmp_path)), "import", str(tmp_path / "monitoring.xlsx")]) == 0
    assert "Registered 2 incidents." in capsys.readouterr().out
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
    assert "row 4: neither a link nor a text; the date of detection needs a time too" in out
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
