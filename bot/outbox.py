"""The sender: drains the outbox in order per chat within Telegram's limits, once per part, on one or many instances.

How a row travels: ``pending`` → claimed (``sending``, with this instance's id and a lease) → delivered →
``sent``; or back to ``pending`` with ``not_before`` (429 ``retry_after``, 5xx/network backoff, a stop); or
``failed`` (blocked, chat not found, too many attempts), which queues a "could not deliver" text to every
administrator and curator in the same transaction (``bot.chats``).

Only a chat's head — its lowest-id open row — is ever claimed (see ``OutboxRepository``), so one chat never
has two deliveries in flight and its rows go out in id order, whichever instance sends them; different
chats are delivered concurrently, up to ``DeliverySettings.concurrency`` rows at once.

Exactly once, as far as Telegram allows, per *part*: a row may make several sending calls (a report's text,
workbook and chart; a card's albums and the card). Each call Telegram accepts is recorded on the row
(``sent_parts``: its message ids) in a short transaction right after the answer, and the row is marked
``sent`` after the last one. A retried row replays its delivery and the calls already recorded are answered
from the record instead of being sent again. The one window for a duplicate is a crash (or a lost database)
between Telegram's answer and that commit: the part stays unrecorded and, once the row's lease
(``DeliverySettings.lease_seconds``) expires, is sent again — at least once, never lost. (A network error
that swallows Telegram's answer looks like a failure too, and the part is sent again.) The lease must outlast
one part's delivery (HTTP timeouts included), or a slow sender and a second one may both send it.

A normal stop (``OutboxSender.stop``, on SIGTERM) takes no new rows, lets a call in flight finish and be
recorded, and hands every claimed row back at once, so a restart continues where this one stopped without
waiting for the lease.

Pacing happens per API call, not per row: the bot session's request middleware (``handlers.calls``) paces every
call the process makes — handlers' replies as well as deliveries — with one ``Pacer``, and inside a delivery
finds the row through ``current_pacing()``. Limits are leaky buckets of capacity one (strict spacing —
Telegram counts over sliding windows, so a burst would be refused): ``aiolimiter`` per chat, ``_Spacing``
overall, which gives a reply someone waits for the next slot before queued notices. They are kept a little
under the documented rates (``headroom``) because requests do not reach the server exactly when they leave.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import random
import socket
import uuid
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum

from aiolimiter import AsyncLimiter
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.bursts import burst_to_cover, is_new_incident_card, summary_payload
from bot.chats import DELIVERY_FAILED as DELIVERY_FAILED  # where callers have always found it
from bot.chats import tell_undeliverable
from bot.domain.clock import Clock
from bot.logs import bind_incident
from bot.tasks import cut_off
from storage.outbox import OutboxMessage as OutboxMessage  # re-exported: handlers never import storage
from storage.outbox import OutboxRepository

log = logging.getLogger(__name__)


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
    call_retries: int = 5  # 429s a handler's call waits out before giving up (the outbox hands rows back instead)
    server_retries: int = 3  # 5xx / network failures a handler's call retries, with backoff from call_backoff
    call_backoff: float = 0.5  # seconds before a handler's call is retried after a 5xx; doubles each time
    stop_grace: float = 30.0  # on stop, how long a call in flight may take to finish before it is cut off
    coalesce_after: int = 5  # more new-incident cards than this waiting in a chat: one summary (bot.bursts); 0: never
    coalesce_seconds: float = 5.0  # after a summary, a chat's next new-incident cards wait this long and coalesce


@dataclass
class DeliveryError(Exception):
    """A delivery failed: `permanent` ones (blocked, chat not found) are recorded, not retried.

    ``cause`` names a permanent failure for the notice to administrators and curators: one of
    ``bot.chats.CAUSES``, or None (the reason text says what happened)."""

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
    """How the sender settled one row: sent, handed back to be tried later, or given up (failed)."""

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


class _Spacing:
    """Strict spacing of acquisitions (a leaky bucket of capacity one, like ``AsyncLimiter(1, spacing)``)
    with two queues: an urgent acquisition gets the next slot before every ordinary one waiting."""

    def __init__(self, spacing: float) -> None:
        self.spacing = spacing
        self._free_at = 0.0  # loop time of the next free slot
        self._queues: dict[bool, deque[asyncio.Future[None]]] = {True: deque(), False: deque()}
        self._timer: asyncio.TimerHandle | None = None

    async def acquire(self, urgent: bool = False) -> None:
        loop = asyncio.get_running_loop()
        if self._timer is None and not any(self._queues.values()) and self._free_at <= loop.time():
            self._free_at = loop.time() + self.spacing
            return
        future: asyncio.Future[None] = loop.create_future()
        self._queues[urgent].append(future)
        self._schedule(loop)
        await future  # a cancelled waiter is skipped when its turn comes

    def _schedule(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._timer is None:
            self._timer = loop.call_at(max(self._free_at, loop.time()), self._release, loop)

    def _release(self, loop: asyncio.AbstractEventLoop) -> None:
        self._timer = None
        for queue in (self._queues[True], self._queues[False]):
            while queue:
                future = queue.popleft()
                if not future.done():
                    future.set_result(None)
                    self._free_at = loop.time() + self.spacing
                    if any(self._queues.values()):
                        self._schedule(loop)
                    return
        # only cancelled waiters were left: the slot stays free


class Pacer:
    """Telegram's flood limits for this process: one global bucket and one bucket per chat (created on first
    use, dropped when idle), plus the pauses 429 answers ask for. One per process, shared by the outbox sender
    and every other call the bot makes (``handlers.calls``), so a reply and a notice to one chat share its
    one message a second."""

    def __init__(self, settings: DeliverySettings) -> None:
        scale = settings.rate_scale * settings.headroom
        self.settings = settings
        self.global_spacing = 1.0 / (settings.global_per_second * scale)
        self.chat_spacing = 1.0 / (settings.chat_per_second * scale)
        self.group_spacing = max(self.chat_spacing, 60.0 / (settings.group_per_minute * scale))
        self._global: _Spacing | None = None
        self._chats: dict[int | str, _ChatPace] = {}
        self._paused_until = 0.0
        self._floods: deque[tuple[float, int | str]] = deque()
        self.stats = DeliveryStats()

    @staticmethod
    def _now() -> float:
        return asyncio.get_running_loop().time()

    def _chat(self, chat_id: int | str) -> _ChatPace:
        pace = self._chats.get(chat_id)
        if pace is None:
            # A negative id is a group or channel; so is an "@username" (a person has no public handle to send to).
            private = isinstance(chat_id, int) and chat_id > 0
            spacing = self.chat_spacing if private else self.group_spacing
            # Capacity one: strict spacing, because Telegram counts over sliding windows.
            pace = self._chats[chat_id] = _ChatPace(AsyncLimiter(1, spacing), spacing)
        return pace

    def enter(self, chat_id: int | str) -> None:
        """A delivery to ``chat_id`` (a Telegram chat id or "@username") begins: keep its bucket while it runs."""
        self._chat(chat_id).users += 1

    def leave(self, chat_id: int | str) -> None:
        """The delivery to ``chat_id`` ended: its bucket may be forgotten once drained (:meth:`sweep`)."""
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

    async def ready(self, chat_id: int | str) -> None:
        """Wait, without taking anything, until the chat may get a message (a worker waits here between rows
        without holding a delivery slot)."""
        pace = self._chat(chat_id)
        while True:
            delay = max(self._paused_until, pace.paused_until, pace.free_at) - self._now()
            if delay <= 0 and pace.limiter.has_capacity():
                return
            await asyncio.sleep(max(delay, 0.001))

    def expected_wait(self, chat_id: int | str | None) -> float:
        """Seconds until the chat may get a message, as far as the pauses and its bucket tell (0: now)."""
        pace = self._chats.get(chat_id) if chat_id is not None else None
        return max(self.expected_pause(chat_id), (pace.free_at - self._now()) if pace is not None else 0.0)

    def expected_pause(self, chat_id: int | str | None) -> float:
        """Seconds left of the 429 pauses that hold this chat (0: none)."""
        pace = self._chats.get(chat_id) if chat_id is not None else None
        until = max(self._paused_until, pace.paused_until if pace is not None else 0.0)
        return max(0.0, until - self._now())

    async def unpaused(self, chat_id: int | str | None) -> None:
        """Wait out the pauses 429 answers asked for, taking nothing from the buckets (edits, callback
        answers and other calls that are not messages wait for a flooded chat, but are not spaced)."""
        while True:
            pace = self._chats.get(chat_id) if chat_id is not None else None
            until = max(self._paused_until, pace.paused_until if pace is not None else 0.0)
            delay = until - self._now()
            if delay <= 0:
                return
            await asyncio.sleep(delay)

    async def acquire(self, chat_id: int | str, amount: int = 1, *, urgent: bool = False) -> None:
        """Right before a sending call: the chat first (without taking), then the global bucket, then the
        chat's. One delivery per chat at a time keeps the chat ready while the global bucket makes us wait,
        so both buckets count the message at (nearly) the moment it leaves. ``urgent`` calls (a person waits
        for the answer) take the next global slot before the outbox's waiting notices."""
        if self._global is None:
            self._global = _Spacing(self.global_spacing)
        pace = self._chat(chat_id)
        while True:
            await self.ready(chat_id)
            for _ in range(amount):  # an album is `amount` messages for the global limit
                await self._global.acquire(urgent)
            if self._paused_until <= self._now():
                break  # a global pause began while we queued: wait it out, then queue again
        await pace.limiter.acquire()
        pace.free_at = self._now() + pace.spacing

    def flooded(self, chat_id: int | str, retry_after: float) -> None:
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


class StopDelivery(Exception):
    """The sender is stopping: the row goes back to the outbox before its next part."""


@dataclass
class Postpone(Exception):
    """The row waits until ``until`` (aware) without counting an attempt: a burst is still arriving."""

    until: datetime


class ClaimLost(Exception):
    """Our lease on the row ran out and another sender took it over: it continues the row, we stop."""


@dataclass
class Pacing:
    """One row's delivery, found by the bot session through ``current_pacing()``: which chat it paces and
    which of its parts Telegram already has.

    ``done`` holds the message ids of every sending call Telegram accepted for this row, earlier attempts
    included, in call order; ``index`` counts the sending calls of this attempt. A call whose index is
    already in ``done`` is not made again (``replay``)."""

    pacer: Pacer
    chat_id: int
    done: list[list[int]] = field(default_factory=list)
    record: Callable[[list[list[int]]], Awaitable[None]] | None = None
    stopping: Callable[[], bool] = lambda: False
    index: int = 0
    sends: int = 0  # sending calls that reached Telegram in this attempt
    in_call: bool = False  # a request is in flight or its answer not yet recorded: a stop lets it finish

    def replay(self) -> list[int] | None:
        """The message ids of the next part if Telegram has it already (a retried row), else None."""
        if self.index < len(self.done):
            self.index += 1
            return self.done[self.index - 1]
        return None

    async def sent(self, message_ids: list[int]) -> None:
        """Telegram accepted the next part: record it on the row before anything else happens."""
        self.done.append(message_ids)
        self.index += 1
        self.sends += 1
        if self.record is not None:
            await self.record(self.done)

    def check_stop(self) -> None:
        """Before the next part: raises ``StopDelivery`` when the sender is stopping (the row goes back)."""
        if self.stopping():
            raise StopDelivery


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
    """Delivers the outbox (see the module docstring); ``run()`` until ``stop()``, or ``drain_once()`` in tests.

    ``pacer`` is the process's one ``Pacer``, shared with the bot session's calls outside deliveries
    (``handlers.calls``); without it the sender keeps its own."""

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
        pacer: Pacer | None = None,
    ) -> None:
        self.sessions = sessions
        self.deliver = deliver
        self.clock = clock
        self.wake = wake or asyncio.Event()
        self.settings = settings or DeliverySettings()
        self.batch = batch or self.settings.max_chats
        self.idle_poll = self.settings.idle_poll if idle_poll is None else idle_poll
        self.instance = instance or _instance_id()
        self.pacer = pacer or Pacer(self.settings)
        self.stats = self.pacer.stats
        self._workers: dict[int, asyncio.Task[None]] = {}  # chat id -> the task delivering to it
        self._pacings: dict[int, Pacing] = {}  # chat id -> the delivery in progress there
        self._slots: asyncio.Semaphore | None = None
        self._handled = 0
        self._claiming = asyncio.Lock()
        self._writing: asyncio.Lock | None = None
        self._marks: list[tuple[OutboxMessage, asyncio.Future[OutboxMessage | None]]] = []
        self._marker: asyncio.Task[None] | None = None
        self._orphans: list[asyncio.Task[None]] = []
        self._stopping = False
        self._summaries: dict[int, datetime] = {}  # chat id -> when its last burst summary was made (bot.bursts)

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
        """Deliver until :meth:`stop`: claim the ready chat heads, start a worker per chat, sleep until woken
        (``wake``) or until the next row is due (at most ``idle_poll`` seconds). A failed look is logged and
        retried. After :meth:`stop` it ends by itself at its next look: wait for it (bot.tasks.finish) rather than
        cancel it, since a task cut off inside an asyncpg query may never end. Cancelled without ``stop()``,
        every worker is cut short and its row handed back."""
        try:
            while not self._stopping:
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
            if not self._stopping:  # cancelled without stop(): cut everything short
                await self._stop_workers()

    async def stop(self, grace: float | None = None) -> None:
        """A normal stop (SIGTERM): claim nothing more, let every call in flight finish and be recorded
        (at most ``grace`` seconds, default ``DeliverySettings.stop_grace``), and hand each claimed row back
        at once with the parts it has, so a restart continues it without waiting for the lease."""
        self._stopping = True
        self.wake.set()
        async with self._claiming:  # a claim under way starts its workers first: they are stopped with the others
            workers = list(self._workers.items())
        for chat_id, task in workers:
            pacing = self._pacings.get(chat_id)
            if pacing is None or not pacing.in_call:
                task.cancel()  # waiting, reading or rendering: nothing is lost by stopping it here
        tasks = [task for _, task in workers]
        if tasks:
            grace = self.settings.stop_grace if grace is None else grace
            _, late = await asyncio.wait(tasks, timeout=grace)
            if late:
                log.warning("a Telegram call did not finish in time: cut off, its part may be sent again")
            await cut_off(late, grace)
        if self._marker is not None:
            await self._marker  # what Telegram already has gets recorded before we stop
        await asyncio.gather(*self._orphans, return_exceptions=True)

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
            if room <= 0 or self._stopping:
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
        # A worker cancelled here hands its rows back (see _work, _deliver_one); a call it cut off may have
        # reached Telegram, and that part may then be sent again (the module docstring's window).
        await cut_off(list(self._workers.values()), self.settings.stop_grace)
        if self._marker is not None:
            await self._marker
        await asyncio.gather(*self._orphans, return_exceptions=True)

    async def _work(self, first: OutboxMessage) -> None:
        """Deliver a chat's rows one after another while they are due, then let the chat go."""
        chat_id = first.chat_id
        message: OutboxMessage | None = first  # claimed and not yet being delivered
        try:
            while message is not None and not self._stopping:
                await self.pacer.ready(chat_id)  # outside a slot: other chats use it meanwhile
                if self._slots is None:
                    self._slots = asyncio.Semaphore(self.settings.concurrency)
                async with self._slots:
                    current, message = message, None
                    message = await self._deliver_one(current)
        except Exception:
            log.exception("outbox worker for chat %s failed; its row returns when the lease ends", chat_id)
        finally:
            if message is not None:  # claimed, not started (a stop): hand it back now rather than after the lease
                with contextlib.suppress(Exception):
                    await self._hand_back(message)
            self._workers.pop(chat_id, None)
            self.pacer.leave(chat_id)
            # Claim again once half the room is free, not after every row: a look costs a query over
            # every due row, and claiming in batches keeps the database out of the per-message path.
            if len(self._workers) <= self.batch // 2:
                self.wake.set()

    async def _deliver_one(self, message: OutboxMessage) -> OutboxMessage | None:
        """Deliver one row and settle it; returns the chat's next row if it was sent and the next is due."""
        error: DeliveryError | None = None
        bind_incident(message.incident_id)  # this worker's log lines name the row's incident (bot.logs)
        pacing = Pacing(
            self.pacer,
            message.chat_id,
            done=[list(part) for part in message.sent_parts or []],
            record=lambda parts: self._record_parts(message, parts),
            stopping=lambda: self._stopping,
        )
        self._pacings[message.chat_id] = pacing
        token = _pacing.set(pacing)
        try:
            message = await self._coalesce(message)
            await self.deliver(message)
        except StopDelivery:
            await self._hand_back(message)
            self._handled += 1
            return None
        except ClaimLost:
            self._settled(False, Outcome.later)
            self._handled += 1
            return None
        except Postpone as wait:
            async with self._write() as outbox:
                kept = await outbox.release(message.id, self.instance, not_before=wait.until, error="", attempt=False)
            self._settled(kept, Outcome.later)
            self._handled += 1
            return None
        except DeliveryError as exc:
            error = exc
        except asyncio.CancelledError:
            # Stopped between two calls (or cut off in one): what Telegram has is recorded; the rest goes back.
            with contextlib.suppress(Exception):
                await self._hand_back(message)
            raise
        except Exception as exc:
            log.exception("delivery of outbox #%s failed", message.id)
            error = DeliveryError(repr(exc))
        finally:
            _pacing.reset(token)
            self._pacings.pop(message.chat_id, None)
        self._handled += 1
        if error is None:
            return await self._mark_sent(message)
        await self._failed(message, error)
        return None

    async def _coalesce(self, message: OutboxMessage) -> OutboxMessage:
        """A burst of new-incident cards waiting in the chat becomes one summary (``bot.bursts``): the row we
        hold takes the summary's payload and the other cards are settled as covered, in one transaction.
        Returns the row to deliver (``message`` itself when there is no burst). Raises ClaimLost."""
        threshold = self.settings.coalesce_after
        if threshold <= 0 or message.sent_parts or not is_new_incident_card(message.payload):
            return message
        now = self.clock.now()
        summarised = self._summaries.get(message.chat_id)
        if summarised is not None and now < summarised + timedelta(seconds=self.settings.coalesce_seconds):
            # A summary went out a moment ago and the burst goes on: gather what arrives for the next one.
            raise Postpone(summarised + timedelta(seconds=self.settings.coalesce_seconds))
        async with self.sessions() as session:  # a read first: a lone card costs no write transaction
            if not burst_to_cover(message, await OutboxRepository(session).pending_in_chat(message.chat_id), threshold):
                return message
        async with self._write() as outbox:
            cards = burst_to_cover(message, await outbox.pending_in_chat(message.chat_id), threshold)
            if not cards:
                return message
            payload = summary_payload(cards)
            if not await outbox.replace_payload(message.id, self.instance, payload):
                raise ClaimLost
            await outbox.cover([c for c in cards if c.id != message.id], message.id, self.clock.now())
        log.info("chat %s: %d new-incident cards told in one summary", message.chat_id, len(cards))
        self._summaries[message.chat_id] = now
        for chat_id in [c for c, at in self._summaries.items() if at < now - timedelta(hours=1)]:
            del self._summaries[chat_id]  # forget chats long quiet
        return dataclasses.replace(message, payload=payload)

    async def _record_parts(self, message: OutboxMessage, parts: list[list[int]]) -> None:
        """Telegram has accepted another part of the row: write it down before the next one goes out."""
        async with self._write() as outbox:
            kept = await outbox.record_parts(message.id, self.instance, parts)
        if not kept:
            raise ClaimLost

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
                await self._tell_staff(outbox, message, exc)
        self.stats.failed += kept
        return self._settled(kept, Outcome.failed)

    def _settled(self, kept: bool, outcome: Outcome) -> Outcome:
        if not kept:
            self.stats.lost_claims += 1
            log.warning("an outbox row was taken over by another sender after our lease ended")
        return outcome

    async def _tell_staff(self, outbox: OutboxRepository, message: OutboxMessage, exc: DeliveryError) -> None:
        """Queue "could not deliver" to administrators and curators, in the transaction recording the failure."""
        told = await tell_undeliverable(
            outbox, message.chat_id, message.incident_id, message.payload, exc.cause, str(exc), now=self.clock.now()
        )
        if told:
            self.wake.set()
