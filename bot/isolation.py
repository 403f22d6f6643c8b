"""One person's updates one after another across instances: a Redis lock per chat that a crashed instance cannot
keep for long.

aiogram's ``RedisEventIsolation`` holds its lock for up to 60 s: an instance killed while handling a person's update
leaves the lock behind, and that person's next update — on any instance — waits out the minute (Telegram gives up
on a webhook push after 60 s). Here the lock lives ``ttl`` seconds and the instance holding it renews it every
``ttl / 3`` while the update is handled, so a live holder keeps it as long as it needs and a dead one frees it
within ``ttl`` seconds (README «Several instances»)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator

from aiogram.fsm.storage.base import BaseEventIsolation, DefaultKeyBuilder, KeyBuilder, StorageKey
from redis.asyncio import Redis
from redis.exceptions import LockError

log = logging.getLogger(__name__)

LOCK_TTL = 10.0  # seconds a lock outlives its holder's last renewal


class RenewedRedisIsolation(BaseEventIsolation):
    """Event isolation through a Redis lock per storage key (chat and user) that lives ``ttl`` seconds and is
    renewed while held. Raises what Redis raises when it cannot be reached (the update then fails and Telegram
    pushes it again)."""

    def __init__(self, redis: Redis, key_builder: KeyBuilder | None = None, ttl: float = LOCK_TTL) -> None:
        self.redis = redis
        self.key_builder = key_builder or DefaultKeyBuilder()
        self.ttl = ttl

    @contextlib.asynccontextmanager
    async def lock(self, key: StorageKey) -> AsyncGenerator[None, None]:
        """Hold the key's lock (waiting for it) while the block runs."""
        lock = self.redis.lock(self.key_builder.build(key, "lock"), timeout=self.ttl, raise_on_release_error=False)
        await lock.acquire()
        renewing = asyncio.create_task(self._renew(lock), name="otklik-isolation-renew")
        try:
            yield None
        finally:
            renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewing
            with contextlib.suppress(LockError):
                await lock.release()

    async def _renew(self, lock: object) -> None:
        while True:
            await asyncio.sleep(self.ttl / 3)
            try:
                await lock.reacquire()  # type: ignore[attr-defined]
            except LockError:
                log.warning("an isolation lock expired while its update was handled; another may run alongside")
                return

    async def close(self) -> None:
        """Nothing of its own to close: the Redis client belongs to the FSM storage."""
