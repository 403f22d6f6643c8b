"""Telegram updates in, through the inbox: recorded before Telegram is told they arrived, then handled
concurrently across chats and strictly in order within one chat."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from aiogram import Bot, Dispatcher, loggers
from aiogram.methods import GetUpdates
from aiogram.types import Update
from aiogram.utils.backoff import Backoff, BackoffConfig
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.tasks import cut_off, finish
from storage.inbox import Inbox, InboxRecord

log = logging.getLogger(__name__)

BACKOFF = BackoffConfig(min_delay=1.0, max_delay=5.0, factor=1.3, jitter=0.1)  # aiogram's polling default
FLUSH_SECONDS = 0.2  # how often handled updates are marked done, in one transaction
KEEPER_STOP_SECONDS = 10.0  # a stop waits this long for the keeper's look in progress before cutting it off
KEEP_DONE = timedelta(days=1)  # done rows are deleted after this
PRUNE_EVERY = timedelta(hours=1)


def update_key(update: Update) -> int:
    """The key whose updates run one after another: the chat the update belongs to (a pressed button's
    message's chat), else the user who caused it, else 0 (updates of neither kind run in one line)."""
    try:
        event = update.event
    except Exception:  # an update type aiogram does not know: one line for all of them
        return 0
    chat = getattr(event, "chat", None)
    if chat is None and update.callback_query is not None and update.callback_query.message is not None:
        chat = update.callback_query.message.chat
    if chat is not None:
        return int(chat.id)
    user = getattr(event, "from_user", None) or getattr(event, "user", None)
    return int(user.id) if user is not None else 0


def default_instance(webhook_port: int | None) -> str:
    """This instance's name in the inbox when the config names none: the host and the webhook port (two
    instances on one host listen on two ports), or the host and ``polling`` (Telegram lets one process poll)."""
    return f"{socket.gethostname()}:{webhook_port if webhook_port is not None else 'polling'}"


@dataclass
class _Item:
    update_id: int
    key: int
    update: Update


class UpdateInbox:
    """Receives updates (``receive``, ``receive_raw``), records them in the inbox (``storage.inbox``) and only
    then returns, so the caller may acknowledge them to Telegram; handles them with ``dispatcher.feed_update``
    — up to ``concurrency`` at once across keys (``update_key``), one at a time and in arrival order within a
    key. Once-only is the dispatcher's ``OnceMiddleware`` (``processed_updates``): an update handled again after
    a crash changes nothing twice. Handled updates are marked done within ``FLUSH_SECONDS``; rows not done are
    taken again at ``start`` (this instance's own) or when their lease (``lease``, renewed while held) ran out
    (another instance's). Lease times are the wall clock, UTC: they are about processes, not business time."""

    def __init__(
        self,
        dispatcher: Dispatcher,
        bot: Bot,
        sessions: async_sessionmaker[AsyncSession],
        *,
        instance: str,
        concurrency: int = 16,
        lease: timedelta = timedelta(seconds=60),
    ) -> None:
        self.dispatcher = dispatcher
        self.bot = bot
        self.sessions = sessions
        self.instance = instance
        self.lease = lease
        self._slots = asyncio.Semaphore(concurrency)
        self._lines: dict[int, deque[_Item]] = {}
        self._held: set[int] = set()  # update ids submitted and not yet marked done
        self._finished: list[int] = []  # handled, to be marked done at the next flush
        self._workers: set[asyncio.Task[None]] = set()
        self._idle = asyncio.Event()
        self._idle.set()
        self._keeper: asyncio.Task[None] | None = None
        self._closed = False
        self._closing = asyncio.Event()  # the keeper ends at its next look, never cut off inside a query

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Take this instance's unfinished rows (a crash cut them short) and any whose lease ran out, oldest
        first, before anything new arrives; then keep leases, done marks and pruning going in the background."""
        await self._adopt(own=True)
        self._keeper = asyncio.create_task(self._keep(), name="inbox-keeper")

    async def stop(self, timeout: float = 10.0) -> None:
        """Take nothing more; let the updates being handled finish (up to ``timeout`` s, then cancel them: they
        stay unfinished and run after the restart) and mark what finished done. Queued updates not started
        stay in the inbox for the restart."""
        self._closed = True
        for line in self._lines.values():
            while len(line) > 1:
                line.pop()  # the head is running (or about to); the rest waits for the restart
        if self._workers:
            _, pending = await asyncio.wait(set(self._workers), timeout=timeout)
            await cut_off(pending, timeout)
        if self._keeper is not None:
            self._closing.set()
            await finish(self._keeper, KEEPER_STOP_SECONDS)
        await self._flush()

    @property
    def idle(self) -> bool:
        """True when no update is queued or being handled (done marks may still be unflushed)."""
        return self._idle.is_set()

    async def wait_idle(self) -> None:
        """Until no update is queued or being handled."""
        await self._idle.wait()

    # ------------------------------------------------------------------ receiving

    async def receive(self, updates: Sequence[Update]) -> None:
        """Record ``updates`` (as fetched by polling) in one transaction, then queue them for handling. Returns
        once they are committed; raises the database's error (then nothing is recorded: fetch them again)."""
        records = [InboxRecord(u.update_id, update_key(u), json.dumps(_raw(u), ensure_ascii=False)) for u in updates]
        await self._record(records, {u.update_id: u for u in updates})

    async def receive_raw(self, payload: dict[str, Any]) -> None:
        """Record one update as Telegram pushed it (webhook mode), then queue it. Raises ``pydantic``'s
        ``ValidationError`` for a payload that is not an update (nothing is recorded) and the database's
        error when it cannot be recorded."""
        update = Update.model_validate(payload, context={"bot": self.bot})
        record = InboxRecord(update.update_id, update_key(update), json.dumps(payload, ensure_ascii=False))
        await self._record([record], {update.update_id: update})

    async def _record(self, records: list[InboxRecord], updates: dict[int, Update]) -> None:
        now = _now()
        async with self.sessions() as session, session.begin():
            added = await Inbox(session).add(records, self.instance, now, now + self.lease)
        for record in records:
            if record.update_id in added:  # one Telegram delivers again is in the inbox already
                self._submit(_Item(record.update_id, record.key, updates[record.update_id]))

    # ------------------------------------------------------------------ polling

    async def poll(self, *, polling_timeout: int = 30, allowed_updates: list[str] | None = None) -> None:
        """Long polling until cancelled, as aiogram's own (``Dispatcher._listen_updates``: backoff on errors),
        except that a batch is recorded in the inbox before the next ``getUpdates`` confirms it (its offset):
        Telegram forgets an update only once it is committed here."""
        if allowed_updates is None:
            allowed_updates = self.dispatcher.resolve_used_update_types()
        backoff = Backoff(config=BACKOFF)
        request = GetUpdates(timeout=polling_timeout, allowed_updates=allowed_updates)
        kwargs: dict[str, Any] = {}
        if self.bot.session.timeout:
            kwargs["request_timeout"] = int(self.bot.session.timeout + polling_timeout)
        while True:
            try:
                updates = await self.bot(request, **kwargs)
                if updates:
                    await self.receive(updates)
                    request.offset = updates[-1].update_id + 1
            except asyncio.CancelledError:
                raise
            except Exception as error:  # polling goes on whatever Telegram or the database did
                log.error("Fetching or recording updates failed - %s: %s", type(error).__name__, error)
                await backoff.asleep()
                continue
            backoff.reset()

    # ------------------------------------------------------------------ handling

    def _submit(self, item: _Item) -> None:
        if self._closed or item.update_id in self._held:
            return
        self._held.add(item.update_id)
        self._idle.clear()
        line = self._lines.get(item.key)
        if line is not None:
            line.append(item)
            return
        line = self._lines[item.key] = deque([item])
        worker = asyncio.create_task(self._work(item.key, line), name=f"updates-{item.key}")
        self._workers.add(worker)
        worker.add_done_callback(self._workers.discard)

    async def _work(self, key: int, line: deque[_Item]) -> None:
        try:
            while line:
                item = line[0]
                async with self._slots:
                    await self._handle(item)
                line.popleft()
        finally:
            if self._lines.get(key) is line:
                del self._lines[key]
            if not self._lines:
                self._idle.set()

    async def _handle(self, item: _Item) -> None:
        try:
            await self.dispatcher.feed_update(self.bot, item.update)
        except Exception:  # as aiogram's polling: logged, and the next update goes on
            loggers.event.exception("Cause exception while process update id=%d", item.update_id)
        self._finished.append(item.update_id)

    async def _flush(self) -> None:
        finished, self._finished = self._finished, []
        if not finished:
            return
        try:
            async with self.sessions() as session, session.begin():
                await Inbox(session).done(finished, _now())
        except Exception:
            self._finished.extend(finished)  # the next flush tries again; a restart would skip them anyway
            raise
        self._held.difference_update(finished)

    async def _adopt(self, *, own: bool) -> None:
        while True:
            now = _now()
            async with self.sessions() as session, session.begin():
                records = await Inbox(session).take_unfinished(self.instance, now, now + self.lease, own=own)
            fresh = [r for r in records if r.update_id not in self._held]
            for record in fresh:
                update = Update.model_validate(json.loads(record.payload), context={"bot": self.bot})
                self._submit(_Item(record.update_id, record.key, update))
            if fresh:
                log.info("%d unfinished updates taken from the inbox", len(fresh))
            if len(records) < 500 or not fresh:
                return

    async def _keep(self) -> None:
        renewed, pruned = _now(), _now() - PRUNE_EVERY  # pruned once at start
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), FLUSH_SECONDS)
            if self._closing.is_set():
                return
            try:
                await self._flush()
                now = _now()
                if now - renewed >= self.lease / 3:
                    renewed = now
                    async with self.sessions() as session, session.begin():
                        await Inbox(session).renew(self.instance, sorted(self._held), now + self.lease)
                    await self._adopt(own=False)  # rows of an instance that crashed and did not come back
                if now - pruned >= PRUNE_EVERY:
                    pruned = now
                    async with self.sessions() as session, session.begin():
                        count = await Inbox(session).prune(now - KEEP_DONE)
                    log.info("%d handled updates pruned from the inbox", count)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("inbox upkeep failed; trying again")


def _raw(update: Update) -> dict[str, Any]:
    """The update's JSON as Telegram sent it (what aiogram parsed: fields it was given, Telegram's names)."""
    return update.model_dump(mode="json", exclude_unset=True, by_alias=True)


def _now() -> datetime:
    return datetime.now(UTC)
