"""Unique index on sources.external_id: the intake API finds a post it was sent before by the
monitoring system's own id on every request, and two bot instances racing on the same post cannot
both register it.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(op.f("ix_sources_external_id"), "sources", ["external_id"], unique=True)


def downgrade() -> None:
    op.drop_index(op.f("ix_sources_external_id"), table_name="sources")
