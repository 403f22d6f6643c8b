"""Chats that move or vanish (issue 9 §3): a department's group upgraded to a supergroup is followed, what
waited for it or failed because of it is sent there, and the administrators are told; a chat the bot cannot
reach any more is reported, naming the department or person and what to do, to administrators and curators."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from storage.models import OutboxRow, OutboxStatus
from tests.botapi import GroupChat
from tests.world import World, world

POST = "https://vk.com/wall-1_100 На ул. Ленина третью неделю не вывозят мусор, контейнеры переполнены"
POST_2 = "https://vk.com/wall-1_101 Во дворе дома 5 по ул. Мира не горят фонари"
OLD, NEW = -4000001, -1004000001  # a basic group's id, and the supergroup's Telegram gives it
DEPARTMENTS = [
    {"code": "zhkh", "name": "Управление ЖКХ", "chat_id": OLD},
    {"code": "roads", "name": "Комитет по дорогам"},
]
PEOPLE = {"admins": [100, 500], "curators": [100, 600], "external_approvers": [300], "heads": [400]}
NEW_INCIDENT = "New incident for your department"


async def department_chat(w: World, name: str) -> int | None:
    directory = await w.app.services.directory()
    return next(d.chat_id for d in directory.departments if d.name == name)


def cards(chat: GroupChat, number: int) -> list[str]:
    return [m.content for m in chat.messages if f"Incident No. {number} " in m.content and NEW_INCIDENT in m.content]


async def test_a_group_upgraded_to_a_supergroup_is_followed_and_what_waited_or_failed_goes_there(
    tmp_path: Path,
) -> None:
    async with world(tmp_path, departments=DEPARTMENTS) as w:
        group = w.api.group(OLD, "ЖКХ", type="group")
        first = await w.register(POST)
        await w.route(first, "Управление ЖКХ")
        assert cards(group, 1)
        # Before this fix, a card for the moved group was retried as a temporary error and given up:
        failed = {"kind": "card", "incident_id": 1, "note": "routed", "fresh": True}
        error = "telegram: TelegramMigrateToChat('The group has been migrated to a supergroup with id -1004000001')"
        async with w.app.services.sessions() as session, session.begin():
            await session.execute(
                sa.insert(OutboxRow.__table__).values(
                    chat_id=OLD, payload=failed, incident_id=1, status=OutboxStatus.failed, attempts=8, last_error=error
                )
            )
        supergroup = await w.api.upgrade_group(OLD, NEW, notify=False)  # the bot missed the service messages

        second = await w.register(POST_2)
        await w.route(second, "Управление ЖКХ")
        await w.settle()

        # Telegram refused once, naming the supergroup; the card went there, and so did the failed one.
        to_old = [c.status for c in w.api.requests if c.params.get("chat_id") == OLD and c.status != 200]
        assert to_old == [400]
        assert len(cards(supergroup, 2)) == 1 and len(cards(supergroup, 1)) == 1
        assert "Take into work" in str(next(m for m in supergroup.messages if "No. 2 " in m.content).buttons)
        assert await department_chat(w, "Управление ЖКХ") == NEW
        told = [m.content for m in w.curator.messages if "supergroup" in m.content]  # the curator is the admin
        assert len(told) == 1 and "«Управление ЖКХ»" in told[0] and str(NEW) in told[0]
        # A later incident goes straight to the supergroup.
        third = await w.register("https://vk.com/wall-1_102 Сломана скамейка в сквере")
        await w.route(third, "Управление ЖКХ")
        assert len(cards(supergroup, 3)) == 1
        assert [c for c in w.api.requests if c.params.get("chat_id") == OLD and c.status != 200] == [
            c for c in w.api.requests if c.params.get("chat_id") == OLD and c.status == 400
        ]
        # The next start seeds departments from the config, which still says OLD: the move is remembered.
        await w.app.services.seed(w.settings)
        assert await department_chat(w, "Управление ЖКХ") == NEW


async def test_the_upgrade_service_message_moves_the_department_before_anything_is_refused(tmp_path: Path) -> None:
    async with world(tmp_path, departments=DEPARTMENTS) as w:
        w.api.group(OLD, "ЖКХ", type="group")
        supergroup = await w.api.upgrade_group(OLD, NEW)
        await w.settle()
        assert await department_chat(w, "Управление ЖКХ") == NEW
        # Both service messages say it; the administrator hears it once.
        assert len([m for m in w.curator.messages if "supergroup" in m.content]) == 1

        card = await w.register(POST)
        await w.route(card, "Управление ЖКХ")
        assert len(cards(supergroup, 1)) == 1
        assert [c for c in w.api.requests if c.params.get("chat_id") == OLD and c.method.startswith("send")] == []


@pytest.mark.parametrize(
    ("chat_id", "kicked", "reason", "advice"),
    [
        (-1004000002, True, "the bot was removed from the group", "Add the bot to the group again"),
        (-777, False, "Telegram does not know this chat", "Check the department's chat_id in the config"),
    ],
)
async def test_a_department_group_the_bot_cannot_reach_is_named_with_what_to_do(
    tmp_path: Path, chat_id: int, kicked: bool, reason: str, advice: str
) -> None:
    departments = [{"code": "zhkh", "name": "Управление ЖКХ", "chat_id": chat_id}]
    async with world(tmp_path, departments=departments, people=PEOPLE) as w:
        staff = [w.curator, w.api.user(500, "Админ", language_code="en"), w.api.user(600, "Пётр", language_code="en")]
        if kicked:
            w.api.group(chat_id, "ЖКХ").set_bot_status("kicked")
        card = await w.register(POST)
        await w.route(card, "Управление ЖКХ")
        await w.settle()

        for person in staff:  # administrators and curators, each once
            notices = [m.content for m in person.messages if "Could not deliver" in m.content]
            assert len(notices) == 1, (person.user_id, notices)
            assert "the group chat of department «Управление ЖКХ»" in notices[0]
            assert reason in notices[0] and advice in notices[0] and "incident No. 1" in notices[0]


@pytest.mark.parametrize(
    ("gone", "reason", "advice"),
    [
        ("block", "they blocked the bot", "Ask them to unblock the bot"),
        ("deactivate", "their Telegram account is deleted", "Hand their incidents to a colleague"),
    ],
)
async def test_a_person_the_bot_cannot_reach_is_named_with_what_to_do(
    tmp_path: Path, gone: str, reason: str, advice: str
) -> None:
    async with world(tmp_path, people=PEOPLE) as w:
        staff = [w.curator, w.api.user(500, "Админ", language_code="en"), w.api.user(600, "Пётр", language_code="en")]
        anna = await w.executor(200, "Анна Исполнитель", "Управление ЖКХ")
        getattr(anna, gone)()
        card = await w.register(POST)
        await w.route(card, "Управление ЖКХ")
        await w.settle()

        for person in staff:
            notices = [m.content for m in person.messages if "Could not deliver" in m.content]
            assert len(notices) == 1, (person.user_id, notices)
            assert "Анна Исполнитель" in notices[0] and reason in notices[0] and advice in notices[0]


async def test_a_person_who_blocked_the_bot_is_reported_once_a_day_not_once_per_notice(tmp_path: Path) -> None:
    """Every notice that failed brought every administrator and curator a notice of its own: three incidents
    for a department whose executor blocked the bot were three "could not deliver" each, and more every day."""
    async with world(tmp_path, people=PEOPLE) as w:
        staff = [w.curator, w.api.user(500, "Админ", language_code="en"), w.api.user(600, "Пётр", language_code="en")]
        anna = await w.executor(200, "Анна Исполнитель", "Управление ЖКХ")
        anna.block()
        for post in (POST, POST_2, "https://vk.com/wall-1_102 Сломана скамейка в сквере"):
            card = await w.register(post)
            await w.route(card, "Управление ЖКХ")
        await w.settle()

        async with w.app.services.sessions() as session:
            failed = await session.execute(
                sa.select(sa.func.count()).where(OutboxRow.chat_id == 200, OutboxRow.status == OutboxStatus.failed)
            )
            assert failed.scalar_one() >= 3
        for person in staff:
            notices = [m.content for m in person.messages if "Could not deliver" in m.content]
            assert len(notices) == 1, (person.user_id, notices)
            assert "Анна Исполнитель" in notices[0] and "incident No. 1" in notices[0]
            assert "not reported separately" in notices[0]


async def test_the_next_day_the_unreachable_chat_is_reported_again(tmp_path: Path) -> None:
    from bot.chats import tell_undeliverable
    from storage.outbox import OutboxRepository

    async with world(tmp_path, people=PEOPLE) as w:
        anna = await w.executor(200, "Анна Исполнитель", "Управление ЖКХ")
        anna.block()
        await w.register(POST)
        failed = {"kind": "card", "incident_id": 1, "note": "routed"}
        today = w.clock.now()

        async def tell(now: datetime, chat_id: int = 200) -> int:
            async with w.app.services.sessions() as session, session.begin():
                outbox = OutboxRepository(session)
                return await tell_undeliverable(outbox, chat_id, 1, failed, "blocked", "Forbidden", now=now)

        assert await tell(today) == 3  # the curator-administrator and two more: each once
        assert await tell(today + timedelta(hours=5)) == 0
        assert await tell(today, chat_id=-777) == 3  # another chat is another notice
        assert await tell(today + timedelta(days=1)) == 3
