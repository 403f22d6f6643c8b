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
        await w.until(lambda: "Possibly the same question: No. 1" in (again.text or ""))
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


# --- a message forwarded from a person: Telegram's origin is its identity -----------------------------------


async def test_a_message_forwarded_twice_from_a_person_is_one_incident(tmp_path: Path) -> None:
    """QA: a message from a city chat has no link, so its key was its text and the bot's clock at each
    forward: the same message forwarded again later was a new post, though Telegram gives its origin (the
    sender and the original date) both times."""
    sent = 1_773_130_000  # when the resident wrote it: the same for every forward of the message
    async with world(tmp_path, "kluchi") as w:
        resident = w.api.user(777, "Житель", language_code="ru")
        seen = w.clock.now()
        await w.curator.forward("Во дворе дома 5 по ул. Мира яма", from_user=resident, sent_at=sent)
        card = await w.curator.wait_message(contains=CHECK)
        await w.curator.press(card, "Register")
        await w.until(lambda: "check and register" not in (card.text or ""))
        w.clock.advance(timedelta(minutes=20))  # another curator of the shift sees it in the chat later
        await w.curator.forward("Во дворе дома 5 по ул. Мира яма", from_user=resident, sent_at=sent)
        await w.curator.wait_message(contains="This post is already registered: No. 1.")
        shown = await w.curator.wait_message(contains="No. 1", where=lambda m: bool(m.buttons))
        assert "Во дворе дома 5 по ул. Мира яма" in shown.text and CHECK not in shown.text

        # The same words from the same person written another time, or by someone else, are other posts.
        neighbour = w.api.user(778, "Сосед", language_code="ru")
        for forwarded in (
            {"from_user": resident, "sent_at": sent + 3600},
            {"from_user": neighbour, "sent_at": sent},
            {"sender_name": "Житель", "sent_at": sent},  # one who hides their account: known by name only
        ):
            await w.curator.forward("Во дворе дома 5 по ул. Мира яма", **forwarded)  # type: ignore[arg-type]
            other = await w.curator.wait_message(contains=CHECK)
            await w.curator.press(other, "Register")
            await w.until(lambda other=other: "check and register" not in (other.text or ""))
        assert await count(w.app.services) == 4
        # The moment of detection is still when the curator forwarded it (deadlines run from it), not the origin's.
        assert (await w.app.services.get(1)).detected_at == seen


async def test_a_message_of_a_hidden_sender_forwarded_twice_is_one_incident(tmp_path: Path) -> None:
    async with world(tmp_path, "kluchi") as w:
        await w.curator.forward("Нет света в подъезде", sender_name="Аноним", sent_at=1_773_130_000)
        card = await w.curator.wait_message(contains=CHECK)
        await w.curator.press(card, "Register")
        await w.until(lambda: "check and register" not in (card.text or ""))
        w.clock.advance(timedelta(hours=2))
        await w.curator.forward("Нет света в подъезде", sender_name="Аноним", sent_at=1_773_130_000)
        await w.curator.wait_message(contains="This post is already registered: No. 1.")
        assert await count(w.app.services) == 1


# --- what a column cannot store, and what a reader cannot see ---------------------------------------------


async def test_a_nul_in_a_curators_message_is_dropped_on_every_database(tmp_path: Path, database_url: str) -> None:
    """A NUL reached the database: SQLite stored it, PostgreSQL refused it ("invalid byte sequence 0x00") and
    the curator got "something went wrong". It shows nothing, so the chat drops it; the post registers."""
    text = "Яма\x00 во дворе https://vk.com/wall-1_7?reply=\x002"
    async with world(tmp_path, "kluchi", database={"url": database_url}) as w:
        resident = w.api.user(779, "Жи\x00тель", language_code="ru")
        await w.curator.send(text, entities=[entity(text, "https://vk.com/wall-1_7?reply=\x002")])
        card = await w.curator.wait_message(contains=CHECK)
        assert "https://vk.com/wall-1_7?reply=2" in card.text
        await w.curator.press(card, "Register")
        await w.until(lambda: "check and register" not in (card.text or ""))
        await w.curator.forward("Не\x00т воды", from_user=resident)
        second = await w.curator.wait_message(contains=CHECK)
        await w.curator.press(second, "Register")
        await w.until(lambda: "check and register" not in (second.text or ""))
        (post,), (forwarded,) = [(await w.app.services.get(n)).sources for n in (1, 2)]
        assert (post.url, post.text) == ("https://vk.com/wall-1_7?reply=2", "Яма во дворе")
        assert (forwarded.text, forwarded.author) == ("Нет воды", "Житель")
        assert not any("went wrong" in (m.text or "") for m in w.curator.messages)


async def test_a_link_with_invisible_characters_in_its_entity_is_the_post(tmp_path: Path) -> None:
    """A zero-width space or a byte order mark copied with the link: the link is the post's, the text clean."""
    text = "\u200bvk.com/wall-1_5?reply=8\ufeff Яма у школы"
    async with world(tmp_path, "kluchi") as w:
        await register(w, text, [entity(text, "\u200bvk.com/wall-1_5?reply=8\ufeff")])
        (source,) = (await w.app.services.get(1)).sources
        assert (source.url, source.text) == ("https://vk.com/wall-1_5?reply=8", "Яма у школы")
        await w.curator.send("https://vk.com/wall-1_5?reply=8\u2060")
        await w.curator.wait_message(contains="This post is already registered: No. 1.")
        await register(w, "https://vk.com/wall-1_5 Пост, а не комментарий")  # the post is not its comment
        assert await count(w.app.services) == 2
