"""The reminder sweep's storage: incidents whose next reminder is due, and the marks already sent."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.incident import Incident
from storage.incidents import IncidentRepository
from storage.tables import incidents, reminders_sent


class ReminderRepository:
    """What the reminder sweep reads and writes: incidents whose next reminder is due, and the marks sent.

    Works in the caller's transaction; moments in and out are aware (stored and returned as UTC).
    """

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def claim_due(self, now: datetime, limit: int = 500) -> list[Incident]:
        """Take up to ``limit`` incidents whose next reminder is due at ``now`` (aware), in this transaction.

        Returns the whole incidents, in no particular order, their ``next_reminder_at`` now cleared: the
        caller sets the next one (:meth:`set_next_reminders`). The conditional UPDATE is the claim: a
        second sweeper (another instance) updating the same rows waits for this transaction and then
        finds nothing due, so no reminder goes twice (SPEC §8: several instances without double reminders).
        """
        due = (
            sa.select(incidents.c.id)
            .where(incidents.c.next_reminder_at <= now)
            .order_by(incidents.c.next_reminder_at, incidents.c.id)
            .limit(limit)
            .scalar_subquery()
        )
        rows = (
            await self._session.execute(
                sa.update(incidents)
                .where(incidents.c.id.in_(due), incidents.c.next_reminder_at <= now)
                .values(next_reminder_at=None)
                .returning(*incidents.c)
            )
        ).all()
        return await IncidentRepository(self._session).assemble(rows)

    async def set_next_reminders(self, moments: dict[int, datetime | None]) -> None:
        """Set when the sweep looks at each incident again ({incident id: aware moment, or None: never}).

        An id with no incident changes nothing.
        """
        if moments:
            await self._session.execute(
                sa.update(incidents)
                .where(incidents.c.id == sa.bindparam("iid"))
                .values(next_reminder_at=sa.bindparam("at")),
                [{"iid": iid, "at": at} for iid, at in moments.items()],
            )

    async def sent_marks(self, incident_ids: Iterable[int]) -> dict[int, set[str]]:
        """The reminder marks already sent, per incident ({incident id: {dedupe key, …}}; absent: none)."""
        result: dict[int, set[str]] = defaultdict(set)
        ids = list(incident_ids)
        if ids:
            rows = await self._session.execute(
                sa.select(reminders_sent.c.incident_id, reminders_sent.c.mark).where(
                    reminders_sent.c.incident_id.in_(ids)
                )
            )
            for incident_id, mark in rows:
                result[incident_id].add(mark)
        return result

    async def record_marks(self, marks: Iterable[tuple[int, str]], at: datetime) -> None:
        """Record (incident id, dedupe key) marks as sent at ``at`` (aware); each is sent at most once
        (SLA-EDGE-CASES 16: one reminder per incident, mark and deadline version).

        Raises IntegrityError if a mark is recorded already (unique per incident) or the incident does not exist.
        """
        values = [{"incident_id": i, "mark": m, "sent_at": at} for i, m in marks]
        if values:
            await self._session.execute(sa.insert(reminders_sent), values)
