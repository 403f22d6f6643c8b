"""Bursts coalesce: many new incidents at once reach a curator as one summary with a button to the queue,
not a card each a second apart; a lone incident still gets its card (bot.bursts)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer

from bot.bursts import burst_to_cover, summary_payload
from bot.intake_api import make_app
from bot.outbox import OutboxMessage
from handlers.delivery import render_burst
from storage.models import OutboxStatus
from tests.world import CURATOR_ID, incident_number, world

TOKEN = "burst-token"
SUMMARY = re.compile(r"(\d+) new incidents? ha(?:s|ve) arrived \(No\. (\d+)–(\d+)\)")


def _row(row_id: int, payload: dict[str, object], sent_parts: list[list[int]] | None = None) -> OutboxMessage:
    at = datetime(2026, 3, 10, 7, 0, tzinfo=UTC)
    return OutboxMessage(row_id, CURATOR_ID, payload, None, at, None, 0, OutboxStatus.pending, None, None, None, None,
                         None, sent_parts)  # fmt: skip


def _card(row_id: int, number: int, note: str = "registered_via") -> OutboxMessage:
    return _row(row_id, {"kind": "card", "incident_id": number, "fresh": True, "note": note})


def test_more_than_the_threshold_of_new_incident_cards_become_one_summary_and_other_notices_stay() -> None:
    head = _card(1, 101)
    waiting = [_card(2, 102), _row(3, {"kind": "text", "key": "digest"}), _card(4, 103, "draft_submitted")]
    waiting += [_card(5 + k, 104 + k) for k in range(4)]  # 101, 102, 104…107: six new incidents
    covered = burst_to_cover(head, waiting, 5)
    assert [m.id for m in covered] == [1, 2, 5, 6, 7, 8]
    assert summary_payload(covered) == {"kind": "burst", "count": 6, "first": 101, "last": 107}
    assert burst_to_cover(head, waiting[:-1], 5) == []  # five: each gets its card
    assert burst_to_cover(head, waiting, 0) == []  # coalescing off
    assert burst_to_cover(_card(9, 110, "routed"), waiting, 5) == []  # a department's new work is never folded
    half_sent = _row(1, head.payload, sent_parts=[[55]])  # its card went out before a crash: finish it
    assert burst_to_cover(half_sent, waiting, 5) == []


def test_the_summary_counts_in_the_readers_language_with_russian_plural_forms() -> None:
    def text(locale: str, count: int) -> str:
        return render_burst(locale, {"kind": "burst", "count": count, "first": 101, "last": 100 + count})

    assert text("ru", 57).startswith("Поступило 57 новых инцидентов (№ 101–157).")
    assert text("ru", 21).startswith("Поступил 21 новый инцидент (№ 101–121).")
    assert text("ru", 23).startswith("Поступило 23 новых инцидента (№ 101–123).")
    assert "/incident 101" in text("ru", 57) and "/queue" in text("ru", 57)
    assert text("en", 57).startswith("57 new incidents have arrived (No. 101–157).")


async def test_a_burst_through_the_intake_api_reaches_the_curator_as_one_summary_not_a_card_each(
    tmp_path: Path,
) -> None:
    async with world(tmp_path, "otradnaya") as w:
        client = TestClient(TestServer(make_app(w.app.services, [TOKEN], CURATOR_ID)))
        await client.start_server()
        try:

            async def post(n: int) -> int:
                body = {"source_id": f"im-{n}", "url": f"https://vk.com/wall-1_{n}", "text": f"Яма у дома {n}"}
                answer = await client.post("/api/v1/incidents", json=body, headers={"Authorization": f"Bearer {TOKEN}"})
                assert answer.status == 201, await answer.text()
                return int((await answer.json())["number"])

            lone = await post(1)
            card = await w.curator.wait_message(contains=f"No. {lone}")  # a single incident gets its card
            assert "📋 Open the queue" not in [b for row in card.buttons for b in row]
            # The burst's first card is on its way (Telegram has not answered yet) while the rest arrives.
            release = w.api.hold("sendMessage")
            calls = len(w.api.calls("sendMessage"))
            burst = [await post(2)]
            await w.until(lambda: len(w.api.calls("sendMessage")) > calls)
            burst += [await post(n) for n in range(3, 26)]
            release()
            await w.settle()
            messages = w.curator.messages
            assert [incident_number(m) for m in messages[:2]] == [1, 2]
            assert len(messages) == 3 and SUMMARY.search(messages[2].text or "")
            assert SUMMARY.search(messages[2].text or "").groups() == ("23", "3", "25")  # type: ignore[union-attr]
            assert messages[2].buttons == [["📋 Open the queue"]]
            # Right after a summary, more new incidents gather for a moment (coalesce_seconds, 5 s), then go
            # out — here as cards, since they are only two.
            late = [await post(26), await post(27)]
            await w.settle()
            assert len(w.curator.messages) == 3
            w.clock.set(w.clock.now() + timedelta(seconds=6))
            await w.settle()
            assert [incident_number(m) for m in w.curator.messages[3:]] == late
        finally:
            await client.close()
        assert sorted([1, *burst, *late]) == list(range(1, 28))
        # The summary's button opens the queue in a new message; the summary stays as it was.
        summary = messages[2]
        before = summary.text
        await w.curator.press(summary, "📋 Open the queue")
        queue = await w.curator.wait_message(contains="Mine: 27 incident(s)")
        assert queue.message_id != summary.message_id and summary.text == before
        await w.curator.send("/incident 17")  # a covered card is still there by its number
        assert "Яма у дома 17" in (await w.curator.wait_message(contains="No. 17")).text
