"""Stopping a background task that stops by its own flag: wait for it, and cut it off only when it is late."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

log = logging.getLogger(__name__)


async def finish(task: asyncio.Task[Any], seconds: float) -> None:
    """Wait up to ``seconds`` for ``task``, already told to stop by its own flag, to end by itself; only then cancel
    it, and wait ``seconds`` more at most: a task that does not end even then is left behind, logged, so a stop
    never hangs.

    A task is not cancelled first because cancelling one in the middle of an asyncpg query can leave it waiting for
    the driver forever (asyncpg issue #873, SQLAlchemy issue #12728) — seen in our CI as an outbox sender that never
    finished stopping on PostgreSQL. An error the task ended with is logged, not raised: the caller is stopping.
    """
    name = task.get_name()
    done, _ = await asyncio.wait({task}, timeout=seconds)
    if not done:
        log.warning("%s did not stop within %g s; cutting it off", name, seconds)
        task.cancel()
        done, _ = await asyncio.wait({task}, timeout=seconds)
        if not done:
            log.error("%s did not end when cut off; left behind", name)
            return
    if not task.cancelled() and task.exception() is not None:
        log.error("%s ended with an error", name, exc_info=task.exception())
