"""A curator's message becomes a post the way Telegram shows it: the link Telegram marks (also without a
scheme, also a hyperlinked word) is the post's, the text is left clean, and a post already registered
— in any link form, by any path — is shown, not registered again. Also split and further sources."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from bot.domain.incident import Network, State
from bot.services import Services
from tests.world import World, world

CHECK = "New incident — check and register:"


def entity(text: str, part: str, kind: str = "url", **more: Any) -> dict[str, Any]:
    """A Telegram entity over ``part`` of ``text``: offsets count UTF-16 code units, as Telegram's do."""
    start = text.index(part)
    units = len(text[:start].encode("utf-16-le")) // 2
    return {"type": kind, "offset": units, "length": len(part.encode("utf-16-le")) // 2, **more}


async def register(w: World, text: str, entities: list[dict[str, Any]] | None = None) -> Any:
    await w.curator.send(text, entities=entities)
    card = await w.curator.wait_message(contains=CHECK)
    await w.curator.press(card, "Register")
    await w.until(lambda: "check and register" not in (card.text or ""))
    return card


async def count(services: Services) -> int:
    async with services.sessions() as session:
        return (await session.execute(sa.text("SELECT count(*) FROM incidents"))).scalar_one()


async def test_a_link_without_a_scheme_as_telegram_marks_it_is_the_post(tmp_path: Path) -> None:
    """`vk.com/wall-123_456?reply=789 У нас во дворе яма` gave network `other`, no link, the link in the text."""
    text = "vk.com/wall-123_456?reply=789 У нас во дворе яма"
    async with world(tmp_path, "kluchi") as w:
        await w.curator.send(text, entities=[entity(text, "vk.com/wall-123_456?reply=789")])
        card = await w.curator.wait_message(contains=CHECK)
        assert "VKontakte" in card.text and "https://vk.com/wall-123_456?reply=789" in card.text
        assert "«У нас во дворе яма»" in card.text
        await w.curator.press(card, "Register")
        await w.until(lambda: "check and register" not in (card.text or ""))
        (source,) = (await w.app.services.get(1)).sources
        assert (source.network, source.url, source.text) == (
            Network.vk,
            "https://vk.com/wall-123_456?reply=789",
            "У нас во дворе яма",
        )


@pytest.mark.parametrize(
    ("text", "mark", "url", "left"),
    [
        # A hyperlinked word (text_link): the link is the post's, the word stays in the text.
        (
            "Яма во дворе, фото в посте",
            ("посте", "text_link", "https://vk.com/wall-1_2"),
            "https://vk.com/wall-1_2",
            "Яма во дворе, фото в посте",
        ),
        # A link in brackets: "Яма во дворе (" was left.
        (
            "Яма во дворе (https://vk.com/wall-1_2)",
            ("https://vk.com/wall-1_2", "url", None),
            "https://vk.com/wall-1_2",
            "Яма во дворе",
        ),
        # An emoji before the link: Telegram counts it as two units.
        (
            "🕳🕳 Яма https://t.me/name/5?comment=7",
            ("https://t.me/name/5?comment=7", "url", None),
            "https://t.me/name/5?comment=7",
            "🕳🕳 Яма",
        ),
        # A mail address Telegram marks is no post: the next link is.
        (
            "Пишите a@b.ru, пост ok.ru/group/5/topic/9",
            ("ok.ru/group/5/topic/9", "url", None),
            "https://ok.ru/group/5/topic/9",
            "Пишите a@b.ru, пост",
        ),
    ],
)
async def test_links_come_from_telegrams_entities_and_leave_clean_text(
    tmp_path: Path, text: str, mark: tuple[str, str, str | None], url: str, left: str
) -> None:
    part, kind, target = mark
    entities = [entity(text, "a@b.ru", "email")] if "a@b.ru" in text else []
    entities.append(entity(text, part, kind, **({"url": target} if target else {})))
    async with world(tmp_path, "kluchi") as w:
        await register(w, text, entities)
        (source,) = (await w.app.services.get(1)).sources
        assert (source.url, source.text) == (url, left)


async def test_the_same_post_in_another_link_form_shows_the_incident_it_is(tmp_path: Path) -> None:
    """The chat intake and the repeat offer used an exact-string match: 4 more incidents for one comment."""
    async with world(tmp_path, "kluchi") as w:
        await register(w, "https://vk.com/wall-123_456?reply=789 Третий день не вывозят мусор")
        forms = [
            "https://m.vk.com/wall-123_456?reply=789",
            "https://vk.ru/wall-123_456?reply=789 мусор",
            "https://vk.com/wall-123_456?reply=789&utm_source=tg",
            "http://vk.com/wall-123_456/?reply=789",
        ]
        for form in forms:
            await w.curator.send(form)
            said = await w.curator.wait_message(contains="already registered")
            assert said.text == "This post is already registered: No. 1."
            card = await w.curator.wait_message(contains="No. 1", where=lambda m: bool(m.buttons))
            assert "Третий день не вывозят мусор" in card.text
            assert not any(CHECK in (m.text or "") for m in w.curator.messages[-2:])
        assert await count(w.app.services) == 1


async def test_a_post_forwarded_twice_from_a_private_channel_is_one_incident(tmp_path: Path) -> None:
    async with world(tmp_path, "kluchi") as w:
        await w.curator.forward("Нет воды третий день", from_chat_title="Ключи Онлайн", from_chat_id=-1001234567890)
        card = await w.curator.wait_message(contains=CHECK)
        assert "https://t.me/c/1234567890/1" in card.text and "Ключи Онлайн" in card.text
        await w.curator.press(card, "Register")
        await w.until(lambda: "check and register" not in (card.text or ""))
        await w.curator.forward("Нет воды третий день", from_chat_title="Ключи Онлайн", from_chat_id=-1001234567890)
        await w.curator.wait_message(contains="This post is already registered: No. 1.")
        assert await count(w.app.services) == 1


async def test_dzen_max_and_vk_video_are_networks_of_their_own(tmp_path: Path) -> None:
    async with world(tmp_path, "kluchi") as w:
        for link, label in [
            ("https://dzen.ru/a/ZXyZ Пост о дорогах", "Dzen"),
            ("https://max.ru/adm_kluchi/AZq Пост в канале", "MAX"),
            ("https://vkvideo.ru/video-1_2 Видео о свалке", "VKontakte"),
            ("https://youtu.be/dQw4w9WgXcQ Видео о яме", "YouTube"),
        ]:
            await w.curator.send(link)
            card = await w.curator.wait_message(contains=CHECK)
            assert card.text.splitlines()[2] == label, card.text
            await w.curator.press(card, "Cancel")
            await w.until(lambda card=card: "cancelled" in (card.text or ""))


async def test_the_repeat_offer_finds_the_same_author_on_the_same_topic(tmp_path: Path) -> None:
    async with world(tmp_path, "kluchi") as w:
        author = w.api.user(555, "Пётр Жалобин")
        await w.curator.forward("Мусор не вывозят", from_user=author)
        card = await w.curator.wait_message(contains=CHECK)
        await w.curator.press(card, card.buttons[0][0])
        await w.until(lambda: any("ЖКХ" in row for row in card.buttons))
        await w.curator.press(card, "ЖКХ")
        await w.until(lambda: "Topic: ЖКХ" in (card.text or ""))
        await w.curator.press(card, "Register")
        await w.until(lambda: "check and register" not in (card.text or ""))
        w.clock.advance(timedelta(days=2))
        await w.curator.forward("Снова мусор не вывезли", from_user=author)
        again = await w.curator.wait_message(contains=CHECK)
        await w.curator.press(again, again.buttons[0][0])
        await w.until(lambda: any("ЖКХ" in row for row in again.buttons))
        await w.curator.press(again, "ЖКХ")
        await w.until(lambda: "Possibly the same question: № 1" in (again.text or ""))
        await w.curator.press(again, "Repeat of No. 1")
        await w.until(lambda: "Will be linked as a repeat of No. 1" in (again.text or ""))
        await w.curator.press(again, "Register")
        await w.until(lambda: "Repeat of No. 1" in (again.text or ""))
        assert (await w.app.services.get(2)).repeat_of == 1


async def test_a_split_shares_its_post_and_the_post_stays_registered_once(tmp_path: Path) -> None:
    """Боровичи п. 17: the parts of a split answer the same post; it is still one registered post."""
    async with world(tmp_path, "borovichi") as w:
        card = await register(w, "https://vk.com/wall-1_100 Мусор и яма у дома 5")
        await w.route(card, "Управление ЖКХ", "Комитет по дорогам", mode="Split")
        services = w.app.services
        parts = [await services.get(n) for n in (2, 3)]
        assert [p.sources[0].url for p in parts] == ["https://vk.com/wall-1_100"] * 2
        assert (await services.get(1)).state is State.split
        await w.curator.send("https://m.vk.com/wall-1_100")
        await w.curator.wait_message(contains="This post is already registered: No. 1.")
        assert await count(services) == 3


async def test_an_album_joins_its_post_and_a_second_album_while_the_card_is_open_is_a_post_of_its_own(
    tmp_path: Path,
) -> None:
    """The photos of a forwarded album are one post; the next album, sent before the first is registered, gets a
    registration card of its own (it used to get «Something went wrong»)."""
    async with world(tmp_path, "kluchi") as w:
        await w.curator.send_media_group(["https://vk.com/wall-1_1 Яма у школы", None, None])
        first = await w.curator.wait_message(contains="Яма у школы")
        await w.settle()
        await w.until(lambda: "Attachments: 3" in (first.text or ""))
        await w.curator.send_media_group(["https://vk.com/wall-1_2 Нет света в подъезде", None])
        second = await w.curator.wait_message(contains="Нет света в подъезде")
        await w.settle()
        assert second is not first and CHECK in (second.text or "")
        await w.until(lambda: "Attachments: 2" in (second.text or ""))
        assert "Attachments: 3" in (first.text or "")  # the first post keeps its own photos
        assert not any("went wrong" in (m.text or "") for m in w.curator.messages)
        await w.curator.press(second, "Register")
        await w.until(lambda: "check and register" not in (second.text or ""))
        (source,) = (await w.app.services.get(1)).sources
        assert (source.url, len(source.attachments)) == ("https://vk.com/wall-1_2", 2)
