"""One post, one incident, through real storage on SQLite and PostgreSQL: a split's parts share their
post, a further source is a registered post too, and two processes registering one post at the same
moment register it once."""

from __future__ import annotations

import asyncio
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain.clock import ManualClock
from bot.domain.errors import IllegalTransition
from bot.domain.incident import Network, Source, State
from bot.domain.presets import get_preset
from bot.domain.workflow import Workflow
from bot.domain.worktime import WeeklySchedule, WorkCalendar
from bot.services import Services
from storage.db import make_session_factory
from tests.conftest import MigratedDatabase
from tests.test_services import directory

MSK = ZoneInfo("Europe/Moscow")
NOW = datetime(2026, 3, 10, 10, 0, tzinfo=MSK)


def service(sessions: async_sessionmaker[AsyncSession]) -> Services:
    preset = get_preset("borovichi")
    return Services(
        sessions, Workflow(preset, WorkCalendar(preset.timezone, WeeklySchedule.standard())), ManualClock(NOW)
    )


def post(url: str | None, text: str = "Мусор у дома 5") -> Source:
    return Source(Network.vk if url else Network.other, url, "Пётр", text, NOW)


async def test_a_split_shares_its_post_which_stays_registered_once(sessions: async_sessionmaker[AsyncSession]) -> None:
    """Боровичи п. 17: each part answers the same post; the post is still the parent's, once."""
    curator, _, deps = await directory(sessions)
    svc = service(sessions)
    incident = await svc.register(curator, [post("https://vk.com/wall-1_100")])
    await svc.split(curator, incident.id, deps)
    parts = [await svc.get(n) for n in (2, 3)]
    assert [p.sources[0].url for p in parts] == ["https://vk.com/wall-1_100"] * 2
    assert (await svc.get(1)).state is State.split
    found = await svc.find_registered(post("https://m.vk.com/wall-1_100/?utm_source=tg"))
    assert found is not None and found.number == 1
    with pytest.raises(IllegalTransition) as refused:
        await svc.register(curator, [post("vk.ru/wall-1_100")])
    assert refused.value.key == "already_registered"


async def test_a_further_source_is_a_registered_post_too(sessions: async_sessionmaker[AsyncSession]) -> None:
    curator, _, _ = await directory(sessions)
    svc = service(sessions)
    await svc.register(curator, [post("https://vk.com/wall-1_100")])
    second = await svc.register(curator, [post("https://ok.ru/group/5/topic/9")])
    with pytest.raises(IllegalTransition) as refused:  # registered as No. 1: not a source of No. 2 as well
        await svc.add_source(curator, second.id, post("https://vk.ru/wall-1_100/"))
    assert refused.value.key == "already_registered"
    await svc.add_source(curator, second.id, post("https://t.me/kluchi/44", "И у нас"))
    found = await svc.find_registered(post("t.me/s/Kluchi/44"))
    assert found is not None and found.number == second.id
    assert [s.url for s in (await svc.get(second.id)).sources] == [
        "https://ok.ru/group/5/topic/9",
        "https://t.me/kluchi/44",
    ]


async def test_two_processes_registering_one_post_at_once_register_it_once(database: MigratedDatabase) -> None:
    """Two engines are two processes: each passes the "not registered yet" check, the database decides."""
    engines = [database.engine() for _ in range(4)]
    try:
        factories = [make_session_factory(e) for e in engines]
        curator, _, _ = await directory(factories[0])
        forms = ["https://vk.com/wall-1_5?reply=7", "https://m.vk.com/wall-1_5?reply=7", "vk.ru/wall-1_5?reply=7/"]
        tries = [service(f).register(curator, [post(forms[n % 3])]) for n, f in enumerate(factories)]
        outcomes = await asyncio.gather(*tries, return_exceptions=True)
        won = [o for o in outcomes if not isinstance(o, BaseException)]
        lost = [o for o in outcomes if isinstance(o, BaseException)]
        assert len(won) == 1 and all(isinstance(o, IllegalTransition) and o.key == "already_registered" for o in lost)
        found = await service(factories[0]).find_registered(post(forms[2]))
        assert found is not None and found.number == won[0].id
    finally:
        for engine in engines:
            await engine.dispose()
