"""Which message shows which incident's card in which chat, and the version it was drawn for."""

from __future__ import annotations

from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from storage.tables import cards


class CardRepository:
    """Which message shows an incident's card in a chat: one card per (chat, incident), edited in place.

    Chat and message ids are Telegram's; ``version`` is ``Incident.version``. Works in the caller's transaction.
    """

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, chat_id: int, incident_id: int) -> int | None:
        """The Telegram message id of the incident's card in this chat, or None if it has none there."""
        row = await self._session.execute(
            sa.select(cards.c.message_id).where(cards.c.chat_id == chat_id, cards.c.incident_id == incident_id)
        )
        return row.scalar_one_or_none()

    async def remember(
        self,
        chat_id: int,
        incident_id: int,
        message_id: int,
        version: int | None = None,
        outbox_id: int | None = None,
    ) -> None:
        """The card is this message; `version` is the incident version it shows (None: not drawn yet),
        `outbox_id` the outbox row that sent it (a retried row then knows it was delivered).

        Inserts or replaces the (chat, incident) row. Raises IntegrityError if the incident does not exist,
        or (PostgreSQL) if another transaction inserted the same card first.
        """
        values = {"message_id": message_id, "version": version, "outbox_id": outbox_id}
        result = await self._session.execute(
            sa.update(cards)
            .where(cards.c.chat_id == chat_id, cards.c.incident_id == incident_id)
            .values(**values, updated_at=sa.func.now())
        )
        if cast(sa.CursorResult[Any], result).rowcount == 0:
            await self._session.execute(sa.insert(cards).values(chat_id=chat_id, incident_id=incident_id, **values))

    async def forget_chat(self, chat_id: int) -> None:
        """A chat that moved: its cards cannot be edited under the new id, so the next notice draws anew.

        Deletes every card row of ``chat_id`` (the old id); nothing happens if it has none.
        """
        await self._session.execute(sa.delete(cards).where(cards.c.chat_id == chat_id))

    async def drawn_by(self, chat_id: int, incident_id: int) -> int | None:
        """The id of the outbox row that sent this card, or None (no card here, or not sent by the outbox)."""
        row = await self._session.execute(
            sa.select(cards.c.outbox_id).where(cards.c.chat_id == chat_id, cards.c.incident_id == incident_id)
        )
        return row.scalar_one_or_none()

    async def shown_version(self, chat_id: int, incident_id: int) -> int | None:
        """The incident version the card in this chat shows, or None (no card here, or not drawn yet)."""
        row = await self._session.execute(
            sa.select(cards.c.version).where(cards.c.chat_id == chat_id, cards.c.incident_id == incident_id)
        )
        return row.scalar_one_or_none()
