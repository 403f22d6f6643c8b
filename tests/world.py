"""A running Otklik bot against the local Bot API stand-in, and the people who use it.

Scenario tests read like what people do: the curator forwards a post, presses buttons, the executor
receives a card. Time is a hand-driven clock; the bot is the real application (Dispatcher, services,
SQLite, outbox sender), only Telegram is the stand-in.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.app import Running, running
from bot.config import Settings
from bot.domain.clock import ManualClock
from tests.botapi import BotAPIServer, ChatMessage, GroupChat, UserChat

CURATOR_ID = 100
ADMIN_ID = 100  # the curator is also the administrator who invites people
APPROVER_ID = 300
HEAD_ID = 400
DEPARTMENTS = ("Управление ЖКХ", "Комитет по дорогам", "Отдел образования")


@dataclass
class World:
    api: BotAPIServer
    app: Running
    clock: ManualClock
    settings: Settings
    curator: UserChat
    approver: UserChat
    locale: str = "en"  # the curator's language: labels the helpers press are in it
    people: dict[str, UserChat] = field(default_factory=dict)

    @property
    def tz(self) -> ZoneInfo:
        return self.app.services.workflow.calendar.tz

    def at(self, text: str) -> datetime:
        return datetime.fromisoformat(text).replace(tzinfo=self.tz)

    async def settle(self) -> None:
        """Every update handled and every queued notice delivered (a report may take a while on a busy machine)."""
        await self.api.idle(timeout=30)
        for _ in range(100):
            if await self.app.sender.drain_once() == 0:
                break
        await self.api.idle(timeout=30)

    async def department_id(self, name: str) -> int:
        directory = await self.app.services.directory()
        return next(d.id for d in directory.departments if d.name == name)

    async def invite(self, role_label: str, department: str | None = None) -> str:
        """The administrator creates an invitation link through the bot; returns its code."""
        await self.curator.send("/invite")
        menu = await self.curator.wait_message(contains=self.text("Whom do you invite?"))
        await self.curator.press(menu, role_label)
        if department is not None:
            await self.until(lambda: any(department in row for row in menu.buttons))
            await self.curator.press(menu, department)
        await self.until(lambda: "start=" in (menu.text or ""))
        match = re.search(r"start=(\S+)", menu.text or "")
        assert match, menu.text
        return match.group(1)

    async def executor(self, user_id: int, name: str, department: str, *, language: str = "en") -> UserChat:
        """A new executor joins through an invitation link for the department."""
        code = await self.invite(self.text("executor"), department)
        user = self.api.user(user_id, name, language_code=language)
        await user.send(f"/start {code}")
        await user.wait_message(contains=name)
        await self.settle()
        self.people[name] = user
        return user

    def text(self, msgid: str, locale: str | None = None) -> str:
        from bot.i18n import translate

        return translate(locale or self.locale, msgid)

    async def register(
        self, post: str, *, importance_high: bool = False, topic: str | None = None, photo: bool = False
    ) -> ChatMessage:
        """The curator sends a link with the post's text and registers it; returns the incident card."""
        await self.curator.send(post, photo=photo)
        card = await self.curator.wait_message(contains=self.text("New incident — check and register:"))
        if topic is not None:
            await self.curator.press(card, card.buttons[0][0])
            await self.until(lambda: any(topic in row for row in card.buttons))
            await self.curator.press(card, topic)
            await self.until(lambda: f": {topic}" in (card.text or ""))
        if importance_high:
            await self.curator.press(card, self.text("normal importance"))
            await self.until(lambda: self.text("high importance") in (card.text or ""))
        await self.curator.press(card, self.text("Register"))
        await self.until(lambda: "No." in (card.text or "") and "check and register" not in (card.text or ""))
        return card

    async def route(self, card: ChatMessage, *departments: str, mode: str | None = None) -> None:
        await self.curator.press(card, self.text("Route to a department"))
        opener = self.text("Route to a department")
        await self.until(lambda: all(opener != b for row in card.buttons for b in row))
        for ticked in [b for row in card.buttons for b in row if b.startswith("✅")]:  # a routing hint: untick
            await self.curator.press(card, ticked)
            await self.until(lambda ticked=ticked: all(ticked != b for row in card.buttons for b in row))
        for name in departments:
            await self.until(lambda name=name: any(name in b for row in card.buttons for b in row))
            button = next(b for row in card.buttons for b in row if b.endswith(name))
            await self.curator.press(card, button)
            await self.until(lambda name=name: any(b.endswith(name) and "✅" in b for row in card.buttons for b in row))
        if len(departments) == 1:
            await self.curator.press(card, self.text("Route"))
        else:
            label = mode or ""
            button = next(b for row in card.buttons for b in row if b.startswith("➡") and label in b)
            await self.curator.press(card, button)
        await self.settle()

    async def until(self, predicate: Callable[[], Any], timeout: float = 5.0) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while not predicate():
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"condition not met within {timeout} s{self.api._errors_note()}")
            await asyncio.sleep(0.02)

    async def press(self, user: UserChat, message: ChatMessage, label: str) -> None:
        """Press a button by its English label (translated for the user's language)."""
        await user.press(message, label)
        await self.settle()

    def card_of(self, user: UserChat, number: int) -> ChatMessage:
        """The user's newest card of incident `number` (the one with buttons)."""
        marker = re.compile(rf"(No\.|№) {number}\b")
        cards = [m for m in user.messages if m.text and marker.search(m.text) and not m.deleted]
        assert cards, f"user {user.user_id} has no card of incident {number}: {[m.text for m in user.messages]}"
        with_buttons = [m for m in cards if m.buttons]
        return (with_buttons or cards)[-1]


def incident_number(card: ChatMessage) -> int:
    match = re.search(r"(?:No\.|№) (\d+)", card.text or "")
    assert match, card.text
    return int(match.group(1))


@contextlib.asynccontextmanager
async def world(
    tmp_path: Path,
    preset: str = "otradnaya",
    *,
    start: str = "2026-03-10 10:00",
    locale: str = "en",
    departments: list[dict[str, Any]] | None = None,
    bot_extra: dict[str, Any] | None = None,
    **config: Any,
) -> AsyncIterator[World]:
    async with BotAPIServer() as api:
        data: dict[str, Any] = {
            "bot": {"api_base_url": api.base_url, "default_locale": locale, **(bot_extra or {})},
            # The stand-in enforces no limits here: pace at 100× Telegram's rate to keep scenarios quick.
            "delivery": {"rate_scale": 100},
            "database": {"url": f"sqlite+aiosqlite:///{tmp_path / 'otklik.sqlite3'}"},
            "organisation": {"preset": preset},
            "departments": departments or [{"code": f"d{i}", "name": n} for i, n in enumerate(DEPARTMENTS)],
            "topics": ["Дороги", "ЖКХ", "Образование"],
            "locations": ["с. Ключи", "с. Петухи"],
            "people": {
                "admins": [ADMIN_ID],
                "curators": [CURATOR_ID],
                "external_approvers": [APPROVER_ID],
                "heads": [HEAD_ID],
            },
            # The draft pre-check (~400 MB, seconds to load) only where a test asks for it: assistant={...}.
            "assistant": {"precheck": False},
        }
        data.update(config)
        settings = Settings.model_validate(data)
        clock = ManualClock(datetime.fromisoformat(start).replace(tzinfo=ZoneInfo(settings.calendar().tz.key)))
        async with running(settings, "42:TEST", clock, start_jobs=False) as app:
            app.sender.idle_poll = 0.05
            async with api.serving(app.updates.poll(polling_timeout=1), busy=lambda: not app.updates.idle):
                curator = api.user(CURATOR_ID, "Мария Куратор", language_code=locale)
                approver = api.user(APPROVER_ID, "ЦУР", language_code=locale)
                yield World(api, app, clock, settings, curator, approver, locale)


__all__ = ["GroupChat", "World", "incident_number", "world"]
