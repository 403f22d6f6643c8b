"""Incidents from a CSV or XLSX file (SPEC §7): a monitoring system's export, or the spreadsheet an
administration kept before the bot. Each row ends in the same domain call as a forwarded post.

The whole file is checked first by the intake contract (bot.intake_rules, the same validator as the
intake API's), each row also by the workflow itself on a throwaway incident: one bad row and nothing
is registered, with every problem listed by row. The rows are then registered in ONE transaction, on
every database: all or nothing. Rows already registered (the same post, bot.domain.links: its link in any
form; without a link, the same text detected at the same moment) are skipped, so a file can be
imported again after an interruption or with new rows appended — also while another import of it
is still running.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot import assistant
from bot.domain.errors import IllegalTransition
from bot.domain.links import post_key
from bot.intake_rules import Row
from bot.services import Person, Services
from bot.texts import Text

MAX_ROWS = 10_000  # rows per file: one import is one transaction, which holds SQLite's write lock meanwhile
MAX_BYTES = 20 * 1024 * 1024
ATTEMPTS = 3  # an import that lost a race for a post (another path registered it meanwhile) runs again

# Column (the intake API's field name) -> the headers it is recognised by (case and spaces do not matter).
COLUMNS: dict[str, tuple[str, ...]] = {
    "url": ("url", "link", "ссылка", "ссылка на сообщение", "ссылка на публикацию"),
    "text": ("text", "текст", "сообщение", "текст сообщения", "текст публикации"),
    "author": ("author", "автор"),
    "network": ("network", "сеть", "соцсеть", "социальная сеть", "источник"),
    "detected_at": ("detected", "detected_at", "дата", "дата выявления", "время выявления", "выявлено"),
    "importance": ("importance", "важность"),
    "kind": ("kind", "вид", "тип"),
    "topics": ("topic", "topics", "тема", "темы", "тематика"),
    "location": ("location", "территория", "населённый пункт", "населенный пункт", "поселение"),
}


class UnreadableFile(Exception):
    """The file cannot be imported as a whole (unreadable, no usable columns, too large); ``args[0]`` is the
    reason, a bot.texts.Text (English as ``str``)."""


@dataclass(frozen=True)
class Table:
    """A file as read: its rows under the intake API's field names (COLUMNS), ready for bot.intake_rules.check."""

    rows: list[tuple[int, dict[str, Any]]]  # (row number as the spreadsheet shows it, {column: value})
    ignored_columns: list[str]  # headers that name no column we know


@dataclass
class Imported:
    """What an import did, each list in the file's row order: rows registered now, rows skipped because
    their post was registered already (by an earlier import, another path, or an earlier row of the file), and
    the rows registered now that the screening flagged (obscene, insulting, threatening)."""

    registered: list[tuple[int, int]] = field(default_factory=list)  # (line, incident number)
    skipped: list[tuple[int, int]] = field(default_factory=list)  # (line, the incident that has the post)
    # (line, incident number, the flags' kinds) of the rows registered now whose post the screening flagged as
    # possibly not to be answered (issue 13 §2): their cards show it to the curators, who decide
    flagged: list[tuple[int, int, tuple[str, ...]]] = field(default_factory=list)


# --- reading ----------------------------------------------------------------------------------------


def read_table(path: Path) -> Table:
    """The rows of the first sheet (XLSX) or of a CSV (UTF-8 or Windows-1251; comma, semicolon or tab)
    under the recognised columns; blank rows are left out, the first non-blank one names the columns.

    XLSX cells keep their types (a date cell is a naive datetime: local time, read by the intake rules); CSV
    cells are strings. Raises UnreadableFile for a file over MAX_BYTES (20 MB) or MAX_ROWS (10,000) rows, of
    another type than .csv/.txt/.xlsx/.xlsm, unreadable, empty, or without a column for the link or the text;
    OSError when it cannot be opened.
    """
    if path.stat().st_size > MAX_BYTES:
        raise UnreadableFile(Text("{name}: over {mb} MB", name=path.name, mb=MAX_BYTES // (1024 * 1024)))
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        cells = _xlsx_cells(path)
    elif path.suffix.lower() in (".csv", ".txt"):
        cells = _csv_cells(path.read_bytes())
    else:
        raise UnreadableFile(Text("{name}: expected a .csv or .xlsx file", name=path.name))
    rows = [(n, r) for n, r in enumerate(cells, start=1) if any(_blank(v) is not None for v in r)]
    if not rows:
        raise UnreadableFile(Text("{name}: the file is empty", name=path.name))
    (_, header), body = rows[0], rows[1:]
    if len(body) > MAX_ROWS:
        raise UnreadableFile(Text("{name}: over {rows} rows; split the file", name=path.name, rows=MAX_ROWS))
    return _by_column(header, body)


def _xlsx_cells(path: Path) -> list[list[Any]]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises several kinds for a file that is not a workbook
        raise UnreadableFile(
            Text("{name}: not a readable XLSX workbook ({problem})", name=path.name, problem=str(exc))
        ) from None
    try:
        return [list(row) for row in workbook.worksheets[0].iter_rows(values_only=True)]
    finally:
        workbook.close()


def _csv_cells(data: bytes) -> list[list[Any]]:
    for encoding in ("utf-8-sig", "cp1251"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - cp1251 decodes every byte but a few unassigned ones
        raise UnreadableFile(Text("the CSV is neither UTF-8 nor Windows-1251 text"))
    first_line = text.splitlines()[0] if text else ""
    delimiter = max((";", ",", "\t"), key=first_line.count)
    # The csv module refuses a field over 131,072 characters; the file's size is bounded (MAX_BYTES),
    # and the row check names a text over its limit with its row, so read every field whole.
    csv.field_size_limit(max(csv.field_size_limit(), MAX_BYTES))
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        return [list(row) for row in reader]
    except csv.Error as exc:
        raise UnreadableFile(
            Text("row {line}: not readable as CSV ({problem})", line=reader.line_num, problem=str(exc))
        ) from None


def _by_column(header: Sequence[Any], body: Iterable[tuple[int, Sequence[Any]]]) -> Table:
    known = {name: column for column, names in COLUMNS.items() for name in names}
    positions: dict[str, int] = {}
    ignored: list[str] = []
    for index, title in enumerate(header):
        name = " ".join(str(title or "").split()).lower()
        column = known.get(name)
        if column is not None and column not in positions:
            positions[column] = index
        elif name:
            ignored.append(str(title))
    if "url" not in positions and "text" not in positions:
        raise UnreadableFile(
            Text(
                "no column with the link or the text of the post; the first row must name the columns, e.g. "
                "«Ссылка;Текст;Автор;Дата выявления;Тема;Важность»"
            )
        )
    rows = [(n, {c: (row[i] if i < len(row) else None) for c, i in positions.items()}) for n, row in body]
    return Table(rows, ignored)


# --- registering ------------------------------------------------------------------------------------


async def import_rows(
    services: Services, person: Person, rows: Sequence[Row], progress: Callable[[int], None] | None = None
) -> Imported:
    """Register the checked rows in one transaction, skipping the posts already registered.

    ``progress(n)`` is called after the n-th row. Another import of the same file waits for this one
    and then skips every row; a post registered by another path meanwhile makes the transaction roll
    back, and the import runs again (up to ATTEMPTS times) — then skipping that post.

    ``person`` registers them (a curator). Raises IllegalTransition ``already_registered`` when every attempt
    lost such a race, and whatever ``Services.register_many`` raises otherwise (a row not checked by
    bot.intake_rules may break a rule; NotAllowed ``role_required`` for a person who is not a curator);
    nothing is saved then.
    """
    items = [(row.source, row.options) for row in rows]
    for attempt in range(1, ATTEMPTS + 1):
        try:
            results = await services.register_many(person, items, via="import", progress=progress)
            break
        except IllegalTransition as exc:
            if exc.key != "already_registered" or attempt == ATTEMPTS:
                raise
    done = Imported()
    for row, (number, created) in zip(rows, results, strict=True):
        (done.registered if created else done.skipped).append((row.line, number))
        flags = assistant.flagged(services, row.source.text or "") if created else []
        if flags:
            done.flagged.append((row.line, number, tuple(f["kind"] for f in flags)))
    return done


async def rows_to_skip(services: Services, rows: Sequence[Row]) -> list[int]:
    """The line numbers of the rows an import would skip, in order, without registering anything (a dry run):
    a post registered already (bot.domain.links: its link in any form; without a link, the same text at the
    same moment), or the same post as an earlier row of the file — as :func:`import_rows` skips them."""
    numbers = await services.registered_posts([row.source for row in rows])
    seen: set[str] = set()
    skipped = []
    for row, number in zip(rows, numbers, strict=True):
        key = post_key(row.source)
        if number is not None or key in seen:
            skipped.append(row.line)
        seen.add(key)
    return skipped


# --- cells ------------------------------------------------------------------------------------------


def _blank(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value
