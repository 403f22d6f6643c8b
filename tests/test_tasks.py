"""bot.tasks.finish: a stop waits for a background task to end by itself, cuts it off only when it is late, and
never hangs on one that will not end (a task cancelled inside an asyncpg query may never end)."""

from __future__ import annotations

import asyncio
import logging

import pytest

from bot.tasks import finish


async def stubborn(release: asyncio.Event) -> None:
    """A task that swallows its cancellation and waits on, as a driver stuck in a query does."""
    while not release.is_set():
        try:
            await release.wait()
        except asyncio.CancelledError:
            continue


async def test_a_task_that_stops_by_its_flag_is_not_cancelled() -> None:
    stop = asyncio.Event()
    steps: list[str] = []

    async def loop() -> None:
        await stop.wait()
        await asyncio.sleep(0.05)  # its last look, as a query would be: not cut off
        steps.append("ended by itself")

    task = asyncio.create_task(loop())
    stop.set()
    await finish(task, 5.0)
    assert steps == ["ended by itself"] and not task.cancelled()


async def test_a_late_task_is_cut_off_after_the_wait(caplog: pytest.LogCaptureFixture) -> None:
    task = asyncio.create_task(asyncio.sleep(3600), name="sleeper")
    loop = asyncio.get_running_loop()
    started = loop.time()
    await finish(task, 0.2)
    assert task.cancelled() and 0.2 <= loop.time() - started < 2
    assert "sleeper did not stop within 0.2 s; cutting it off" in caplog.text


async def test_a_task_that_will_not_end_is_left_behind_and_the_stop_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    release = asyncio.Event()
    task = asyncio.create_task(stubborn(release), name="stubborn")
    loop = asyncio.get_running_loop()
    started = loop.time()
    with caplog.at_level(logging.WARNING):
        await finish(task, 0.2)
    assert not task.done() and loop.time() - started < 2
    assert "stubborn did not end when cut off; left behind" in caplog.text
    release.set()
    await task


async def test_an_error_the_task_ended_with_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    async def broken() -> None:
        raise RuntimeError("the last look failed")

    task = asyncio.create_task(broken(), name="broken")
    await finish(task, 1.0)
    assert "broken ended with an error" in caplog.text and "the last look failed" in caplog.text


async def test_cut_off_cancels_and_does_not_wait_for_a_task_that_will_not_end(caplog: pytest.LogCaptureFixture) -> None:
    """What a stop does with handlers or deliveries past their grace: cancel them all, wait a bounded time, and go on
    without the one that swallows its cancellation."""
    from bot.tasks import cut_off

    release = asyncio.Event()

    async def failing() -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            raise RuntimeError("cleanup failed") from None

    quiet = asyncio.create_task(asyncio.sleep(3600), name="quiet")
    broken = asyncio.create_task(failing(), name="broken")
    stuck = asyncio.create_task(stubborn(release), name="stuck")
    await asyncio.sleep(0)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await cut_off([quiet, broken, stuck], 0.2)
    assert loop.time() - started < 2
    assert quiet.cancelled() and broken.done() and not stuck.done()
    assert "stuck did not end when cut off; left behind" in caplog.text
    assert "quiet" not in caplog.text and "broken" not in caplog.text
    release.set()
    await stuck
