"""The three ways a command that opens a PostgreSQL database fails before it starts — the driver not installed,
the database not created, nothing listening at the address — said in one line (a ConfigError: ``error: …``,
exit status 2) instead of a traceback. Used by every database command of bot.cli (``db upgrade``, ``db copy``,
``backup``, ``restore``, ``report``, ``import``, ``demo-data``) and by the bot's start (bot.app.open_database)."""

from __future__ import annotations

import contextlib
import errno
import os
import socket
from collections.abc import Iterator, Sequence

from sqlalchemy.engine import make_url

from bot.config import ConfigError

# PostgreSQL's SQLSTATE for "database … does not exist" (invalid_catalog_name).
NO_DATABASE = "3D000"


def _postgres(urls: Sequence[str]) -> list[str]:
    found = []
    for url in urls:
        with contextlib.suppress(Exception):
            if make_url(url).get_backend_name() == "postgresql":
                found.append(url)
    return found


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and the exceptions behind it (``__cause__``, ``__context__``, SQLAlchemy's ``orig``)."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        error = todo.pop()
        if error is None or id(error) in seen:
            continue
        seen.add(id(error))
        yield error
        todo += [error.__cause__, error.__context__, getattr(error, "orig", None)]


def _unreachable(error: BaseException) -> bool:
    """A network failure of a connection attempt (refused, no route, unknown host, timed out; asyncpg's
    "Multiple exceptions" when every address of a name failed) — not a file's OSError."""
    if isinstance(error, ConnectionError | TimeoutError | socket.gaierror):
        return True
    network = (errno.ECONNREFUSED, errno.EHOSTUNREACH, errno.ENETUNREACH, errno.ETIMEDOUT)
    return isinstance(error, OSError) and (error.errno in network or str(error).startswith("Multiple exceptions"))


def _reason(error: BaseException) -> str:
    """Why the connection failed, in the system's words ("Connection refused", "Name or service not known")."""
    code = getattr(error, "errno", None)
    if isinstance(error, socket.gaierror) or not isinstance(code, int) or code <= 0:
        return getattr(error, "strerror", None) or str(error)
    return os.strerror(code)


def _address(url: str) -> str:
    parsed = make_url(url)
    return f"{parsed.host or 'localhost'}:{parsed.port or 5432}"


def _which(urls: list[str], said: str) -> str:
    """The URL among ``urls`` that ``said`` (the driver's message) names by database or port; else the last."""
    for url in urls:
        parsed = make_url(url)
        if f'"{parsed.database}"' in said or f", {parsed.port or 5432})" in said:
            return url
    return urls[-1]


def database_problem(exc: BaseException, urls: Sequence[str]) -> ConfigError | None:
    """The one-line error for ``exc``, raised while opening one of the databases at ``urls``, when it is one of
    the three known failures of a PostgreSQL URL among them; None otherwise (a bug, or another database error:
    let it propagate)."""
    postgres = _postgres(urls)
    if not postgres:
        return None
    for error in _chain(exc):
        if isinstance(error, ModuleNotFoundError) and error.name == "asyncpg":
            return ConfigError("the PostgreSQL driver (asyncpg) is not installed: run pip install -e '.[postgres]'")
        if getattr(error, "sqlstate", None) == NO_DATABASE:
            url = _which(postgres, str(error))
            name = make_url(url).database
            return ConfigError(
                "the database {name} does not exist on the PostgreSQL server at {address}: create it first, "
                "e.g. createdb {name}",
                name=name,
                address=_address(url),
            )
        if _unreachable(error):
            url = _which(postgres, str(error))
            return ConfigError(
                "the PostgreSQL server at {address} does not answer ({problem}): is it running, and is the "
                "address in the URL right?",
                address=_address(url),
                problem=_reason(error),
            )
    return None


def tool_problem(said: str, url: str) -> ConfigError | None:
    """The same one-line errors for what a PostgreSQL client tool (pg_dump, pg_restore) wrote on stderr when it
    could not connect to ``url``; None for any other failure."""
    if f'database "{make_url(url).database}" does not exist' in said:
        return database_problem(_NoDatabase(), [url])
    if "Connection refused" in said:
        return database_problem(ConnectionRefusedError(111, "Connection refused"), [url])
    return None


class _NoDatabase(Exception):
    sqlstate = NO_DATABASE


@contextlib.contextmanager
def database_errors(urls: Sequence[str]) -> Iterator[None]:
    """Turn the failures ``database_problem`` knows into its ConfigError; anything else propagates unchanged."""
    try:
        yield
    except ConfigError:
        raise
    except Exception as exc:
        problem = database_problem(exc, urls)
        if problem is None:
            raise
        raise problem from None
