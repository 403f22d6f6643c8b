"""Filters that read the current person the middleware found."""

from __future__ import annotations

from typing import Any

from aiogram.filters import Filter
from aiogram.types import TelegramObject

from bot.domain.incident import Role
from bot.services import Person


class HasRole(Filter):
    """Passes when the person the middleware found has any of `roles`."""

    def __init__(self, *roles: Role) -> None:
        self.roles = frozenset(roles)

    async def __call__(self, event: TelegramObject, person: Person | None = None, **_: Any) -> bool:
        return person is not None and bool(person.roles & self.roles)


class Known(Filter):
    """Passes when the sender is a person of the bot (joined by an invitation)."""

    async def __call__(self, event: TelegramObject, person: Person | None = None, **_: Any) -> bool:
        return person is not None
