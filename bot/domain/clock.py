"""Where "now" comes from: the system clock in production, a hand-driven clock in tests."""

from __future__ import annotations

import time
from collections.abc import Callable
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


class ScaledClock:
    """A clock that runs ``speed`` times faster than the real one from ``start`` (the training sandbox, README
    «Sandbox (training)»: ×60 plays a working day out in eight minutes). ``now`` is aware, in ``start``'s zone.

    ``monotonic`` is where real elapsed seconds come from (default ``time.monotonic``; tests pass their own).
    """

    def __init__(self, start: datetime, speed: float = 1.0, monotonic: Callable[[], float] | None = None) -> None:
        if start.tzinfo is None:
            raise ValueError("the clock needs an aware datetime")
        if speed <= 0:
            raise ValueError("the speed must be positive")
        self._monotonic = monotonic or time.monotonic
        self._base = start
        self._since = self._monotonic()
        self._speed = float(speed)

    @property
    def speed(self) -> float:
        """How many seconds of clock time pass in one real second (> 0)."""
        return self._speed

    def now(self) -> datetime:
        """The current moment of the scaled time, aware."""
        return self._base + timedelta(seconds=(self._monotonic() - self._since) * self._speed)

    def set_speed(self, speed: float) -> None:
        """Run ``speed`` times faster from now on, without a jump. Raises ValueError unless ``speed`` > 0."""
        if speed <= 0:
            raise ValueError("the speed must be positive")
        self._rebase(self.now())
        self._speed = float(speed)

    def set(self, moment: datetime) -> None:
        """Jump to ``moment`` (aware; forwards or back) and run on from there. Raises ValueError for a naive one."""
        if moment.tzinfo is None:
            raise ValueError("the clock needs an aware datetime")
        self._rebase(moment)

    def advance(self, delta: timedelta) -> None:
        """Jump ``delta`` of clock time ahead (negative: back)."""
        self._rebase(self.now() + delta)

    def _rebase(self, moment: datetime) -> None:
        self._base = moment
        self._since = self._monotonic()
