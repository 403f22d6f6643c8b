"""`python -m bot db copy --to URL`: the whole database copied into another one (SQLite to PostgreSQL when the
region grows), then verified — the rows of every table counted on both sides, and the monthly reports of the last
three months (this one so far and the two before) computed on both sides and compared."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.config import ConfigError, Settings
from bot.domain.workflow import Workflow
from bot.report import build_report, previous_month
from bot.texts import Text
from storage import backup as store
from storage.db import make_engine, make_session_factory, upgrade_async

DEFAULT_BATCH = 1000
REPORT_MONTHS = 3  # this month so far and the two before it


class CopyRefused(ConfigError):
    """The copy cannot start (nothing written to the target); the message says why and what to do."""


@dataclass
class CopyResult:
    """What ``copy_database`` did: rows per table on each side (source: as its snapshot held them), the next id
    of each PostgreSQL sequence, each month's report equal or not, and the seconds it took."""

    source_rows: dict[str, int]
    target_rows: dict[str, int]
    sequences: dict[str, int]
    reports: dict[date, bool] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def verified(self) -> bool:
        """Every table has as many rows on both sides and every month's report is the same."""
        return self.source_rows == self.target_rows and all(self.reports.values())

    def summary(self) -> list[str]:
        """The lines to print (bot.texts.Text: English as ``str``, ``.text(locale)`` translated): a table of rows
        per table, the reports compared, the verdict."""
        width = max(len(name) for name in self.source_rows)
        lines: list[str] = [
            Text(
                "{table:<{width}}  {source:>9}  {target:>9}",
                table=Text("table"),
                source=Text("source"),
                target=Text("target"),
                width=width,
            )
        ]
        for name, rows in self.source_rows.items():
            there = self.target_rows.get(name)
            row = f"{name:<{width}}  {rows:>9}  {there if there is not None else '-':>9}"
            lines.append(row if there == rows else Text("{row}  DIFFERENT", row=row))
        if self.sequences:
            numbers = ", ".join(f"{t} → {n}" for t, n in self.sequences.items())
            lines.append(Text("Sequences set past the highest ids: {numbers}", numbers=numbers))
        for month, same in sorted(self.reports.items()):
            verdict = Text("the same on both sides") if same else Text("DIFFERENT")
            lines.append(Text("Monthly report {month}: {verdict}", month=f"{month:%Y-%m}", verdict=verdict))
        total = sum(self.source_rows.values())
        if self.verified:
            lines.append(Text("Copied and verified: {n} rows in {seconds} s.", n=total, seconds=f"{self.seconds:.1f}"))
        else:
            lines.append(
                Text(
                    "VERIFICATION FAILED: the target differs from the source (did the bot write meanwhile? stop it "
                    "and copy again into an empty database)."
                )
            )
        return lines


def _safe(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


async def copy_database(
    settings: Settings,
    target_url: str,
    *,
    batch: int = DEFAULT_BATCH,
    now: datetime | None = None,
    say: Callable[[str], None] = print,
) -> CopyResult:
    """Copy the configured database into the empty one at ``target_url``: the schema created there at the head
    by the migrations, every Otklik table's rows in foreign-key order in inserts of ``batch`` rows, all in one
    transaction of the target (a failed copy leaves it empty), read from one snapshot of the source; on
    PostgreSQL the sequences set past the highest ids. Then verified (CopyResult.verified); ``now`` (aware,
    default the system clock) fixes the reports' moment on both sides; ``say`` gets progress lines.

    Raises CopyRefused, writing nothing, for a target that is the source, is not an SQLAlchemy async URL of
    SQLite or PostgreSQL, holds rows or tables that are not Otklik's, or a source not at the current schema.
    """
    source_url = settings.database.url
    if not target_url.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
        raise CopyRefused("--to must start with postgresql+asyncpg:// or sqlite+aiosqlite://")
    if make_url(target_url) == make_url(source_url):
        raise CopyRefused("--to names the configured database itself")
    now = now or datetime.now(UTC)
    started = time.monotonic()
    source, target = make_engine(source_url), make_engine(target_url)
    try:
        async with source.connect() as src:
            head = store.head_revision()
            found = await store.revision(src)
            if found != head:
                raise CopyRefused(
                    "the configured database {url} is at schema {found}, not {head}: "
                    "run python -m bot db upgrade first",
                    url=_safe(source_url),
                    found=found,
                    head=head,
                )
        async with target.connect() as dst:
            await _refuse_unless_empty(dst, target_url)
        say(Text("Creating the schema in {url}…", url=_safe(target_url)))
        await upgrade_async(target)
        say(Text("Copying {source} → {target}…", source=_safe(source_url), target=_safe(target_url)))
        async with source.connect() as src, target.begin() as dst:
            if source.dialect.name == "postgresql":  # one snapshot for every table (SQLite's transactions are one)
                await src.execution_options(isolation_level="REPEATABLE READ")
            await src.begin()
            source_rows = await store.count_rows(src)
            shown: set[str] = set()

            def progress(table: str, rows: int) -> None:
                if rows == source_rows.get(table) and table not in shown:
                    shown.add(table)
                    say(f"  {table}: {rows}")

            await store.copy_rows(src, dst, batch, progress)
            sequences = await store.set_sequences(dst)
        async with target.connect() as dst:
            target_rows = await store.count_rows(dst)
        result = CopyResult(source_rows, target_rows, sequences)
        say(Text("Comparing the monthly reports…"))
        result.reports = await _compare_reports(settings, source, target, now)
        result.seconds = time.monotonic() - started
        return result
    finally:
        await source.dispose()
        await target.dispose()


async def _refuse_unless_empty(connection: AsyncConnection, url: str) -> None:
    names = await store.table_names(connection)
    ours = {t.name for t in store.otklik_tables()} | {store.VERSION_TABLE}
    foreign = sorted(names - ours)
    if foreign:
        raise CopyRefused(
            "{url} is not empty: it holds tables that are not Otklik's ({tables}). Copy into a new, empty database.",
            url=_safe(url),
            tables=", ".join(foreign[:10]),
        )
    held = {name: rows for name, rows in (await store.count_rows(connection, names)).items() if rows}
    if held:
        listed = ", ".join(f"{name} {rows}" for name, rows in held.items())
        raise CopyRefused(
            "{url} is not empty ({listed}): nothing was copied. Copy into a new, empty database.",
            url=_safe(url),
            listed=listed,
        )


async def _compare_reports(
    settings: Settings, source: AsyncEngine, target: AsyncEngine, now: datetime
) -> dict[date, bool]:
    workflow = Workflow(
        settings.preset(),
        settings.calendar(),
        settings.curator_work_calendar(),
        organisation=settings.organisation.name,
    )
    month = now.astimezone(workflow.calendar.tz).date().replace(day=1)
    sides = make_session_factory(source), make_session_factory(target)
    same: dict[date, bool] = {}
    for _ in range(REPORT_MONTHS):
        mine = await build_report(sides[0], workflow, month, None, now)
        theirs = await build_report(sides[1], workflow, month, None, now)
        same[month] = _same(json.loads(mine.to_json()), json.loads(theirs.to_json()))
        month = previous_month(month)
    return same


def _same(mine: object, theirs: object) -> bool:
    """Two reports' JSON equal, averages and shares up to the last bits of a float (SQLite and PostgreSQL add
    in their own order: 11429.666666666666 and 11429.666666666668 are one figure)."""
    if isinstance(mine, float) or isinstance(theirs, float):
        return isinstance(mine, int | float) and isinstance(theirs, int | float) and math.isclose(mine, theirs)
    if isinstance(mine, dict) and isinstance(theirs, dict):
        return mine.keys() == theirs.keys() and all(_same(mine[k], theirs[k]) for k in mine)
    if isinstance(mine, list) and isinstance(theirs, list):
        return len(mine) == len(theirs) and all(_same(a, b) for a, b in zip(mine, theirs, strict=True))
    return mine == theirs
