"""Log lines: one per event, as text or as JSON for a log collector, each with the update and incident it concerns.

The update being handled (``update_id``) and the incident being acted on (``incident``, its number) live in a
context variable: the update middleware opens a fresh context for each update (``update_context``), the
services name the incident they act on (``bind_incident``), the outbox sender the incident of the row it
delivers. ``ContextFilter`` copies both onto every record, so any module's plain ``log.info(...)`` carries them.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
from collections.abc import Iterator
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

_context: ContextVar[dict[str, Any] | None] = ContextVar("otklik_log_context", default=None)
FIELDS = ("update_id", "incident")
QUIET = ("aiogram.event", "apscheduler.executors.default", "apscheduler.scheduler")  # INFO lines that repeat ours


@contextlib.contextmanager
def update_context(update_id: int) -> Iterator[None]:
    """Within it, log records carry ``update_id`` (and the incident, once ``bind_incident`` names one); the
    previous context comes back after, so nothing carries over to the next update."""
    token = _context.set({"update_id": update_id})
    try:
        yield
    finally:
        _context.reset(token)


def bind_incident(number: int | None) -> None:
    """Log records from here on (in this update, or this task) carry the incident ``number``."""
    current = _context.get()
    if current is None:
        _context.set({"incident": number})
    else:
        current["incident"] = number


def current() -> dict[str, Any]:
    """The fields log records get now: ``update_id`` and ``incident``, each None when unknown."""
    found = _context.get() or {}
    return {name: found.get(name) for name in FIELDS}


class ContextFilter(logging.Filter):
    """Puts ``update_id`` and ``incident`` (None when unknown) on every record it sees; passes them all."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Add the fields (keeping any a caller passed in ``extra``); always True."""
        for name, value in current().items():
            if getattr(record, name, None) is None:
                setattr(record, name, value)
        return True


class TextFormatter(logging.Formatter):
    """``2026-11-30 16:51:54,123 INFO bot.outbox: message [update 17 incident 5]`` — the context only when known;
    tracebacks as the standard formatter writes them."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        """The standard line with the record's update and incident appended."""
        line = super().format(record)
        parts = [f"{label} {value}" for label, value in _known(record)]
        if not parts:
            return line
        head, sep, tail = line.partition("\n")
        return f"{head} [{' '.join(parts)}]{sep}{tail}"


class JsonFormatter(logging.Formatter):
    """One JSON object a line: ``time`` (ISO 8601, UTC), ``level``, ``logger``, ``message``, ``update_id`` and
    ``incident`` when known, and ``exception`` (the traceback as one string) when the record has one."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON (non-ASCII kept as is)."""
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for label, value in _known(record):
            entry["update_id" if label == "update" else label] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def _known(record: logging.LogRecord) -> list[tuple[str, Any]]:
    pairs = [("update", getattr(record, "update_id", None)), ("incident", getattr(record, "incident", None))]
    return [(label, value) for label, value in pairs if value is not None]


def configure(format: str = "text", level: str = "INFO", stream: Any = None) -> logging.Handler:
    """Send the root logger's records to ``stream`` (default stderr) at ``level``, formatted as ``format``
    (``"text"`` or ``"json"``: the ``[logging]`` section), each with its update and incident. Replaces the
    handlers the root logger had, and keeps the ``QUIET`` loggers to warnings; returns the new handler."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if format == "json" else TextFormatter())
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # One line per event: aiogram's own "Update id=… is handled" repeats ours, and APScheduler's two lines per
    # sweep run say nothing the metrics do not; their warnings and errors still come through.
    for name in QUIET:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
    return handler
