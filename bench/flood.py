"""Benchmark a flood: one person sends 50 texts in 2 s while 20 others use the bot and 300 notices go out.

Run from the repository root: ``python bench/flood.py [--scale 4] [--others 20] [--notices 300]``.

Everything is real except Telegram: the whole application (dispatcher, middlewares, handlers, outbox
sender, SQLite) against ``tests.botapi`` with ``Limits`` on (30 messages/s overall, 1/s per chat, 20/min per
group; it answers 429 beyond them). ``--scale N`` runs the same code N times faster: the stand-in's windows
are divided by N and the bot's ``rate_scale`` is N (people's pace is not scaled: the flood is 50 texts in 2 s
of real time). The flooder and the others are curators: each text they send is answered with a registration
card.

A reply is *lost* when a text was neither answered nor listed in the flooder's one notice about skipped
messages; a notice is lost when its outbox row was not sent. Target: nothing lost, 429s at most 1 % of the
messages sent.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.chats import DELIVERY_FAILED
from storage.models import OutboxStatus
from storage.outbox import OutboxRepository
from tests.botapi import Limits
from tests.world import World, world

FLOODER = 100
OTHERS = 1000  # first id of the other people
NOTICE_CHATS = 20_000  # first chat of the notices
FLOOD_TEXTS, FLOOD_SECONDS = 50, 2.0
OTHER_TEXTS = 3


async def flood(w: World, sent_at: dict[str, float]) -> None:
    user = w.api.user(FLOODER)
    for n in range(1, FLOOD_TEXTS + 1):
        text = f"Флуд {n}: яма во дворе дома {n}"
        sent_at[text] = time.monotonic()
        await user.send(text)
        await asyncio.sleep(FLOOD_SECONDS / FLOOD_TEXTS)


async def others(w: World, people: list[int], sent_at: dict[str, float]) -> None:
    for round_ in range(OTHER_TEXTS):
        for person in people:
            text = f"Сообщение {person}-{round_}: не горит фонарь"
            sent_at[text] = time.monotonic()
            await w.api.user(person).send(text)
        await asyncio.sleep(1.0)


async def notices(w: World, count: int) -> None:
    async with w.app.services.sessions() as session, session.begin():
        outbox = OutboxRepository(session)
        for n in range(count):
            chat_id = NOTICE_CHATS + n
            w.api.user(chat_id, f"Исполнитель {n}", language_code="en")
            params = {"recipient": f"Исполнитель {n}", "incident": n + 1, "reason": "blocked", "error": ""}
            await outbox.add(chat_id, {"kind": "text", "key": DELIVERY_FAILED, "params": params, "locale": "en"})
    w.app.services.outbox_ready.set()


async def run(scale: float, other_count: int, notice_count: int) -> bool:
    people = list(range(OTHERS, OTHERS + other_count))
    with tempfile.TemporaryDirectory() as folder:
        async with world(
            Path(folder),
            delivery={"rate_scale": scale},
            people={"admins": [FLOODER], "curators": [FLOODER, *people], "heads": [], "external_approvers": []},
        ) as w:
            w.api.limits = Limits(scale=1 / scale)
            for person in people:
                w.api.user(person, f"Куратор {person}", language_code="en")
            w.api.user(FLOODER, "Флудер", language_code="en")
            sent_at: dict[str, float] = {}
            started = time.monotonic()
            await asyncio.gather(flood(w, sent_at), others(w, people, sent_at), notices(w, notice_count))
            await w.api.idle(timeout=600)
            w.clock.advance(timedelta(seconds=30))  # the flood notice waits for a quiet moment
            for _ in range(600):
                async with w.app.services.sessions() as session:
                    counts = await OutboxRepository(session).status_counts()
                if counts.get(OutboxStatus.pending, 0) + counts.get(OutboxStatus.sending, 0) == 0:
                    break
                await asyncio.sleep(0.1)
            await w.api.idle(timeout=60)
            elapsed = time.monotonic() - started

            sends = [c for c in w.api.requests if c.method.startswith("send") and c.status == 200]
            floods = [c for c in w.api.requests if c.status == 429]
            flooder = w.api.user(FLOODER)
            told = [m.content for m in flooder.messages if "Messages came faster" in m.content]
            notice = told[0] if told else ""
            unanswered: list[str] = []
            waits: list[float] = []
            for text, at in sent_at.items():
                chat = FLOODER if text.startswith("Флуд") else int(text.split()[1].split("-")[0])
                replies = [
                    c
                    for c in sends
                    if c.params.get("chat_id") == chat
                    and text in str(c.params.get("text"))
                    and "Messages came faster" not in str(c.params.get("text"))
                ]
                if not replies:
                    unanswered.append(text)
                elif chat != FLOODER:
                    waits.append(replies[0].time - at)
            # The notice quotes the first skipped messages and counts the rest ("… and N more").
            match = re.search(r"Skipped: (\d+)\.", notice)
            skipped = int(match.group(1)) if match else 0
            quoted = [t for t in unanswered if f"«{t}»" in notice]
            lost = [t for t in unanswered if t.startswith("Сообщение")]  # the others are never skipped
            lost += [t for t in unanswered if t.startswith("Флуд") and t not in quoted][max(0, skipped - len(quoted)) :]
            async with w.app.services.sessions() as session:
                counts = await OutboxRepository(session).status_counts()
            unsent = sum(n for status, n in counts.items() if status is not OutboxStatus.sent)

    ratio = len(floods) / max(len(sends), 1)
    print(f"people               1 sends {FLOOD_TEXTS} texts in {FLOOD_SECONDS:g} s; {other_count} send {OTHER_TEXTS}")
    print(f"notices              {notice_count} to {notice_count} chats; scale {scale:g}")
    print(f"elapsed              {elapsed:.1f} s")
    print(f"messages sent        {len(sends)}")
    print(f"429s received        {len(floods)}  ({100 * ratio:.2f} % of sends; target <= 1 %)")
    print(f"replies lost         {len(lost)}  (target 0){': ' + ', '.join(lost[:5]) if lost else ''}")
    print(f"notices not sent     {unsent}  (target 0)")
    print(f"flood skipped, told  {skipped} of {FLOOD_TEXTS} in {len(told)} message(s), {len(quoted)} quoted")
    if waits:
        print(f"others' reply wait   median {statistics.median(waits):.2f} s, max {max(waits):.2f} s")
    return not lost and unsent == 0 and ratio <= 0.01 and len(told) == 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=4.0, help="Telegram's limits × scale, on both sides")
    parser.add_argument("--others", type=int, default=20, help="other people using the bot meanwhile")
    parser.add_argument("--notices", type=int, default=300, help="outbox notices going out meanwhile")
    args = parser.parse_args()
    ok = asyncio.run(run(args.scale, args.others, args.notices))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
