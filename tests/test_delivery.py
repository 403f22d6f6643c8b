"""Outbox delivery against the local Bot API: once per row, in order per chat, within limits, across restarts."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from aiogram import Bot
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain.clock import ManualClock
from bot.domain.incident import Attachment, Network, Role, Source
from bot.domain.presets import get_preset
from bot.domain.workflow import Workflow
from bot.domain.worktime import WeeklySchedule, WorkCalendar
from bot.i18n import make_i18n
from bot.outbox import DELIVERY_FAILED, DeliverySettings, OutboxSender
from bot.services import Person, Services
from handlers.delivery import make_deliver
from storage.directory import DirectoryRepository
from storage.models import OutboxRow, OutboxStatus
from storage.outbox import OutboxRepository
from tests.botapi import BotAPIServer, Limits

Sessions = async_sessionmaker[AsyncSession]
MSK = ZoneInfo("Europe/Moscow")
CURATOR = 1001
EXECUTOR = 1002
# Tests run the real limits twenty times faster; the stand-in's windows shrink by the same factor.
FAST = DeliverySettings(rate_scale=20, backoff_base=0.01, backoff_cap=0.05, idle_poll=0.02)


@pytest.fixture
async def api() -> AsyncIterator[BotAPIServer]:
    async with BotAPIServer() as server:
        yield server


@pytest.fixture
async def bot(api: BotAPIServer) -> AsyncIterator[Bot]:
    bot = api.bot()
    yield bot
    await bot.session.close()


def services(sessions: Sessions, clock: ManualClock) -> Services:
    preset = get_preset("otradnaya")
    return Services(sessions, Workflow(preset, WorkCalendar(preset.timezone, WeeklySchedule.standard())), clock)


def sender(
    sessions: Sessions, bot: Bot, clock: ManualClock, settings: DeliverySettings = FAST, instance: str | None = None
) -> OutboxSender:
    deliver = make_deliver(bot, services(sessions, clock), make_i18n(), "en")
    return OutboxSender(sessions, deliver, clock, settings=settings, instance=instance)


def note(n: int) -> dict[str, object]:
    """A text row whose content names its sequence number, so order and duplicates are visible."""
    params = {"recipient": f"R{n}", "incident": n, "reason": "blocked", "error": ""}
    return {"kind": "text", "key": DELIVERY_FAILED, "params": params, "locale": "en"}


async def enqueue(sessions: Sessions, rows: list[tuple[int, int]]) -> None:
    async with sessions() as session, session.begin():
        outbox = OutboxRepository(session)
        for chat_id, n in rows:
            await outbox.add(chat_id, note(n))


def received(api: BotAPIServer) -> dict[int, list[int]]:
    """Per chat, the sequence numbers Telegram accepted, in arrival order."""
    out: dict[int, list[int]] = defaultdict(list)
    for call in api.calls("sendMessage"):
        if call.status == 200:
            out[int(call.params["chat_id"])].append(int(call.params["text"].split("No. ")[1].split()[0]))
    return out


async def statuses(sessions: Sessions) -> dict[OutboxStatus, int]:
    async with sessions() as session:
        return await OutboxRepository(session).status_counts()


async def drain_until_done(sessions: Sessions, outbox_sender: OutboxSender, clock: ManualClock) -> None:
    """Drain, moving the hand-driven clock past retry moments, until no row is open."""
    for _ in range(200):
        await outbox_sender.drain_once()
        counts = await statuses(sessions)
        if counts.get(OutboxStatus.pending, 0) + counts.get(OutboxStatus.sending, 0) == 0:
            return
        clock.advance(timedelta(seconds=1))
        await asyncio.sleep(0.01)
    raise AssertionError(f"outbox not drained: {counts}")


def clock() -> ManualClock:
    return ManualClock(datetime(2026, 3, 10, 10, 0, tzinfo=MSK))


async def test_429_and_502_are_retried_and_every_message_arrives_once_in_order(
    sessions: Sessions, api: BotAPIServer, bot: Bot
) -> None:
    chats = [501, 502, 503]
    for chat_id in chats:
        api.user(chat_id, "U", language_code="en")
    await enqueue(sessions, [(chat_id, n) for n in range(1, 4) for chat_id in chats])
    api.fail_next("sendMessage", 429, retry_after=1)
    api.fail_next("sendMessage", 502)
    now = clock()
    await drain_until_done(sessions, sender(sessions, bot, now), now)

    assert received(api) == {chat_id: [1, 2, 3] for chat_id in chats}
    assert [c.status for c in api.calls("sendMessage")][:2] == [429, 502]
    # The chat that got the 429 waited retry_after (1 s) before its next call.
    flooded = int(api.calls("sendMessage")[0].params["chat_id"])
    times = [c.time for c in api.calls("sendMessage") if int(c.params["chat_id"]) == flooded]
    assert times[1] - times[0] >= 1.0


async def test_burst_to_many_chats_and_a_group_within_enforced_limits_loses_nothing(
    sessions: Sessions, api: BotAPIServer, bot: Bot
) -> None:
    api.limits = Limits(scale=1 / FAST.rate_scale)
    private = list(range(2000, 2060))
    group = -100500
    for chat_id in private:
        api.user(chat_id, "U", language_code="en")
    api.group(group, "Отдел")
    rows = [(chat_id, 1) for chat_id in private] + [(group, n) for n in range(1, 11)]
    rows += [(private[0], n) for n in range(2, 6)]  # one chat gets several: 1 per second (scaled)
    await enqueue(sessions, rows)
    now = clock()
    await drain_until_done(sessions, sender(sessions, bot, now), now)

    got = received(api)
    assert {chat_id: got[chat_id] for chat_id in private[1:]} == {chat_id: [1] for chat_id in private[1:]}
    assert got[private[0]] == [1, 2, 3, 4, 5]
    assert got[group] == list(range(1, 11))
    # Any 429 was honoured: the chat's next call came no sooner than it was told.
    calls = api.calls("sendMessage")
    for index, call in enumerate(calls):
        if call.status == 429:
            chat_id = call.params["chat_id"]
            later = next(c for c in calls[index + 1 :] if c.params["chat_id"] == chat_id)
            assert later.time - call.time >= 1.0


async def card_for_executor(sessions: Sessions, now: ManualClock, source: Source) -> int:
    """An incident registered by the curator, with one outbox row: its new card for the executor (whose name is
    «Анна Исполнитель»); returns the incident's number."""
    async with sessions() as session, session.begin():
        directory = DirectoryRepository(session)
        curator_user = await directory.add_user(CURATOR, "Мария Куратор", roles=[Role.curator], locale="en")
        await directory.add_user(EXECUTOR, "Анна Исполнитель", roles=[Role.executor], locale="en")
    person = Person(
        curator_user.id, CURATOR, "Мария Куратор", "en", frozenset({Role.curator}), frozenset(), frozenset()
    )
    incident = await services(sessions, now).register(person, [source])
    assert incident.id is not None
    async with sessions() as session, session.begin():
        await session.execute(sa.text("DELETE FROM outbox"))  # registration's own notices are not the point
        card = {"kind": "card", "incident_id": incident.id, "note": "routed", "fresh": True}
        await OutboxRepository(session).add(EXECUTOR, card, incident_id=incident.id)
    return incident.id


async def test_blocked_chat_is_failed_once_and_the_curator_is_told(
    sessions: Sessions, api: BotAPIServer, bot: Bot
) -> None:
    now = clock()
    source = Source(Network.vk, "https://vk.com/wall-1_7", "Пётр", "Не вывозят мусор", now.now())
    number = await card_for_executor(sessions, now, source)
    curator = api.user(CURATOR, "Мария", language_code="en")
    api.user(EXECUTOR, "Анна", language_code="en").block()
    outbox_sender = sender(sessions, bot, now)
    await drain_until_done(sessions, outbox_sender, now)

    async with sessions() as session:
        rows = (await session.execute(sa.text("SELECT chat_id, status, attempts, last_error FROM outbox"))).all()
    failed = [r for r in rows if r.chat_id == EXECUTOR]
    assert [(r.status, r.attempts) for r in failed] == [("failed", 1)]
    assert "blocked" in failed[0].last_error
    text = curator.last.text or ""
    assert "Анна Исполнитель" in text and f"incident No. {number}" in text and "blocked the bot" in text

    # Nothing is retried: more passes make no further call to the blocked chat.
    calls = len(api.calls("sendMessage"))
    now.advance(timedelta(hours=1))
    assert await outbox_sender.drain_once() == 0
    assert len(api.calls("sendMessage")) == calls


async def test_a_failed_notice_to_a_curator_raises_no_further_notice(
    sessions: Sessions, api: BotAPIServer, bot: Bot
) -> None:
    async with sessions() as session, session.begin():
        await DirectoryRepository(session).add_user(CURATOR, "Мария Куратор", roles=[Role.curator], locale="en")
        await OutboxRepository(session).add(CURATOR, note(1))
    api.user(CURATOR, "Мария", language_code="en").block()
    now = clock()
    await drain_until_done(sessions, sender(sessions, bot, now), now)
    assert await statuses(sessions) == {OutboxStatus.failed: 1}


async def test_two_senders_on_one_database_deliver_each_row_once(
    sessions: Sessions, api: BotAPIServer, bot: Bot
) -> None:
    chats = list(range(3000, 3030))
    for chat_id in chats:
        api.user(chat_id, "U", language_code="en")
    await enqueue(sessions, [(chat_id, n) for n in (1, 2) for chat_id in chats])
    now = clock()
    # Small batches, so the two keep claiming against each other instead of one taking everything at once.
    small = DeliverySettings(**{**FAST.__dict__, "max_chats": 4, "concurrency": 2})
    first = sender(sessions, bot, now, small, instance="one")
    second = sender(sessions, bot, now, small, instance="two")
    runs = [asyncio.create_task(s.run()) for s in (first, second)]
    for _ in range(500):
        counts = await statuses(sessions)
        if counts.get(OutboxStatus.sent, 0) == 60:
            break
        await asyncio.sleep(0.02)
    # As the bot stops them: told to stop, each ends by itself (a task cut off inside an asyncpg query may hang).
    await asyncio.gather(first.stop(), second.stop())
    await asyncio.wait_for(asyncio.gather(*runs), 30)

    assert received(api) == {chat_id: [1, 2] for chat_id in chats}
    assert first.stats.sent + second.stats.sent == 60
    assert first.stats.sent > 0 and second.stats.sent > 0


async def test_restart_takes_rows_left_sending_after_their_lease_and_not_rows_sent(
    sessions: Sessions, api: BotAPIServer, bot: Bot
) -> None:
    for chat_id in (4001, 4002, 4003):
        api.user(chat_id, "U", language_code="en")
    await enqueue(sessions, [(4001, 1), (4002, 1), (4003, 1), (4001, 2)])
    now = clock()
    lease_over = now.now() - timedelta(seconds=1)
    lease_on = now.now() + timedelta(seconds=60)
    outbox = OutboxRow.__table__
    async with sessions() as session, session.begin():
        # The previous process: sent 4003's row, crashed while sending 4001's and (just now) 4002's.
        first = {r.chat_id: r.id for r in (await session.execute(sa.select(outbox).order_by(outbox.c.id.desc())))}
        await session.execute(sa.update(outbox).where(outbox.c.chat_id == 4003).values(status=OutboxStatus.sent))
        for chat_id, until in ((4001, lease_over), (4002, lease_on)):
            await session.execute(
                sa.update(outbox)
                .where(outbox.c.id == first[chat_id])
                .values(status=OutboxStatus.sending, claimed_by="crashed", claimed_until=until)
            )
    restarted = sender(sessions, bot, now, instance="restarted")
    await restarted.drain_once()
    assert received(api) == {4001: [1, 2]}  # 4002 waits for its lease; 4003 was sent before

    now.advance(timedelta(seconds=61))
    await restarted.drain_once()
    assert received(api) == {4001: [1, 2], 4002: [1]}
    assert await statuses(sessions) == {OutboxStatus.sent: 4}


# --- a notice in several parts goes out once per part (issue 9 §9) ---------------------------------------

HEAD = 4400


async def enqueue_report(sessions: Sessions) -> int:
    async with sessions() as session, session.begin():
        row = await OutboxRepository(session).add(HEAD, {"kind": "report", "month": "2026-02"})
    assert row is not None
    return row


def report_calls(api: BotAPIServer) -> dict[str, list[int]]:
    """Per report part, the statuses Telegram answered to the head's chat, in order."""
    return {
        method: [c.status for c in api.calls(method) if c.params.get("chat_id") == HEAD]
        for method in ("sendMessage", "sendDocument", "sendPhoto")
    }


async def test_a_500_on_the_reports_chart_sends_only_the_chart_again(
    sessions: Sessions, api: BotAPIServer, bot: Bot
) -> None:
    api.user(HEAD, "Глава", language_code="en")
    row = await enqueue_report(sessions)
    api.fail_next("sendPhoto", 500)
    now = clock()
    await drain_until_done(sessions, sender(sessions, bot, now), now)

    # The text and the workbook once; the chart refused once, then sent: the head reads the report once.
    assert report_calls(api) == {"sendMessage": [200], "sendDocument": [200], "sendPhoto": [500, 200]}
    async with sessions() as session:
        sent = await OutboxRepository(session).get(row)
    assert sent is not None and sent.status is OutboxStatus.sent and len(sent.sent_parts or []) == 3


async def test_a_card_refused_after_its_album_went_out_does_not_send_the_album_again(
    sessions: Sessions, api: BotAPIServer, bot: Bot
) -> None:
    now = clock()
    executor = api.user(EXECUTOR, "Анна", language_code="en")
    photos = [Attachment(api._new_file("photo").file_id, "photo") for _ in range(3)]
    source = Source(Network.vk, "https://vk.com/wall-1_7", "Пётр", "Не вывозят мусор", now.now(), photos)
    await card_for_executor(sessions, now, source)
    api.fail_next("sendMessage", 502, chat_id=EXECUTOR)
    await drain_until_done(sessions, sender(sessions, bot, now), now)

    albums = [c.status for c in api.calls("sendMediaGroup") if c.params["chat_id"] == EXECUTOR]
    cards = [c.status for c in api.calls("sendMessage") if c.params["chat_id"] == EXECUTOR]
    assert albums == [200] and cards == [502, 200]
    assert len([m for m in executor.messages if m.media is not None]) == 3
    assert len([m for m in executor.messages if m.text and "Incident No." in m.text]) == 1


async def test_a_stop_finishes_the_part_in_flight_and_a_restart_continues_at_once(
    sessions: Sessions, api: BotAPIServer, bot: Bot
) -> None:
    api.user(HEAD, "Глава", language_code="en")
    row = await enqueue_report(sessions)
    release = api.hold("sendDocument")
    now = clock()
    first = sender(sessions, bot, now, instance="stopping")
    running = asyncio.create_task(first.run())
    await api._wait_for(lambda: api.calls("sendDocument"), 10.0)
    stopping = asyncio.create_task(first.stop())  # SIGTERM while the workbook is on its way
    await asyncio.sleep(0.2)
    assert not stopping.done()  # the call in flight is let finish
    release()
    await asyncio.wait_for(stopping, 10.0)
    await asyncio.wait_for(running, 10.0)

    async with sessions() as session:
        left = await OutboxRepository(session).get(row)
    assert left is not None and left.status is OutboxStatus.pending and left.claimed_until is None
    assert len(left.sent_parts or []) == 2  # the text and the workbook, recorded
    assert report_calls(api) == {"sendMessage": [200], "sendDocument": [200], "sendPhoto": []}

    # The restart does not wait for the lease (120 s): the clock has not moved.
    await sender(sessions, bot, now, instance="restarted").drain_once()
    assert report_calls(api) == {"sendMessage": [200], "sendDocument": [200], "sendPhoto": [200]}
    assert await statuses(sessions) == {OutboxStatus.sent: 1}
