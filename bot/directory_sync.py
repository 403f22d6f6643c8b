"""The directory follows the config: departments, topics and locations matched by their codes (Services.seed).

A config entry finds its row by code, else by name (rows from before codes, or an entry whose code was changed);
the row takes the entry's code and name (a rename keeps the row, so its incidents and history) and is active.
An entry no row matches is added; a row no entry names is deactivated, never deleted. A config that names no
entry of a kind (no ``[[departments]]``, no ``topics``) leaves that kind as the database holds it: a bot started
without its config, or on the demo organisation of ``demo-data``, deactivates nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

from bot.config import Department, Entry, Settings
from storage.directory import DirectoryRepository


class _Row(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def code(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def is_active(self) -> bool: ...


def match(
    entries: Sequence[Entry | Department], rows: Sequence[_Row]
) -> tuple[list[tuple[Any, _Row | None]], list[_Row]]:
    """Pair each config entry with its row (by code, else by a name no other entry's code claims; None: new) and
    list the rows left over (to deactivate), both in the given orders."""
    by_code = {row.code: row for row in rows}
    by_name = {row.name: row for row in rows}
    claimed = {by_code[entry.code].id for entry in entries if entry.code in by_code}
    pairs: list[tuple[Any, _Row | None]] = []
    for entry in entries:
        row = by_code.get(entry.code)
        if row is None:
            candidate = by_name.get(entry.name)
            if candidate is not None and candidate.id not in claimed:
                row = candidate
                claimed.add(candidate.id)
        pairs.append((entry, row))
    return pairs, [row for row in rows if row.id not in claimed]


async def sync_entries(
    entries: Sequence[Entry],
    rows: Sequence[_Row],
    add: Callable[..., Awaitable[object]],
    update: Callable[..., Awaitable[None]],
) -> None:
    """Make the topic or location rows follow ``entries`` (see the module): ``add(name, code=…)`` and
    ``update(id, name=…, code=…, is_active=…)`` are the repository's."""
    if not entries:
        return
    pairs, gone = match(entries, rows)
    for row in gone:
        if row.is_active:
            await update(row.id, is_active=False)
    for entry, row in pairs:
        if row is None:
            await add(entry.name, code=entry.code)
        else:
            await update(row.id, **_changes(entry, row))


async def sync_departments(repo: DirectoryRepository, settings: Settings) -> None:
    """Make the department rows follow ``settings.departments`` (see the module), each bound to its ``chat_id``
    read through recorded supergroup upgrades (a group Telegram upgraded keeps its old id in the config)."""
    if not settings.departments:
        return
    rows = await repo.list_departments(active_only=False)
    pairs, gone = match(settings.departments, rows)
    for row in gone:
        if row.is_active:
            await repo.update_department(row.id, is_active=False)
    for dep, row in pairs:
        chat_id = await repo.current_chat(dep.chat_id) if dep.chat_id is not None else None
        if row is None:
            await repo.add_department(dep.name, code=dep.code, chat_id=chat_id)
            continue
        await repo.update_department(row.id, **_changes(dep, row))
        if chat_id is not None and getattr(row, "chat_id", None) != chat_id:
            await repo.bind_chat(row.id, chat_id)


def _changes(entry: Entry | Department, row: _Row) -> dict[str, Any]:
    return {
        "name": entry.name if entry.name != row.name else None,
        "code": entry.code if entry.code != row.code else None,
        "is_active": True if not row.is_active else None,
    }
