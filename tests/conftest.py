"""Shared fixtures. Database: a migrated SQLite file always, PostgreSQL when OTKLIK_TEST_PG_URL
is set (each test gets a fresh schema, dropped afterwards)."""

from __future__ import annotations

import asyncio
import gc
import io
import logging
import os
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from storage.db import make_engine, make_session_factory, upgrade, upgrade_async

PG_URL_VARIABLE = "OTKLIK_TEST_PG_URL"
HANG_DUMP_BEFORE = 20.0  # seconds before pytest-timeout fails a hanging test: note what every task awaits then
_HANG_DUMPS = pytest.StashKey[list[str]]()


def _awaiting() -> str:
    """Every unfinished asyncio task of this process and where it waits (read from another thread: a hint)."""
    out = io.StringIO()
    for task in [o for o in gc.get_objects() if isinstance(o, asyncio.Task) and not o.done()]:
        out.write(f"--- {task.get_name()}: {task.get_coro()!r}\n")
        task.print_stack(file=out)
    return out.getvalue() or "no unfinished asyncio task"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """A test that hangs shows why: shortly before pytest-timeout (``timeout`` in pyproject.toml) fails it, the
    stacks of its asyncio tasks are taken, and the failure's report carries them (a section «what tasks awaited»).
    A hang in a fixture's teardown is covered as well as one in the test."""
    limit = float(item.config.getini("timeout") or 0)
    dumps: list[str] = []
    timer = threading.Timer(max(limit - HANG_DUMP_BEFORE, 1.0), lambda: dumps.append(_awaiting()))
    timer.daemon = True
    if limit > 0:
        timer.start()
    item.stash[_HANG_DUMPS] = dumps
    try:
        yield
    finally:
        timer.cancel()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    dumps = item.stash.get(_HANG_DUMPS, [])
    if report.failed and dumps:
        report.sections.append(("what tasks awaited before the timeout", dumps[-1]))


@dataclass(frozen=True)
class MigratedDatabase:
    backend: str  # "sqlite" or "postgres"
    url: str
    connect_args: dict[str, Any] = field(default_factory=dict)

    def engine(self) -> AsyncEngine:
        return make_engine(self.url, connect_args=self.connect_args)


def _postgres_database(base_url: str) -> Iterator[MigratedDatabase]:
    schema = f"otklik_test_{uuid.uuid4().hex[:12]}"
    database = MigratedDatabase("postgres", base_url, {"server_settings": {"search_path": schema}})

    async def create() -> None:
        admin = make_engine(base_url)
        try:
            async with admin.begin() as connection:
                await connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        finally:
            await admin.dispose()
        engine = database.engine()
        try:
            await upgrade_async(engine)
        finally:
            await engine.dispose()

    async def drop() -> None:
        admin = make_engine(base_url)
        try:
            async with admin.begin() as connection:
                await connection.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        finally:
            await admin.dispose()

    # Sync fixture: the async set-up runs on its own short-lived loop, not the test's.
    asyncio.run(create())
    try:
        yield database
    finally:
        asyncio.run(drop())


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[MigratedDatabase]:
    """An empty database migrated to head, on every available backend."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'otklik.db'}"
        upgrade(url)
        yield MigratedDatabase("sqlite", url)
        return
    base_url = os.environ.get(PG_URL_VARIABLE)
    if not base_url:
        pytest.skip(f"{PG_URL_VARIABLE} is not set")
    yield from _postgres_database(base_url)


@pytest.fixture
async def engine(database: MigratedDatabase) -> AsyncIterator[AsyncEngine]:
    engine = database.engine()
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return make_session_factory(engine)


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a database of its own, empty and not yet migrated (the bot and the CLI migrate on start),
    on every available backend: a SQLite file in ``tmp_path``, or a fresh PostgreSQL database (dropped
    afterwards) for code that opens its own engine from the config, where a schema cannot be set."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'otklik.sqlite3'}"
        return
    base = os.environ.get(PG_URL_VARIABLE)
    if not base:
        pytest.skip(f"{PG_URL_VARIABLE} is not set")
    from sqlalchemy.engine import make_url

    name = f"otklik_test_{uuid.uuid4().hex[:12]}"

    async def admin(statement: str) -> None:
        engine = make_engine(base, isolation_level="AUTOCOMMIT")
        try:
            async with engine.connect() as connection:
                await connection.exec_driver_sql(statement)
        finally:
            await engine.dispose()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def root_logging() -> Iterator[None]:
    """The root logger's handlers and level, and the levels of the loggers the bot quiets, put back after a test
    that lets the bot configure logging (bot.logs.configure replaces them)."""
    from bot.logs import QUIET

    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    quiet = {name: logging.getLogger(name).level for name in QUIET}
    try:
        yield
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in saved[0]:
            root.addHandler(handler)
        root.setLevel(saved[1])
        for name, level in quiet.items():
            logging.getLogger(name).setLevel(level)
