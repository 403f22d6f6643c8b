"""`abbreviations`: a letter abbreviation not expanded at its first use in the draft.

Rule (answer-quality README): "a letter abbreviation that is not expanded at its first use in the
draft. These are tolerated without expansion: РФ, ЖКХ, МФЦ, МВД, МЧС, ГИБДД, ДТП, ЕГЭ, ОГЭ; the
company forms ООО, АО, ПАО, ИП; address and unit abbreviations …; «тел.»; and «№». Everything
else must be expanded … even if the author used the abbreviation in the post. «Управляющая
компания (УК)» and «ТКО (твёрдых коммунальных отходов)» are fine. Contracted words (минздрав,
капремонт, соцзащита, спорткомплекс) are ordinary words." (SPEC §3: `wrong_format`.)

An abbreviation is a Cyrillic token of two or more letters written in capitals («ГВС») or with a
capital at its end or two capitals in a row («СанПиН»); a brand written in camel case
(«ЖилСервис») is not one. Expanded means «words (ABBR)» or «ABBR (words)» at the first use.
Car plates («А 417 ММ 761») are personal data, not abbreviations. The tolerated list is
data/abbreviations_ok.txt.
"""

from __future__ import annotations

import functools
import itertools
import re

from .. import lexicon
from ..context import Draft
from ..findings import Finding, Reason, finding
from ..nlp import Text, Token, fold
from .personal_data import car_plate_tokens

_CYR = re.compile(r"[А-ЯЁа-яё]+")


def is_abbreviation(word: str) -> bool:
    """True for «ГВС», «СанПиН», «МБОУ»; False for «ЖилСервис», «Минздрав», «И» (one letter)."""
    if not _CYR.fullmatch(word) or len(word) < 2:
        return False
    if word.isupper():
        return True
    capitals = [ch.isupper() for ch in word]
    return capitals[-1] or any(a and b for a, b in itertools.pairwise(capitals))


@functools.cache
def _tolerated() -> frozenset[str]:
    """The folded forms of data/abbreviations_ok.txt."""
    return frozenset(form for e in lexicon.load("abbreviations_ok").entries for s in e.slots if s for form in s.forms)


def _shouted_word(word: str, tok: Token) -> bool:
    """A word written in capitals for emphasis («ВНИМАНИЕ»): a known word of four letters or more."""
    return word.isupper() and len(word) >= 4 and tok.info.known


def _expanded_here(text: Text, i: int) -> bool:
    toks = text.tokens
    # «управляющая компания (УК)»
    if 2 <= i < len(toks) - 1 and toks[i - 1].text == "(" and toks[i + 1].text == ")" and toks[i - 2].is_word:
        return True
    # «ТКО (твёрдых коммунальных отходов)», «ТКО — твёрдые коммунальные отходы»
    if i + 1 < len(toks) and toks[i + 1].text in ("(", "—", "–", "-"):
        words = 0
        for t in toks[i + 2 : i + 12]:
            if t.text in (")", ".", ";"):
                break
            words += t.is_word
        return words >= 2
    return False


def check(draft: Draft) -> Finding | None:
    """A finding quoting each abbreviation whose first use is not expanded, once."""
    text = draft.text
    ok = _tolerated()
    plates = car_plate_tokens(text)
    seen: set[str] = set()
    faults: list[str] = []
    for tok in text.tokens:
        if tok.kind != "word" or tok.index in plates:
            continue
        for part in tok.text.split("-"):
            if not is_abbreviation(part) or _shouted_word(part, tok) or fold(part) in ok or part in seen:
                continue
            seen.add(part)
            if not _expanded_here(text, tok.index):
                faults.append(part)
    return finding(Reason.abbreviations, faults) if faults else None
