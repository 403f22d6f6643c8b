"""What the health check and the metrics scrape read from the database: cheap aggregate queries, no rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.incident import CLOSED_STATES, AssignmentState
from storage.models import OutboxStatus
from storage.tables import assignments, departments, incidents, outbox


async def ping(session: AsyncSession) -> None:
    """One ``SELECT 1``: returns when the database answers; raises SQLAlchemy's ``OperationalError`` (or the
    driver's error) when it does not."""
    await session.execute(sa.text("SELECT 1"))


@dataclass(frozen=True)
class OutboxBacklog:
    """The outbox rows not yet delivered (pending, or claimed by a sender): how many, and when the oldest
    was written (aware UTC; None when there is none)."""

    waiting: int
    oldest: datetime | None


async def outbox_backlog(session: AsyncSession) -> OutboxBacklog:
    """The undelivered outbox rows (``OutboxBacklog``): one aggregate over ``ix_outbox_status_id``."""
    waiting = outbox.c.status.in_([OutboxStatus.pending, OutboxStatus.sending])
    count, oldest = (
        await session.execute(sa.select(sa.func.count(), sa.func.min(outbox.c.created_at)).where(waiting))
    ).one()
    return OutboxBacklog(int(count or 0), oldest)


@dataclass(frozen=True)
class DepartmentLoad:
    """Open incidents of one department (a live assignment: not cancelled, not returned) and how many of them
    are overdue — their answer (or final answer) deadline passed. ``name``: the department's name."""

    name: str
    open: int
    overdue: int


async def department_load(session: AsyncSession, now: datetime) -> list[DepartmentLoad]:
    """Every department's ``DepartmentLoad`` at ``now`` (aware), departments without open incidents included
    (with zeros), ordered by name. An incident routed to two departments counts in both."""
    due = sa.func.coalesce(incidents.c.answer_due, incidents.c.final_due)
    live = sa.and_(
        assignments.c.department_id == departments.c.id,
        assignments.c.state.notin_([AssignmentState.cancelled, AssignmentState.returned]),
        incidents.c.state.notin_(list(CLOSED_STATES)),
    )
    overdue = sa.case((due < now, assignments.c.incident_id), else_=None)
    query = (
        sa.select(
            departments.c.name,
            sa.func.count(sa.distinct(assignments.c.incident_id)),
            sa.func.count(sa.distinct(overdue)),
        )
        .select_from(
            departments.outerjoin(
                assignments.join(incidents, incidents.c.id == assignments.c.incident_id),
                live,
            )
        )
        .group_by(departments.c.name)
        .order_by(departments.c.name)
    )
    return [DepartmentLoad(str(name), int(n or 0), int(late or 0)) for name, n, late in await session.execute(query)]


async def unrouted(session: AsyncSession, now: datetime) -> tuple[int, int]:
    """Open incidents with no live assignment (waiting for routing or re-routing) at ``now`` (aware), and how
    many of them are overdue: (open, overdue)."""
    live = sa.exists().where(
        assignments.c.incident_id == incidents.c.id,
        assignments.c.state.notin_([AssignmentState.cancelled, AssignmentState.returned]),
    )
    due = sa.func.coalesce(incidents.c.routing_due, incidents.c.reroute_due)
    query = sa.select(sa.func.count(), sa.func.count(sa.case((due < now, 1), else_=None))).where(
        incidents.c.state.notin_(list(CLOSED_STATES)), ~live
    )
    n, late = (await session.execute(query)).one()
    return int(n or 0), int(late or 0)
