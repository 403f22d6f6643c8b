"""The inbox: Telegram updates recorded as received, before Telegram is told they arrived, until handled."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.tables import inbox


@dataclass(frozen=True)
class InboxRecord:
    """One received update: Telegram's ``update_id``, the ``key`` whose updates run in order (the chat id, or
    the user id of an update without a chat, 0 for neither) and the update's JSON as Telegram sent it."""

    update_id: int
    key: int
    payload: str


def _claimable(table: sa.Table | Any, instance: str, now: datetime, own: bool) -> sa.ColumnElement[bool]:
    expired = sa.or_(table.c.claimed_until.is_(None), table.c.claimed_until < now)
    if own:
        return sa.or_(expired, table.c.claimed_by == instance)
    return sa.and_(expired, sa.or_(table.c.claimed_by.is_(None), table.c.claimed_by != instance))


class Inbox:
    """Received updates (SPEC §8 crash safety): a row is written, and committed, before the polling offset moves
    past it or the webhook push is answered, and is marked done once handled. Rows not done are handled again
    after a crash; the update's once-only check (``storage.updates.ProcessedUpdates``) makes that safe.

    Several instances may share the table: a row is claimed by the instance that received it (``claimed_by``,
    a lease ``claimed_until``, kept alive by :meth:`renew`); an instance restarted under the same name takes its
    own unfinished rows back at once, any other instance those whose lease ran out. Works inside the caller's
    transaction; times are aware (UTC stored)."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(
        self, records: Sequence[InboxRecord], instance: str, now: datetime, lease_until: datetime
    ) -> list[int]:
        """Record ``records`` as received at ``now``, claimed by ``instance`` until ``lease_until``; an update
        already recorded (Telegram delivering it again) is left as it is. Returns the ids this call recorded."""
        if not records:
            return []
        values = [
            {
                "update_id": r.update_id,
                "key": r.key,
                "payload": r.payload,
                "received_at": now,
                "claimed_by": instance,
                "claimed_until": lease_until,
            }
            for r in records
        ]
        insert = postgresql.insert if self._session.bind.dialect.name == "postgresql" else sqlite.insert
        statement = (
            insert(inbox)
            .values(values)
            .on_conflict_do_nothing(index_elements=["update_id"])
            .returning(inbox.c.update_id)
        )
        return sorted(row[0] for row in await self._session.execute(statement))

    async def take_unfinished(
        self, instance: str, now: datetime, lease_until: datetime, *, own: bool, limit: int = 500
    ) -> list[InboxRecord]:
        """Claim for ``instance`` until ``lease_until`` up to ``limit`` rows not done whose lease ran out at
        ``now`` — and, with ``own``, those ``instance`` already holds (its restart after a crash). Oldest first.
        The claim is one conditional UPDATE: of two instances taking the same row, one wins it."""
        rows = inbox.alias("candidates")  # an alias, or the subquery would correlate to the updated row
        candidates = (
            sa.select(rows.c.update_id)
            .where(rows.c.done_at.is_(None), _claimable(rows, instance, now, own))
            .order_by(rows.c.update_id)
            .limit(limit)
        )
        statement = (
            sa.update(inbox)
            .where(inbox.c.update_id.in_(candidates), inbox.c.done_at.is_(None), _claimable(inbox, instance, now, own))
            .values(claimed_by=instance, claimed_until=lease_until)
            .returning(inbox.c.update_id, inbox.c.key, inbox.c.payload)
        )
        taken = [InboxRecord(*row) for row in await self._session.execute(statement)]
        return sorted(taken, key=lambda r: r.update_id)

    async def renew(self, instance: str, update_ids: Sequence[int], lease_until: datetime) -> int:
        """Extend to ``lease_until`` the lease of those of ``update_ids`` that ``instance`` holds and that are not
        done; returns how many rows it extended."""
        if not update_ids:
            return 0
        result = await self._session.execute(
            sa.update(inbox)
            .where(inbox.c.update_id.in_(list(update_ids)), inbox.c.claimed_by == instance, inbox.c.done_at.is_(None))
            .values(claimed_until=lease_until)
        )
        return cast(sa.CursorResult[Any], result).rowcount

    async def done(self, update_ids: Sequence[int], now: datetime) -> None:
        """Mark ``update_ids`` handled at ``now``: they are not handled again after a restart."""
        if update_ids:
            await self._session.execute(
                sa.update(inbox)
                .where(inbox.c.update_id.in_(list(update_ids)), inbox.c.done_at.is_(None))
                .values(done_at=now, claimed_until=None)
            )

    async def prune(self, before: datetime) -> int:
        """Delete rows done before ``before``; returns how many. The once-only record of each update stays in
        ``processed_updates``."""
        result = await self._session.execute(sa.delete(inbox).where(inbox.c.done_at < before))
        return cast(sa.CursorResult[Any], result).rowcount

    async def unfinished(self) -> list[int]:
        """The ids of the rows not done yet, oldest first (a read)."""
        rows = await self._session.execute(
            sa.select(inbox.c.update_id).where(inbox.c.done_at.is_(None)).order_by(inbox.c.update_id)
        )
        return [row[0] for row in rows]
