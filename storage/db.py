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
from sqlalchemy.orm import Session, SessionTransaction
from sqlalchemy.pool import ConnectionPoolEntry, NullPool, StaticPool

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

# How long a SQLite writer waits for another's transaction before giving up, in milliseconds. Writers wait
# at BEGIN IMMEDIATE (below), so this must outlast the longest write transaction of any process on the file:
# an import is one transaction (10,000 rows: about 100 s on a busy 2-core machine), and a reminder sweep or a
# card press must wait for it, not fail with "database is locked".
SQLITE_BUSY_TIMEOUT_MS = 120_000

SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA foreign_keys=ON",
    f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}",
    "PRAGMA synchronous=NORMAL",
)

# Execution options a session puts on its connection before the transaction begins (see UnitOfWorkSession).
WRITE_OPTION = "otklik_write"  # an explicit ``session.begin()``: a unit of work that will write
SNAPSHOT_OPTION = "otklik_snapshot"  # a read-only snapshot, even with an explicit begin (reports)
BUSY_TIMEOUT_OPTION = "otklik_busy_timeout_ms"  # this unit of work waits longer for the write lock (an import)


def _is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _is_memory(url: str) -> bool:
    database = make_url(url).database
    return not database or database == ":memory:"


def make_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """An engine for ``sqlite+aiosqlite://...`` or ``postgresql+asyncpg://...``; ``kwargs`` go to
    ``create_async_engine``.

    SQLite connections get WAL, foreign keys and a busy timeout of ``SQLITE_BUSY_TIMEOUT_MS`` ms, and a
    writing unit of work begins with ``BEGIN IMMEDIATE`` (:class:`UnitOfWorkSession`); in-memory SQLite
    shares one connection. Raises ``sqlalchemy.exc.ArgumentError`` for a malformed URL and
    ``NoSuchModuleError`` for an unknown dialect; nothing connects until first use.
    """
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
        # A deferred transaction that reads and then writes cannot wait for the write lock: when another
        # writer committed since its read, SQLite answers SQLITE_BUSY ("database is locked") at once, busy
        # timeout or not. A unit of work therefore takes the write lock at BEGIN, where the busy timeout
        # makes it wait its turn; reads stay deferred and never wait for writers (WAL).
        options = connection.get_execution_options()
        write = options.get(WRITE_OPTION) and not options.get(SNAPSHOT_OPTION)
        if write:
            # The wait applies at BEGIN, so it is set before it; the connection remembers what it has.
            timeout = int(options.get(BUSY_TIMEOUT_OPTION, SQLITE_BUSY_TIMEOUT_MS))
            info = connection.connection.info
            if info.get(BUSY_TIMEOUT_OPTION, SQLITE_BUSY_TIMEOUT_MS) != timeout:
                connection.exec_driver_sql(f"PRAGMA busy_timeout = {timeout}")
                info[BUSY_TIMEOUT_OPTION] = timeout
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


def parallel_sessions(sessions: async_sessionmaker[AsyncSession]) -> bool:
    """Whether two sessions of this factory get two connections, so their queries run side by side.

    Not for in-memory SQLite, whose one shared connection cannot hold two transactions at once.
    """
    bind = sessions.kw.get("bind")
    return isinstance(bind, AsyncEngine) and not isinstance(bind.sync_engine.pool, StaticPool)


class UnitOfWorkSession(Session):
    """A session whose explicit ``begin()`` declares a unit of work that writes.

    The project's convention (STYLE.md): ``async with sessions() as s, s.begin():`` is one transaction that
    changes something; ``async with sessions() as s:`` (autobegin) only reads. On SQLite the first starts with
    ``BEGIN IMMEDIATE`` so that concurrent writers — the bot's handlers, the outbox sender, the reminder sweep,
    the intake API and a ``python -m bot import`` in another process — queue for the write lock instead of
    failing (see :func:`make_engine`). A long read that wants one snapshot opens its session with
    ``execution_options={SNAPSHOT_OPTION: True}`` (:func:`snapshot`). PostgreSQL ignores both options.
    """

    def begin(self, nested: bool = False) -> SessionTransaction:
        """Begin the session's transaction (``Session.begin``); an outer one is marked as a writing unit of work.

        Raises ``sqlalchemy.exc.InvalidRequestError`` if a transaction is already under way (a read autobegun
        one included): a unit of work starts with ``begin()``, before any query.
        """
        if not nested and self._transaction is None:
            self.execution_options = self.execution_options.union({WRITE_OPTION: True})
        return super().begin(nested)


def make_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions for services and repositories: an explicit ``begin()`` is a writing unit of work
    (:class:`UnitOfWorkSession`); objects stay usable after commit (``expire_on_commit=False``).

    Returns the factory; calling it opens a session, which connects on its first statement.
    """
    return async_sessionmaker(engine, expire_on_commit=False, sync_session_class=UnitOfWorkSession)


def bulk_writer(sessions: async_sessionmaker[AsyncSession], wait_seconds: float) -> AsyncSession:
    """A session for one long unit of work (an import) that may wait up to ``wait_seconds`` (seconds, whole
    milliseconds kept) for the write lock while another such one finishes (SQLite; PostgreSQL waits on its
    own locks). Past the wait, its first statement raises ``sqlalchemy.exc.OperationalError`` ("database is
    locked")."""
    return sessions(execution_options={BUSY_TIMEOUT_OPTION: int(wait_seconds * 1000)})


def snapshot(sessions: async_sessionmaker[AsyncSession]) -> AsyncSession:
    """A session for a long read that needs one consistent snapshot (``async with snapshot(f) as s, s.begin():``):
    it never takes SQLite's write lock, so a report computed for seconds blocks no writer.

    For reads only: on SQLite a write in it does not queue for the write lock and may fail at once with
    ``OperationalError`` ("database is locked").
    """
    return sessions(execution_options={SNAPSHOT_OPTION: True})


def alembic_config(url: str | None = None) -> Config:
    """An Alembic configuration built in code, pointing at the packaged migrations (``MIGRATIONS_DIR``).

    ``url`` (any SQLAlchemy URL, ``%`` allowed) becomes ``sqlalchemy.url``; without it ``env.py`` takes the
    connection from ``config.attributes`` or ``OTKLIK_DATABASE_URL``.
    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        # ConfigParser interpolation treats "%" specially (passwords may contain it).
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Migrate the database at ``url`` to ``revision``; blocking, for start-up and scripts.

    Must not be called from a running event loop (use :func:`upgrade_async` there). Raises
    ``alembic.util.CommandError`` for an unknown revision; database errors propagate.
    """
    command.upgrade(alembic_config(url), revision)


async def upgrade_async(engine_or_url: AsyncEngine | str, revision: str = "head") -> None:
    """Migrate the database of an engine or URL to ``revision`` from inside a running event loop (tests,
    start-up of the bot). The caller's engine is used as it is, except a SQLite file, which is migrated
    through a plain engine with foreign keys off; the migrations commit together at the end.

    Raises as :func:`upgrade` does.
    """
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
