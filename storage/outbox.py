"""The outbox: notices written in the transaction of the change that causes them, claimed and settled by the sender."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import OutboxStatus
from storage.tables import outbox

# --- delivery -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class OutboxMessage:
    """One outbox row as read: a Bot API payload for ``chat_id`` and its delivery state (datetimes aware UTC)."""

    id: int
    chat_id: int
    payload: dict[str, Any]
    incident_id: int | None
    created_at: datetime
    not_before: datetime | None
    attempts: int
    status: OutboxStatus
    sent_at: datetime | None
    last_error: str | None
    dedupe_key: str | None
    claimed_by: str | None = None
    claimed_until: datetime | None = None
    sent_parts: list[list[int]] | None = None  # message ids of the parts Telegram already has, in order


_OPEN = (OutboxStatus.pending, OutboxStatus.sending)


def _claimable(now: datetime) -> sa.ColumnElement[bool]:
    """Due pending rows, and rows whose sender's lease ran out (it crashed or hangs)."""
    return sa.or_(
        sa.and_(
            outbox.c.status == OutboxStatus.pending,
            sa.or_(outbox.c.not_before.is_(None), outbox.c.not_before <= now),
        ),
        sa.and_(outbox.c.status == OutboxStatus.sending, outbox.c.claimed_until < now),
    )


class OutboxRepository:
    """Notifications written with the change they announce, sent later by the sender (SPEC §8: nothing lost).

    Works in the caller's transaction. Moments in are aware (any zone), moments out aware UTC; a naive one
    raises ``sqlalchemy.exc.StatementError`` (:class:`storage.types.UTCDateTime`).
    """

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add_many(self, rows: Iterable[dict[str, Any]]) -> None:
        """Queue several messages at once, each a dict of chat_id, payload (JSON) and optional incident_id; no
        dedupe keys. Raises IntegrityError if an incident id does not exist."""
        values = [{"chat_id": r["chat_id"], "payload": r["payload"], "incident_id": r.get("incident_id")} for r in rows]
        if values:
            await self._session.execute(sa.insert(outbox), values)

    async def add(
        self,
        chat_id: int,
        payload: dict[str, Any],
        incident_id: int | None = None,
        dedupe_key: str | None = None,
        not_before: datetime | None = None,
        *,
        created_at: datetime | None = None,
    ) -> int | None:
        """Queue a message (``payload`` JSON) due at ``not_before`` (aware; None: now); returns its id, or None
        if ``dedupe_key`` was already queued (then nothing is written; a savepoint keeps the caller's
        transaction usable). ``created_at`` defaults to the database's clock. Raises IntegrityError if the
        incident does not exist."""
        values: dict[str, Any] = {
            "chat_id": chat_id,
            "payload": payload,
            "incident_id": incident_id,
            "dedupe_key": dedupe_key,
            "not_before": not_before,
        }
        if created_at is not None:
            values["created_at"] = created_at
        statement = sa.insert(outbox).values(**values).returning(outbox.c.id)
        if dedupe_key is None:
            return (await self._session.execute(statement)).scalar_one()
        try:
            async with self._session.begin_nested():
                return (await self._session.execute(statement)).scalar_one()
        except IntegrityError:
            return None

    async def existing_keys(self, keys: Iterable[str]) -> set[str]:
        """Which of these dedupe keys some row (in any state) already holds: what was queued once is not
        computed again (the morning digest's "sent for day D")."""
        wanted = list(keys)
        found: set[str] = set()
        for start in range(0, len(wanted), 500):  # bounded IN lists
            chunk = wanted[start : start + 500]
            rows = await self._session.execute(sa.select(outbox.c.dedupe_key).where(outbox.c.dedupe_key.in_(chunk)))
            found.update(key for (key,) in rows if key is not None)
        return found

    async def pending(self, limit: int = 100, now: datetime | None = None) -> list[OutboxMessage]:
        """Up to ``limit`` pending messages (not those being sent), oldest (lowest id) first; with ``now``
        (aware), only those whose ``not_before`` passed."""
        statement = sa.select(outbox).where(outbox.c.status == OutboxStatus.pending)
        if now is not None:
            statement = statement.where(sa.or_(outbox.c.not_before.is_(None), outbox.c.not_before <= now))
        rows = await self._session.execute(statement.order_by(outbox.c.id).limit(limit))
        return [OutboxMessage(**row._asdict()) for row in rows]

    async def mark_sent(self, message_id: int, at: datetime) -> None:
        """Record the row as sent at ``at`` (aware), counting the attempt, whoever holds it; an unknown id changes
        nothing."""
        await self._session.execute(
            sa.update(outbox)
            .where(outbox.c.id == message_id)
            .values(status=OutboxStatus.sent, sent_at=at, attempts=outbox.c.attempts + 1)
        )

    async def mark_failed(self, message_id: int, error: str, *, retry_at: datetime | None = None) -> None:
        """Record a failed attempt with its ``error`` text: retried after ``retry_at`` (aware) if given, else
        given up (``failed``). An unknown id changes nothing."""
        values: dict[str, Any] = {"attempts": outbox.c.attempts + 1, "last_error": error}
        if retry_at is None:
            values["status"] = OutboxStatus.failed
        else:
            values["not_before"] = retry_at
        await self._session.execute(sa.update(outbox).where(outbox.c.id == message_id).values(**values))

    # Claims. A chat's *head* is its lowest-id open (pending or sending) row; only heads are claimed, so
    # messages to one chat go out in id order and never two at once, whichever sender claims them. Once a
    # row is a head it stays one until it is sent or failed (both final), so a claim only has to check that
    # the row is still claimable: the conditional UPDATE decides races between senders.

    @property
    def session(self) -> AsyncSession:
        """For writes that must share this transaction (the curator's notice with the failure it reports)."""
        return self._session

    async def has_due(self, chat_id: int, now: datetime) -> bool:
        """Whether the chat has a pending row due at ``now`` (aware): a cheap read before trying a claim (a write)."""
        statement = sa.select(outbox.c.id).where(
            outbox.c.chat_id == chat_id,
            outbox.c.status == OutboxStatus.pending,
            sa.or_(outbox.c.not_before.is_(None), outbox.c.not_before <= now),
        )
        return (await self._session.execute(statement.limit(1))).first() is not None

    async def ready_heads(self, now: datetime, limit: int) -> list[OutboxMessage]:
        """Up to ``limit`` chat heads claimable at ``now`` (aware): due pending rows, or rows whose lease ran
        out; oldest (lowest id) first, at most one per chat. A read: claim them with :meth:`claim`."""
        earlier = outbox.alias("earlier")
        earlier_open = (
            sa.select(earlier.c.id)
            .where(earlier.c.chat_id == outbox.c.chat_id, earlier.c.status.in_(_OPEN), earlier.c.id < outbox.c.id)
            .exists()
        )
        statement = sa.select(outbox).where(_claimable(now), ~earlier_open).order_by(outbox.c.id).limit(limit)
        return [OutboxMessage(**row._asdict()) for row in await self._session.execute(statement)]

    async def claim(
        self, ids: Sequence[int], instance: str, now: datetime, lease_until: datetime
    ) -> list[OutboxMessage]:
        """Claim those of ``ids`` still claimable at ``now`` for ``instance`` until ``lease_until`` (both aware);
        returns the rows this call won, now ``sending``, oldest first (empty if another sender won them all)."""
        if not ids:
            return []
        statement = (
            sa.update(outbox)
            .where(outbox.c.id.in_(list(ids)), _claimable(now))
            .values(status=OutboxStatus.sending, claimed_by=instance, claimed_until=lease_until)
            .returning(*outbox.c)
        )
        rows = await self._session.execute(statement)
        return sorted((OutboxMessage(**row._asdict()) for row in rows), key=lambda m: m.id)

    async def claim_next(
        self, chat_id: int, instance: str, now: datetime, lease_until: datetime
    ) -> OutboxMessage | None:
        """Claim the chat's head if it is due at ``now``, for ``instance`` until ``lease_until`` (both aware): the
        sender keeps going in a chat it just delivered to. Returns the claimed row, or None (nothing due, the
        head is another sender's, or the chat has nothing open)."""
        rows = outbox.alias("open_rows")  # an alias, or the subquery would correlate to the updated row
        head = (
            sa.select(sa.func.min(rows.c.id))
            .where(rows.c.chat_id == chat_id, rows.c.status.in_(_OPEN))
            .scalar_subquery()
        )
        statement = (
            sa.update(outbox)
            .where(outbox.c.id == head, _claimable(now))
            .values(status=OutboxStatus.sending, claimed_by=instance, claimed_until=lease_until)
            .returning(*outbox.c)
        )
        row = (await self._session.execute(statement)).first()
        return None if row is None else OutboxMessage(**row._asdict())

    async def claim_heads(
        self, chat_ids: Sequence[int], instance: str, now: datetime, lease_until: datetime
    ) -> list[OutboxMessage]:
        """:meth:`claim_next` for several chats in one statement (the sender's group commit); returns the rows
        won, at most one per chat, in no particular order."""
        if not chat_ids:
            return []
        rows = outbox.alias("open_rows")  # an alias, or the subquery would correlate to the updated row
        heads = (
            sa.select(sa.func.min(rows.c.id))
            .where(rows.c.chat_id.in_(list(chat_ids)), rows.c.status.in_(_OPEN))
            .group_by(rows.c.chat_id)
        )
        statement = (
            sa.update(outbox)
            .where(outbox.c.id.in_(heads), _claimable(now))
            .values(status=OutboxStatus.sending, claimed_by=instance, claimed_until=lease_until)
            .returning(*outbox.c)
        )
        return [OutboxMessage(**row._asdict()) for row in await self._session.execute(statement)]

    async def record_parts(self, message_id: int, instance: str, parts: Sequence[Sequence[int]]) -> bool:
        """Record the parts of a claimed row Telegram has accepted so far (Telegram message ids, one list per
        sending call, in order); False if the claim was lost (``instance`` no longer holds the row)."""
        return await self._update_claimed(message_id, instance, {"sent_parts": [list(p) for p in parts]})

    async def retarget(self, old_chat_id: int, new_chat_id: int, now: datetime) -> int:
        """Rows for a chat that moved go to its new id: the open ones, and those given up because of the
        move (their error names the supergroup), which are queued again due at ``now`` (aware) with their
        attempts reset. Returns how many rows moved."""
        moved = await self._session.execute(
            sa.update(outbox)
            .where(outbox.c.chat_id == old_chat_id, outbox.c.status.in_(_OPEN))
            .values(chat_id=new_chat_id)
        )
        failed = await self._session.execute(
            sa.update(outbox)
            .where(
                outbox.c.chat_id == old_chat_id,
                outbox.c.status == OutboxStatus.failed,
                outbox.c.last_error.like("%supergroup%"),
            )
            .values(
                chat_id=new_chat_id,
                status=OutboxStatus.pending,
                not_before=now,
                attempts=0,
                claimed_by=None,
                claimed_until=None,
                sent_parts=None,
            )
        )
        return sum(cast(sa.CursorResult[Any], r).rowcount for r in (moved, failed))

    async def merge_pending(self, dedupe_key: str, chat_id: int, payload: dict[str, Any], not_before: datetime) -> bool:
        """Replace the payload and ``not_before`` (aware) of the still pending row with this key, or queue it;
        False when the key belongs to a row already being sent, sent or failed (the caller then uses a new key)."""
        updated = await self._session.execute(
            sa.update(outbox)
            .where(outbox.c.dedupe_key == dedupe_key, outbox.c.status == OutboxStatus.pending)
            .values(payload=payload, not_before=not_before)
        )
        if cast(sa.CursorResult[Any], updated).rowcount == 1:
            return True
        return await self.add(chat_id, payload, dedupe_key=dedupe_key, not_before=not_before) is not None

    async def pending_in_chat(
        self, chat_id: int, limit: int = 10_000, *, with_sending: bool = False
    ) -> list[OutboxMessage]:
        """The chat's pending rows (with ``with_sending``, also the one being sent), oldest (lowest id) first, at
        most ``limit``; due or not. What a summary of a burst may cover (``bot.bursts``), or a report request
        may join (``bot.report_jobs``)."""
        statuses = _OPEN if with_sending else (OutboxStatus.pending,)
        statement = (
            sa.select(outbox)
            .where(outbox.c.chat_id == chat_id, outbox.c.status.in_(statuses))
            .order_by(outbox.c.id)
            .limit(limit)
        )
        return [OutboxMessage(**row._asdict()) for row in await self._session.execute(statement)]

    async def cover(self, rows: Sequence[OutboxMessage], by: int, at: datetime) -> None:
        """Settle still pending ``rows`` as told by another row, ``by`` (a summary): each is marked sent at ``at``
        (aware) without a call to Telegram, its payload noting ``"covered_by": by``. A row no longer pending is
        left alone."""
        if not rows:
            return
        await self._session.execute(
            sa.update(outbox)
            .where(outbox.c.id == sa.bindparam("rid"), outbox.c.status == OutboxStatus.pending)
            .values(status=OutboxStatus.sent, sent_at=at, payload=sa.bindparam("covered", type_=outbox.c.payload.type)),
            [{"rid": r.id, "covered": {**r.payload, "covered_by": by}} for r in rows],
        )

    async def replace_payload(self, message_id: int, instance: str, payload: dict[str, Any]) -> bool:
        """Give a claimed row a new payload (JSON), before any of its parts went out; False if the claim was lost
        (``instance`` no longer holds the row)."""
        return await self._update_claimed(message_id, instance, {"payload": payload})

    async def mark_sent_many(self, message_ids: Sequence[int], at: datetime) -> None:
        """:meth:`mark_sent` for several rows in one statement; unknown ids change nothing."""
        await self._session.execute(
            sa.update(outbox)
            .where(outbox.c.id.in_(list(message_ids)))
            .values(status=OutboxStatus.sent, sent_at=at, attempts=outbox.c.attempts + 1)
        )

    async def release(
        self, message_id: int, instance: str, *, not_before: datetime, error: str, attempt: bool = True
    ) -> bool:
        """Hand a claimed row back to be tried again after ``not_before`` (aware), recording ``error`` and, with
        ``attempt``, counting the attempt (the sender does not count a 429 wait); False if the claim was lost."""
        values: dict[str, Any] = {
            "status": OutboxStatus.pending,
            "not_before": not_before,
            "last_error": error,
            "claimed_until": None,
        }
        if attempt:
            values["attempts"] = outbox.c.attempts + 1
        return await self._update_claimed(message_id, instance, values)

    async def give_up(self, message_id: int, instance: str, error: str) -> bool:
        """Record a claimed row as failed for good with ``error``, counting the attempt; False if the claim was lost."""
        values = {
            "status": OutboxStatus.failed,
            "last_error": error,
            "attempts": outbox.c.attempts + 1,
            "claimed_until": None,
        }
        return await self._update_claimed(message_id, instance, values)

    async def _update_claimed(self, message_id: int, instance: str, values: dict[str, Any]) -> bool:
        # Only while still ours: after a lost lease another sender owns the row and decides its fate.
        result = await self._session.execute(
            sa.update(outbox)
            .where(
                outbox.c.id == message_id,
                outbox.c.status == OutboxStatus.sending,
                outbox.c.claimed_by == instance,
            )
            .values(**values)
        )
        return cast(sa.CursorResult[Any], result).rowcount == 1

    async def next_due(self, now: datetime) -> datetime | None:
        """When the next waiting row becomes claimable (a retry's moment after ``now`` or a lease's end), aware
        UTC, or None if nothing waits. A lease already run out gives a moment before ``now``: claimable at once."""
        retry = sa.select(sa.func.min(outbox.c.not_before)).where(
            outbox.c.status == OutboxStatus.pending, outbox.c.not_before > now
        )
        lease = sa.select(sa.func.min(outbox.c.claimed_until)).where(outbox.c.status == OutboxStatus.sending)
        moments = [(await self._session.execute(q)).scalar_one_or_none() for q in (retry, lease)]
        found = [m for m in moments if m is not None]
        return min(found) if found else None

    async def status_counts(self) -> dict[OutboxStatus, int]:
        """How many rows are in each status; a status with no rows is absent."""
        rows = await self._session.execute(sa.select(outbox.c.status, sa.func.count()).group_by(outbox.c.status))
        return {OutboxStatus(status): count for status, count in rows}

    async def get(self, message_id: int) -> OutboxMessage | None:
        """The row with this id, or None."""
        row = (await self._session.execute(sa.select(outbox).where(outbox.c.id == message_id))).first()
        return None if row is None else OutboxMessage(**row._asdict())
