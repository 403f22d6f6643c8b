"""Outbox claims: a `sending` status with the claiming sender and its lease, and the per-chat order index.

Revision ID: 0005
Revises: 0003
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The status column is a plain VARCHAR (no CHECK), so the new `sending` value needs no change.
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("claimed_by", sa.String(length=128), nullable=True))
        batch.add_column(sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_outbox_chat_id_status_id", "outbox", ["chat_id", "status", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_outbox_chat_id_status_id", table_name="outbox")
    # Rows claimed when the schema goes back are simply pending again.
    op.execute("UPDATE outbox SET status = 'pending' WHERE status = 'sending'")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("claimed_until")
        batch.drop_column("claimed_by")
