"""Stopping a background task that stops by its own flag: wait for it, and cut it off only when it is late."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
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
    done, _ = await asyncio.wait({task}, timeout=seconds)
    if not done:
        log.warning("%s did not stop within %g s; cutting it off", task.get_name(), seconds)
        await cut_off([task], seconds)
    elif not task.cancelled() and task.exception() is not None:
        log.error("%s ended with an error", task.get_name(), exc_info=task.exception())


async def cut_off(tasks: Iterable[asyncio.Task[Any]], seconds: float) -> None:
    """Cancel ``tasks`` and wait up to ``seconds`` for them to end; one that does not end even then (a task cut
    off inside an asyncpg query may never end, see :func:`finish`) is left behind, logged, so a stop never hangs.
    What they end with — their cancellation or an error — is swallowed: the caller is stopping."""
    tasks = [t for t in tasks if not t.done()]
    for task in tasks:
        task.cancel()
    if not tasks:
        return
    done, stuck = await asyncio.wait(tasks, timeout=seconds)
    for task in done:
        if not task.cancelled():
            task.exception()  # retrieved: not reported later as "never retrieved"
    for task in stuck:
        log.error("%s did not end when cut off; left behind", task.get_name())
