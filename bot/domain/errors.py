"""Domain errors: each carries a stable key that handlers turn into a polite, translated answer."""

from __future__ import annotations


class DomainError(Exception):
    """A rule of the regulation forbids the action; nothing was changed.

    ``key`` names the refusal for handlers (the class's default unless given); ``params`` are values its
    sentence may show (``limit``, ``state``, ``role``…); ``str(error)`` is an English message for logs.
    """

    key = "domain_error"

    def __init__(self, message: str, *, key: str | None = None, **params: object) -> None:
        super().__init__(message)
        if key is not None:
            self.key = key
        self.params = params


class NotAllowed(DomainError):
    """The actor lacks the role or department for this action."""

    key = "not_allowed"


class IllegalTransition(DomainError):
    """The incident is not in a state where this action makes sense (stale or repeated press)."""

    key = "illegal_transition"


class InvalidInput(DomainError):
    """The action is allowed but its data is wrong (empty text, bad link, unknown department)."""

    key = "invalid_input"


class NotFound(DomainError):
    """No such thing — or one the person may not see, which reads the same (SPEC §8)."""

    key = "not_found"


class ConcurrentUpdate(DomainError):
    """Someone else changed the incident first; the loser's action is not applied."""

    key = "concurrent_update"
