"""Milestones on the incident row: the work clock of the first route, response, draft and publication,
and the first late publication with its deadline and how late it was. The monthly report reads these
instead of the events.

Existing incidents are filled from their events, with the same rules as bot.domain.incident.Milestones.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A copy of bot.domain.incident.MILESTONE_EVENTS as of this revision: a migration must not change with the code.
MILESTONE_EVENTS = {
    "route": ("routed", "rerouted", "split_from"),
    "response": ("accepted", "executor_assigned", "contribution_submitted"),
    "draft": ("draft_submitted",),
    "publish": ("published",),
}
CLOCKS = tuple(f"{mark}_clock" for mark in MILESTONE_EVENTS)


def upgrade() -> None:
    with op.batch_alter_table("incidents") as batch:
        for column in CLOCKS:
            batch.add_column(sa.Column(column, sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("late_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("late_due", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("late_by", sa.BigInteger(), nullable=True))

    incidents = sa.table(
        "incidents",
        sa.column("id", sa.Integer),
        *(sa.column(c, sa.BigInteger) for c in CLOCKS),
        sa.column("late_at", UTCDateTime()),
        sa.column("late_due", UTCDateTime()),
        sa.column("late_by", sa.BigInteger),
    )
    events = sa.table(
        "events",
        sa.column("id", sa.Integer),
        sa.column("incident_id", sa.Integer),
        sa.column("name", sa.String),
        sa.column("at", UTCDateTime()),
        sa.column("work_clock", sa.BigInteger),
        sa.column("data", sa.JSON),
    )
    for mark, names in MILESTONE_EVENTS.items():
        first = (
            sa.select(sa.func.min(events.c.work_clock))
            .where(events.c.incident_id == incidents.c.id, events.c.name.in_(names))
            .scalar_subquery()
        )
        op.execute(incidents.update().values({f"{mark}_clock": first}))

    # Late publications are few; their due moment is an ISO string inside the JSON, parsed here.
    connection = op.get_bind()
    late = connection.execute(
        sa.select(events.c.incident_id, events.c.at, events.c.data)
        .where(events.c.name == "published", events.c.data["on_time"].as_boolean() == sa.false())
        .order_by(events.c.incident_id, events.c.at, events.c.id)
    )
    seen: set[int] = set()
    for incident_id, at, data in late:
        if incident_id in seen:
            continue
        seen.add(incident_id)
        due, late_by = (data or {}).get("due"), (data or {}).get("late_by")
        connection.execute(
            incidents.update()
            .where(incidents.c.id == incident_id)
            .values(
                late_at=at,
                late_due=datetime.fromisoformat(due) if isinstance(due, str) else None,
                late_by=late_by if isinstance(late_by, int) else None,  # older events lack it: the report computes it
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("incidents") as batch:
        batch.drop_column("late_by")
        batch.drop_column("late_due")
        batch.drop_column("late_at")
        for column in reversed(CLOCKS):
            batch.drop_column(column)
