"""The training sandbox: the real bot against an embedded Bot API server, and a web page where a person plays
every role (``python -m bot sandbox``, README «Sandbox (training)»).

This module is light (the command line checks the address with it before the seconds-long imports of the bot);
the sandbox itself is bot.sandbox.server."""

from __future__ import annotations

import ipaddress

from bot.texts import Text

__all__ = ["RemoteRefused", "check_host"]


class RemoteRefused(ValueError):
    """The sandbox was asked to listen beyond loopback without ``allow_remote``."""


def check_host(host: str, allow_remote: bool) -> None:
    """Refuse (RemoteRefused) any address but loopback (127.0.0.0/8, ::1, "localhost") unless ``allow_remote``:
    the sandbox has no login, whoever reaches the page plays every role."""
    if allow_remote or host == "localhost":
        return
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise RemoteRefused(
            Text(
                "the sandbox listens on loopback only (127.0.0.1); {host!r} would open it to the network — "
                "pass --allow-remote if that is what you want",
                host=host,
            )
        )
