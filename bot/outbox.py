"""The sender: drains the outbox in order per chat within Telegram's limits, once per row, on one or many instances.

How a row travels: ``pending`` → claimed (``sending``, with this instance's id and a lease) → delivered →
``sent``; or back to ``pending`` with ``not_before`` (429 ``retry_after``, 5xx/network backoff); or ``failed``
(blocked, chat not found, too many attempts), which queues a "could not deliver" text to every curator in
the same transaction.

Only a chat's head — its lowest-id open row — is ever claimed (see ``OutboxRepository``), so one chat never
has two deliveries in flight and its rows go out in id order, whichever instance sends them; different
chats are delivered concurrently, up to ``DeliverySettings.concurrency`` rows at once.

Exactly once, as far as Telegram allows: a row is claimed atomically before the first API call and marked
``sent`` in its own short transaction right after the last call returns. The one window for a duplicate is a
crash (or a lost database) between Telegram's answer and that commit: the row stays ``sending`` and, once
its lease (``DeliverySettings.lease_seconds``) expires, is delivered again — at least once, never lost. A row that
makes several calls (a card with its attachments) repeats them all in that case. The lease must outlast
one row's delivery (HTTP timeouts included), or a slow sender and a second one may both send it.

Pacing happens per API call, not per row: the deliverer's bot session asks ``current_pacing()`` before every
message it sends (see ``handlers.delivery``). Limits are ``aiolimiter`` leaky buckets of capacity one (strict
spacing — Telegram counts over sliding windows, so a burst would be refused), kept a little under the
documented rates (``headroom``) because requests do not reach the server exactly when they leave.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import socket
import uuid
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

from aiolimiter import AsyncLimiter
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.incident import Role
from storage.repositories import DirectoryRepository, OutboxMessage, OutboxRepository

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 10  # kept for callers of the old sender; the sender reads DeliverySettings.max_attempts
DELIVERY_FAILED = "delivery_failed"  # the text key of the curator's "could not deliver" notice


@dataclass(frozen=True)
class DeliverySettings:
    """How fast and how stubbornly the sender delivers; every rate is multiplied by ``rate_scale``."""

    rate_scale: float = 1.0  # >1 only against a stand-in whose limits are scaled the same (tests, benchmark)
    global_per_second: float = 30.0
    chat_per_second: float = 1.0
    group_per_minute: float = 20.0  # chats with a negative id
    headroom: float = 0.95  # the share of each limit we aim at: arrival times jitter by a few milliseconds
    concurrency: int = 32  # rows (so chats) being delivered at once
    max_chats: int = 256  # chats with a claimed row waiting or in delivery, per instance
    lease_seconds: float = 120.0  # a claim holds this long; longer than one row's delivery including HTTP timeouts
    max_attempts: int = 8  # 5xx / network failures before a row is given up
    backoff_base: float = 1.0  # seconds before the first retry; doubles each attempt, with jitter
    backoff_cap: float = 300.0
    idle_poll: float = 1.0  # seconds between looks at the outbox when nobody wakes the sender
    flood_chats: int = 3  # 429s from this many chats within a second mean the bot as a whole is too fast
    in_place_retries: int = 3  # 429s retried inside a row that already sent part of itself


@dataclass
class DeliveryError(Exception):
    """A delivery failed: `permanent` ones (blocked, chat not found) are recorded, not retried.

    ``cause`` names a permanent failure for the curator's notice: ``blocked``, ``deactivated``,
    ``chat_not_found`` or None (the reason text says what happened)."""

    reason: str
    permanent: bool = False
    retry_after: float | None = None
    cause: str | None = None

    def __str__(self) -> str:
        return self.reason


Deliver = Callable[[OutboxMessage], Awaitable[None]]


@dataclass
class DeliveryStats:
    """What this sender did since it started: for logs, tests and the benchmark."""

    sent: int = 0
    failed: int = 0
    retried: int = 0  # rows handed back after a 5xx, network error or unexpected exception
    flood_waits: int = 0  # 429 answers received
    global_pauses: int = 0
    lost_claims: int = 0  # rows another sender took over after our lease ran out


class Outcome(Enum):
    sent = "sent"
    later = "later"
    failed = "failed"


# --- pacing -------------------------------------------------------------------------------------------


@dataclass
class _ChatPace:
    limiter: AsyncLimiter
    spacing: float
    free_at: float = 0.0  # loop time when the limiter has room again
    paused_until: float = 0.0  # a 429's retry_after
    users: int = 0  # deliveries holding this entry; an idle, drained entry is dropped


class Pacer:
    """Telegram's flood limits for this process: one global bucket and one bucket per chat (created on first
    use, dropped when idle), plus the pauses 429 answers ask for."""

    def __init__(self, settings: DeliverySettings) -> None:
        scale = settings.rate_scale * settings.headroom
        self.settings = settings
        self.global_spacing = 1.0 / (settings.global_per_second * scale)
        self.chat_spacing = 1.0 / (settings.chat_per_second * scale)
        self.group_spacing = max(self.chat_spacing, 60.0 / (settings.group_per_minute * scale))
        self._global: AsyncLimiter | None = None
        self._chats: dict[int, _ChatPace] = {}
        self._paused_until = 0.0
        self._floods: deque[tuple[float, int]] = deque()
        self.stats = DeliveryStats()

    @staticmethod
    def _now() -> float:
        return asyncio.get_running_loop().time()

    def _chat(self, chat_id: int) -> _ChatPace:
        pace = self._chats.get(chat_id)
        if pace is None:
            spacing = self.group_spacing if chat_id < 0 else self.chat_spacing
            # Capacity one: strict spacing, because Telegram counts over sliding windows.
            pace = self._chats[chat_id] = _ChatPace(AsyncLimiter(1, spacing), spacing)
        return pace

    def enter(self, chat_id: int) -> None:
        self._chat(chat_id).users += 1

    def leave(self, chat_id: int) -> None:
        pace = self._chats.get(chat_id)
        if pace is not None:
            pace.users -= 1

    def sweep(self) -> None:
        """Forget chats nobody delivers to whose bucket has drained: a fresh bucket would behave the same."""
        now = self._now()
        for chat_id in [c for c, p in self._chats.items() if p.users <= 0 and p.free_at <= now]:
            pace = self._chats[chat_id]
            if pace.paused_until <= now and pace.limiter.has_capacity():
                del self._chats[chat_id]

    async def ready(self, chat_id: int) -> None:
        """Wait, without taking anything, until the chat may get a message (a worker waits here between rows
        without holding a delivery slot)."""
        pace = self._chat(chat_id)
        while True:
            delay = max(self._paused_until, pace.paused_until, pace.free_at) - self._now()
            if delay <= 0 and pace.limiter.has_capacity():
                return
            await asyncio.sleep(max(delay, 0.001))

    async def acquire(self, chat_id: int, amount: int = 1) -> None:
        """Right before a sending call: the chat first (without taking), then the global bucket, then the
        chat's. One delivery per chat at a time keeps the chat ready while the global bucket makes us wait,
        so both buckets count the message at (nearly) the moment it leaves."""
        if self._global is None:
            self._global = AsyncLimiter(1, self.global_spacing)
        pace = self._chat(chat_id)
        while True:
            await self.ready(chat_id)
            for _ in range(amount):  # an album is `amount` messages for the global limit
                await self._global.acquire()
            if self._paused_until <= self._now():
                break  # a global pause began while we queued: wait it out, then queue again
        await pace.limiter.acquire()
        pace.free_at = self._now() + pace.spacing

    def flooded(self, chat_id: int, retry_after: float) -> None:
        """Telegram answered 429: the chat waits; many chats at once means the whole bot waits."""
        now = self._now()
        self.stats.flood_waits += 1
        pace = self._chat(chat_id)
        pace.paused_until = max(pace.paused_until, now + retry_after)
        self._floods.append((now, chat_id))
        while self._floods and self._floods[0][0] < now - 1.0:
            self._floods.popleft()
        if len({c for _, c in self._floods}) >= self.settings.flood_chats and self._paused_until < now:
            log.warning("429 from %d chats within a second: all delivery pauses %.1f s", len(self._floods), retry_after)
            self.stats.global_pauses += 1
            self._paused_until = now + retry_after


@dataclass
class Pacing:
    """The pacing of one row's delivery, found by the bot session through ``current_pacing()``."""

    pacer: Pacer
    chat_id: int
    sends: int = 0  # sending calls that succeeded
    in_place: int = 0

    async def before_send(self, amount: int = 1) -> None:
        await self.pacer.acquire(self.chat_id, amount)

    def sent(self) -> None:
        self.sends += 1

    def flooded(self, retry_after: float) -> bool:
        """Record a 429; True if the caller should wait and repeat the call instead of failing the row.

        Repeating in place only once part of the row went out: handing the row back would send that part
        twice. Otherwise the row goes back to the outbox and frees its slot while the chat waits."""
        self.pacer.flooded(self.chat_id, retry_after)
        if self.sends == 0 or self.in_place >= self.pacer.settings.in_place_retries:
            return False
        self.in_place += 1
        return True


_pacing: ContextVar[Pacing | None] = ContextVar("otklik_outbox_pacing", default=None)


def current_pacing() -> Pacing | None:
    """The pacing of the row being delivered in this task; None outside the sender (handlers' own calls)."""
    return _pacing.get()


# --- the sender ----------------------------------------------------------------------------------------


class _NoLock:
    """PostgreSQL has row locks: its writers need no queue of ours."""

    async def __aenter__(self) -> None:
        return None

    async def __aexit__(self, *exc_info: object) -> None:
        return None


def _instance_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class OutboxSender:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        deliver: Deliver,
        clock: Clock,
        wake: asyncio.Event | None = None,
        batch: int | None = None,
        idle_poll: float | None = None,
        *,
        settings: DeliverySettings | None = None,
        instance: str | None = None,
    ) -> None:
        self.sessions = sessions
        self.deliver = deliver
        self.clock = clock
        self.wake = wake or asyncio.Event()
        self.settings = settings or DeliverySettings()
        self.batch = batch or self.settings.max_chats
        self.idle_poll = self.settings.idle_poll if idle_poll is None else idle_poll
        self.instance = instance or _instance_id()
        self.pacer = Pacer(self.settings)
        self.stats = self.pacer.stats
        self._workers: dict[int, asyncio.Task[None]] = {}  # chat id -> the task delivering to it
        self._slots: asyncio.Semaphore | None = None
        self._handled = 0
        self._claiming = asyncio.Lock()
        self._writing: asyncio.Lock | None = None
        self._marks: list[tuple[OutboxMessage, asyncio.Future[OutboxMessage | None]]] = []
        self._marker: asyncio.Task[None] | None = None
        self._orphans: list[asyncio.Task[None]] = []

    @contextlib.asynccontextmanager
    async def _write(self) -> AsyncIterator[OutboxRepository]:
        """A short write transaction. On SQLite our workers queue here for the single writer's lock rather
        than in SQLite's busy handler, which sleeps in growing steps and would cap delivery far below 30/s."""
        if self._writing is None:
            bind = self.sessions.kw.get("bind")
            sqlite = bind is not None and bind.dialect.name == "sqlite"
            self._writing = asyncio.Lock() if sqlite else _NoLock()
        async with self._writing, self.sessions() as session, session.begin():
            yield OutboxRepository(session)

    # ----- loop ------------------------------------------------------------------------------------------

    async def run(self) -> None:
        try:
            while True:
                self.wake.clear()  # before looking, so a wake-up during the look is not lost
                try:
                    await self._start_ready()
                    self.pacer.sweep()
                    timeout = await self._idle_timeout()
                except Exception:
                    log.exception("outbox poll failed; retrying")
                    timeout = self.idle_poll
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.wake.wait(), timeout=timeout)
        finally:
            await self._stop_workers()

    async def drain_once(self) -> int:
        """Start what is due, wait for every delivery in progress; returns how many rows were settled
        (sent, failed or handed back) meanwhile."""
        before = self._handled
        await self._start_ready()
        while self._workers:
            await asyncio.wait(list(self._workers.values()))
        return self._handled - before

    async def _idle_timeout(self) -> float:
        if len(self._workers) >= self.batch:
            return self.idle_poll  # a finishing worker wakes us
        now = self.clock.now()
        async with self.sessions() as session:
            due = await OutboxRepository(session).next_due(now)
        if due is None:
            return self.idle_poll
        return min(self.idle_poll, max((due - now).total_seconds(), 0.01))

    async def _start_ready(self) -> int:
        async with self._claiming:  # run() and drain_once() may both look at once
            room = self.batch - len(self._workers)
            if room <= 0:
                return 0
            now = self.clock.now()
            async with self.sessions() as session:
                # A chat of ours between two rows shows a ready head too: ask for enough to skip those.
                heads = await OutboxRepository(session).ready_heads(now, room + len(self._workers))
            ids = [m.id for m in heads if m.chat_id not in self._workers][:room]
            if not ids:
                return 0
            async with self._write() as outbox:
                claimed = await outbox.claim(ids, self.instance, now, self._lease(now))
            for message in claimed:
                self._start(message)
            return len(claimed)

    def _lease(self, now: datetime) -> datetime:
        return now + timedelta(seconds=self.settings.lease_seconds)

    def _start(self, message: OutboxMessage) -> None:
        chat_id = message.chat_id
        self.pacer.enter(chat_id)
        task = asyncio.create_task(self._work(message), name=f"outbox-chat-{chat_id}")
        self._workers[chat_id] = task

    async def _stop_workers(self) -> None:
        # A cancelled worker leaves its row `sending`: the lease brings it back (see the module docstring).
        tasks = list(self._workers.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._marker is not None:
            await self._marker  # what Telegram already has gets recorded before we stop
        await asyncio.gather(*self._orphans, return_exceptions=True)

    async def _work(self, first: OutboxMessage) -> None:
        """Deliver a chat's rows one after another while they are due, then let the chat go."""
        chat_id = first.chat_id
        message: OutboxMessage | None = first
        try:
            while message is not None:
                await self.pacer.ready(chat_id)  # outside a slot: other chats use it meanwhile
                if self._slots is None:
                    self._slots = asyncio.Semaphore(self.settings.concurrency)
                async with self._slots:
                    current, message = message, None
                    message = await self._deliver_one(current)
        except asyncio.CancelledError:
            if message is not None:  # claimed, not started: hand it back now rather than after the lease
                with contextlib.suppress(Exception):
                    async with self._write() as outbox:
                        await outbox.release(
                            message.id, self.instance, not_before=self.clock.now(), error="", attempt=False
                        )
            raise
        except Exception:
            log.exception("outbox worker for chat %s failed; its row returns when the lease ends", chat_id)
        finally:
            self._workers.pop(chat_id, None)
            self.pacer.leave(chat_id)
            # Claim again once half the room is free, not after every row: a look costs a query over
            # every due row, and claiming in batches keeps the database out of the per-message path.
            if len(self._workers) <= self.batch // 2:
                self.wake.set()

    async def _deliver_one(self, message: OutboxMessage) -> OutboxMessage | None:
        """Deliver one row and settle it; returns the chat's next row if it was sent and the next is due."""
        error: DeliveryError | None = None
        token = _pacing.set(Pacing(self.pacer, message.chat_id))
        try:
            await self.deliver(message)
        except DeliveryError as exc:
            error = exc
        except Exception as exc:
            log.exception("delivery of outbox #%s failed", message.id)
            error = DeliveryError(repr(exc))
        finally:
            _pacing.reset(token)
        self._handled += 1
        if error is None:
            return await self._mark_sent(message)
        await self._failed(message, error)
        return None

    async def _mark_sent(self, message: OutboxMessage) -> OutboxMessage | None:
        """Record the row sent; returns the chat's next row, claimed in the same transaction if it is due.

        The duplicate window: Telegram has the message, the database does not know yet. Marks are group
        committed — whatever arrived while the previous commit ran goes in the next one — so under load a
        mark waits for at most one commit instead of queueing behind every other worker's."""
        future: asyncio.Future[OutboxMessage | None] = asyncio.get_running_loop().create_future()
        self._marks.append((message, future))
        if self._marker is None or self._marker.done():
            self._marker = asyncio.create_task(self._commit_marks(), name="outbox-marks")
        # Shielded: a worker cancelled while waiting must not cancel the commit of a message Telegram has.
        try:
            following = await asyncio.shield(future)
        except asyncio.CancelledError:
            future.add_done_callback(self._release_orphan)
            raise
        self.stats.sent += 1
        return following

    def _release_orphan(self, future: asyncio.Future[OutboxMessage | None]) -> None:
        """The chat's next row was claimed for a worker that has since been cancelled: hand it back now."""
        if future.cancelled() or future.exception() is not None or future.result() is None:
            return
        orphan = future.result()
        assert orphan is not None
        self._orphans.append(asyncio.create_task(self._hand_back(orphan)))

    async def _hand_back(self, message: OutboxMessage) -> None:
        async with self._write() as outbox:
            await outbox.release(message.id, self.instance, not_before=self.clock.now(), error="", attempt=False)

    async def _commit_marks(self) -> None:
        while self._marks:
            batch, self._marks = self._marks, []
            for attempt in range(5):
                try:
                    async with self._write() as outbox:
                        now = self.clock.now()
                        await outbox.mark_sent_many([m.id for m, _ in batch], now)
                        chats = sorted({m.chat_id for m, _ in batch})
                        following = await outbox.claim_heads(chats, self.instance, now, self._lease(now))
                    break
                except Exception as exc:
                    if attempt == 4:
                        log.exception("marking %d outbox rows sent failed; they return after the lease", len(batch))
                        for _, future in batch:
                            if not future.done():
                                future.set_exception(exc)
                        following = None
                        break
                    log.warning("marking outbox rows sent failed; trying again", exc_info=True)
                    await asyncio.sleep(0.1 * 2**attempt)
            if following is None:
                continue
            by_chat = {m.chat_id: m for m in following}
            for message, future in batch:
                if not future.done():
                    future.set_result(by_chat.pop(message.chat_id, None))
            for orphan in by_chat.values():  # not asked for (cannot happen: one worker per chat); be safe
                await self._hand_back(orphan)

    async def _failed(self, message: OutboxMessage, exc: DeliveryError) -> Outcome:
        now = self.clock.now()
        error = str(exc)[:1000]
        if exc.retry_after is not None:
            # Flood control is not the row's fault: it does not count as an attempt.
            async with self._write() as outbox:
                kept = await outbox.release(
                    message.id,
                    self.instance,
                    not_before=now + timedelta(seconds=exc.retry_after),
                    error=error,
                    attempt=False,
                )
            return self._settled(kept, Outcome.later)
        if not exc.permanent and message.attempts + 1 < self.settings.max_attempts:
            delay = min(self.settings.backoff_cap, self.settings.backoff_base * 2**message.attempts)
            delay *= random.uniform(0.5, 1.0)  # jitter: many rows failing together do not retry together
            log.warning("outbox #%s to chat %s failed (%s); retry in %.1f s", message.id, message.chat_id, exc, delay)
            async with self._write() as outbox:
                kept = await outbox.release(
                    message.id, self.instance, not_before=now + timedelta(seconds=delay), error=error
                )
            self.stats.retried += kept
            return self._settled(kept, Outcome.later)
        log.warning("outbox #%s to chat %s given up: %s", message.id, message.chat_id, exc)
        async with self._write() as outbox:
            kept = await outbox.give_up(message.id, self.instance, error)
            if kept:
                await self._tell_curators(outbox, message, exc)
        self.stats.failed += kept
        return self._settled(kept, Outcome.failed)

    def _settled(self, kept: bool, outcome: Outcome) -> Outcome:
        if not kept:
            self.stats.lost_claims += 1
            log.warning("an outbox row was taken over by another sender after our lease ended")
        return outcome

    async def _tell_curators(self, outbox: OutboxRepository, message: OutboxMessage, exc: DeliveryError) -> None:
        """Queue "could not deliver" to every curator, in the transaction that records the failure."""
        if message.payload.get("kind") == "text" and message.payload.get("key") == DELIVERY_FAILED:
            return  # a curator we cannot reach about a failure: no notice about the notice
        directory = DirectoryRepository(outbox.session)
        user = await directory.get_by_telegram_id(message.chat_id)
        if user is not None:
            recipient = user.full_name
        else:
            departments = await directory.list_departments(active_only=False)
            recipient = next((d.name for d in departments if d.chat_id == message.chat_id), str(message.chat_id))
        params = {
            "recipient": recipient,
            "incident": message.incident_id,
            "reason": exc.cause or "other",
            "error": str(exc)[:300],
        }
        for curator in await directory.users_with_role(Role.curator):
            if curator.telegram_id != message.chat_id:
                # The locale travels with the row: the sender need not look the curator up again.
                payload = {"kind": "text", "key": DELIVERY_FAILED, "params": params, "locale": curator.locale}
                await outbox.add(curator.telegram_id, payload, incident_id=message.incident_id)
        self.wake.set()
