"""Backups and restore (`python -m bot backup`, `restore`) and the optional daily backup with retention.

SQLite: SQLite's online backup API, consistent while the bot writes. PostgreSQL: ``pg_dump``/``pg_restore`` when
they are on PATH, else the exact command to run. A restore refuses to overwrite a database that holds data
without ``--force``, and upgrades a backup made by an older Otklik to the current schema.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import shlex
import shutil
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.engine import URL, make_url

from bot.config import ConfigError, Settings
from bot.texts import Text, os_problem
from storage import backup as store

if TYPE_CHECKING:
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

log = logging.getLogger(__name__)

# Daily backups are named by their UTC moment, so names sort as time does; retention touches no other file.
DAILY_NAME = re.compile(r"^otklik-(\d{8}T\d{6}Z)\.(sqlite3|dump)$")


class BackupError(ConfigError):
    """A backup or restore that cannot be done; the message says why and what to do (shown as ``error: …``)."""


@dataclass(frozen=True)
class Outcome:
    """What a backup or restore did: ``done`` False when it only printed ``command`` for a person to run
    (PostgreSQL without its client tools); ``lines`` to show (bot.texts.Text: English as ``str``, ``.text(locale)``
    in the reader's language; a command to run is a plain ``str``)."""

    done: bool
    lines: list[str]
    path: Path | None = None
    command: str | None = None


def daily_name(now: datetime, postgres: bool) -> str:
    """The file name of a backup made at ``now`` (aware): ``otklik-20261130T000000Z.sqlite3`` (``.dump``, the
    pg_dump custom format, on PostgreSQL)."""
    return f"otklik-{now.astimezone(UTC):%Y%m%dT%H%M%SZ}.{'dump' if postgres else 'sqlite3'}"


def _is_postgres(url: str) -> bool:
    return make_url(url).get_backend_name() == "postgresql"


def _sqlite_file(url: str) -> Path:
    path = store.sqlite_path(url)
    if path is None:
        raise BackupError("an in-memory database cannot be backed up or restored")
    return path


# --- backup ------------------------------------------------------------------------------------------------


def backup(url: str, target: Path | None, now: datetime | None = None) -> Outcome:
    """Back up the database at ``url`` into ``target`` (default: ``daily_name`` in the working directory; a
    folder: ``daily_name`` inside it; a missing folder on the way is made).

    SQLite: a consistent copy made while the bot runs (storage.backup.sqlite_backup), never over an existing
    file. PostgreSQL: ``pg_dump --format=custom`` when it is on PATH, else ``done`` False and the command.
    Raises BackupError for a target that exists, a missing or damaged database, or a failing pg_dump.
    """
    now = now or datetime.now(UTC)
    postgres = _is_postgres(url)
    target = target if target is not None else Path(daily_name(now, postgres))
    if target.is_dir():  # a folder: the backup goes into it under its dated name
        target = target / daily_name(now, postgres)
    if target.exists():
        raise BackupError("{target} exists already: name another file (a backup never overwrites one)", target=target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)  # as the daily backup makes its backup_dir
    except OSError as exc:
        raise BackupError(
            "cannot make the folder {folder}: {problem}", folder=target.parent, problem=os_problem(exc)
        ) from None
    if postgres:
        return _pg_dump(url, target)
    source = _sqlite_file(url)
    try:
        store.sqlite_backup(source, target)
    except store.NotAnOtklikDatabase as exc:
        raise BackupError("cannot back up: {problem}", problem=_unusable(exc)) from None
    info = store.read_sqlite_file(target)
    return Outcome(
        True,
        [
            Text(
                "Backup written: {file} ({size} bytes, schema {revision}; incidents: {incidents}, events: {events})",
                file=target,
                size=target.stat().st_size,
                revision=info.revision,
                incidents=info.rows.get("incidents", 0),
                events=info.rows.get("events", 0),
            )
        ],
        target,
    )


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """The ``postgresql://`` address for the PostgreSQL client tools, without the password (it goes in
    ``PGPASSWORD``, never on a command line), and the environment to add."""
    parsed = make_url(url)
    env = {"PGPASSWORD": parsed.password} if parsed.password else {}
    plain = URL.create("postgresql", parsed.username, None, parsed.host, parsed.port, parsed.database)
    return plain.render_as_string(hide_password=False), env


def _shown(argv: list[str], env: dict[str, str]) -> str:
    prefix = "PGPASSWORD=… " if env else ""
    return prefix + shlex.join(argv)


def _run_tool(argv: list[str], env: dict[str, str], url: str) -> None:
    from bot.db_errors import tool_problem

    result = subprocess.run(argv, env={**os.environ, **env}, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        problem = tool_problem(result.stderr, url)
        if problem is not None:  # the server or the database missing: one line, as the other commands say it
            raise problem
        raise BackupError(
            "{tool} failed ({code}): {problem}",
            tool=argv[0],
            code=result.returncode,
            problem=result.stderr.strip()[:2000],
        )


def _pg_dump(url: str, target: Path) -> Outcome:
    address, env = _libpq(url)
    argv = ["pg_dump", "--format=custom", "--no-owner", f"--file={target}", address]
    command = _shown(argv, env)
    if shutil.which("pg_dump") is None:
        return Outcome(
            False,
            [
                Text(
                    "pg_dump is not on PATH (install the PostgreSQL client, e.g. apt install postgresql-client); run:"
                ),
                command,
            ],
            target,
            command,
        )
    partial = target.with_name(f".{target.name}.partial")
    argv[3] = f"--file={partial}"
    try:
        _run_tool(argv, env, url)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    size = target.stat().st_size
    return Outcome(
        True, [Text("Backup written: {file} ({size} bytes, pg_dump custom format)", file=target, size=size)], target
    )


# --- restore -----------------------------------------------------------------------------------------------


def restore(url: str, file: Path, force: bool = False) -> Outcome:
    """Restore the backup ``file`` into the database at ``url`` and bring it to the current schema.

    An SQLite backup goes into an SQLite database, a pg_dump file into PostgreSQL (``pg_restore``, or its
    command when it is not on PATH). Refused with BackupError, changing nothing: a file that is not an intact
    Otklik backup, one made by a newer Otklik (an unknown schema revision), a backup of the other kind of
    database, and — without ``force`` — a target that already holds data (said, too, when the SQLite file
    looks open by a running bot: stop it first).
    """
    if file.is_dir():
        newest = newest_backup(file, _is_postgres(url), None if _is_postgres(url) else _sqlite_file(url))
        if newest is None:
            raise BackupError(
                "{file} is a folder, and it holds no backup file (*.{suffix}): restore takes a file made by "
                "python -m bot backup",
                file=file,
                suffix="dump" if _is_postgres(url) else "sqlite3",
            )
        raise BackupError(
            "{file} is a folder; restore takes a backup file in it (the newest: {newest})", file=file, newest=newest
        )
    if not file.is_file():
        raise BackupError("{file}: no such file", file=file)
    with file.open("rb") as stream:
        head = stream.read(16)
    if head.startswith(store.PG_DUMP_HEADER):
        if not _is_postgres(url):
            raise BackupError("{file} is a PostgreSQL dump; the configured database is SQLite", file=file)
        return _pg_restore(url, file, force)
    if _is_postgres(url):
        raise BackupError(
            "{file} is not a PostgreSQL dump; to move an SQLite backup to PostgreSQL, restore it into an SQLite "
            "file and run python -m bot db copy --to postgresql+asyncpg://…",
            file=file,
        )
    info = _checked_backup(file)
    target = _sqlite_file(url)
    if not target.parent.is_dir():
        raise BackupError("{folder}: no such directory for the restored database", folder=target.parent)
    if target.resolve() == file.resolve():
        raise BackupError("the backup is the configured database itself")
    lines = []
    if target.exists() and target.stat().st_size > 0:
        in_use = store.sqlite_in_use(target)  # before we open it ourselves
        try:
            present = store.read_sqlite_file(target, check=False)
        except store.NotAnOtklikDatabase:
            present = None
        held = (
            Text("a file that is not an Otklik database")
            if present is None
            else Text("an Otklik database with incidents: {n}", n=present.rows.get("incidents", 0))
        )
        if not force:
            open_now = Text(" It seems open now (a running bot?): stop the bot first.") if in_use else ""
            raise BackupError(
                "{target} already holds {held}.{open_now} Nothing was changed. To replace it with the backup, "
                "run restore again with --force (back it up first if you may need it).",
                target=target,
                held=held,
                open_now=open_now,
            )
        lines.append(Text("Replacing {held} in {target} (--force)", held=held, target=target))
        if in_use:
            lines.append(
                Text("Warning: the database seems open; restart the bot so it starts from the restored state.")
            )
    from storage.db import upgrade

    head = store.head_revision()
    migrate = None if info.revision == head else (lambda path: upgrade(f"sqlite+aiosqlite:///{path}"))
    store.sqlite_restore(file, target, migrate)
    upgraded = (
        Text(", upgraded from schema {old} to {new}", old=info.revision, new=head) if info.revision != head else ""
    )
    restored = store.read_sqlite_file(target, check=False)
    lines.append(
        Text(
            "Restored {file} into {target}{upgraded}: incidents: {incidents}, events: {events}, drafts: {drafts}, "
            "outbox messages: {outbox}",
            file=file,
            target=target,
            upgraded=upgraded,
            incidents=restored.rows.get("incidents", 0),
            events=restored.rows.get("events", 0),
            drafts=restored.rows.get("drafts", 0),
            outbox=restored.rows.get("outbox", 0),
        )
    )
    return Outcome(True, lines, target)


def newest_backup(folder: Path, postgres: bool, database: Path | None = None) -> Path | None:
    """The most recently modified backup file in ``folder`` of the kind the database takes (``*.dump`` for
    PostgreSQL, ``*.sqlite3`` for SQLite, whatever its name; never ``database``, the configured SQLite file),
    or None when it holds none."""
    files = [
        f
        for f in folder.glob("*.dump" if postgres else "*.sqlite3")
        if f.is_file() and (database is None or f.resolve() != database.resolve())
    ]
    return max(files, key=lambda f: (f.stat().st_mtime, f.name), default=None)


def _unusable(exc: store.NotAnOtklikDatabase) -> Text:
    """Why storage.backup refused the file, as a Text."""
    if exc.key == "missing":
        return Text("{file}: no such file", file=exc.path)
    if exc.key == "not_sqlite":
        return Text("{file}: not an SQLite database", file=exc.path)
    if exc.key == "damaged":
        return Text("{file}: the database is damaged ({detail})", file=exc.path, detail=exc.detail)
    return Text("{file}: not a readable SQLite database ({detail})", file=exc.path, detail=exc.detail)


def _checked_backup(file: Path) -> store.SqliteFile:
    try:
        info = store.read_sqlite_file(file)
    except store.NotAnOtklikDatabase as exc:
        raise BackupError("not restored: {problem}", problem=_unusable(exc)) from None
    missing = {t.name for t in store.otklik_tables()} - info.tables
    if info.revision is None or "incidents" not in info.tables:
        raise BackupError(
            "not restored: {file} is an SQLite database but not an Otklik one (no schema revision)", file=file
        )
    if info.revision not in store.known_revisions():
        raise BackupError(
            "not restored: {file} has schema revision {revision}, which this version of Otklik does not know "
            "(made by a newer version? upgrade the bot first)",
            file=file,
            revision=info.revision,
        )
    if info.revision == store.head_revision() and missing:
        raise BackupError(
            "not restored: {file} lacks the tables {tables}", file=file, tables=", ".join(sorted(missing))
        )
    return info


def _pg_restore(url: str, file: Path, force: bool) -> Outcome:
    held, tables = asyncio.run(_pg_rows(url))
    if held and not force:
        raise BackupError(
            "the configured PostgreSQL database already holds rows: {n}. Nothing was changed. To replace them, "
            "stop the bot and run restore again with --force.",
            n=held,
        )
    address, env = _libpq(url)
    argv = ["pg_restore", "--no-owner", "--exit-on-error", "--single-transaction"]
    if tables:  # an empty schema (migrated, never used) is replaced too: the dump creates its own
        argv += ["--clean", "--if-exists"]
    argv += [f"--dbname={address}", str(file)]
    command = _shown(argv, env)
    if shutil.which("pg_restore") is None:
        return Outcome(
            False,
            [
                Text("pg_restore is not on PATH (install the PostgreSQL client); run, then python -m bot db upgrade:"),
                command,
            ],
            None,
            command,
        )
    _run_tool(argv, env, url)
    from storage.db import upgrade

    upgrade(url)
    return Outcome(
        True,
        [
            Text(
                "Restored {file} into {url} and upgraded it to schema {revision}",
                file=file,
                url=_safe(url),
                revision=store.head_revision(),
            )
        ],
    )


async def _pg_rows(url: str) -> tuple[int, bool]:
    """The rows in the Otklik tables of the database, and whether it has any table at all."""
    from storage.db import make_engine

    engine = make_engine(url)
    try:
        async with engine.connect() as connection:
            names = await store.table_names(connection)
            return sum((await store.count_rows(connection, names)).values()), bool(names)
    finally:
        await engine.dispose()


def _safe(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


# --- the daily backup --------------------------------------------------------------------------------------


def prune(directory: Path, keep: int) -> list[Path]:
    """Delete all but the ``keep`` newest daily backups (``DAILY_NAME``) in ``directory``; other files are
    never touched. Returns the files deleted, oldest first."""
    daily = sorted(
        (p for p in directory.iterdir() if p.is_file() and DAILY_NAME.match(p.name)),
        key=lambda p: DAILY_NAME.match(p.name).group(1),  # type: ignore[union-attr]
    )
    old = daily[: max(0, len(daily) - keep)]
    for path in old:
        path.unlink(missing_ok=True)
    return old


def daily_backup(settings: Settings, now: datetime | None = None) -> Outcome:
    """One run of the daily backup: a backup named ``daily_name`` into ``[database] backup_dir`` (made when
    missing), then all but the ``backup_keep`` newest removed. Blocking; raises BackupError as ``backup``
    does, and OSError for a directory that cannot be made."""
    config = settings.database
    assert config.backup_dir is not None, "no backup_dir configured"
    directory = Path(config.backup_dir)
    directory.mkdir(parents=True, exist_ok=True)
    now = now or datetime.now(UTC)
    outcome = backup(config.url, directory / daily_name(now, _is_postgres(config.url)), now)
    if outcome.done:
        for path in prune(directory, config.backup_keep):
            outcome.lines.append(Text("Old backup removed: {file}", file=path))
    return outcome


async def _daily_job(settings: Settings) -> None:
    try:
        outcome = await asyncio.to_thread(daily_backup, settings)
    except Exception:  # the bot goes on; the log says why the backup failed
        log.exception("The daily backup failed")
        return
    for line in outcome.lines:
        (log.info if outcome.done else log.error)("Daily backup: %s", line)


def schedule_backups(scheduler: AsyncIOScheduler | None, settings: Settings) -> None:
    """Add the daily backup to the bot's scheduler when ``[database] backup_dir`` is set: every day at
    ``backup_time`` in the organisation's time zone; a run missed while the bot was down is made within the
    hour after it comes back. Nothing without a scheduler (tests driving time by hand) or a directory."""
    if scheduler is None or settings.database.backup_dir is None:
        return
    from apscheduler.triggers.cron import CronTrigger

    hour, minute = (int(part) for part in settings.database.backup_time.split(":"))
    scheduler.add_job(
        _daily_job,
        CronTrigger(hour=hour, minute=minute, timezone=settings.calendar().tz),
        args=[settings],
        id="daily-backup",
        max_instances=1,
        coalesce=True,
        misfire_grace_time=3600,
    )
