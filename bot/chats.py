"""Chats that move or vanish: a department's group that Telegram upgrades to a supergroup is followed to its
new id, and a chat the bot can no longer reach is reported, with what to do, to administrators and curators.

Telegram answers a call to an upgraded group with 400 "group chat was upgraded to a supergroup chat" and
``parameters.migrate_to_chat_id`` (Bot API, ResponseParameters), and posts a service message with
``migrate_to_chat_id`` in the old group and ``migrate_from_chat_id`` in the new one. Either way
``follow_migration`` records the move (so the config's old ``chat_id`` is read as the new chat at every
start), rebinds the departments, re-targets what waits for or failed because of the old chat, and tells
the administrators once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain.clock import Clock
from bot.domain.incident import Role
from storage.cards import CardRepository
from storage.directory import DirectoryRepository, UserRecord
from storage.outbox import OutboxRepository

DELIVERY_FAILED = "delivery_failed"  # the text key of the "could not deliver" notice
CHAT_MIGRATED = "chat_migrated"  # the text key of the administrators' notice about a moved group

# Causes of a permanent failure, as ``handlers.delivery.classify`` names them from Telegram's answer.
CAUSES = ("blocked", "deactivated", "not_started", "chat_not_found", "kicked", "no_rights", "migrated", "other")


@dataclass(frozen=True)
class Migration:
    """What following one group's move changed."""

    old_chat_id: int
    new_chat_id: int
    departments: tuple[str, ...]  # names of the departments now bound to the new chat
    resent: int  # outbox rows re-targeted to the new chat
    first: bool  # the move was not recorded before (the error and the service message both report it)


async def follow_migration(
    sessions: async_sessionmaker[AsyncSession], clock: Clock, old_chat_id: int, new_chat_id: int
) -> Migration:
    """Follow a group upgraded to a supergroup, in one transaction (see the module docstring).

    Cards drawn in the old group cannot be edited under the new id, so they are forgotten and the next
    notice draws the card anew. The administrators' notice has one dedupe key per move and person: the
    error and the service message, or two instances, tell them once."""
    now = clock.now()
    async with sessions() as session, session.begin():
        directory = DirectoryRepository(session)
        outbox = OutboxRepository(session)
        first = await directory.record_chat_migration(old_chat_id, new_chat_id, now)
        rebound = await directory.rebind_chat(old_chat_id, new_chat_id)
        resent = await outbox.retarget(old_chat_id, new_chat_id, now)
        await CardRepository(session).forget_chat(old_chat_id)
        names = tuple(d.name for d in rebound)
        if names:
            params = {"departments": ", ".join(f"«{n}»" for n in names), "old": old_chat_id, "new": new_chat_id}
            for admin in await directory.users_with_role(Role.admin):
                payload = {"kind": "text", "key": CHAT_MIGRATED, "params": params, "locale": admin.locale}
                await outbox.add(admin.telegram_id, payload, dedupe_key=f"{CHAT_MIGRATED}:{old_chat_id}:{admin.id}")
    return Migration(old_chat_id, new_chat_id, names, resent, first)


async def tell_undeliverable(
    outbox: OutboxRepository,
    chat_id: int,
    incident_id: int | None,
    payload: dict[str, object],
    cause: str | None,
    error: str,
    *,
    now: datetime | None = None,
) -> int:
    """Queue "could not deliver" to every administrator and curator, in the transaction that records the
    failure; returns how many notices were queued.

    The notice names the person (their full name) or the department whose group chat it is, the reason,
    and what to do about it (``handlers.delivery`` words it per cause). Each administrator and curator
    hears about one unreachable chat once a day (the UTC day of ``now``, aware; default: the system
    clock): a person who blocked the bot fails every notice of the day, and each would otherwise bring
    everyone a notice of its own. The first failure of the day is told, with its incident; the notice
    says that the rest of the day's failures there are not. A failed notice of this kind raises no further
    notice."""
    if payload.get("kind") == "text" and payload.get("key") in (DELIVERY_FAILED, CHAT_MIGRATED):
        return 0
    day = (now or datetime.now(UTC)).astimezone(UTC).date()
    directory = DirectoryRepository(outbox.session)
    user = await directory.get_by_telegram_id(chat_id)
    if user is not None:
        recipient, kind = user.full_name, "person"
    else:
        departments = await directory.list_departments(active_only=False)
        department = next((d for d in departments if d.chat_id == chat_id), None)
        recipient, kind = (department.name, "department") if department is not None else (str(chat_id), "chat")
    params = {
        "recipient": recipient,
        "kind": kind,
        "incident": incident_id,
        "reason": cause if cause in CAUSES else "other",
        "error": error[:300],
    }
    queued = 0
    for person in await _staff(directory):
        if person.telegram_id != chat_id:
            # The locale travels with the row: the sender need not look the person up again.
            notice = {"kind": "text", "key": DELIVERY_FAILED, "params": params, "locale": person.locale}
            # Unique per chat, person and day: a second failure that day (or another instance's) adds nothing.
            once = f"{DELIVERY_FAILED}:{chat_id}:{person.id}:{day.isoformat()}"
            if await outbox.add(person.telegram_id, notice, incident_id=incident_id, dedupe_key=once) is not None:
                queued += 1
    return queued


async def _staff(directory: DirectoryRepository) -> Sequence[UserRecord]:
    """Administrators and curators, each once."""
    people: dict[int, UserRecord] = {}
    for role in (Role.admin, Role.curator):
        for user in await directory.users_with_role(role):
            people.setdefault(user.id, user)
    return list(people.values())
