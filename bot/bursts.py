"""Bursts coalesce: a chat with many new-incident cards waiting gets one summary instead of a card each.

A monitoring system may post 300 incidents through the intake API within seconds. Each curator would get
300 cards, and at Telegram's one message a second per chat the last one would arrive five minutes later.
So when the sender reaches a chat's new-incident card (``registered_via``) and more than
``DeliverySettings.coalesce_after`` such cards wait there, the row it holds becomes one summary
(«Поступило 57 новых инцидентов (№ 101–157)…», with a button to the queue) and the other cards are settled
as covered by it, all in one transaction: a crash leaves either the cards or the summary, never neither.
While the burst goes on, the chat's next new-incident cards wait ``DeliverySettings.coalesce_seconds``
after that summary and are told in the next one, so a burst that takes half a minute to arrive brings a
handful of summaries, not one every second.
The cards stay reachable from /queue and /incident N; a single incident, or a few, still gets its card.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from storage.outbox import OutboxMessage

BURST = "burst"  # the summary row's payload kind
COALESCED_NOTES = frozenset({"registered_via"})  # cards announcing a new incident nobody has seen yet


def is_new_incident_card(payload: dict[str, Any]) -> bool:
    """Whether an outbox payload is a new-incident card that a burst summary may stand for."""
    return (
        payload.get("kind") == "card"
        and payload.get("fresh") is True
        and payload.get("note") in COALESCED_NOTES
        and isinstance(payload.get("incident_id"), int)
        and "covered_by" not in payload
    )


def summary_payload(cards: Sequence[OutboxMessage]) -> dict[str, Any]:
    """The summary standing for ``cards`` (new-incident card rows of one chat):
    ``{"kind": "burst", "count": n, "first": lowest number, "last": highest number}``."""
    numbers = sorted({int(c.payload["incident_id"]) for c in cards})
    return {"kind": BURST, "count": len(numbers), "first": numbers[0], "last": numbers[-1]}


def burst_to_cover(head: OutboxMessage, pending: Sequence[OutboxMessage], threshold: int) -> list[OutboxMessage]:
    """The rows a summary would stand for when the sender holds ``head`` (a chat's next row) and ``pending``
    (the chat's other pending rows) wait: ``head`` and every waiting new-incident card, when they are more
    than ``threshold``; otherwise none (the cards go out one by one). ``threshold`` 0 never coalesces."""
    if threshold <= 0 or head.sent_parts or not is_new_incident_card(head.payload):
        return []
    cards = [head, *(m for m in pending if m.id != head.id and is_new_incident_card(m.payload))]
    return cards if len(cards) > threshold else []
