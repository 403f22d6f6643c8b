"""Telegram updates already handled, so one delivered again after a crash changes nothing twice."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.tables import processed_updates


class ProcessedUpdates:
    """Telegram may deliver an update twice (restart, webhook retry): handle it once (SPEC §8).

    Works inside the caller's transaction: a recorded update id becomes durable with its commit.
    """

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def seen(self, update_id: int) -> bool:
        """Whether this Telegram ``update_id`` is recorded as handled; a read, it records nothing."""
        row = await self._session.execute(
            sa.select(processed_updates.c.update_id).where(processed_updates.c.update_id == update_id)
        )
        return row.first() is not None

    async def first_time(self, update_id: int, at: datetime | None = None) -> bool:
        """Record ``update_id`` as handled at ``at`` (aware; default: the database's clock, UTC).

        True if this call recorded it, False if it was recorded before (then nothing is written and the
        caller's transaction stays usable: the insert runs in a savepoint).
        """
        values: dict[str, Any] = {"update_id": update_id}
        if at is not None:
            values["processed_at"] = at
        try:
            # A savepoint, so a duplicate does not poison the caller's transaction (PostgreSQL).
            async with self._session.begin_nested():
                await self._session.execute(sa.insert(processed_updates).values(**values))
        except IntegrityError:
            return False
        return True
