"""Column types that keep the database honest about time: UTC in, aware UTC out."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeEngine


class UTCDateTime(sa.TypeDecorator[datetime]):
    """A point in time stored as UTC.

    PostgreSQL gets ``timestamptz``; SQLite has no time zones, so it gets the naive UTC wall
    time. Reads always return an aware datetime in UTC. A naive datetime on write is a bug
    (whose clock was it?), so it is refused instead of being guessed.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        """The column type per backend: ``timestamptz`` on PostgreSQL, a plain DATETIME elsewhere (SQLite)."""
        if dialect.name == "postgresql":
            return dialect.type_descriptor(sa.DateTime(timezone=True))
        return dialect.type_descriptor(sa.DateTime())

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """An aware datetime (any zone) as UTC: aware on PostgreSQL, the naive UTC wall time on SQLite; None stays.

        Raises TypeError for a non-datetime and ValueError for a naive one; SQLAlchemy hands either to the
        caller of the statement wrapped in ``sqlalchemy.exc.StatementError``.
        """
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"UTCDateTime expects a datetime, got {type(value).__name__}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime refused (store aware UTC datetimes): {value!r}")
        value = value.astimezone(UTC)
        if dialect.name == "postgresql":
            return value
        return value.replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """The stored moment as an aware UTC datetime (a naive SQLite value is UTC by construction); None stays."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
