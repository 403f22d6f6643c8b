"""The HTTP intake API as a monitoring system meets it: a token, JSON in, the incident's number out;
one post is one incident whatever link form, source id or retry it comes with; every refusal is JSON
with a field, a stable code and a message; and every answer matches the published OpenAPI document."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from aiohttp.test_utils import TestClient, TestServer
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from bot.app import make_services
from bot.config import ConfigError, Settings, load_settings
from bot.domain.clock import ManualClock
from bot.domain.errors import IllegalTransition, NotFound
from bot.domain.incident import (
    MAX_AUTHOR,
    MAX_EXTERNAL_ID,
    MAX_POST_TEXT,
    MAX_URL,
    DeadlineKind,
    Importance,
    Network,
    Source,
)
from bot.intake_api import OPENAPI, make_app
from bot.intake_rules import FIELDS, MAX_TOPICS, IntakeLimits
from bot.services import Services
from storage.db import make_engine, upgrade_async
from tests.conftest import MigratedDatabase

MSK = ZoneInfo("Europe/Moscow")
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=MSK)
TOKEN = "s3cret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
URL = "/api/v1/incidents"
POST = {
    "source_id": "im-48213",
    "url": "https://vk.com/wall-1_5?reply=7",
    "text": "Третий день не вывозят мусор во дворе дома 5",
    "author": "Иван Петров",
    "detected_at": "2026-11-24T10:30:00+03:00",
    "topics": ["ЖКХ"],
    "importance": "high",
}

SPEC = json.loads(OPENAPI.read_text(encoding="utf-8"))
_BASE = "urn:otklik:intake-openapi"
_REGISTRY = Registry().with_resource(_BASE, Resource.from_contents(SPEC, default_specification=DRAFT202012))


def _validator(pointer: str) -> Draft202012Validator:
    return Draft202012Validator({"$ref": f"{_BASE}#{pointer}"}, registry=_REGISTRY)


def _escape(part: str) -> str:
    return part.replace("~", "~0").replace("/", "~1")


class Api:
    """A test client that checks every answer against the OpenAPI document: a documented status for
    that address and method (404 and 405 from the shared responses), JSON, and a body of its schema."""

    def __init__(self, client: TestClient) -> None:
        self.client = client

    async def call(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any, Any]:
        answer = await self.client.request(method, path, **kwargs)
        status, headers = answer.status, answer.headers
        assert answer.content_type == "application/json", (status, await answer.text())
        body = await answer.json()
        operation = SPEC["paths"].get(path, {}).get(method.lower())
        if operation is None:
            shared = {404: "NotFound", 405: "MethodNotAllowed"}
            assert status in shared, f"{method} {path} answered {status}, not documented"
            pointer = f"/components/responses/{shared[status]}/content/application~1json/schema"
        else:
            assert str(status) in operation["responses"], f"{method} {path} answered {status}, not documented"
            response = operation["responses"][str(status)]
            for name, header in response.get("headers", {}).items():
                assert not header.get("required") or name in headers, f"{status} lacks the header {name}"
            pointer = f"/paths/{_escape(path)}/{method.lower()}/responses/{status}/content/application~1json/schema"
        errors = [e.message for e in _validator(pointer).iter_errors(body)]
        assert errors == [], f"{method} {path} {status} {body} does not match the OpenAPI schema: {errors}"
        return status, body, headers

    async def post(self, payload: Any = None, *, headers: dict[str, str] | None = None, **kwargs: Any) -> Any:
        if payload is not None:
            kwargs["json"] = payload
        return await self.call("POST", URL, headers=AUTH if headers is None else headers, **kwargs)


async def _app(
    tmp_path: Path, limits: IntakeLimits | None = None, database: MigratedDatabase | None = None
) -> AsyncIterator[tuple[Api, Services]]:
    """The API on a fresh SQLite file, or on ``database`` (already migrated: SQLite or PostgreSQL)."""
    url = database.url if database is not None else f"sqlite+aiosqlite:///{tmp_path / 'otklik.sqlite3'}"
    settings = Settings.model_validate(
        {
            "database": {"url": url},
            "organisation": {"preset": "otradnaya"},
            "topics": ["Дороги", "ЖКХ"],
            "locations": ["с. Ключи"],
            "people": {"curators": [100], "heads": [400]},
        }
    )
    if database is not None:
        engine = database.engine()
    else:
        engine = make_engine(settings.database.url)
        await upgrade_async(engine)
    services = make_services(settings, engine, ManualClock(NOW))
    await services.seed(settings)
    client = TestClient(TestServer(make_app(services, [TOKEN], 100, limits)))
    await client.start_server()
    try:
        yield Api(client), services
    finally:
        await client.close()
        await engine.dispose()


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[tuple[Api, Services]]:
    async for pair in _app(tmp_path):
        yield pair


@pytest.fixture
async def api_on(tmp_path: Path, database: MigratedDatabase) -> AsyncIterator[tuple[Api, Services]]:
    """The API on every database backend available (SQLite; PostgreSQL with OTKLIK_TEST_PG_URL)."""
    async for pair in _app(tmp_path, database=database):
        yield pair


def codes(body: dict[str, Any]) -> list[tuple[str, str]]:
    return [(p["field"], p["code"]) for p in body["problems"]]


async def count(services: Services) -> int:
    async with services.sessions() as session:
        return (await session.execute(sa.text("SELECT count(*) FROM incidents"))).scalar_one()


# --- one post, one incident -----------------------------------------------------------------------


async def test_a_post_becomes_an_incident_once_however_often_it_is_sent(api: tuple[Api, Services]) -> None:
    client, services = api
    status, body, _ = await client.post(POST)
    assert (status, body) == (201, {"number": 1, "created": True})
    incident = await services.get(1)
    assert (incident.network, incident.importance) == (Network.vk, Importance.high)
    assert incident.detected_at == datetime(2026, 11, 24, 10, 30, tzinfo=MSK)
    assert incident.deadlines[DeadlineKind.answer] == datetime(2026, 11, 24, 15, 30, tzinfo=MSK)  # 4 working hours
    assert incident.sources[0].external_id == "im-48213"
    assert incident.sources[0].url == POST["url"]  # kept as given

    # A retry after a timeout: the same number, nothing new.
    status, body, _ = await client.post(POST)
    assert (status, body) == (200, {"number": 1, "created": False})
    # Without a source_id the post's link decides; a new post gets a new number.
    status, body, _ = await client.post({"url": POST["url"], "text": "x"})
    assert (status, body) == (200, {"number": 1, "created": False})
    status, body, _ = await client.post({"text": "Ямы на ул. Мира"})
    assert (status, body) == (201, {"number": 2, "created": True})
    assert (await services.get(2)).detected_at == services.clock.now()  # no moment given: now


async def test_four_other_forms_of_the_same_vk_comment_add_no_incident(api: tuple[Api, Services]) -> None:
    """Issue 9 §4: the comment imported, then sent as m.vk.com, vk.ru, with utm_source, over http and
    with a trailing slash — with or without source ids of their own."""
    client, services = api
    first = {"source_id": "im-1", "url": "https://vk.com/wall-123_456?reply=789", "text": "Яма у школы"}
    assert (await client.post(first))[:2] == (201, {"number": 1, "created": True})
    forms = [
        "https://m.vk.com/wall-123_456?reply=789",
        "https://vk.ru/wall-123_456?reply=789",
        "https://vk.com/wall-123_456?reply=789&utm_source=tg",
        "http://vk.com/wall-123_456/?reply=789",
        "vk.com/wall-123_456?reply=789",
    ]
    for n, form in enumerate(forms):
        for payload in ({"url": form, "text": "Яма у школы"}, {"source_id": f"im-{n + 10}", "url": form}):
            assert (await client.post(payload))[:2] == (200, {"number": 1, "created": False}), payload
    assert await count(services) == 1


async def test_the_same_link_under_another_source_id_is_the_same_incident(api: tuple[Api, Services]) -> None:
    """{"source_id": "im-48213", url} is № 1; {"source_id": "im-99999"} with the same url was № 2."""
    client, services = api
    assert (await client.post({"source_id": "im-48213", "url": "https://vk.com/wall-1_5?reply=7"}))[0] == 201
    status, body, _ = await client.post({"source_id": "im-99999", "url": "https://vk.com/wall-1_5?reply=7"})
    assert (status, body) == (200, {"number": 1, "created": False})
    assert await count(services) == 1


async def test_the_same_text_at_the_same_moment_with_a_source_id_is_the_same_post(api: tuple[Api, Services]) -> None:
    client, services = api
    post = {"text": "Нет света на ул. Ленина", "detected_at": "2026-11-25T09:15:00+03:00"}
    assert (await client.post(post))[:2] == (201, {"number": 1, "created": True})
    status, body, _ = await client.post({**post, "source_id": "im-7"})
    assert (status, body) == (200, {"number": 1, "created": False})
    # The same moment written in UTC is the same moment.
    status, body, _ = await client.post({**post, "detected_at": "2026-11-25T06:15:00Z"})
    assert (status, body) == (200, {"number": 1, "created": False})
    assert (await client.post({**post, "detected_at": "2026-11-25T09:16:00+03:00"}))[0] == 201  # another moment
    assert await count(services) == 2


async def test_a_source_id_reused_for_another_post_is_a_conflict_naming_its_incident(
    api: tuple[Api, Services],
) -> None:
    client, services = api
    assert (await client.post(POST))[0] == 201
    status, body, _ = await client.post({**POST, "url": "https://vk.com/wall-1_5?reply=8"})
    assert status == 409 and body["number"] == 1 and body["error"] == "conflict"
    assert codes(body) == [("source_id", "source_id_taken")]
    assert "incident No. 1" in body["problems"][0]["message"]
    # The source id came with the same post in another form: the same incident, no conflict.
    status, body, _ = await client.post({**POST, "url": "https://m.vk.com/wall-1_5/?reply=7&utm_source=x"})
    assert (status, body) == (200, {"number": 1, "created": False})
    assert await count(services) == 1


# --- the contract: bounds, agreement, limits ------------------------------------------------------


@pytest.mark.parametrize(
    ("detected_at", "status", "problem"),
    [
        ("2026-11-25T12:00:05+03:00", 201, None),  # 5 s ahead of the bot's clock: drift, taken as now
        ("2026-11-25T12:04:59+03:00", 201, None),
        ("2026-11-25T12:05:01+03:00", 400, "in_future"),
        ("2099-01-01T10:00:00+03:00", 400, "in_future"),
        ("9999-12-31T23:59:59-05:00", 400, "in_future"),
        ("0001-01-01T00:00:00", 400, "too_old"),  # was a 500 "Server got itself in trouble"
        ("1999-01-01T10:00:00", 400, "too_old"),  # was 201 and 27 years of overdue reminders
        ("2026-10-25T11:59:00+03:00", 400, "too_old"),  # 30 days and a minute
        ("2026-10-26T12:00:00+03:00", 201, None),
        ("2026-11-25", 400, "time_required"),
        ("25.11.2026 10:30", 400, "bad_moment"),  # a spreadsheet's form: the API speaks ISO 8601
        ("вчера", 400, "bad_moment"),
    ],
)
async def test_the_moment_of_detection_has_sane_bounds_and_a_tolerance_for_clock_drift(
    api: tuple[Api, Services], detected_at: str, status: int, problem: str | None
) -> None:
    client, services = api
    answer, body, _ = await client.post({"text": "Яма", "detected_at": detected_at})
    assert answer == status, body
    if problem is None:
        incident = await services.get(body["number"])
        assert incident.detected_at <= NOW  # a moment ahead of the clock is taken as now
    else:
        assert codes(body) == [("detected_at", problem)]
        message = body["problems"][0]["message"]
        assert "write 25.11.2026" not in message  # an ISO API is told ISO 8601
        if problem == "bad_moment":
            assert "ISO 8601" in message and "2026-11-25T10:30:00+03:00" in message


async def test_a_post_from_a_clock_running_fast_is_still_one_post_when_sent_again(
    api: tuple[Api, Services],
) -> None:
    client, services = api
    post = {"text": "Нет света", "detected_at": "2026-11-25T12:00:03+03:00"}  # 3 s ahead of the bot
    assert (await client.post(post))[:2] == (201, {"number": 1, "created": True})
    assert (await services.get(1)).detected_at == NOW  # deadlines run from now, not from the future
    services.clock.advance(timedelta(seconds=2))  # type: ignore[attr-defined]
    assert (await client.post(post))[:2] == (200, {"number": 1, "created": False})


async def test_the_bounds_are_configurable(tmp_path: Path) -> None:
    limits = IntakeLimits(future_tolerance=timedelta(0), max_age=timedelta(days=400))
    async for client, _ in _app(tmp_path, limits):
        assert (await client.post({"text": "Яма", "detected_at": "2026-01-10T10:00:00+03:00"}))[0] == 201
        status, body, _ = await client.post({"text": "Яма", "detected_at": "2026-11-25T12:00:05+03:00"})
        assert (status, codes(body)) == (400, [("detected_at", "in_future")])


async def test_a_network_that_contradicts_the_link_is_an_error(api: tuple[Api, Services]) -> None:
    client, services = api
    status, body, _ = await client.post({"url": "https://vk.com/wall-1_88", "network": "ok"})
    assert (status, codes(body)) == (400, [("network", "network_mismatch")])
    assert "vk link, not ok" in body["problems"][0]["message"]
    assert (await client.post({"url": "https://vk.com/wall-1_88", "network": "vk"}))[0] == 201
    assert (await services.get(1)).network is Network.vk
    # A site's link may be a messenger's; without a link the network is as given, in any language.
    assert (await client.post({"url": "https://chat.kluchi.ru/m/5", "network": "messenger"}))[0] == 201
    assert (await services.get(2)).network is Network.messenger
    assert (await client.post({"text": "Пост в Дзене", "network": "дзен"}))[0] == 201
    assert (await services.get(3)).network is Network.dzen
    status, body, _ = await client.post({"text": "x", "network": "myspace"})
    assert (status, codes(body)) == (400, [("network", "unknown_value")])


async def test_new_networks_come_from_their_links(api: tuple[Api, Services]) -> None:
    client, services = api
    links = {
        "https://vk.me/club1": Network.vk,
        "https://vkvideo.ru/video-1_2": Network.vk,
        "https://dzen.ru/a/ZXyZ": Network.dzen,
        "https://max.ru/adm_kluchi/AZq": Network.max,
        "https://youtu.be/dQw4w9WgXcQ": Network.youtube,
    }
    for link, network in links.items():
        status, body, _ = await client.post({"url": link})
        assert status == 201 and (await services.get(body["number"])).network is network, link


async def test_the_limits_of_the_schema_are_checked_before_anything_is_stored(api: tuple[Api, Services]) -> None:
    """A 300-character author passed the checks and failed in PostgreSQL's varchar(255)."""
    client, services = api
    status, body, _ = await client.post({**POST, "author": "А" * 300})
    assert (status, codes(body)) == (400, [("author", "too_long")])
    status, body, _ = await client.post(
        {**POST, "source_id": "i" * (MAX_EXTERNAL_ID + 1), "text": "a" * (MAX_POST_TEXT + 1)}
    )
    assert sorted(codes(body)) == [("source_id", "too_long"), ("text", "too_long")]
    status, body, _ = await client.post({**POST, "source_id": "  "})
    assert codes(body) == [("source_id", "empty")]
    status, body, _ = await client.post({**POST, "topics": ["ЖКХ"] * 21})
    assert codes(body) == [("topics", "too_many")]
    status, body, _ = await client.post({"author": "Иван"})
    assert codes(body) == [("text", "link_or_text_required")]
    assert await count(services) == 0


# Characters no text column can hold: NUL (PostgreSQL refuses it; SQLite would store it) and a lone surrogate
# (a valid JSON escape without a UTF-8 form: every driver fails on it).
UNSTORABLE = {"NUL": ("\x00", "U+0000"), "lone surrogate": ("\ud800", "U+D800")}
TEXT_FIELDS = {
    "source_id": "im-{c}-1",
    "url": "https://vk.com/wall-1_120{c}",
    "text": "Яма{c}во дворе",
    "author": "Иван{c}Петров",
    "network": "vk{c}",
    "detected_at": "2026-11-24T10:30:00{c}+03:00",
    "topics": ["ЖКХ", "Дороги{c}"],
    "location": "с. Ключи{c}",
    "importance": "high{c}",
    "kind": "incident{c}",
}


@pytest.mark.parametrize("char", UNSTORABLE, ids=list(UNSTORABLE))
async def test_a_character_no_database_can_store_is_a_400_naming_its_field_on_every_database(
    api_on: tuple[Api, Services], char: str
) -> None:
    """A NUL in the text passed the validator; SQLite stored it, PostgreSQL refused it and the API answered
    500 "send again" for a body that could never succeed. A lone surrogate (\\ud800) failed in every driver."""
    client, services = api_on
    character, code_point = UNSTORABLE[char]
    assert set(TEXT_FIELDS) == set(FIELDS)  # every field the API takes is checked
    for field, template in TEXT_FIELDS.items():
        value = [t.replace("{c}", character) for t in template] if isinstance(template, list) else template
        value = value.replace("{c}", character) if isinstance(value, str) else value
        payload = {"url": "https://vk.com/wall-1_121", "text": "Яма", field: value}
        status, body, _ = await client.post(payload)
        assert (status, codes(body)) == (400, [(field, "bad_character")]), (field, body)
        assert code_point in body["problems"][0]["message"] and "cannot be stored" in body["problems"][0]["message"]
    # As QA sent it: the JSON escape itself, raw.
    raw = b'{"url": "https://vk.com/wall-1_120", "author": "\\ud800"}'
    status, body, _ = await client.post(data=raw, headers={**AUTH, "Content-Type": "application/json"})
    assert (status, codes(body)) == (400, [("author", "bad_character")])
    # The rest of the body is still checked: every problem at once.
    status, body, _ = await client.post({"url": "https://vk.com/wall-1_122", "text": f"Яма{character}", "kind": "?"})
    assert sorted(codes(body)) == [("kind", "unknown_value"), ("text", "bad_character")]
    assert await count(services) == 0
    # The same post without the character registers.
    status, body, _ = await client.post({"url": "https://vk.com/wall-1_120", "author": "Иван Петров"})
    assert (status, body) == (201, {"number": 1, "created": True})


async def test_a_deeply_nested_body_is_a_400_not_a_500(api: tuple[Api, Services]) -> None:
    """json.loads raised RecursionError on a body under the 256 KB limit: 500 "send again"."""
    client, services = api
    for nested in (b"[" * 50_000 + b"]" * 50_000, b'{"a":' * 30_000 + b"1" + b"}" * 30_000):
        raw = b'{"url": "https://vk.com/wall-1_139", "text": ' + nested + b"}"
        status, body, _ = await client.post(data=raw, headers={**AUTH, "Content-Type": "application/json"})
        assert (status, codes(body)) == (400, [("body", "invalid_json")])
        assert "nested too deeply" in body["problems"][0]["message"]
    status, body, _ = await client.post({"url": "https://vk.com/wall-1_139", "text": [[["Яма"]]]})
    assert (status, codes(body)) == (400, [("text", "wrong_type")])  # a little nesting is only the wrong type
    assert await count(services) == 0


@pytest.mark.parametrize("invisible", ["\u200b", "\ufeff", "\u2060", "\u200e", "\u00ad"])
async def test_invisible_characters_in_a_link_are_not_part_of_it(api: tuple[Api, Services], invisible: str) -> None:
    client, services = api
    status, body, _ = await client.post({"url": f"{invisible}https://vk.com/wall-1_5?reply=8{invisible}"})
    assert (status, body) == (201, {"number": 1, "created": True})
    assert (await services.get(1)).sources[0].url == "https://vk.com/wall-1_5?reply=8"
    status, body, _ = await client.post({"url": "https://vk.com/wall-1_5?reply=8"})
    assert (status, body) == (200, {"number": 1, "created": False})
    status, body, _ = await client.post({"url": "https://vk.com/wall-1_5"})  # the post is not its comment
    assert (status, body) == (201, {"number": 2, "created": True})


async def test_a_bad_post_link_says_what_is_wrong_with_the_link(api: tuple[Api, Services]) -> None:
    client, _ = api
    cases = {
        "ftp://vk.com/wall-1_2": "link_scheme",
        "wall-1_2": "link_scheme",
        "https://vk/wall-1_2": "link_host",
        "https://vk.com/wall-1 2": "link_spaces",
        "https://vk.com/" + "a" * MAX_URL: "link_length",
    }
    for link, code in cases.items():
        status, body, _ = await client.post({"url": link, "text": "Яма"})
        assert (status, codes(body)) == (400, [("url", code)]), link
        message = body["problems"][0]["message"]
        assert message.startswith("the post's link") and "published comment" not in message


async def test_several_problems_are_named_at_once_each_with_its_field(api: tuple[Api, Services]) -> None:
    client, services = api
    status, body, _ = await client.post({**POST, "topics": ["Дорги"], "importance": "срочно", "detected_at": "вчера"})
    assert status == 400
    assert sorted(codes(body)) == [
        ("detected_at", "bad_moment"),
        ("importance", "unknown_value"),
        ("topics", "unknown_value"),
    ]
    assert "unknown topic «Дорги» (known: Дороги, ЖКХ)" in [p["message"] for p in body["problems"]]
    with pytest.raises(NotFound):
        await services.get(1)


# --- answers an integrator can act on -------------------------------------------------------------


async def test_every_refusal_is_json_with_a_field_a_code_and_a_message(api: tuple[Api, Services]) -> None:
    client, services = api
    status, body, headers = await client.post(POST, headers={})
    assert (status, codes(body)) == (401, [("Authorization", "unauthorized")])
    assert headers["WWW-Authenticate"] == 'Bearer realm="otklik intake"'
    status, body, headers = await client.post(POST, headers={"Authorization": "Bearer wrong"})
    assert status == 401 and headers["WWW-Authenticate"].endswith('error="invalid_token"')
    status, body, _ = await client.post(data="text=1")
    assert (status, codes(body)) == (415, [("Content-Type", "unsupported_media_type")])
    status, body, _ = await client.post(data="{not json", headers={**AUTH, "Content-Type": "application/json"})
    assert (status, codes(body)) == (400, [("body", "invalid_json")])
    assert "line 1, column 2" in body["problems"][0]["message"]

    status, body, _ = await client.post([POST])  # a JSON array
    assert (status, codes(body)) == (400, [("body", "not_an_object")])
    assert "IncidentIn" not in json.dumps(body) and "an array" in body["problems"][0]["message"]
    status, body, _ = await client.post({**POST, "priority": 1, "topics": "ЖКХ", "text": 5})
    assert sorted(codes(body)) == [("priority", "unknown_field"), ("text", "wrong_type"), ("topics", "wrong_type")]
    assert "must be a string, not a number" in [p["message"] for p in body["problems"]]

    status, body, _ = await client.post({**POST, "text": "я" * 300_000})
    assert (status, codes(body)) == (413, [("body", "too_large")])
    status, body, _ = await client.call("GET", "/api/v1/nothing")
    assert (status, body["error"]) == (404, "not_found")
    status, body, headers = await client.call("GET", URL)
    assert (status, body["error"], headers["Allow"]) == (405, "method_not_allowed", "POST")
    assert await count(services) == 0


async def test_bearer_in_any_case_and_a_body_with_a_byte_order_mark_are_accepted(api: tuple[Api, Services]) -> None:
    client, _ = api
    lower = {"Authorization": f"bearer {TOKEN}", "Content-Type": "application/json"}
    bom = b"\xef\xbb\xbf" + json.dumps(POST, ensure_ascii=False).encode()  # as Windows tools save UTF-8
    status, body, _ = await client.post(data=bom, headers=lower)
    assert (status, body) == (201, {"number": 1, "created": True})
    status, _, _ = await client.post(POST, headers={"Authorization": f"BEARER {TOKEN}"})
    assert status == 200


async def test_a_failure_inside_the_bot_answers_json_and_registers_nothing(api: tuple[Api, Services]) -> None:
    client, services = api
    async with services.sessions() as session, session.begin():
        await session.execute(sa.text("DROP TABLE posts"))  # the database is broken under the bot
    status, body, _ = await client.post(POST)
    assert (status, codes(body)) == (500, [("body", "internal")])
    assert await count(services) == 0


async def test_the_openapi_document_is_served_and_says_what_the_server_does(api: tuple[Api, Services]) -> None:
    client, _ = api
    status, body, _ = await client.call("GET", "/api/v1/openapi.json")
    assert status == 200 and body == SPEC
    assert body["openapi"].startswith("3.")
    schema = SPEC["components"]["schemas"]["IncidentIn"]["properties"]
    assert tuple(schema) == FIELDS  # the fields the server takes, no more, no fewer
    limits = {name: schema[name].get("maxLength") for name in ("source_id", "url", "text", "author")}
    assert limits == {"source_id": MAX_EXTERNAL_ID, "url": MAX_URL, "text": MAX_POST_TEXT, "author": MAX_AUTHOR}
    assert schema["topics"]["maxItems"] == MAX_TOPICS
    for example in SPEC["components"]["schemas"]["IncidentIn"]["examples"]:
        status, _, _ = await client.post(example)
        assert status in (200, 201)
    status, body, _ = await client.call("GET", "/api/v1/health")
    assert (status, body) == (200, {"status": "ok"})


@pytest.mark.parametrize(
    "payload",
    [
        {"text": "Яма"},
        {"url": "https://vk.com/wall-1_1", "topics": None, "location": None},
        {"text": 5},
        {"text": "Яма", "topics": "ЖКХ"},
        {"text": "Яма", "topics": ["ЖКХ", 1]},
        {"text": "Яма", "colour": "red"},
        {"text": "Яма", "author": "А" * 256},
        {"text": "Яма", "source_id": ""},
        {"text": "Яма", "url": "https://vk.com/" + "a" * 2040},
        ["a list"],
    ],
)
async def test_the_schema_and_the_server_agree_on_the_shape_of_a_request(
    api: tuple[Api, Services], payload: Any
) -> None:
    client, _ = api
    valid = _validator("/components/schemas/IncidentIn").is_valid(payload)
    status, body, _ = await client.post(payload)
    assert (status in (200, 201)) == valid, body


# --- several processes ------------------------------------------------------------------------------


def test_the_api_needs_a_token_to_be_enabled(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[intake]\nenabled = true\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="without a token"):
        load_settings(path, env={})
    settings = load_settings(path, env={"OTKLIK_INTAKE_TOKEN": "from-env"})
    assert [t.get_secret_value() for t in settings.intake.tokens] == ["from-env"]


def _free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on now (for a running bot's intake API)."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def test_the_running_bot_listens_and_the_curator_gets_the_card(tmp_path: Path) -> None:
    from aiohttp import ClientSession

    from tests.world import world

    port = _free_port()
    intake = {"enabled": True, "port": port, "tokens": [TOKEN]}
    async with world(tmp_path, "otradnaya", start="2026-11-25 10:00", intake=intake) as w:
        async with ClientSession() as http:
            answer = await http.post(f"http://127.0.0.1:{port}{URL}", json={**POST, "topics": ["Дороги"]}, headers=AUTH)
            assert (answer.status, await answer.json()) == (201, {"number": 1, "created": True})
            spec = await http.get(f"http://127.0.0.1:{port}/api/v1/openapi.json")
            assert (await spec.json())["info"]["title"] == "Otklik intake API"
        await w.settle()
        card = w.card_of(w.curator, 1)
        assert "Третий день не вывозят мусор" in card.text and "Route to a department" in str(card.buttons)


async def test_the_same_post_sent_twice_at_once_is_registered_once(api: tuple[Api, Services]) -> None:
    client, _ = api
    answers = await asyncio.gather(*(client.post(POST) for _ in range(5)))
    assert sorted(body["created"] for _, body, _ in answers) == [False, False, False, False, True]
    assert {body["number"] for _, body, _ in answers} == {1}


async def test_two_instances_racing_on_one_post_register_it_once(api: tuple[Api, Services]) -> None:
    """Each instance serialises its own requests; across instances the database's unique keys decide:
    the source id, and the post's key when the same post comes with different source ids."""
    first, services = api
    second = TestClient(TestServer(make_app(services, [TOKEN], 100)))  # another process, its own lock
    await second.start_server()
    other = Api(second)
    try:
        sent = [client.post(POST) for client in (first, other) for _ in range(3)]
        forms = [
            {**POST, "source_id": f"im-{n}", "url": url}
            for n, url in enumerate(["https://vk.com/wall-2_5", "https://m.vk.com/wall-2_5", "vk.ru/wall-2_5/"])
        ]
        sent += [client.post(form) for client in (first, other) for form in forms]
        bodies = [body for _, body, _ in await asyncio.gather(*sent)]
    finally:
        await second.close()
    assert sorted(b["number"] for b in bodies if b["created"]) == [1, 2]  # one incident per post
    by_id, by_link = {b["number"] for b in bodies[:6]}, {b["number"] for b in bodies[6:]}
    assert len(by_id) == len(by_link) == 1 and by_id != by_link
    assert await count(services) == 2


async def test_the_database_refuses_a_second_registration_of_the_same_source_id(
    api: tuple[Api, Services],
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
    with pytest.raises(IllegalTransition) as refused:  # the same post in another form, without an id
        await services.register(curator, [replace(post, url="https://m.vk.com/wall-1_9/", id=None, external_id=None)])
    assert refused.value.key == "already_registered"


async def test_a_post_the_screening_flags_is_registered_flagged_and_the_answer_says_so(
    api: tuple[Api, Services],
) -> None:
    client, services = api
    threat = {"source_id": "im-1", "text": "Если не почините, я вам эту администрацию сожгу"}
    status, body, _ = await client.post(threat)
    assert status == 201 and body["number"] == 1 and body["created"] is True
    assert [f["kind"] for f in body["flags"]] == ["threat"] and "сожгу" in body["flags"][0]["words"][0]
    assert (await services.get(1)).state.value == "detected"  # flagged, not excluded: a person decides
    flags = body["flags"]
    # Sent again (the sender lost the 201 to a timeout): the 200 says all the 201 said.
    assert (await client.post(threat))[:2] == (200, {"number": 1, "created": False, "flags": flags})
    assert (await client.post({**threat, "source_id": "im-9"}))[:2] == (
        200,
        {"number": 1, "created": False, "flags": flags},
    )
    status, body, _ = await client.post({"source_id": "im-2", "text": "Яма на дороге у школы"})
    assert (status, body) == (201, {"number": 2, "created": True})  # a clean post: no flags at all


async def test_the_curators_card_of_a_flagged_api_post_offers_not_to_be_answered_with_the_reason(
    tmp_path: Path,
) -> None:
    from aiohttp import ClientSession

    from tests.world import world

    masked = "".join(("х", "*", "й"))  # a masked obscenity, assembled so that this file stays clean
    port = _free_port()
    intake = {"enabled": True, "port": port, "tokens": [TOKEN]}
    async with world(tmp_path, "otradnaya", start="2026-11-25 10:00", intake=intake) as w:
        async with ClientSession() as http:
            post = {"url": "https://vk.com/wall-1_9", "text": f"Да {masked} вам, а не ремонт дороги"}
            answer = await http.post(f"http://127.0.0.1:{port}{URL}", json=post, headers=AUTH)
            body = await answer.json()
            assert (answer.status, body["flags"]) == (201, [{"kind": "obscenity", "words": [masked]}])
        await w.settle()
        card = w.card_of(w.curator, 1)
        assert f"Possibly not to be answered: obscene language («{masked}»)." in card.text
        await w.curator.press(card, "Not processable")
        prompt = await w.curator.wait_message(contains="Reason: Not to be answered: obscene language")
        assert [b for row in prompt.buttons for b in row] == ["Confirm", "Cancel"]
        await w.press(w.curator, prompt, "Confirm")
        await w.until(lambda: "closed: not processable" in (card.text or ""))
        incident = await w.app.services.get(1)
        assert incident.closed_reason == f"Not to be answered: obscene language («{masked}»)"
        assert "Possibly not to be answered" not in card.text  # closed: the flag has done its work
