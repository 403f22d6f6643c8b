"""Webhook mode: the bot registers its address with Telegram and handles what Telegram pushes, one update
at a time; a push without the secret is refused; a config that Telegram would refuse stops the start."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from pathlib import Path

import pytest
from aiohttp import ClientSession

from bot.app import run_webhook
from bot.config import ConfigError, Settings, load_settings
from tests.botapi import BotAPIServer

SECRET = "hook-secret_1"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_updates_pushed_by_telegram_are_handled_and_a_push_without_the_secret_is_refused(
    tmp_path: Path,
) -> None:
    port = free_port()
    hook = f"http://127.0.0.1:{port}/otklik/telegram"
    async with BotAPIServer() as api:
        settings = Settings.model_validate(
            {
                "bot": {
                    "api_base_url": api.base_url,
                    "webhook_url": hook,
                    "webhook_port": port,
                    "webhook_secret": SECRET,
                    "default_locale": "en",
                },
                "database": {"url": f"sqlite+aiosqlite:///{tmp_path / 'otklik.sqlite3'}"},
                "people": {"curators": [100], "admins": [100]},
            }
        )
        bot = asyncio.create_task(run_webhook(settings, "42:TEST"))
        try:
            await api._wait_for(lambda: api.webhook is not None or bot.done(), 10.0)
            assert api.webhook == {"url": hook, "secret_token": SECRET, "max_connections": 1}

            curator = api.user(100, "Мария Куратор", language_code="en")
            await curator.send("/help")
            assert await curator.wait_message(contains="Curator:", timeout=10.0)
            await curator.send("/invite")
            assert await curator.wait_message(contains="Whom do you invite?", timeout=10.0)
            assert api.calls("getUpdates") == [] and api.webhook_failures == 0

            async with ClientSession() as http:
                message = {"message_id": 1, "date": 0, "chat": {"id": 100, "type": "private"}, "text": "/help"}
                forged = {"update_id": 999, "message": message}
                for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"}):
                    async with http.post(hook, json=forged, headers=headers) as answer:
                        assert answer.status == 401
        finally:
            bot.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await bot


def test_webhook_settings_telegram_would_refuse_stop_the_start(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[bot]\nwebhook_url = "http://bot.example.ru/hook"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="https://"):
        load_settings(path, env={})
    path.write_text('[bot]\nwebhook_url = "https://bot.example.ru/hook"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="webhook_secret"):
        load_settings(path, env={"OTKLIK_WEBHOOK_SECRET": "no spaces allowed"})
    settings = load_settings(path, env={"OTKLIK_WEBHOOK_SECRET": SECRET})
    assert settings.bot.webhook_secret is not None and settings.bot.webhook_secret.get_secret_value() == SECRET
