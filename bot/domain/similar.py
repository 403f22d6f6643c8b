"""Repeats by meaning (issue 13 §3): posts that ask the same question in other words.

A post's text is normalised once — razdel words, pymorphy3 lemmas (ё folded to е), function words and
numbers' punctuation dropped, each lemma once, sorted — and that lemma string is stored beside the
incident at registration, so a check against 10,000 open incidents compares strings only. The
comparison is rapidfuzz's ``fuzz.ratio`` (normalised Indel similarity) over the lemma strings, which are
sorted and unique already — so word order and repeats do not matter, as in ``token_sort_ratio`` — through
``process.extract`` with a score cutoff, in rapidfuzz's own C loop (no Python call per candidate).

Pure: no I/O; pymorphy3's dictionary comes in the ``pymorphy3-dicts-ru`` wheel (no download).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass

from rapidfuzz import fuzz, process
from razdel import tokenize

from bot.domain.precheck.nlp import fold, morph

SIMILAR_CUTOFF = 70  # the lowest score (0–100) offered as "possibly the same question"
SIMILAR_LIMIT = 3  # how many similar incidents the registration card offers
MIN_LEMMAS = 3  # a text with fewer meaningful words is too short to compare by meaning

_WORD_RE = re.compile(r"^[а-яa-z0-9]+(?:-[а-яa-z0-9]+)*$")
# Parts of speech that carry no question: prepositions, conjunctions, particles, interjections, pronouns.
_FUNCTION_POS = frozenset({"PREP", "CONJ", "PRCL", "INTJ", "NPRO"})
_STOP = frozenset(
    {
        "быть",
        "весь",
        "это",
        "этот",
        "тот",
        "такой",
        "который",
        "свой",
        "наш",
        "ваш",
        "мой",
        "уже",
        "ещё",
        "еще",
        "очень",
        "просто",
        "здравствуйте",
        "добрый",
        "пожалуйста",
        "спасибо",
    }
)


@dataclass(frozen=True, slots=True)
class Similar:
    """An incident whose post is like the new one: its ``number`` and ``score`` (0–100, per cent alike)."""

    number: int
    score: int


@functools.lru_cache(maxsize=100_000)
def _lemma(word: str) -> str | None:
    """The lemma of a lower-cased word (ё folded), or None for a function word."""
    if word.isdigit():
        return word
    parse = morph().parse(word)[0]
    if parse.tag.POS in _FUNCTION_POS:
        return None
    lemma = fold(parse.normal_form)
    return None if lemma in _STOP else lemma


def normalise(text: str) -> str:
    """The post's text as its meaningful lemmas, each once, sorted, space-separated (``""`` for none).

    "Третий день не вывозят мусор во дворе" → "вывозить двор день мусор третий"; the negation «не» is a
    particle and goes too (a complaint and its rewording rarely differ by it).
    """
    lemmas: set[str] = set()
    for token in tokenize(text):
        word = fold(token.text)
        if not _WORD_RE.match(word):
            continue
        lemma = _lemma(word)
        if lemma is not None and (len(lemma) > 1 or lemma.isdigit()):
            lemmas.add(lemma)
    return " ".join(sorted(lemmas))


def find_similar(
    lemmas: str,
    candidates: Mapping[int, str],
    *,
    limit: int = SIMILAR_LIMIT,
    cutoff: int = SIMILAR_CUTOFF,
) -> list[Similar]:
    """The ``candidates`` (incident number → its ``normalise``d text) most like ``lemmas`` (a ``normalise``d
    text), best first (ties: in the order of ``candidates``), at most ``limit``, each scoring at least
    ``cutoff``.

    A text of fewer than MIN_LEMMAS lemmas finds nothing (two shared words say little), and neither does
    a candidate that short.
    """
    if len(lemmas.split()) < MIN_LEMMAS or not candidates:
        return []
    found = process.extract(
        lemmas,
        candidates,
        scorer=fuzz.ratio,  # on sorted unique lemmas: token_sort_ratio without re-sorting; rapidfuzz's C loop
        processor=None,
        score_cutoff=cutoff,
        limit=limit * 4,  # best first (ties: in the candidates' order); room for short ones dropped below
    )
    ranked = [Similar(number=key, score=round(score)) for _, score, key in found if _long_enough(candidates[key])]
    return ranked[:limit]


def _long_enough(lemmas: str) -> bool:
    """A candidate of fewer than MIN_LEMMAS lemmas is too short to be called the same question."""
    return lemmas.count(" ") + 1 >= MIN_LEMMAS
