"""Copies of the database: SQLite's online backup and restore, the schema's revision, and rows counted and
copied table by table between two databases (SQLite or PostgreSQL) with the models' metadata."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from alembic.script import ScriptDirectory
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.db import alembic_config
from storage.models import Base

SQLITE_HEADER = b"SQLite format 3\x00"
PG_DUMP_HEADER = b"PGDMP"  # pg_dump's custom format
VERSION_TABLE = "alembic_version"


class NotAnOtklikDatabase(Exception):
    """A file that is no SQLite database, is damaged, or holds no Otklik schema; the message says which (in
    English), ``key`` names the case for a translation (``missing``, ``not_sqlite``, ``damaged``,
    ``unreadable``), ``path`` the file and ``detail`` SQLite's own words ("" when none)."""

    def __init__(self, message: str, *, key: str, path: Path, detail: str = "") -> None:
        super().__init__(message)
        self.key, self.path, self.detail = key, path, detail


@dataclass(frozen=True)
class SqliteFile:
    """What an SQLite file holds: its schema revision (None: no ``alembic_version``), its table names (without
    SQLite's own), and the rows of each Otklik table."""

    revision: str | None
    tables: frozenset[str]
    rows: dict[str, int]


def sqlite_path(url: str) -> Path | None:
    """The file of a ``sqlite+aiosqlite:///…`` URL (relative to the working directory as SQLite reads it);
    None for an in-memory SQLite or another database."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def head_revision() -> str:
    """The newest migration of this code (``storage/migrations/versions``), e.g. ``"0010"``."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "no migrations shipped"
    return head


def known_revisions() -> frozenset[str]:
    """Every migration this code knows: a database at one of them can be upgraded to the head."""
    return frozenset(r.revision for r in ScriptDirectory.from_config(alembic_config()).walk_revisions())


def otklik_tables() -> list[sa.Table]:
    """The Otklik tables in an order that respects foreign keys (a referenced table first)."""
    return list(Base.metadata.sorted_tables)


def _connect_read_only(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)


def _check_header(path: Path) -> None:
    if not path.is_file():
        raise NotAnOtklikDatabase(f"{path}: no such file", key="missing", path=path)
    with path.open("rb") as file:
        if file.read(len(SQLITE_HEADER)) != SQLITE_HEADER:
            raise NotAnOtklikDatabase(f"{path}: not an SQLite database", key="not_sqlite", path=path)


def read_sqlite_file(path: Path, *, check: bool = True) -> SqliteFile:
    """Say what the SQLite database ``path`` holds; with ``check``, first that it is intact (``PRAGMA
    quick_check``, opened read-only: for backups); without, opened as the bot opens it (a live database, whose
    WAL files a read-only last connection would leave behind). Raises NotAnOtklikDatabase when it is not a
    file, not SQLite, or damaged."""
    _check_header(path)
    try:
        connection = _connect_read_only(path) if check else sqlite3.connect(path)
        try:
            found = connection.execute("PRAGMA quick_check").fetchall() if check else [("ok",)]
            if found != [("ok",)]:
                detail = str(found[0][0])
                raise NotAnOtklikDatabase(
                    f"{path}: the database is damaged ({detail})", key="damaged", path=path, detail=detail
                )
            tables = frozenset(
                name
                for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
                if not name.startswith("sqlite_")
            )
            revision = None
            if VERSION_TABLE in tables:
                found = connection.execute(f"SELECT version_num FROM {VERSION_TABLE}").fetchall()
                revision = found[0][0] if len(found) == 1 else None
            rows = {
                t.name: connection.execute(f'SELECT count(*) FROM "{t.name}"').fetchone()[0]
                for t in otklik_tables()
                if t.name in tables
            }
        finally:
            connection.close()
    except sqlite3.DatabaseError as exc:
        raise NotAnOtklikDatabase(
            f"{path}: not a readable SQLite database ({exc})", key="unreadable", path=path, detail=str(exc)
        ) from None
    return SqliteFile(revision, tables, rows)


def sqlite_backup(source: Path, target: Path) -> None:
    """Copy the SQLite database ``source`` into the new file ``target`` with SQLite's online backup API, in
    one step: one read transaction, so the copy is the database as one commit left it, while the bot's
    writers go on (WAL: they never wait for a reader). The copy is written beside ``target`` and renamed
    into place once whole and checked, in rollback-journal mode (one self-contained file).

    Raises FileExistsError when ``target`` exists, NotAnOtklikDatabase when ``source`` is none, and
    sqlite3/OS errors (disk full…) after removing the partial copy.
    """
    _check_header(source)
    if target.exists():
        raise FileExistsError(f"{target} exists already")
    partial = target.with_name(f".{target.name}.partial")
    partial.unlink(missing_ok=True)
    try:
        src = sqlite3.connect(source)
        try:
            dst = sqlite3.connect(partial)
            try:
                src.backup(dst)  # pages=-1: every page in one step, under one read transaction
                dst.execute("PRAGMA journal_mode=DELETE")
                check = dst.execute("PRAGMA quick_check").fetchall()
                if check != [("ok",)]:
                    raise sqlite3.DatabaseError(f"the copy does not check out: {check[0][0]}")
            finally:
                dst.close()
        finally:
            src.close()
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def sqlite_restore(backup: Path, target: Path, upgrade: Callable[[Path], None] | None) -> None:
    """Make ``target`` hold exactly the database in ``backup``, then ``upgrade(file)`` it to the head (None: the
    backup is at the head already).

    The backup is copied to a file beside ``target`` and upgraded there first; then, for a new target, the file
    is renamed into place, and for an existing one it is written into it with the backup API, under SQLite's
    lock, so a process that has the file open sees the restored database rather than a deleted file.
    Raises sqlite3/OS errors (target left as it was when they come before the last step).
    """
    staged = target.with_name(f".{target.name}.restoring")
    staged.unlink(missing_ok=True)
    try:
        src = _connect_read_only(backup)
        try:
            dst = sqlite3.connect(staged)
            try:
                src.backup(dst)
                dst.execute("PRAGMA journal_mode=DELETE")
            finally:
                dst.close()
        finally:
            src.close()
        if upgrade is not None:
            upgrade(staged)
        if not target.exists():
            for suffix in ("-wal", "-shm", "-journal"):  # left by a file deleted by hand: not this database's
                Path(f"{target}{suffix}").unlink(missing_ok=True)
            os.replace(staged, target)
            return
        src = sqlite3.connect(staged)
        try:
            dst = sqlite3.connect(target, timeout=60)
            try:
                src.backup(dst)
            finally:
                dst.close()
        finally:
            src.close()
    finally:
        staged.unlink(missing_ok=True)


def sqlite_in_use(path: Path) -> bool:
    """Whether a process seems to have the SQLite file open: in WAL mode the ``-wal`` and ``-shm`` files exist
    while any connection does (they stay, too, after a process that was killed)."""
    return any(Path(f"{path}{suffix}").exists() for suffix in ("-wal", "-shm"))


async def revision(connection: AsyncConnection) -> str | None:
    """The schema revision recorded in the database (``alembic_version``), or None when it has none."""
    names = await connection.run_sync(lambda c: sa.inspect(c).get_table_names())
    if VERSION_TABLE not in names:
        return None
    found = (await connection.exec_driver_sql(f"SELECT version_num FROM {VERSION_TABLE}")).all()
    return found[0][0] if len(found) == 1 else None


async def table_names(connection: AsyncConnection) -> set[str]:
    """The tables of the connection's database (its default schema, on PostgreSQL its search path)."""
    return set(await connection.run_sync(lambda c: sa.inspect(c).get_table_names()))


async def count_rows(connection: AsyncConnection, names: set[str] | None = None) -> dict[str, int]:
    """Rows in each Otklik table that exists (all of them at head), in foreign-key order; ``names``: the tables
    that exist, when the caller knows them already."""
    names = names if names is not None else await table_names(connection)
    counts: dict[str, int] = {}
    for table in otklik_tables():
        if table.name in names:
            counts[table.name] = (await connection.execute(sa.select(sa.func.count()).select_from(table))).scalar_one()
    return counts


async def copy_rows(
    source: AsyncConnection,
    target: AsyncConnection,
    batch: int,
    progress: Callable[[str, int], None] | None = None,
) -> dict[str, int]:
    """Copy every row of every Otklik table from ``source`` to ``target`` (both at the head revision), tables
    in foreign-key order, rows in primary-key order (an incident's parent or original comes before it), in
    inserts of ``batch`` rows; ids are kept. The caller owns both transactions. Returns the rows copied per
    table; ``progress(table, rows so far)`` after each batch. Database errors propagate (a value the target
    refuses: the caller rolls back)."""
    copied: dict[str, int] = {}
    for table in otklik_tables():
        done = 0
        query = sa.select(table).order_by(*table.primary_key.columns)
        result = await source.stream(query.execution_options(yield_per=batch))
        async for part in result.partitions(batch):
            await target.execute(table.insert(), [dict(row._mapping) for row in part])
            done += len(part)
            if progress is not None:
                progress(table.name, done)
        copied[table.name] = done
    return copied


async def set_sequences(target: AsyncConnection) -> dict[str, int]:
    """On PostgreSQL, set the sequence of every table's integer id past its highest id, so the next row gets
    the next number (rows copied with their ids leave the sequences at 1); nothing elsewhere (SQLite takes the
    highest rowid + 1 by itself). Returns the next id of each table with a sequence."""
    if target.dialect.name != "postgresql":
        return {}
    following: dict[str, int] = {}
    for table in otklik_tables():
        column = table.autoincrement_column
        if column is None:
            continue
        sequence = (
            await target.execute(
                sa.select(sa.func.pg_get_serial_sequence(sa.literal(table.name), sa.literal(column.name)))
            )
        ).scalar_one()
        if sequence is None:
            continue
        highest = (await target.execute(sa.select(sa.func.max(column)))).scalar_one() or 0
        await target.execute(sa.select(sa.func.setval(sa.literal(sequence), highest + 1, sa.false())))
        following[table.name] = highest + 1
    return following
