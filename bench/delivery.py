"""Benchmark the outbox sender: 1,000 notifications to 1,000 chats, the local Bot API enforcing Telegram's limits.

Run from the repository root: ``python bench/delivery.py [--messages 1000] [--scale 1]``.

Everything is real except Telegram: a migrated SQLite file, the OutboxSender with ``handlers.delivery``'s
deliverer and an aiogram Bot over HTTP to ``tests.botapi`` with ``Limits`` on (30 messages/s overall, 1/s
per chat, 20/min per group; it answers 429 beyond them). ``--scale N`` runs the same code N times faster:
the stand-in's windows are divided by N and the sender's ``rate_scale`` is N. The rows are short texts
(``kind: text``), so the benchmark measures delivery, not card rendering. Target: at least 0.9 of the
limit's speed, nothing lost, nothing twice.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.domain.clock import SystemClock
from bot.domain.presets import get_preset
from bot.domain.workflow import Workflow
from bot.domain.worktime import WeeklySchedule, WorkCalendar
from bot.i18n import make_i18n
from bot.outbox import DELIVERY_FAILED, DeliverySettings, OutboxSender
from bot.services import Services
from bot.tasks import finish
from handlers.delivery import make_deliver
from storage.db import make_engine, make_session_factory, upgrade_async
from storage.models import OutboxStatus
from storage.outbox import OutboxRepository
from tests.botapi import BotAPIServer, Limits

FIRST_CHAT = 10_000


async def run(messages: int, scale: float, timeout: float) -> bool:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'bench.sqlite3'}"
        await upgrade_async(url)
        engine = make_engine(url)
        sessions = make_session_factory(engine)
        preset = get_preset("otradnaya")
        clock = SystemClock()
        services = Services(sessions, Workflow(preset, WorkCalendar(preset.timezone, WeeklySchedule.standard())), clock)
        chats = range(FIRST_CHAT, FIRST_CHAT + messages)
        async with sessions() as session, session.begin():
            outbox = OutboxRepository(session)
            for n, chat_id in enumerate(chats, 1):
                params = {"recipient": f"Исполнитель {n}", "incident": n, "reason": "blocked", "error": ""}
                await outbox.add(chat_id, {"kind": "text", "key": DELIVERY_FAILED, "params": params, "locale": "en"})

        async with BotAPIServer(limits=Limits(scale=1 / scale)) as api:
            for chat_id in chats:
                api.user(chat_id, f"User {chat_id}", language_code="en")
            bot = api.bot()
            settings = DeliverySettings(rate_scale=scale)
            sender = OutboxSender(sessions, make_deliver(bot, services, make_i18n(), "en"), clock, settings=settings)
            started = time.monotonic()
            task = asyncio.create_task(sender.run())
            deadline = started + timeout
            try:
                while time.monotonic() < deadline:
                    async with sessions() as session:
                        counts = await OutboxRepository(session).status_counts()
                    if counts.get(OutboxStatus.sent, 0) + counts.get(OutboxStatus.failed, 0) >= messages:
                        break
                    await asyncio.sleep(0.05)
                elapsed = time.monotonic() - started
            finally:
                await sender.stop()
                await finish(task, 10.0)
                await bot.session.close()
            await engine.dispose()

            calls = api.calls("sendMessage")
            delivered = Counter(int(c.params["chat_id"]) for c in calls if c.status == 200)
            flood = sum(1 for c in calls if c.status == 429)
            lost = sum(1 for chat_id in chats if delivered[chat_id] == 0)
            twice = sum(1 for chat_id in chats if delivered[chat_id] > 1)

    minimum = messages / (30 * scale)
    ratio = minimum / elapsed
    print(f"messages             {messages} to {messages} chats, scale {scale:g} ({30 * scale:g} messages/s)")
    print(f"elapsed              {elapsed:.2f} s")
    print(f"theoretical minimum  {minimum:.2f} s")
    print(f"speed vs the limit   {ratio:.3f}  (target >= 0.9)")
    print(f"429s received        {flood}")
    print(f"messages lost        {lost}")
    print(f"messages duplicated  {twice}")
    print(f"sender stats         {sender.stats}")
    return ratio >= 0.9 and lost == 0 and twice == 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--scale", type=float, default=1.0, help="limits × scale (10: 300 messages/s)")
    parser.add_argument("--timeout", type=float, default=None, help="seconds before giving up (default 3× minimum)")
    args = parser.parse_args()
    timeout = args.timeout or max(10.0, 3 * args.messages / (30 * args.scale))
    ok = asyncio.run(run(args.messages, args.scale, timeout))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
