"""QA findings on issues 9 and 10 (branch qa-1): each test states the behaviour a user or an integrator
expects and is marked xfail(strict) while the product still does otherwise, so the suite stays green and a
fix shows up as an XPASS to be unmarked."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.app import make_services
from bot.cli import main
from bot.config import Settings
from bot.domain.clock import ManualClock
from bot.domain.links import parse_link
from bot.intake_api import make_app
from bot.services import Services
from storage.db import make_engine
from tests.botapi import Limits
from tests.conftest import PG_URL_VARIABLE, MigratedDatabase
from tests.test_import import HEADER, ROWS, config
from tests.test_intake_api import AUTH, NOW, TOKEN, URL
from tests.world import world

# --- one post, one key (issue 9 §4) ------------------------------------------------------------------


@pytest.mark.xfail(
    strict=True,
    reason="bot/links.py parse_link: an invisible character (ZWSP, BOM, word joiner) after ?reply=8 makes the "
    "comment id non-numeric, so it is dropped and the key becomes the *post's*: the comment is then refused "
    "as 'already registered' when the post is, or the post is when the comment came first",
)
@pytest.mark.parametrize("invisible", ["\u200b", "\ufeff", "\u2060"])
def test_a_comment_link_copied_with_an_invisible_character_is_still_that_comment(invisible: str) -> None:
    comment = parse_link("https://vk.com/wall-1_5?reply=8")
    copied = parse_link("https://vk.com/wall-1_5?reply=8" + invisible)
    assert copied.key == comment.key
    assert copied.key != parse_link("https://vk.com/wall-1_5").key


@pytest.mark.xfail(
    strict=True,
    reason="bot/links.py _youtube: any link under youtube.com/@handle/… is keyed as the channel itself, so "
    "every community post of a channel (…/@handle/community?lb=ID) is one 'post': the second is refused",
)
def test_two_community_posts_of_one_youtube_channel_are_two_posts() -> None:
    first = parse_link("https://www.youtube.com/@mosgorod/community?lb=UgkxAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
    second = parse_link("https://www.youtube.com/@mosgorod/community?lb=UgkxBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB")
    assert first.key != second.key


@pytest.mark.xfail(
    strict=True,
    reason="handlers/intake.py: a message forwarded from a person (a city chat) has no link, so its key is its "
    "text and detected_at = the bot's clock at each forward; the same message forwarded again later is a new "
    "post, though Telegram gives its origin (sender and original date) both times",
)
async def test_a_message_forwarded_twice_from_a_person_is_one_incident(tmp_path: Path) -> None:
    check = "New incident — check and register:"
    async with world(tmp_path, "kluchi") as w:
        resident = w.api.user(777, "Житель", language_code="ru")
        await w.curator.forward("Во дворе дома 5 по ул. Мира яма", from_user=resident)
        card = await w.curator.wait_message(contains=check)
        await w.curator.press(card, "Register")
        await w.until(lambda: "check and register" not in (card.text or ""))
        w.clock.advance(timedelta(minutes=20))  # another curator of the shift sees it in the chat later
        await w.curator.forward("Во дворе дома 5 по ул. Мира яма", from_user=resident)
        await w.curator.wait_message(contains="This post is already registered: No. 1.")


# --- intake API: a 500 means "send again", so a body the bot can never take must not get one (issue 9 §6) ---


async def _api(services: Services) -> AsyncIterator[TestClient]:
    client = TestClient(TestServer(make_app(services, [TOKEN], 100, None)))
    await client.start_server()
    try:
        yield client
    finally:
        await client.close()


def _settings(url: str) -> Settings:
    return Settings.model_validate(
        {
            "database": {"url": url},
            "organisation": {"preset": "otradnaya"},
            "topics": ["Дороги", "ЖКХ"],
            "people": {"curators": [100], "heads": [400]},
        }
    )


@pytest.fixture
async def sqlite_api(tmp_path: Path) -> AsyncIterator[TestClient]:
    from storage.db import upgrade_async

    settings = _settings(f"sqlite+aiosqlite:///{tmp_path / 'otklik.sqlite3'}")
    engine = make_engine(settings.database.url)
    await upgrade_async(engine)
    services = make_services(settings, engine, ManualClock(NOW))
    await services.seed(settings)
    try:
        async for client in _api(services):
            yield client
    finally:
        await engine.dispose()


@pytest.mark.xfail(
    strict=True,
    reason="bot/intake_api.py: a JSON string escape of a lone surrogate (valid JSON syntax) passes parse_body and "
    "the validator, then fails in the database driver: 500 'send again' for a body that can never succeed",
)
async def test_a_lone_surrogate_in_a_field_is_a_400_naming_the_field(sqlite_api: TestClient) -> None:
    raw = b'{"url": "https://vk.com/wall-1_120", "author": "\\ud800"}'
    answer = await sqlite_api.post(URL, data=raw, headers={**AUTH, "Content-Type": "application/json"})
    body = await answer.json()
    assert answer.status == 400, body
    assert body["problems"][0]["field"] == "author"


@pytest.mark.xfail(
    strict=True,
    reason="bot/intake_api.py parse_body: json.loads raises RecursionError on a deeply nested body under the "
    "256 KB limit; it is answered 500 'send again' instead of 400 invalid_json",
)
async def test_a_deeply_nested_body_is_a_400_not_a_500(sqlite_api: TestClient) -> None:
    raw = b'{"url": "https://vk.com/wall-1_139", "text": ' + b"[" * 50_000 + b"]" * 50_000 + b"}"
    answer = await sqlite_api.post(URL, data=raw, headers={**AUTH, "Content-Type": "application/json"})
    body = await answer.json()
    assert answer.status == 400, body
    assert body["problems"][0]["code"] == "invalid_json"


@pytest.mark.xfail(
    strict=True,
    reason="bot/intake_rules.py: one validator 'with the limits of the database' lets a NUL character through; "
    "SQLite stores it, PostgreSQL refuses it (invalid byte sequence 0x00), so the API answers 500 'send again'",
)
async def test_a_nul_character_in_a_posts_text_is_not_a_500_on_postgresql(database: MigratedDatabase) -> None:
    if database.backend != "postgres":
        pytest.skip("SQLite stores NUL characters; the fault is PostgreSQL's")
    engine = database.engine()
    try:
        settings = _settings(database.url)
        services = make_services(settings, engine, ManualClock(NOW))
        await services.seed(settings)
        async for client in _api(services):
            for field in ("text", "author", "source_id"):
                payload: dict[str, Any] = {"url": f"https://vk.com/wall-1_{len(field)}", field: "Яма\x00во дворе"}
                answer = await client.post(URL, json=payload, headers=AUTH)
                assert answer.status in (201, 400), (field, answer.status, await answer.json())
    finally:
        await engine.dispose()


@pytest.mark.xfail(
    strict=True,
    reason="bot/intake_rules.py + bot/importing.py on PostgreSQL: --dry-run says every row can be registered, the "
    "real import of the same file raises DBAPIError (NUL character, 0x00) with a traceback — issue 9 §6's kind",
)
def test_an_import_with_a_nul_character_does_on_postgresql_what_its_dry_run_said(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from sqlalchemy.engine import make_url

    base = os.environ.get(PG_URL_VARIABLE)
    if not base:
        pytest.skip(f"{PG_URL_VARIABLE} is not set")
    name = f"otklik_qa_{uuid.uuid4().hex[:10]}"
    url = make_url(base).set(database=name).render_as_string(hide_password=False)

    async def admin(statement: str) -> None:
        engine = make_engine(base, isolation_level="AUTOCOMMIT")
        try:
            async with engine.connect() as connection:
                await connection.exec_driver_sql(statement)
        finally:
            await engine.dispose()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        cfg = config(tmp_path)
        cfg.write_text(
            cfg.read_text("utf-8").replace(f"sqlite+aiosqlite:///{tmp_path / 'otklik.sqlite3'}", url), "utf-8"
        )
        sheet = tmp_path / "nul.csv"
        rows = [ROWS[0], "https://vk.com/wall-1_3;Яма\x00у школы;Автор;24.11.2026 12:00;;;;"]
        sheet.write_text("\n".join([HEADER, *rows]), "utf-8")
        dry = main(["--config", str(cfg), "import", str(sheet), "--dry-run"])
        real = main(["--config", str(cfg), "import", str(sheet)])  # raises today
        assert real == dry
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


# --- every call paced, but one chat's pace is not everybody's (issue 9 §1) ---------------------------------


@pytest.mark.xfail(
    strict=True,
    reason="updates are handled one at a time (handle_as_tasks=False) and each reply waits for its own chat's "
    "1 message/s: two curators forwarding 10 posts each (within the flood allowance) hold a third person's "
    "press ~19 s at Telegram's real limits — past the ~15 s Telegram keeps a callback query",
)
async def test_a_press_is_answered_in_time_while_two_curators_forward_ten_posts_each(tmp_path: Path) -> None:
    scale = 2  # Telegram's limits twice as fast on both sides: the press must be answered within 15 s / scale
    people = {"admins": [100], "curators": [100, 101, 102], "heads": [400], "external_approvers": []}
    async with world(tmp_path, delivery={"rate_scale": scale}, people=people) as w:
        w.api.limits = Limits(scale=1 / scale)
        first, second = w.api.user(101, "Ольга", language_code="en"), w.api.user(102, "Пётр", language_code="en")
        card = await w.register("https://vk.com/wall-1_1 Яма во дворе")
        await w.settle()
        for n in range(10):
            await first.send(f"https://vk.com/wall-2_{n} Пост {n}")
        for n in range(10):
            await second.send(f"https://vk.com/wall-3_{n} Пост {n}")
        pressed = time.monotonic()
        query = await w.curator.press(card, "History")
        await w.api.idle(timeout=120)
        answers = [c for c in w.api.calls("answerCallbackQuery") if c.params.get("callback_query_id") == query]
        assert answers, "the press was never answered"
        assert answers[0].time - pressed < 15 / scale
