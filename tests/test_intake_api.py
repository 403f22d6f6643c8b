"""The HTTP intake API as a monitoring system meets it: a token, JSON in, the incident's number out;
sending the same post again is safe; every bad request is refused with the reason and changes nothing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.app import make_services
from bot.clock import ManualClock
from bot.config import ConfigError, Settings, load_settings
from bot.errors import IllegalTransition, NotFound
from bot.incident import DeadlineKind, Importance, Network, Source
from bot.intake_api import make_app
from bot.services import Services
from storage.db import make_engine, upgrade_async

MSK = ZoneInfo("Europe/Moscow")
TOKEN = "s3cret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
POST = {
    "source_id": "im-48213",
    "url": "https://vk.com/wall-1_5?reply=7",
    "text": "Третий день не вывозят мусор во дворе дома 5",
    "author": "Иван Петров",
    "detected_at": "2026-11-24T10:30:00+03:00",
    "topics": ["ЖКХ"],
    "importance": "high",
}


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[tuple[TestClient, Services]]:
    settings = Settings.model_validate(
        {
            "database": {"url": f"sqlite+aiosqlite:///{tmp_path / 'otklik.sqlite3'}"},
            "organisation": {"preset": "otradnaya"},
            "topics": ["Дороги", "ЖКХ"],
            "people": {"curators": [100], "heads": [400]},
        }
    )
    engine = make_engine(settings.database.url)
    await upgrade_async(engine)
    services = make_services(settings, engine, ManualClock(datetime(2026, 11, 25, 12, 0, tzinfo=MSK)))
    await services.seed(settings)
    client = TestClient(TestServer(make_app(services, [TOKEN], 100)))
    await client.start_server()
    try:
        yield client, services
    finally:
        await client.close()
        await engine.dispose()


async def test_a_post_becomes_an_incident_once_however_often_it_is_sent(api: tuple[TestClient, Services]) -> None:
    client, services = api
    response = await client.post("/api/v1/incidents", json=POST, headers=AUTH)
    assert response.status == 201
    assert await response.json() == {"number": 1, "created": True}
    incident = await services.get(1)
    assert (incident.network, incident.importance) == (Network.vk, Importance.high)
    assert incident.detected_at == datetime(2026, 11, 24, 10, 30, tzinfo=MSK)
    assert incident.deadlines[DeadlineKind.answer] == datetime(2026, 11, 24, 15, 30, tzinfo=MSK)  # 4 working hours
    assert incident.sources[0].external_id == "im-48213"

    # A retry after a timeout, and the same post under a new link: the monitoring system's id decides.
    again = await client.post("/api/v1/incidents", json=POST, headers=AUTH)
    assert (again.status, await again.json()) == (200, {"number": 1, "created": False})
    new_link = {**POST, "url": "https://vk.com/wall-1_5?reply=8"}
    moved = await client.post("/api/v1/incidents", json=new_link, headers=AUTH)
    assert (await moved.json())["number"] == 1
    # Without a source_id the link decides; a new post gets a new number.
    by_link = await client.post("/api/v1/incidents", json={"url": POST["url"], "text": "x"}, headers=AUTH)
    assert (await by_link.json())["number"] == 1
    other = await client.post("/api/v1/incidents", json={"text": "Ямы на ул. Мира"}, headers=AUTH)
    assert (other.status, await other.json()) == (201, {"number": 2, "created": True})
    assert (await services.get(2)).detected_at == services.clock.now()  # no moment given: now


async def test_the_same_post_sent_twice_at_once_is_registered_once(api: tuple[TestClient, Services]) -> None:
    client, _ = api
    answers = await asyncio.gather(*(client.post("/api/v1/incidents", json=POST, headers=AUTH) for _ in range(5)))
    bodies = [await a.json() for a in answers]
    assert sorted(b["created"] for b in bodies) == [False, False, False, False, True]
    assert {b["number"] for b in bodies} == {1}


async def test_bad_requests_are_refused_with_the_reason_and_register_nothing(api: tuple[TestClient, Services]) -> None:
    client, services = api
    url = "/api/v1/incidents"
    assert (await client.post(url, json=POST)).status == 401
    assert (await client.post(url, json=POST, headers={"Authorization": "Bearer wrong"})).status == 401
    assert (await client.post(url, data="text=1", headers=AUTH)).status == 415
    broken = await client.post(url, data="{not json", headers={**AUTH, "Content-Type": "application/json"})
    assert (broken.status, (await broken.json())["problems"]) == (400, ["the body is not valid JSON"])

    unknown_field = await client.post(url, json={**POST, "priority": 1}, headers=AUTH)
    assert unknown_field.status == 400 and "priority" in (await unknown_field.json())["problems"][0]
    wrong = await client.post(
        url,
        json={**POST, "topics": ["Дорги"], "importance": "срочно", "detected_at": "вчера"},
        headers=AUTH,
    )
    problems = (await wrong.json())["problems"]
    assert wrong.status == 400 and len(problems) == 3
    assert "unknown topic «Дорги» (known: Дороги, ЖКХ)" in problems
    empty = await client.post(url, json={"author": "Иван"}, headers=AUTH)
    assert (await empty.json())["problems"] == ["neither a link nor a text"]
    future = await client.post(url, json={**POST, "detected_at": "2099-01-01T10:00:00+03:00"}, headers=AUTH)
    assert (await future.json())["problems"] == ["the moment of detection is in the future"]
    huge = await client.post(url, json={**POST, "text": "я" * 300_000}, headers=AUTH)
    assert huge.status == 413
    assert (await client.get("/api/v1/health")).status == 200

    with pytest.raises(NotFound):
        await services.get(1)


def test_the_api_needs_a_token_to_be_enabled(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[intake]\nenabled = true\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="without a token"):
        load_settings(path, env={})
    settings = load_settings(path, env={"OTKLIK_INTAKE_TOKEN": "from-env"})
    assert [t.get_secret_value() for t in settings.intake.tokens] == ["from-env"]


async def test_the_running_bot_listens_and_the_curator_gets_the_card(tmp_path: Path) -> None:
    import socket

    from aiohttp import ClientSession

    from tests.world import world

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    intake = {"enabled": True, "port": port, "tokens": [TOKEN]}
    async with world(tmp_path, "otradnaya", start="2026-11-25 10:00", intake=intake) as w:
        async with ClientSession() as http:
            answer = await http.post(
                f"http://127.0.0.1:{port}/api/v1/incidents", json={**POST, "topics": ["Дороги"]}, headers=AUTH
            )
            assert (answer.status, await answer.json()) == (201, {"number": 1, "created": True})
        await w.settle()
        card = w.card_of(w.curator, 1)
        assert "Третий день не вывозят мусор" in card.text and "Route to a department" in str(card.buttons)


async def test_two_instances_racing_on_one_post_register_it_once(api: tuple[TestClient, Services]) -> None:
    """Each instance serialises its own requests; across instances the unique source id decides."""
    first, services = api
    second = TestClient(TestServer(make_app(services, [TOKEN], 100)))  # another process, its own lock
    await second.start_server()
    try:
        sent = [c.post("/api/v1/incidents", json=POST, headers=AUTH) for c in (first, second) for _ in range(3)]
        bodies = [await answer.json() for answer in await asyncio.gather(*sent)]
    finally:
        await second.close()
    assert sorted(b["created"] for b in bodies) == [False] * 5 + [True]
    assert {b["number"] for b in bodies} == {1}
    with pytest.raises(NotFound):
        await services.get(2)


async def test_the_database_refuses_a_second_registration_of_the_same_source_id(
    api: tuple[TestClient, Services],
) -> None:
    """What the race above relies on when the two checks pass at the same moment."""
    _, services = api
    curator = await services.identify(100)
    assert curator is not None
    post = Source(Network.vk, "https://vk.com/wall-1_9", None, "Пост", services.clock.now(), external_id="im-1")
    await services.register(curator, [post])
    with pytest.raises(IllegalTransition) as refused:
        await services.register(curator, [replace(post, url="https://vk.com/wall-1_10", id=None)])
    assert refused.value.key == "already_registered"
