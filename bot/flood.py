"""Inbound flood control: a person who sends faster than the bot may answer is throttled, and told once.

Telegram lets the bot send one message a second to a chat (Bot FAQ, "My bot is hitting limits"), and the bot
handles updates one at a time, so fifty texts in two seconds would hold everybody else's updates for fifty
seconds while their answers trickle out — or, answered at once, be refused with 429. So each person has a
bucket of ``FloodLimits.burst`` messages that refills at ``per_second`` (and a larger one for button presses,
which are mostly answered by editing a message); what comes beyond it is skipped: recorded as processed like
any handled update (it is never handled later, and a restart does not bring it back), and the person gets one
notice saying how many messages were skipped and quoting them (the first ``LISTED``), so they can send them
again. The items of one album after the first cost nothing: an album is one thing a person does.

The notice is one outbox row per flood, rewritten while the flood lasts and sent ``quiet_seconds`` after the
last skipped message (at most ``notice_within`` after the first), so it comes once and names all of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.outbox import OutboxRepository

FLOOD_SKIPPED = "flood_skipped"  # the text key of the notice
EXCERPT = 60  # characters of a skipped message quoted in the notice
LISTED = 20  # skipped messages quoted one by one; the rest are counted


@dataclass(frozen=True)
class FloodLimits:
    """How much one person may send at once before updates are skipped (not Telegram's limits: ours)."""

    burst: int = 10  # messages at once: a few posts forwarded together pass
    per_second: float = 1.0  # ... then this many a second, Telegram's pace for answers in one chat
    press_burst: int = 20  # button presses at once: most are answered by editing, which costs no message
    press_per_second: float = 2.0  # ... then this many a second
    quiet_seconds: float = 2.0  # the notice goes out this long after the last skipped message
    notice_within: float = 10.0  # ... but no later than this after the first


@dataclass
class _Bucket:
    tokens: float
    updated: float
    albums: list[str] = field(default_factory=list)  # recent media group ids: later items ride free


@dataclass
class Flood:
    """The messages of one person skipped since the notice about them was queued."""

    key: str  # the notice's outbox dedupe key
    started: datetime
    count: int = 0
    excerpts: list[str] = field(default_factory=list)  # the first LISTED skipped messages, shortened


class FloodGuard:
    """Per-person token buckets, and the floods being reported.

    Time is when the person acted, in seconds since the epoch: Telegram's ``date`` of a message (when it
    was sent, whenever the bot gets to it — so messages queued while the bot was busy or down are not a
    flood), the moment of arrival for a press (which carries no date of its own)."""

    def __init__(self, limits: FloodLimits | None = None) -> None:
        self.limits = limits or FloodLimits()
        self._buckets: dict[tuple[int, bool], _Bucket] = {}  # (person, press?) -> bucket
        self._floods: dict[int, Flood] = {}

    def admit(self, person: int, now: float, album: str | None = None, *, press: bool = False) -> bool:
        """Whether this message (or ``press``) of ``person``, made at ``now``, is handled; False: skip it."""
        limits = self.limits
        burst, rate = (limits.press_burst, limits.press_per_second) if press else (limits.burst, limits.per_second)
        bucket = self._buckets.get((person, press))
        if bucket is None:
            bucket = self._buckets[(person, press)] = _Bucket(float(burst), now)
        elapsed = max(0.0, now - bucket.updated)  # a message's date has whole seconds: never count backwards
        bucket.tokens = min(float(burst), bucket.tokens + elapsed * rate)
        bucket.updated = max(bucket.updated, now)
        if album is not None and album in bucket.albums:
            return True
        if bucket.tokens < 1.0:
            return False
        bucket.tokens -= 1.0
        if album is not None:
            bucket.albums = [*bucket.albums[-9:], album]
        self._forget_idle(now)
        return True

    def skipped(self, person: int, update_id: int, text: str, at: datetime) -> Flood:
        """Count a skipped message into the person's current flood (a new one if none is being reported)."""
        flood = self._floods.get(person)
        if flood is None or at - flood.started > timedelta(seconds=self.limits.notice_within):
            flood = self._floods[person] = Flood(f"{FLOOD_SKIPPED}:{person}:{update_id}", at)
        excerpt = " ".join(text.split())
        excerpt = excerpt if len(excerpt) <= EXCERPT else excerpt[: EXCERPT - 1].rstrip() + "…"
        flood.count += 1
        if len(flood.excerpts) < LISTED:
            flood.excerpts.append(excerpt)
        return flood

    def reported(self, person: int) -> None:
        """The notice about the person's flood is on its way: the next skipped message starts a new one."""
        self._floods.pop(person, None)

    def notice_at(self, flood: Flood, at: datetime) -> datetime:
        """When the notice goes out: a quiet moment after the last skipped message, not long after the first."""
        quiet = at + timedelta(seconds=self.limits.quiet_seconds)
        return min(quiet, flood.started + timedelta(seconds=self.limits.notice_within))

    def _forget_idle(self, now: float) -> None:
        # A full bucket behaves like a new one: forget it, so the map holds only recent senders.
        if len(self._buckets) < 1024:
            return
        limits = self.limits
        full = max(limits.burst / limits.per_second, limits.press_burst / limits.press_per_second)
        for key in [k for k, b in self._buckets.items() if now - b.updated > full]:
            del self._buckets[key]


async def queue_flood_notice(
    sessions: async_sessionmaker[AsyncSession],
    guard: FloodGuard,
    chat_id: int,
    flood: Flood,
    at: datetime,
    locale: str | None,
) -> bool:
    """Write (or rewrite) the flood's one notice; ``at`` is the moment of the latest skipped message (UTC).

    False when that notice already went out: the caller then starts a new flood (``reported``) for it."""
    params = {"count": flood.count, "skipped": flood.excerpts, "burst": guard.limits.burst}
    payload: dict[str, object] = {"kind": "text", "key": FLOOD_SKIPPED, "params": params}
    if locale is not None:
        payload["locale"] = locale
    async with sessions() as session, session.begin():
        return await OutboxRepository(session).merge_pending(flood.key, chat_id, payload, guard.notice_at(flood, at))
