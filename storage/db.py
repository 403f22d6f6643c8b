"""Database setup: the async engine, the session factory and running Alembic migrations in code.

Migrations ship inside the package (``storage/migrations``) and are run with
:func:`upgrade` / :func:`upgrade_async`, so an installed wheel needs no ``alembic.ini``.

To create a new revision after changing ``storage/models.py`` (from the repository root)::

    alembic -c storage/alembic.ini -x url=sqlite+aiosqlite:///dev.db upgrade head
    alembic -c storage/alembic.ini -x url=sqlite+aiosqlite:///dev.db \\
        revision --autogenerate -m "what changed"

then read the generated file in ``storage/migrations/versions/`` and fix it by hand (one
migration per schema change). Without ``-x url=...`` the ``OTKLIK_DATABASE_URL`` environment
variable is used.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry, NullPool, StaticPool

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=5000",
    "PRAGMA synchronous=NORMAL",
)


def _is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _is_memory(url: str) -> bool:
    database = make_url(url).database
    return not database or database == ":memory:"


def make_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """An engine for ``sqlite+aiosqlite://...`` or ``postgresql+asyncpg://...``."""
    if not _is_sqlite(url):
        return create_async_engine(url, **kwargs)
    if _is_memory(url):
        # One connection, or every checkout would see its own empty database.
        kwargs.setdefault("poolclass", StaticPool)
    engine = create_async_engine(url, **kwargs)

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
        # The sqlite3 driver's legacy transaction control skips BEGIN before SELECT and
        # SAVEPOINT, which breaks savepoints and repeatable reads: we emit BEGIN ourselves.
        dbapi_connection.isolation_level = None  # type: ignore[attr-defined]
        cursor = dbapi_connection.cursor()
        try:
            for pragma in SQLITE_PRAGMAS:
                cursor.execute(pragma)
        finally:
            cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN")

    return engine


def parallel_sessions(sessions: async_sessionmaker[AsyncSession]) -> bool:
    """Whether two sessions of this factory get two connections, so their queries run side by side.

    Not for in-memory SQLite, whose one shared connection cannot hold two transactions at once.
    """
    bind = sessions.kw.get("bind")
    return isinstance(bind, AsyncEngine) and not isinstance(bind.sync_engine.pool, StaticPool)


def make_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def alembic_config(url: str | None = None) -> Config:
    """An Alembic configuration built in code, pointing at the packaged migrations."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        # ConfigParser interpolation treats "%" specially (passwords may contain it).
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Migrate the database at ``url`` to ``revision``; blocking, for start-up and scripts.

    Must not be called from a running event loop (use :func:`upgrade_async` there).
    """
    command.upgrade(alembic_config(url), revision)


async def upgrade_async(engine_or_url: AsyncEngine | str, revision: str = "head") -> None:
    """Migrate from inside a running event loop (tests, start-up of the bot)."""
    url = (
        engine_or_url.url.render_as_string(hide_password=False)
        if isinstance(engine_or_url, AsyncEngine)
        else engine_or_url
    )
    if isinstance(engine_or_url, AsyncEngine) and not (_is_sqlite(url) and not _is_memory(url)):
        # Keep the caller's engine: its connect arguments (a search_path, say) matter, and
        # a second engine on ":memory:" would open a different, empty database.
        async with engine_or_url.begin() as connection:
            await connection.run_sync(_upgrade_on_connection, revision)
        return
    # A plain engine, not make_engine(): SQLite must migrate with foreign keys off, or the
    # DROP TABLE of a batch migration cascades deletes into the referencing tables.
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_upgrade_on_connection, revision)
            await connection.commit()
    finally:
        await engine.dispose()


def _upgrade_on_connection(connection: Connection, revision: str) -> None:
    config = alembic_config()
    # env.py sees this connection and runs the migrations on it instead of connecting.
    config.attributes["connection"] = connection
    command.upgrade(config, revision)
