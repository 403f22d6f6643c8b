"""Incidents from a CSV or XLSX file (SPEC §7): a monitoring system's export, or the spreadsheet an
administration kept before the bot. Each row ends in the same domain call as a forwarded post.

The whole file is checked first, each row by the workflow itself on a throwaway incident: one bad
row and nothing is registered, with every problem listed by row. Rows already registered (the same
link; without a link, the same text detected at the same moment) are skipped, so a file can be
imported again after an interruption or with new rows appended.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.errors import DomainError
from bot.incident import Importance, Kind, Network, Source, network_of
from bot.services import Directory, Person, Services
from bot.workflow import Workflow

MAX_ROWS = 10_000
MAX_BYTES = 20 * 1024 * 1024

# Column -> the headers it is recognised by (case and spaces do not matter). Other columns are ignored.
COLUMNS: dict[str, tuple[str, ...]] = {
    "url": ("url", "link", "ссылка", "ссылка на сообщение", "ссылка на публикацию"),
    "text": ("text", "текст", "сообщение", "текст сообщения", "текст публикации"),
    "author": ("author", "автор"),
    "network": ("network", "сеть", "соцсеть", "социальная сеть", "источник"),
    "detected": ("detected", "detected_at", "дата", "дата выявления", "время выявления", "выявлено"),
    "importance": ("importance", "важность"),
    "kind": ("kind", "вид", "тип"),
    "topic": ("topic", "topics", "тема", "темы", "тематика"),
    "location": ("location", "территория", "населённый пункт", "населенный пункт", "поселение"),
}
IMPORTANCE = {
    Importance.normal: ("", "normal", "обычная", "нет", "no", "0"),
    Importance.high: ("high", "высокая", "да", "yes", "1"),
}
KINDS = {
    Kind.incident: ("", "incident", "инцидент", "сообщение"),
    Kind.publication: ("publication", "публикация"),
}
NETWORK_NAMES = {
    Network.vk: ("вконтакте", "вк"),
    Network.ok: ("одноклассники", "ок"),
    Network.telegram: ("телеграм", "телеграмм"),
    Network.instagram: ("инстаграм",),
    Network.facebook: ("фейсбук",),
    Network.twitter: ("твиттер", "x"),
    Network.site: ("сайт",),
    Network.messenger: ("мессенджер",),
    Network.other: ("другое", "другая"),
}
DATE_FORMATS = ("%d.%m.%Y %H:%M", "%d.%m.%Y %H:%M:%S", "%d.%m.%y %H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S")


class UnreadableFile(Exception):
    """The file cannot be imported as a whole (unreadable, no usable columns, too large)."""


@dataclass(frozen=True)
class Table:
    rows: list[tuple[int, dict[str, Any]]]  # (row number as the spreadsheet shows it, {column: value})
    ignored_columns: list[str]  # headers that name no column we know


@dataclass(frozen=True)
class Row:
    line: int  # the row's number as the spreadsheet shows it (the header is row 1)
    source: Source
    options: dict[str, Any]


@dataclass
class Checked:
    rows: list[Row] = field(default_factory=list)
    errors: list[tuple[int, list[str]]] = field(default_factory=list)  # (line, what is wrong)


@dataclass
class Imported:
    registered: list[tuple[int, int]] = field(default_factory=list)  # (line, incident number)
    skipped: list[tuple[int, int]] = field(default_factory=list)  # (line, the incident that has the post)


# --- reading ----------------------------------------------------------------------------------------


def read_table(path: Path) -> Table:
    """The rows of the first sheet (XLSX) or of a CSV (UTF-8 or Windows-1251; comma, semicolon or tab)
    under the recognised columns."""
    if path.stat().st_size > MAX_BYTES:
        raise UnreadableFile(f"{path.name}: over {MAX_BYTES // (1024 * 1024)} MB")
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        cells = _xlsx_cells(path)
    elif path.suffix.lower() in (".csv", ".txt"):
        cells = _csv_cells(path.read_bytes())
    else:
        raise UnreadableFile(f"{path.name}: expected a .csv or .xlsx file")
    rows = [(n, r) for n, r in enumerate(cells, start=1) if any(_blank(v) is not None for v in r)]
    if not rows:
        raise UnreadableFile(f"{path.name}: the file is empty")
    (_, header), body = rows[0], rows[1:]
    if len(body) > MAX_ROWS:
        raise UnreadableFile(f"{path.name}: over {MAX_ROWS} rows; split the file")
    return _by_column(header, body)


def _xlsx_cells(path: Path) -> list[list[Any]]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises several kinds for a file that is not a workbook
        raise UnreadableFile(f"{path.name}: not a readable XLSX workbook ({exc})") from None
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
        raise UnreadableFile("the CSV is neither UTF-8 nor Windows-1251 text")
    first_line = text.splitlines()[0] if text else ""
    delimiter = max((";", ",", "\t"), key=first_line.count)
    return [list(row) for row in csv.reader(io.StringIO(text), delimiter=delimiter)]


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
            "no column with the link or the text of the post; the first row must name the columns, e.g. "
            "«Ссылка;Текст;Автор;Дата выявления;Тема;Важность»"
        )
    rows = [(n, {c: (row[i] if i < len(row) else None) for c, i in positions.items()}) for n, row in body]
    return Table(rows, ignored)


# --- checking ---------------------------------------------------------------------------------------


def check(workflow: Workflow, person: Person, directory: Directory, table: Table, now: datetime) -> Checked:
    """Every row turned into a source and registration options, or the reasons it cannot be."""
    checked = Checked()
    tz = workflow.calendar.tz
    topics = {name: topic_id for topic_id, name in directory.topics.items()}
    locations = {name: loc_id for loc_id, name in directory.locations.items()}
    for line, values in table.rows:
        problems: list[str] = []
        url = _blank(values.get("url"))
        text = _blank(values.get("text"))
        if url is None and text is None:
            problems.append("neither a link nor a text")
        detected = _moment(values.get("detected"), tz, now, problems)
        network = _network(values.get("network"), url, problems)
        importance = _choice(values.get("importance"), IMPORTANCE, "importance", problems)
        kind = _choice(values.get("kind"), KINDS, "kind", problems)
        topic_ids = _names(values.get("topic"), topics, "topic", problems, several=True)
        location_ids = _names(values.get("location"), locations, "location", problems, several=False)
        author = _blank(values.get("author"))
        source = Source(network, str(url) if url else None, str(author) if author else None, str(text or ""), detected)
        options = {
            "importance": importance,
            "kind": kind,
            "topic_ids": topic_ids,
            "location_id": location_ids[0] if location_ids else None,
            "detected_at": detected,
        }
        if not problems:
            try:  # the rules themselves, on a throwaway incident: nothing is stored
                workflow.register(person.actor, now, [source], **options)
            except DomainError as exc:
                problems.append(_domain_problem(exc))
        if problems:
            checked.errors.append((line, problems))
        else:
            checked.rows.append(Row(line, source, options))
    return checked


async def import_rows(services: Services, person: Person, rows: Sequence[Row]) -> Imported:
    """Register the checked rows one by one, skipping the posts already registered."""
    done = Imported()
    for row in rows:
        existing = await services.already_registered(row.source)
        if existing is not None:
            done.skipped.append((row.line, existing))
            continue
        incident = await services.register(person, [row.source], **row.options, via="import")
        assert incident.id is not None
        done.registered.append((row.line, incident.id))
    return done


# --- cells ------------------------------------------------------------------------------------------


def _blank(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def _moment(value: Any, tz: ZoneInfo, now: datetime, problems: list[str]) -> datetime:
    value = _blank(value)
    if value is None:
        return now  # as for a forwarded post: detected when it reaches the bot
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date) or _DATE_ONLY.fullmatch(str(value)):
        problems.append("the date of detection needs a time too: deadlines run from that moment")
        return now
    else:
        moment = _parse_moment(str(value))
        if moment is None:
            problems.append(f"«{value}» is not a moment of detection (write 25.11.2026 10:30)")
            return now
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=tz)


_DATE_ONLY = re.compile(r"\d{1,2}\.\d{1,2}\.\d{2,4}|\d{4}-\d{2}-\d{2}")


def _parse_moment(text: str) -> datetime | None:
    for pattern in DATE_FORMATS:
        try:
            return datetime.strptime(text, pattern)
        except ValueError:
            continue
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def _network(value: Any, url: Any, problems: list[str]) -> Network:
    name = str(_blank(value) or "").lower()
    if not name:
        return network_of(str(url)) if url else Network.other
    for network in Network:
        if name == network.value or name in NETWORK_NAMES.get(network, ()):
            return network
    problems.append(f"unknown network «{value}»")
    return Network.other


def _choice(value: Any, choices: dict[Any, tuple[str, ...]], what: str, problems: list[str]) -> Any:
    name = str(_blank(value) or "").lower()
    for choice, names in choices.items():
        if name in names:
            return choice
    problems.append(f"unknown {what} «{value}»")
    return next(iter(choices))


def _names(value: Any, known: dict[str, int], what: str, problems: list[str], *, several: bool) -> list[int]:
    text = str(_blank(value) or "")
    names = [n.strip() for n in text.replace(",", ";").split(";")] if several else [text.strip()]
    by_lower = {k.lower(): v for k, v in known.items()}
    found = []
    for name in filter(None, names):
        if name.lower() in by_lower:
            found.append(by_lower[name.lower()])
        else:
            choices = ", ".join(sorted(known)) or "none in the config"
            problems.append(f"unknown {what} «{name}» (known: {choices})")
    return found


def _domain_problem(exc: DomainError) -> str:
    return {
        "no_source": "neither a link nor a text",
        "empty_source": "neither a link nor a text",
        "long_source": "the text is too long",
        "detected_in_future": "the moment of detection is in the future",
    }.get(exc.key, str(exc))
