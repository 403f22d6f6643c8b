"""The Bot API stand-in of the tests: the product's embedded server (``bot/sandbox/botapi.py``), one
implementation for the tests and the training sandbox."""

from bot.sandbox.botapi import (
    Alert,
    BotAPIServer,
    ChatHandle,
    ChatMessage,
    GroupChat,
    Limits,
    Media,
    RecordedRequest,
    UserChat,
    WaitTimeout,
)

__all__ = [
    "Alert",
    "BotAPIServer",
    "ChatHandle",
    "ChatMessage",
    "GroupChat",
    "Limits",
    "Media",
    "RecordedRequest",
    "UserChat",
    "WaitTimeout",
]
