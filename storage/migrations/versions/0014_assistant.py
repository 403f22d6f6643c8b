"""The assistant's tables (issue 13 §3–§5): each incident's post as normalised lemmas for the repeat-by-meaning
check (``similar_texts``), answer templates per topic (``answer_templates``), and the departments suggested
when an incident was routed (``route_suggestions``).

Incidents registered before this revision have no lemmas row: the check normalises their text when it
first meets them (bot.assistant). ``incidents.updated_at`` gets an index: the check's in-memory pool
re-reads only the incidents changed since its last look.

Revision ID: 0014
Revises: 0010
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(op.f("ix_incidents_updated_at"), "incidents", ["updated_at"], unique=False)
    op.create_table(
        "similar_texts",
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("lemmas", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_similar_texts_incident_id_incidents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("incident_id", name=op.f("pk_similar_texts")),
    )
    op.create_table(
        "answer_templates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("topic_id", sa.Integer(), nullable=True),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.ForeignKeyConstraint(
            ["topic_id"], ["topics.id"], name=op.f("fk_answer_templates_topic_id_topics"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_answer_templates_department_id_departments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_answer_templates_created_by_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_answer_templates")),
    )
    op.create_index(op.f("ix_answer_templates_topic_id"), "answer_templates", ["topic_id"], unique=False)
    op.create_table(
        "route_suggestions",
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("departments", sa.JSON(), nullable=False),
        sa.Column("followed", sa.Boolean(), nullable=False),
        sa.Column("routed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_route_suggestions_incident_id_incidents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("incident_id", name=op.f("pk_route_suggestions")),
    )
    op.create_index(op.f("ix_route_suggestions_routed_at"), "route_suggestions", ["routed_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_route_suggestions_routed_at"), table_name="route_suggestions")
    op.drop_table("route_suggestions")
    op.drop_index(op.f("ix_answer_templates_topic_id"), table_name="answer_templates")
    op.drop_table("answer_templates")
    op.drop_table("similar_texts")
    op.drop_index(op.f("ix_incidents_updated_at"), table_name="incidents")
