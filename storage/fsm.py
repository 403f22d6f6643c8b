"""aiogram FSM storage in our own database: a dialog half-way through survives a restart."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

import sqlalchemy as sa
from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, StateType, StorageKey
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import FsmStateRow

fsm_states = cast(sa.Table, FsmStateRow.__table__)


def _key(key: StorageKey) -> str:
    return ":".join(
        str(part)
        for part in (key.bot_id, key.chat_id, key.user_id, key.thread_id, key.business_connection_id, key.destiny)
    )


class SqlStorage(BaseStorage):
    """aiogram's FSM storage (``aiogram.fsm.storage.base.BaseStorage``) on the ``fsm_states`` table.

    One row per storage key (bot, chat, user, thread, business connection, destiny). Each write is its own
    committed transaction from ``sessions``, apart from the caller's unit of work; database errors propagate.
    """

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        """Store the key's state (a ``State`` or its string name; None clears it), keeping its data.

        Raises IntegrityError (PostgreSQL) if another process created the same key's row at the same moment.
        """
        value = state.state if isinstance(state, State) else state
        await self._upsert(_key(key), state=value)

    async def get_state(self, key: StorageKey) -> str | None:
        """The key's state name (``"Group:state"``), or None if it has none."""
        row = await self._row(_key(key))
        return None if row is None else row.state

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        """Replace the key's data with a copy of ``data`` (JSON-serialisable values), keeping its state.

        Raises IntegrityError (PostgreSQL) if another process created the same key's row at the same moment;
        a value JSON cannot hold raises (TypeError wrapped in ``sqlalchemy.exc.StatementError``).
        """
        await self._upsert(_key(key), data=dict(data))

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        """A copy of the key's data, ``{}`` if it has none."""
        row = await self._row(_key(key))
        return {} if row is None else dict(row.data or {})

    async def close(self) -> None:
        """Nothing to release: the engine behind ``sessions`` belongs to the caller, who disposes of it."""
        return None

    async def _row(self, key: str) -> sa.Row[Any] | None:
        async with self._sessions() as session:
            return (await session.execute(sa.select(fsm_states).where(fsm_states.c.key == key))).first()

    async def _upsert(self, key: str, **values: Any) -> None:
        async with self._sessions() as session, session.begin():
            result = await session.execute(sa.update(fsm_states).where(fsm_states.c.key == key).values(**values))
            if cast(sa.CursorResult[Any], result).rowcount == 0:
                row = {"key": key, "state": None, "data": {}} | values
                await session.execute(sa.insert(fsm_states).values(**row))
