"""The domain's sentences for people: an English msgid of the catalogs with its parameters, so the application
can say a refusal of the rules in its reader's language (bot.texts.said) while the domain stays plain Python.

``Sentence("{text!r} is not a duration…", text="3x")`` is a ``str`` — the English sentence, for logs and for
programs (the intake API) — that also keeps ``msgid`` and ``params``; bot.texts.Text is a Sentence that can say
itself (``.text(locale)``). Domain errors carry one as their message (``ValueError(Sentence(…))``,
``BadLink(Sentence(…), key=…)``). The msgids are extracted by the ``Sentence`` keyword of
bot.i18n.EXTRACT_KEYWORDS.
"""

from __future__ import annotations

from typing import Any, Self


class Sentence(str):
    """The English ``message`` formatted with ``params`` as the ``str`` value; ``msgid`` the message as written,
    ``params`` the values (a param may be a Sentence itself: said in the same language). A message without
    params is not formatted (literal braces stay)."""

    msgid: str
    params: dict[str, Any]

    def __new__(cls, message: str, /, **params: Any) -> Self:
        english = message.format(**params) if params else message
        sentence = super().__new__(cls, english)
        sentence.msgid, sentence.params = message, params
        return sentence
