"""Departments, topics and locations get a ``code``: the config, the command line and the reports name them by it,
so a rename in the config renames the row (its history stays) instead of adding another one.

Existing rows get a code made from their name (transliterated, as bot.domain.codes.slug; copied here so this
migration never changes); the config's own codes are taken over at the next start, where a config entry's name
matches a row's (Services.seed).

Revision ID: 0012
Revises: 0010
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("departments", "topics", "locations")

_LATIN = "a b v g d e e zh z i i k l m n o p r s t u f kh ts ch sh shch _ y _ e iu ia"
_CYRILLIC = dict(zip("абвгдеёжзийклмнопрстуфхцчшщъыьэюя", _LATIN.split(" "), strict=True))


def _slug(name: str) -> str:
    letters = "".join(_CYRILLIC.get(c, c) for c in name.lower()).replace("_", "")
    return re.sub(r"[^a-z0-9]+", "-", letters).strip("-")[:32].strip("-")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("code", sa.String(length=32), nullable=True))
        rows = sa.table(table, sa.column("id", sa.Integer()), sa.column("name", sa.String()), sa.column("code"))
        bind = op.get_bind()
        taken: set[str] = set()
        for row_id, name in bind.execute(sa.select(rows.c.id, rows.c.name).order_by(rows.c.id)).all():
            base = _slug(name) or f"{table[0]}{row_id}"
            code, n = base, 1
            while code in taken:
                n += 1
                code = f"{base[: 32 - len(str(n)) - 1]}-{n}"
            taken.add(code)
            bind.execute(sa.update(rows).where(rows.c.id == row_id).values(code=code))
        with op.batch_alter_table(table) as batch:
            batch.alter_column("code", existing_type=sa.String(length=32), nullable=False)
            batch.create_unique_constraint(op.f(f"uq_{table}_code"), ["code"])


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(op.f(f"uq_{table}_code"), type_="unique")
            batch.drop_column("code")
