"""Messages for people said later, in the language of whoever reads them: an English msgid of the catalogs with
its parameters, translated when shown (``Text.text(locale)``).

Light on purpose (no aiogram, no Babel): bot.config, bot.backup and the command line build their messages before
they know the reader's language, and importing bot.i18n costs seconds. The msgids are extracted for the catalogs
by the keywords of bot.i18n.EXTRACT_KEYWORDS: ``Text``, ``ConfigError`` and its kinds, ``Invalid``, ``N_`` and
the domain's ``Sentence`` (bot.domain.texts: a Text the domain can write without importing this module; ``said``
and ``Text.of`` say it).
"""

from __future__ import annotations

import errno
from typing import Any

from bot.domain.texts import Sentence


def N_(message: str) -> str:
    """Mark a string for extraction where it is defined; translate it later with ``translate(locale, message)``."""
    return message


def said(value: object, locale: str) -> str:
    """``value`` in ``locale``: a Text (or a Lines) as it says itself, a domain Sentence translated the same way,
    anything else (a command to run, another library's words) as ``str(value)``."""
    if isinstance(value, Text):
        return value.text(locale)
    if isinstance(value, Sentence):
        return Text.of(value).text(locale)
    return str(value)


def message_of(error: BaseException) -> str:
    """What ``error`` says: its Text (a Said error's) or Sentence (a Text, or a domain Sentence) when its message
    is one — a param of a Text said in the reader's language — else ``str(error)``, English words of Python or
    another library."""
    if isinstance(error, Said):
        return error.said
    message = error.args[0] if len(error.args) == 1 else None
    return message if isinstance(message, Sentence) else str(error)


def os_problem(error: OSError) -> str:
    """Why the system refused a file or an address, as a Text for the common cases (permission denied, no such
    file, no space left, the address in use…), else the system's own words (``strerror``, English)."""
    known = _OS_PROBLEMS.get(error.errno) if error.errno is not None else None
    return Text(known) if known else error.strerror or str(error)


_OS_PROBLEMS = {
    errno.EACCES: N_("permission denied"),
    errno.EPERM: N_("permission denied"),
    errno.ENOENT: N_("no such file or folder"),
    errno.ENOTDIR: N_("a part of the path is not a folder"),
    errno.EISDIR: N_("it is a folder"),
    errno.EEXIST: N_("it exists already"),
    errno.EROFS: N_("the file system is read-only"),
    errno.ENOSPC: N_("no space left on the disk"),
    errno.EADDRINUSE: N_("the address is in use"),
    errno.EADDRNOTAVAIL: N_("the address is not this machine's"),
}


class Text(Sentence):
    """A sentence for people: the English ``message`` formatted with ``params`` as the ``str`` value (logs,
    ``in`` checks), and ``text(locale)`` the catalog's translation formatted with the same ``params`` — a param
    that is a Text or a domain Sentence is said in the same language. A message the catalogs do not know (an
    error text of another library) shows as it is."""

    @classmethod
    def of(cls, message: str) -> Text:
        """``message`` as a Text: a Text itself, a domain Sentence with its msgid and params, any other ``str``
        as its own msgid (shown as it is unless the catalogs know it)."""
        if isinstance(message, Text):
            return message
        if isinstance(message, Sentence):
            return cls(message.msgid, **message.params)
        return cls(str(message))

    def text(self, locale: str) -> str:
        """The sentence in ``locale`` ("ru" or "en"; others read Russian, bot.i18n.locale_of)."""
        from bot.i18n import translate

        params = {
            key: said(value, locale) if isinstance(value, Sentence) else value for key, value in self.params.items()
        }
        return translate(locale, self.msgid, **params)


class Said:
    """Mixin of exceptions whose message is a Text: ``str(error)`` English, ``error.text(locale)`` translated."""

    said: Text

    def _say(self, message: str, params: dict[str, Any]) -> str:
        self.said = Text.of(message) if isinstance(message, Sentence) and not params else Text(message, **params)
        return str(self.said)

    def text(self, locale: str) -> str:
        """The message in ``locale``."""
        return self.said.text(locale)


class Invalid(Said, ValueError):
    """A value a config validator refuses (pydantic shows it as a value error; bot.config.format_validation_error
    says it in the reader's language)."""

    def __init__(self, message: str, /, **params: Any) -> None:
        super().__init__(self._say(message, params))


class Lines(Text):
    """Several Texts, one a line: ``str`` the English lines, ``text(locale)`` each line said in ``locale``."""

    lines: list[str]

    def __new__(cls, lines: list[str]) -> Lines:
        joined = str.__new__(cls, "\n".join(lines))
        joined.msgid, joined.params, joined.lines = "", {}, list(lines)
        return joined

    def text(self, locale: str) -> str:
        """Every line in ``locale``; lines that are plain strings as they are."""
        return "\n".join(line.text(locale) if isinstance(line, Text) else line for line in self.lines)
