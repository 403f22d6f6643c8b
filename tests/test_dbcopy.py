"""`python -m bot db copy --to URL` (issue 12 §3): everything copied into an empty database — SQLite, and the CI's
PostgreSQL when OTKLIK_TEST_PG_URL is set — verified by counts and by the monthly reports, ids going on from the
highest; a target that holds anything is refused."""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.config import Settings
from bot.dbcopy import CopyRefused, copy_database
from bot.demo import fill
from bot.domain.incident import Network, Source
from storage.db import upgrade_async
from tests.test_backup import act, fresh, make_services, people, url_of

_SOURCE: list[Path] = []


async def source_database(path: Path) -> Settings:
    """An SQLite database with three months of incidents made through the workflow, and a few with notices
    in the outbox; made once, copied for each test."""
    if not _SOURCE:
        made = Path(tempfile.mkdtemp(prefix="otklik-copy-source-")) / "source.sqlite3"
        services = make_services(fresh(made))
        try:
            await fill(services.sessions, services.workflow, incidents=14, months=3, seed=7, now=datetime.now(UTC))
            curator, executor, department = await people(services)
            for i in range(2):
                await act(services, curator, executor, department, i)
        finally:
            await services.sessions.kw["bind"].dispose()
        _SOURCE.append(made)
    shutil.copyfile(_SOURCE[0], path)
    return Settings.model_validate({"database": {"url": url_of(path)}, "organisation": {"preset": "otradnaya"}})


async def test_copy_moves_every_row_verifies_it_and_ids_go_on_from_the_highest(
    database_url: str, tmp_path: Path
) -> None:
    settings = await source_database(tmp_path / "source.sqlite3")
    lines: list[str] = []
    result = await copy_database(settings, database_url, batch=7, say=lines.append)

    assert result.verified, "\n".join(result.summary())
    assert result.source_rows == result.target_rows
    assert result.source_rows["incidents"] == 16 and result.source_rows["outbox"] > 0
    assert all(result.source_rows[t] > 0 for t in ("events", "drafts", "assignments", "sources", "users"))
    assert len(result.reports) == 3 and all(result.reports.values())
    summary = "\n".join(result.summary())
    assert "Copied and verified: " in summary and "DIFFERENT" not in summary
    if database_url.startswith("postgresql"):
        assert result.sequences["incidents"] == 17 and result.sequences["events"] == result.source_rows["events"] + 1

    # The bot goes on in the copy: the next incident is No. 17, not a clash with No. 1.
    services = make_services(database_url)
    try:
        curator = await services.identify(1001)
        assert curator is not None
        post = Source(Network.vk, "https://vk.com/wall-1_999", "Анна", "Нет света", services.clock.now())
        assert (await services.register(curator, [post])).id == 17
    finally:
        await services.sessions.kw["bind"].dispose()

    with pytest.raises(CopyRefused, match=r"is not empty \(.*incidents 17"):
        await copy_database(settings, database_url)


async def test_copy_refuses_a_target_with_other_tables_and_a_source_behind_the_schema(tmp_path: Path) -> None:
    settings = await source_database(tmp_path / "source.sqlite3")
    other = tmp_path / "other.sqlite3"
    with sqlite3.connect(other) as connection:
        connection.execute("CREATE TABLE ledger (id INTEGER PRIMARY KEY)")
    with pytest.raises(CopyRefused, match=r"tables that are not Otklik's \(ledger\)"):
        await copy_database(settings, f"sqlite+aiosqlite:///{other}")
    with pytest.raises(CopyRefused, match="names the configured database itself"):
        await copy_database(settings, settings.database.url)

    old = tmp_path / "old.sqlite3"
    await upgrade_async(f"sqlite+aiosqlite:///{old}", "0009")
    behind = Settings.model_validate({"database": {"url": f"sqlite+aiosqlite:///{old}"}})
    with pytest.raises(CopyRefused, match=r"is at schema 0009.*python -m bot db upgrade"):
        await copy_database(behind, f"sqlite+aiosqlite:///{tmp_path / 'new.sqlite3'}")
    assert not (tmp_path / "new.sqlite3").exists()
