"""The Bot API stand-in, exercised through a real aiogram Bot, AiohttpSession and Dispatcher polling."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from aiogram import Bot, Dispatcher, F, Router
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.methods import GetUpdates, TelegramMethod
from aiogram.types import (
    BotCommand,
    BotCommandScopeAllPrivateChats,
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaPhoto,
    Message,
)

from tests.botapi import BotAPIServer, Limits, WaitTimeout


@pytest.fixture
async def api() -> AsyncIterator[BotAPIServer]:
    async with BotAPIServer() as server:
        yield server


@pytest.fixture
async def bot(api: BotAPIServer) -> AsyncIterator[Bot]:
    bot = api.bot()
    yield bot
    await bot.session.close()


def keyboard(*buttons: tuple[str, str]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text=text, callback_data=data)] for text, data in buttons]
    )


async def test_echo_and_command_entities(api: BotAPIServer) -> None:
    router = Router()

    @router.message(CommandStart())
    async def start(message: Message, command: CommandObject) -> None:
        await message.answer(f"Привет, {message.from_user.first_name}! payload={command.args}")

    @router.message(F.text)
    async def echo(message: Message) -> None:
        await message.answer(f"echo: {message.text}")

    dp = Dispatcher()
    dp.include_router(router)
    user = api.user(100, "Анна", username="anna")
    async with api.running(dp):
        start_message = await user.send("/start abc")
        reply = await user.wait_message(contains="Привет")
        assert reply.text == "Привет, Анна! payload=abc"
        # User and bot messages share the chat's counter, as in Telegram.
        assert reply.message_id == start_message.message_id + 1
        await user.send("просто текст")
        assert (await user.wait_message(contains="echo")).text == "echo: просто текст"
        await api.idle()
    assert [m.text for m in user.messages] == ["Привет, Анна! payload=abc", "echo: просто текст"]
    assert {"getMe", "getUpdates", "sendMessage"} <= api.methods_called
    assert not api.unknown_calls


async def test_keyboard_press_edits_in_place_and_alerts(api: BotAPIServer) -> None:
    router = Router()

    @router.message(Command("incident"))
    async def incident(message: Message) -> None:
        await message.answer(
            "<b>Инцидент</b> №1",
            parse_mode="HTML",
            reply_markup=keyboard(("Принять", "take:1"), ("Отклонить", "reject:1")),
        )

    @router.callback_query(F.data.startswith("take:"))
    async def take(query: CallbackQuery) -> None:
        await query.message.edit_text("Инцидент №1 принят", reply_markup=keyboard(("Вернуть", "back:1")))
        await query.answer("Принято", show_alert=True)

    @router.callback_query()
    async def other(query: CallbackQuery) -> None:
        await query.answer(f"unknown {query.data}")

    dp = Dispatcher()
    dp.include_router(router)
    user = api.user(100, "Анна")
    async with api.running(dp):
        await user.send("/incident")
        card = await user.wait_message(contains="Инцидент")
        assert card.text == "Инцидент №1"  # what the user reads: HTML tags are gone
        assert card.source == "<b>Инцидент</b> №1"
        assert card.buttons == [["Принять"], ["Отклонить"]]
        await user.press(card, "Принять")
        alert = await user.wait_alert()
        assert (alert.text, alert.show_alert) == ("Принято", True)
        edited = await user.wait_message(contains="принят")
        assert edited is card and card.edits == 1
        assert user.messages == [card]
        assert card.buttons == [["Вернуть"]]
        await user.press_data(card, "forged:data")
        assert (await user.wait_alert()).text == "unknown forged:data"
        await api.idle()


async def test_bad_requests_raise_telegram_bad_request(api: BotAPIServer, bot: Bot) -> None:
    api.user(100)
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await bot.send_message(100, "я" * 4097)
    with pytest.raises(TelegramBadRequest, match="message text is empty"):
        await bot.send_message(100, "   ")
    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        await bot.send_message(100, "x", reply_markup=keyboard(("a", "d" * 65)))
    with pytest.raises(TelegramBadRequest, match="can't parse entities"):
        await bot.send_message(100, "a <script> b", parse_mode="HTML")
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message(555, "nobody")
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text("x", chat_id=100, message_id=77)
    sent = await bot.send_message(100, "same", reply_markup=keyboard(("a", "a")))
    assert len((await bot.send_message(100, "я" * 4096)).text) == 4096
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_text("same", chat_id=100, message_id=sent.message_id, reply_markup=keyboard(("a", "a")))
    with pytest.raises(TelegramBadRequest, match="caption is too long"):
        await bot.send_photo(100, BufferedInputFile(b"jpeg", "p.jpg"), caption="c" * 1025)
    api.blocked_chats.add(100)
    with pytest.raises(TelegramForbiddenError, match="blocked"):
        await bot.send_message(100, "hello")


async def test_lengths_are_counted_in_utf16_units_like_telegram(api: BotAPIServer, bot: Bot) -> None:
    """An emoji outside the BMP is two UTF-16 units: the stand-in counts the stricter way (see MAX_TEXT)."""
    api.user(100)
    sent = await bot.send_message(100, "😀" * 2048)  # 4096 units
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await bot.send_message(100, "😀" * 2048 + "я")  # 2049 characters, 4097 units
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await bot.edit_message_text("😀" * 2049, chat_id=100, message_id=sent.message_id)
    with pytest.raises(TelegramBadRequest, match="caption is too long"):
        await bot.send_photo(100, BufferedInputFile(b"jpeg", "p.jpg"), caption="😀" * 513)
    await bot.send_photo(100, BufferedInputFile(b"jpeg", "p.jpg"), caption="😀" * 512)


async def test_fail_next_429_is_retry_after(api: BotAPIServer, bot: Bot) -> None:
    api.user(100)
    api.fail_next("sendMessage", 429, retry_after=7, count=2)
    for _ in range(2):
        with pytest.raises(TelegramRetryAfter) as caught:
            await bot.send_message(100, "hi")
        assert caught.value.retry_after == 7
    assert (await bot.send_message(100, "hi")).text == "hi"
    assert [r.status for r in api.calls("sendMessage")] == [429, 429, 200]


async def test_rate_limit_per_chat() -> None:
    async with BotAPIServer(limits=Limits(per_chat_per_second=2, scale=0.2)) as api:
        bot = api.bot()
        api.user(100)
        api.user(101)
        await bot.send_message(100, "1")
        await bot.send_message(100, "2")
        with pytest.raises(TelegramRetryAfter) as caught:
            await bot.send_message(100, "3")
        assert caught.value.retry_after == 1
        await bot.send_message(101, "other chat is fine")
        await asyncio.sleep(0.21)  # the scaled one-second window has slid past
        await bot.send_message(100, "3")
        await bot.session.close()


async def test_photo_and_media_group_round_trip(api: BotAPIServer, bot: Bot) -> None:
    user = api.user(100)
    photo = await bot.send_photo(100, BufferedInputFile(b"\xff\xd8jpeg", "p.jpg"), caption="снимок")
    file_id = photo.photo[-1].file_id
    again = await bot.send_photo(100, file_id)  # resend by file_id, as bots do
    assert again.photo[-1].file_unique_id == photo.photo[-1].file_unique_id
    file = await bot.get_file(file_id)
    downloaded = await bot.download_file(file.file_path)
    assert downloaded.read() == b"\xff\xd8jpeg"
    album = await bot.send_media_group(
        100,
        [InputMediaPhoto(media=BufferedInputFile(b"a", "a.jpg"), caption="первый"), InputMediaPhoto(media=file_id)],
    )
    assert len(album) == 2 and album[0].media_group_id and album[0].media_group_id == album[1].media_group_id
    assert [m.caption for m in user.messages] == ["снимок", None, "первый", None]
    assert user.messages[-1].media.file_id == file_id
    with pytest.raises(TelegramBadRequest, match="wrong file identifier"):
        await bot.send_photo(100, "no-such-file")


async def test_user_media_forward_and_copy(api: BotAPIServer) -> None:
    router = Router()
    seen: list[Message] = []

    @router.message()
    async def collect(message: Message) -> None:
        seen.append(message)
        if message.forward_origin is not None:
            await message.copy_to(message.chat.id)

    dp = Dispatcher()
    dp.include_router(router)
    user = api.user(100)
    async with api.running(dp):
        await user.send("подпись", photo=True)
        await user.send_media_group(["cap1", None], kind="photo")
        await user.forward("пост", from_chat_title="Паблик", from_chat_username="public")
        copy = await user.wait_message(contains="пост")
        await api.idle()
    assert seen[0].caption == "подпись" and seen[0].photo
    assert seen[1].media_group_id == seen[2].media_group_id is not None
    assert seen[3].forward_origin.chat.username == "public"
    assert copy.text == "пост" and copy.forward_origin is None


async def test_set_my_commands_per_language(api: BotAPIServer, bot: Bot) -> None:
    await bot.set_my_commands([BotCommand(command="start", description="Начать")], language_code="ru")
    await bot.set_my_commands(
        [BotCommand(command="start", description="Start"), BotCommand(command="help", description="Help")],
        scope=BotCommandScopeAllPrivateChats(),
    )
    assert api.commands(language_code="ru") == [("start", "Начать")]
    assert api.commands(scope="all_private_chats") == [("start", "Start"), ("help", "Help")]
    assert [c.command for c in await bot.get_my_commands(language_code="ru")] == ["start"]
    await bot.delete_my_commands(language_code="ru")
    assert api.commands(language_code="ru") == []
    with pytest.raises(TelegramBadRequest, match="BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand(command="Bad-Command", description="x")])


async def test_long_polling_waits_and_confirmed_updates_are_not_redelivered(api: BotAPIServer, bot: Bot) -> None:
    user = api.user(100)
    first = await user.send("one")
    updates = await bot(GetUpdates(timeout=0))
    assert [u.message.message_id for u in updates] == [first.message_id]

    async def later() -> None:
        await asyncio.sleep(0.5)
        await user.send("two")

    task = asyncio.create_task(later())
    started = time.monotonic()
    # Offset confirms "one"; the poll must park until "two" arrives, then answer at once.
    updates = await bot(GetUpdates(offset=updates[-1].update_id + 1, timeout=3))
    elapsed = time.monotonic() - started
    await task
    assert [u.message.text for u in updates] == ["two"]
    assert 0.4 < elapsed < 1.5
    updates = await bot(GetUpdates(offset=updates[-1].update_id + 1, timeout=0))
    assert updates == []


async def test_dispatcher_handles_each_update_once(api: BotAPIServer) -> None:
    router = Router()
    handled: list[str] = []

    @router.message()
    async def note(message: Message) -> None:
        handled.append(message.text or "")

    dp = Dispatcher()
    dp.include_router(router)
    user = api.user(100)
    async with api.running(dp):
        for text in ("a", "b", "c"):
            await user.send(text)
        await api.idle()
        await asyncio.sleep(0.2)  # a few more polls go by
    assert handled == ["a", "b", "c"]


async def test_unknown_method_is_404_and_recorded(api: BotAPIServer, bot: Bot) -> None:
    class SendTeleport(TelegramMethod[bool]):
        __returning__ = bool
        __api_method__ = "sendTeleport"

    with pytest.raises(Exception, match="method not found"):
        await bot(SendTeleport())
    assert [r.method for r in api.unknown_calls] == ["sendTeleport"]
    assert api.unknown_calls[0].status == 404


async def test_group_chat_and_wait_timeout(api: BotAPIServer) -> None:
    router = Router()

    @router.message(Command("ping"))
    async def ping(message: Message) -> None:
        await message.reply("pong")

    dp = Dispatcher()
    dp.include_router(router)
    user = api.user(100, "Анна")
    group = api.group(-1001, "ЖКХ")
    async with api.running(dp):
        sent = await group.send(user, "/ping")
        reply = await group.wait_message(contains="pong")
        assert reply.reply_to_message_id == sent.message_id
        with pytest.raises(WaitTimeout, match="no bot message containing 'nothing'"):
            await group.wait_message(contains="nothing", timeout=0.2)
    assert user.messages == []


async def test_updates_outside_allowed_updates_are_dropped(api: BotAPIServer) -> None:
    router = Router()

    @router.message()
    async def answer(message: Message) -> None:
        await message.answer("ok", reply_markup=keyboard(("Кнопка", "b")))

    dp = Dispatcher()
    dp.include_router(router)  # no callback_query handler: aiogram asks only for "message" updates
    user = api.user(100)
    async with api.running(dp):
        await user.send("hi")
        card = await user.wait_message(contains="ok")
        await user.press(card, "Кнопка")
        await api.idle()
    assert [list(u)[1] for u in api.dropped_updates] == ["callback_query"]


async def test_handler_errors_fail_the_block_and_5xx_is_server_error(api: BotAPIServer) -> None:
    router = Router()

    @router.message()
    async def broken(message: Message) -> None:
        await message.answer("before")
        raise RuntimeError("boom")

    dp = Dispatcher()
    dp.include_router(router)
    user = api.user(100)
    with pytest.raises(AssertionError, match="RuntimeError: boom"):
        async with api.running(dp):
            await user.send("hi")
            await user.wait_message(contains="before")
            await api.idle()

    bot = api.bot()
    api.fail_next("sendMessage", 502)
    with pytest.raises(TelegramServerError, match="Bad Gateway"):
        await bot.send_message(100, "x")
    await bot.session.close()
