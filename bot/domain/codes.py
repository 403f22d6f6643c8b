"""Codes of directory entries: the short latin ids (``zhkh``, ``roads``) by which the config, the command line and
the reports name departments, topics and locations, so that a renamed entry stays the same entry."""

from __future__ import annotations

import re

CODE_PATTERN = r"^[a-z0-9_-]{1,32}$"
CODE_LENGTH = 32

# ГОСТ Р 52535.1-2006 (passports), without apostrophes: letters only, so a code stays a-z, 0-9, _ and -.
_LATIN = "a b v g d e e zh z i i k l m n o p r s t u f kh ts ch sh shch _ y _ e iu ia"
_CYRILLIC = dict(zip("абвгдеёжзийклмнопрстуфхцчшщъыьэюя", _LATIN.split(" "), strict=True))


def slug(name: str) -> str:
    """A code made from ``name``: Cyrillic transliterated (ГОСТ Р 52535.1), lower case, every other run of
    characters a single "-", at most 32 characters; "" when nothing of the name is left (e.g. only punctuation).
    ``slug("Управление ЖКХ") == "upravlenie-zhkkh"``, ``slug("ст. Отрадная") == "st-otradnaia"``."""
    letters = "".join(_CYRILLIC.get(c, c) for c in name.lower()).replace("_", "")
    return re.sub(r"[^a-z0-9]+", "-", letters).strip("-")[:CODE_LENGTH].strip("-")


def unique_code(name: str, taken: set[str], fallback: str) -> str:
    """``slug(name)`` (``fallback`` when it is empty), with "-2", "-3"… appended while it is in ``taken``; at most
    32 characters. Does not add the result to ``taken``."""
    base = slug(name) or fallback
    code, n = base, 1
    while code in taken:
        n += 1
        suffix = f"-{n}"
        code = base[: CODE_LENGTH - len(suffix)] + suffix
    return code
