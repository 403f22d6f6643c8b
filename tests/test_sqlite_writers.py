"""Writers never fail on the embedded database: handlers, the intake API, the reminder sweep and an import in
another process all write to one SQLite file, and each waits its turn instead of meeting "database is locked"."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from aiohttp.test_utils import TestClient, TestServer

from bot.app import make_services
from bot.config import Settings
from bot.domain.clock import ManualClock
from bot.intake_api import make_app
from bot.sweep import ReminderSweep
from storage.db import make_engine, make_session_factory, upgrade_async

MSK = ZoneInfo("Europe/Moscow")
TOKEN = "writers-token"


async def test_two_units_of_work_that_read_then_write_both_commit(tmp_path: Path) -> None:
    """A deferred transaction that read before another writer committed cannot take the write lock later
    (SQLite answers SQLITE_BUSY at once, whatever the busy timeout): units of work begin IMMEDIATE."""
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'w.sqlite3'}")
    try:
        async with engine.begin() as connection:
            await connection.exec_driver_sql("CREATE TABLE counter (n INTEGER)")
            await connection.exec_driver_sql("INSERT INTO counter VALUES (0)")
        sessions = make_session_factory(engine)
        first_has_read = asyncio.Event()

        async def slow() -> None:
            async with sessions() as session, session.begin():
                n = (await session.execute(sa.text("SELECT n FROM counter"))).scalar_one()
                first_has_read.set()
                await asyncio.sleep(0.3)  # the other writer tries meanwhile
                await session.execute(sa.text("UPDATE counter SET n = :n"), {"n": n + 1})

        async def quick() -> None:
            await first_has_read.wait()
            async with sessions() as session, session.begin():
                n = (await session.execute(sa.text("SELECT n FROM counter"))).scalar_one()
                await session.execute(sa.text("UPDATE counter SET n = :n"), {"n": n + 1})

        await asyncio.gather(slow(), quick())
        async with sessions() as session:
            # Both increments count: the second waited for the first instead of failing or losing it.
            assert (await session.execute(sa.text("SELECT n FROM counter"))).scalar_one() == 2
    finally:
        await engine.dispose()


async def test_a_long_report_snapshot_does_not_block_writers(tmp_path: Path) -> None:
    from storage.db import snapshot

    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'r.sqlite3'}")
    try:
        async with engine.begin() as connection:
            await connection.exec_driver_sql("CREATE TABLE t (n INTEGER)")
        sessions = make_session_factory(engine)
        reading = asyncio.Event()
        written = asyncio.Event()

        async def report() -> int:
            async with snapshot(sessions) as session, session.begin():
                await session.execute(sa.text("SELECT count(*) FROM t"))
                reading.set()
                await asyncio.wait_for(written.wait(), timeout=5)  # a writer commits while we read
                return (await session.execute(sa.text("SELECT count(*) FROM t"))).scalar_one()

        async def write() -> None:
            await reading.wait()
            async with sessions() as session, session.begin():
                await session.execute(sa.text("INSERT INTO t VALUES (1)"))
            written.set()

        seen, _ = await asyncio.gather(report(), write())
        assert seen == 0  # one snapshot for the whole report
    finally:
        await engine.dispose()


def _config(tmp_path: Path, database: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        'topics = ["Дороги", "ЖКХ"]\n'
        f'[database]\nurl = "{database}"\n'
        '[organisation]\npreset = "otradnaya"\n[people]\ncurators = [100]\nheads = [400]\n'
        '[[departments]]\ncode = "zhkh"\nname = "Управление ЖКХ"\n',
        encoding="utf-8",
    )
    return path


async def test_intake_burst_import_and_sweep_together_lose_no_transaction(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The issue's load: 300 posts through the intake API, an import of 300 rows by `python -m bot import`
    in another process, and reminder sweeps with the morning digest and the monthly report, all at once."""
    database = f"sqlite+aiosqlite:///{tmp_path / 'otklik.sqlite3'}"
    config = _config(tmp_path, database)
    settings = Settings.model_validate(
        {
            "database": {"url": database},
            "organisation": {"preset": "otradnaya"},
            "topics": ["Дороги", "ЖКХ"],
            "people": {"curators": [100], "heads": [400]},
            "departments": [{"code": "zhkh", "name": "Управление ЖКХ"}],
        }
    )
    engine = make_engine(database)
    await upgrade_async(engine)
    now = datetime.now(MSK).replace(microsecond=0)
    clock = ManualClock(now)
    services = make_services(settings, engine, clock)
    await services.seed(settings)

    detected = (now - timedelta(hours=1)).strftime("%d.%m.%Y %H:%M")
    sheet = tmp_path / "big.csv"
    rows = [f"https://vk.com/wall-7_{n};Яма у дома {n};Житель {n};{detected};Дороги" for n in range(300)]
    sheet.write_text("\n".join(["Ссылка;Текст;Автор;Дата выявления;Тема", *rows]), encoding="utf-8")

    client = TestClient(TestServer(make_app(services, [TOKEN], 100)))
    await client.start_server()
    sweep = ReminderSweep(services)
    importing = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "--config",
        str(config),
        "import",
        str(sheet),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
    )

    async def post(n: int) -> int:
        body = {"url": f"https://vk.com/wall-9_{n}", "text": f"Не вывозят мусор, дом {n}", "topics": ["ЖКХ"]}
        response = await client.post("/api/v1/incidents", json=body, headers={"Authorization": f"Bearer {TOKEN}"})
        return response.status

    async def sweeps() -> int:
        ticks = 0
        while importing.returncode is None:
            clock.advance(timedelta(minutes=7))  # marks come due while the others write
            await sweep.tick()  # exceptions propagate: a failed transaction fails the test
            await sweep.digest()
            await sweep.monthly_report()
            ticks += 1
            await asyncio.sleep(0.05)
        return ticks

    try:
        with caplog.at_level(logging.WARNING):
            statuses, (out, err), ticks = await asyncio.gather(
                asyncio.gather(*(post(n) for n in range(300))), importing.communicate(), sweeps()
            )
        assert importing.returncode == 0, err.decode()[-2000:]
        assert statuses == [201] * 300
        assert ticks >= 1
        async with make_session_factory(engine)() as session:
            count = (await session.execute(sa.text("SELECT count(*) FROM incidents"))).scalar_one()
        assert count == 600
        assert "database is locked" not in caplog.text + err.decode() + out.decode()
    finally:
        await client.close()
        await engine.dispose()
