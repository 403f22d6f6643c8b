"""Registered posts: each post's canonical key held once, so one post is one incident (SPEC §2, §7)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.errors import IllegalTransition
from bot.domain.incident import Source
from storage.tables import posts, sources

# The PostgreSQL advisory lock that serialises bulk registrations (imports): any fixed 64-bit number.
_BULK_REGISTRATION_LOCK = 0x6F746B6C696B  # "otklik"


def _digest(key: str) -> str:
    """The fixed-width form of a post key that the unique index holds (posts.digest)."""
    return hashlib.sha256(key.encode()).hexdigest()


class PostRepository:
    """Registered posts (a post's canonical key → the incident that answers it): one post, one incident,
    whatever path and link form it comes by (SPEC §7); the unique digest decides races. Works in the caller's
    transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def registered(self, keys: Iterable[str]) -> dict[str, int]:
        """Of these post keys (bot.domain.links.post_key), those registered already: key -> incident id.

        Keys not registered are absent from the dict; any number of keys (queried 500 at a time).
        """
        by_digest = {_digest(key): key for key in keys}
        found: dict[str, int] = {}
        digests = list(by_digest)
        for start in range(0, len(digests), 500):  # within every database's limit of bound parameters
            rows = await self._session.execute(
                sa.select(posts.c.digest, posts.c.incident_id).where(posts.c.digest.in_(digests[start : start + 500]))
            )
            found.update({by_digest[digest]: incident_id for digest, incident_id in rows})
        return found

    async def wait_for_bulk_registrations(self) -> None:
        """Make this transaction the only bulk registration (an import) running, waiting for one under way
        to finish; call it first in the transaction.

        PostgreSQL: a transaction-scoped advisory lock, so the second of two imports of one file starts
        after the first commits and finds its posts (without it, it would fail at the first post both
        register). SQLite: nothing to do — a unit of work holds the database's write lock from its BEGIN
        (``storage.db``); open the session with ``storage.db.bulk_writer`` to wait long enough for it.
        """
        if self._session.get_bind().dialect.name == "postgresql":
            await self._session.execute(sa.select(sa.func.pg_advisory_xact_lock(_BULK_REGISTRATION_LOCK)))

    async def claim_posts(self, incident_id: int, claimed: Iterable[tuple[str, int | None]]) -> None:
        """Record that ``incident_id`` answers these posts, as (post key, source id or None) pairs (SPEC §7).

        Raises IllegalTransition (key ``already_registered``) when one is registered already — also
        by another process at the same moment: the unique digest decides, and the caller's
        transaction must then be rolled back. Nothing is written for no pairs.
        """
        values = [
            {"digest": _digest(key), "key": key, "incident_id": incident_id, "source_id": source_id}
            for key, source_id in claimed
        ]
        if not values:
            return
        try:
            await self._session.execute(sa.insert(posts), values)
        except IntegrityError:
            raise IllegalTransition("this post is registered already", key="already_registered") from None

    async def by_external_id(self, external_id: str) -> tuple[int, Source] | None:
        """The incident id and the source that carry this id of the monitoring system (the intake API's
        ``source_id``), or None. The source comes without attachments; its ``detected_at`` is aware UTC."""
        row = (await self._session.execute(sa.select(sources).where(sources.c.external_id == external_id))).first()
        if row is None:
            return None
        source = Source(row.network, row.url, row.author, row.text, row.detected_at, id=row.id, external_id=external_id)
        return row.incident_id, source
