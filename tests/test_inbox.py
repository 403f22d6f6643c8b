"""The inbox of updates (bot.inbox, storage.inbox): updates of different chats run side by side, one chat's
run in order, an update recorded but cut short runs after a restart, once; several instances share the table."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from aiogram import Bot, Dispatcher, Router
from aiogram.types import Message
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.inbox import UpdateInbox
from storage.inbox import Inbox, InboxRecord


def message(update_id: int, chat_id: int, text: str) -> dict[str, Any]:
    """A raw update as Telegram pushes it: a private message from user ``chat_id``."""
    person = {"id": chat_id, "is_bot": False, "first_name": f"User {chat_id}"}
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 1_780_000_000,
            "chat": {"id": chat_id, "type": "private", "first_name": person["first_name"]},
            "from": person,
            "text": text,
        },
    }


class Recorder:
    """A dispatcher whose one handler logs "start <chat> <text>" and "end <chat> <text>", and waits in between
    on the gate of its text when there is one."""

    def __init__(self) -> None:
        self.log: list[str] = []
        self.gates: dict[str, asyncio.Event] = {}
        self.dispatcher = Dispatcher()
        router = Router()
        router.message.register(self.handle)
        self.dispatcher.include_router(router)

    async def handle(self, message: Message) -> None:
        text = message.text or ""
        self.log.append(f"start {message.chat.id} {text}")
        gate = self.gates.get(text)
        if gate is not None:
            await gate.wait()
        await asyncio.sleep(0)
        self.log.append(f"end {message.chat.id} {text}")


def inbox(recorder: Recorder, sessions: async_sessionmaker[AsyncSession], instance: str = "a") -> UpdateInbox:
    return UpdateInbox(recorder.dispatcher, Bot("42:TEST"), sessions, instance=instance)


async def until(predicate: Any, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


async def unfinished(sessions: async_sessionmaker[AsyncSession]) -> list[int]:
    async with sessions() as session:
        return await Inbox(session).unfinished()


async def test_a_slow_update_in_one_chat_does_not_hold_another_chats_update(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    recorder = Recorder()
    recorder.gates["/report"] = asyncio.Event()
    updates = inbox(recorder, sessions)
    await updates.start()
    try:
        await updates.receive_raw(message(1, 400, "/report"))  # the head's report builds…
        await updates.receive_raw(message(2, 200, "press"))  # …while an executor presses a button
        await until(lambda: "end 200 press" in recorder.log)
        assert recorder.log == ["start 400 /report", "start 200 press", "end 200 press"]
        recorder.gates["/report"].set()
        await updates.wait_idle()
        assert recorder.log[-1] == "end 400 /report"
    finally:
        await updates.stop()
    assert await unfinished(sessions) == []


async def test_one_chats_updates_run_one_after_another_in_the_order_they_came(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    recorder = Recorder()
    recorder.gates["1"] = asyncio.Event()
    updates = inbox(recorder, sessions)
    await updates.start()
    try:
        for n in range(1, 6):
            await updates.receive_raw(message(n, 100, str(n)))
        await updates.receive_raw(message(6, 200, "other"))
        await until(lambda: "end 200 other" in recorder.log)
        assert [line for line in recorder.log if " 100 " in line] == ["start 100 1"]  # 2…5 wait for 1
        recorder.gates["1"].set()
        await updates.wait_idle()
    finally:
        await updates.stop()
    assert [line for line in recorder.log if " 100 " in line] == [
        f"{step} 100 {n}" for n in range(1, 6) for step in ("start", "end")
    ]


async def test_an_update_telegram_delivers_again_is_handled_once(sessions: async_sessionmaker[AsyncSession]) -> None:
    recorder = Recorder()
    updates = inbox(recorder, sessions)
    await updates.start()
    try:
        await updates.receive_raw(message(7, 100, "hello"))
        await updates.wait_idle()
        await updates.receive_raw(message(7, 100, "hello"))  # a webhook push retried
        await updates.wait_idle()
    finally:
        await updates.stop()
    assert recorder.log == ["start 100 hello", "end 100 hello"]


async def test_an_update_cut_short_runs_after_restart_before_new_ones_and_only_then(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    first = Recorder()
    first.gates["cut short"] = asyncio.Event()  # never set: the process dies while it runs
    updates = inbox(first, sessions, instance="host:8080")
    await updates.start()
    await updates.receive_raw(message(1, 100, "cut short"))
    await updates.receive_raw(message(2, 100, "queued behind it"))
    await until(lambda: first.log == ["start 100 cut short"])
    await updates.stop(timeout=0.1)  # the handler is cancelled, as by a crash
    assert await unfinished(sessions) == [1, 2]

    # Another instance does not take rows whose lease is alive.
    other = Recorder()
    bystander = inbox(other, sessions, instance="host:8081")
    await bystander.start()
    await bystander.stop()
    assert other.log == [] and await unfinished(sessions) == [1, 2]

    again = Recorder()
    restarted = inbox(again, sessions, instance="host:8080")
    await restarted.start()  # its own rows first, in order
    try:
        await restarted.receive_raw(message(3, 100, "new"))
        await restarted.wait_idle()
    finally:
        await restarted.stop()
    assert again.log == [
        "start 100 cut short",
        "end 100 cut short",
        "start 100 queued behind it",
        "end 100 queued behind it",
        "start 100 new",
        "end 100 new",
    ]
    assert await unfinished(sessions) == []

    once_more = Recorder()
    third = inbox(once_more, sessions, instance="host:8080")
    await third.start()
    await third.stop()
    assert once_more.log == []  # done rows never run again


async def test_a_crashed_instances_rows_go_to_another_once_their_lease_ran_out(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    now = datetime.now(UTC)
    async with sessions() as session, session.begin():
        added = await Inbox(session).add(
            [InboxRecord(1, 100, '{"update_id": 1}'), InboxRecord(2, 200, '{"update_id": 2}')],
            "crashed",
            now - timedelta(minutes=5),
            now - timedelta(minutes=4),
        )
        assert added == [1, 2]
        assert await Inbox(session).add([InboxRecord(2, 200, "{}")], "other", now, now) == []  # recorded already
    async with sessions() as session, session.begin():
        taken = await Inbox(session).take_unfinished("b", now, now + timedelta(minutes=1), own=False)
    assert [r.update_id for r in taken] == [1, 2]
    async with sessions() as session, session.begin():
        # Taken now: neither the crashed instance's restart nor a third instance may take them too.
        assert await Inbox(session).take_unfinished("c", now, now + timedelta(minutes=1), own=False) == []
        assert await Inbox(session).take_unfinished("crashed", now, now + timedelta(minutes=1), own=True) == []
        await Inbox(session).done([1, 2], now)
        assert await Inbox(session).prune(now + timedelta(seconds=1)) == 2
