"""Where "now" comes from: the system clock in production, a hand-driven clock in tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Where services, the sweep and the sender read the time (STYLE: a Clock passed in, so tests drive time)."""

    def now(self) -> datetime:
        """The current moment, timezone-aware."""
        ...


class SystemClock:
    """The real time."""

    def now(self) -> datetime:
        """The system clock's current moment, aware UTC."""
        return datetime.now(UTC)


class ManualClock:
    """A clock that moves only when told to."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("the clock needs an aware datetime")
        self._now = start

    def now(self) -> datetime:
        """The moment the clock was set or advanced to, in the zone it was given."""
        return self._now

    def set(self, moment: datetime) -> None:
        """Jump to ``moment`` (forwards or back). Raises ValueError for a naive datetime."""
        if moment.tzinfo is None:
            raise ValueError("the clock needs an aware datetime")
        self._now = moment

    def advance(self, delta: timedelta) -> None:
        """Move the clock by ``delta`` of wall time (negative: back)."""
        self._now += delta
