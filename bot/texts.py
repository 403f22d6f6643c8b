"""Messages for people said later, in the language of whoever reads them: an English msgid of the catalogs with
its parameters, translated when shown (``Text.text(locale)``).

Light on purpose (no aiogram, no Babel): bot.config, bot.backup and the command line build their messages before
they know the reader's language, and importing bot.i18n costs seconds. The msgids are extracted for the catalogs
by the keywords of bot.i18n.EXTRACT_KEYWORDS: ``Text``, ``ConfigError`` and its kinds, ``Invalid`` and ``N_``.
"""

from __future__ import annotations

from typing import Any


def N_(message: str) -> str:
    """Mark a string for extraction where it is defined; translate it later with ``translate(locale, message)``."""
    return message


class Text(str):
    """A sentence for people: the English ``message`` formatted with ``params`` as the ``str`` value (logs,
    ``in`` checks), and ``text(locale)`` the catalog's translation formatted with the same ``params`` — a param
    that is a Text itself is said in the same language. A message the catalogs do not know (an error text of
    another library) shows as it is."""

    msgid: str
    params: dict[str, Any]

    def __new__(cls, message: str, /, **params: Any) -> Text:
        english = message.format(**params) if params else message
        text = super().__new__(cls, english)
        text.msgid, text.params = message, params
        return text

    def text(self, locale: str) -> str:
        """The sentence in ``locale`` ("ru" or "en"; others read Russian, bot.i18n.locale_of)."""
        from bot.i18n import translate

        params = {key: value.text(locale) if isinstance(value, Text) else value for key, value in self.params.items()}
        return translate(locale, self.msgid, **params)


class Said:
    """Mixin of exceptions whose message is a Text: ``str(error)`` English, ``error.text(locale)`` translated."""

    said: Text

    def _say(self, message: str, params: dict[str, Any]) -> str:
        self.said = message if isinstance(message, Text) and not params else Text(message, **params)
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
