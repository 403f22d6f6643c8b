"""Registered posts by their canonical key (bot.domain.links.post_key), unique: one post is one incident,
whatever path and link form it comes by, also when two processes register it at the same moment.

Existing incidents are filled in from their sources, oldest first. A split's parts (parent_id set)
share their parent's posts and get no rows of their own. Where the same post was already registered
twice before this revision, the first incident keeps the key and the later ones stay as they are.
The keys are computed with bot.domain.links as of this revision; a later change of the link rules that
changes keys needs its own migration to recompute them.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "posts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=True),
        sa.Column("registered_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name=op.f("fk_posts_incident_id_incidents"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["source_id"], ["sources.id"], name=op.f("fk_posts_source_id_sources"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_posts")),
        sa.UniqueConstraint("digest", name=op.f("uq_posts_digest")),
    )
    op.create_index(op.f("ix_posts_incident_id"), "posts", ["incident_id"], unique=False)
    op.create_index(op.f("ix_posts_source_id"), "posts", ["source_id"], unique=False)
    _fill()


def _fill() -> None:
    from bot.domain.incident import Network, Source
    from bot.domain.links import BadLink, post_key

    sources = sa.table(
        "sources",
        sa.column("id", sa.Integer),
        sa.column("incident_id", sa.Integer),
        sa.column("url", sa.String),
        sa.column("text", sa.Text),
        sa.column("detected_at", UTCDateTime()),
    )
    incidents = sa.table("incidents", sa.column("id", sa.Integer), sa.column("parent_id", sa.Integer))
    posts = sa.table(
        "posts",
        sa.column("digest", sa.String),
        sa.column("key", sa.Text),
        sa.column("incident_id", sa.Integer),
        sa.column("source_id", sa.Integer),
    )
    connection = op.get_bind()
    seen: set[str] = set()
    last = 0
    while True:  # in pages by source id (oldest first), so a large database is never read whole
        rows = connection.execute(
            sa.select(sources.c.id, sources.c.incident_id, sources.c.url, sources.c.text, sources.c.detected_at)
            .join(incidents, incidents.c.id == sources.c.incident_id)
            .where(incidents.c.parent_id.is_(None), sources.c.id > last)
            .order_by(sources.c.id)
            .limit(2000)
        ).all()
        if not rows:
            return
        batch: list[dict[str, object]] = []
        for source_id, incident_id, url, text, detected_at in rows:
            try:
                key = post_key(Source(Network.other, url, None, text or "", detected_at))
            except BadLink:
                key = "url:" + url  # stored before links were checked: recognised only in exactly this form
            digest = hashlib.sha256(key.encode()).hexdigest()
            if digest not in seen:
                seen.add(digest)
                batch.append({"digest": digest, "key": key, "incident_id": incident_id, "source_id": source_id})
        if batch:
            connection.execute(posts.insert(), batch)
        last = rows[-1][0]


def downgrade() -> None:
    op.drop_index(op.f("ix_posts_source_id"), table_name="posts")
    op.drop_index(op.f("ix_posts_incident_id"), table_name="posts")
    op.drop_table("posts")
