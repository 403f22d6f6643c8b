"""`bureaucratese`: legal references, official clichés and chains of verbal nouns (канцелярит).

Rule (answer-quality README): "the draft cites a legal act by number or date, or cites its
articles or points. This applies even inside an otherwise plain answer … It also covers official
clichés («во исполнение», «в рамках реализации», «вышеуказанный», «доводим до Вашего сведения»,
«в целях обеспечения», «осуществляется в соответствии с», «силами …») and chains of verbal nouns
(«организация оказания … помощи», «работы по восстановлению … с устройством …»). A rule named in
plain words … is fine." (SPEC §3: «неверный формат» — the return reason `wrong_format`.)

Clichés are data/cliches.txt; act names data/legal_acts.txt; the empty nouns that open a chain
data/light_nouns.txt. Verbal nouns are told by pymorphy3's noun lemmas in -ание/-ение/-ция/-тие.
"""

from __future__ import annotations

import re

from .. import lexicon
from ..context import Draft
from ..findings import Finding, Reason, finding
from ..nlp import Text, Token

_NUMBER = re.compile(r"\d+(?:[.,/-]\d+)*[а-яА-Я]?(?:-[А-Яа-я]+)?")
_ACT_NUMBER = re.compile(r"\d+-[А-Я]{1,4}\b")  # «131-ФЗ», «44-ФЗ»
_ARTICLE_WORDS = frozenset({"ст", "статья", "п", "пп", "пункт", "подпункт", "ч", "часть", "абз", "абзац"})
_VERBAL_SUFFIXES = ("ание", "ение", "яние", "тие", "ация", "яция")
_LOOKBACK = 8


def _is_number(tok: Token) -> bool:
    return tok.kind == "number" and bool(_NUMBER.fullmatch(tok.text))


def legal_references(text: Text) -> list[str]:
    """Citations of acts by number or date, of codes with numbers, and of articles or points."""
    acts = lexicon.word_set("legal_acts")
    codes = {e.pattern.lower() for e in lexicon.load("legal_acts").entries if "code" in e.flags}
    toks = text.tokens
    out: list[tuple[int, int]] = []
    for i, t in enumerate(toks):
        if t.text == "№" or (
            t.lower == "от" and i + 1 < len(toks) and toks[i + 1].kind == "number" and "." in toks[i + 1].text
        ):
            first, _ = text.sentence_of(i)
            for j in range(i - 1, max(first, i - _LOOKBACK) - 1, -1):
                if toks[j].is_word and not toks[j].lemmas.isdisjoint(acts) and toks[j].lower not in codes:
                    out.append((j, _number_end(text, i)))
                    break
        elif t.lower in codes and i + 1 < len(toks) and _is_number(toks[i + 1]):
            out.append((i, i + 2))
        elif t.kind == "number" and _ACT_NUMBER.search(t.text):
            out.append((i, i + 1))
        elif t.is_word and (t.lower in _ARTICLE_WORDS or (t.lemmas & _ARTICLE_WORDS and len(t.text) > 2)):
            j = i + 1
            if j < len(toks) and toks[j].text == ".":
                j += 1
            if j < len(toks) and _is_number(toks[j]) and (t.lower not in ("п", "ч") or j > i + 1):
                out.append((i, j + 1))
    return [text.span(a, b) for a, b in _merge(out)]


def _number_end(text: Text, i: int) -> int:
    """The token after a «№ 1187»/«от 15.05.2012 № 543н» run starting at ``i``."""
    toks = text.tokens
    j = i
    while j < len(toks) and (
        toks[j].text in ("№", "от", "г", ".") or toks[j].kind == "number" or toks[j].lower in ("н", "р", "п")
    ):
        if toks[j].text == "." and (j + 1 >= len(toks) or toks[j + 1].kind != "number"):
            break
        j += 1
    return max(j, i + 1)


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for a, b in sorted(spans):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def _verbal(tok: Token) -> bool:
    """A verbal noun: a noun in -ание/-ение/-тие/-ация that names an action, not a body or thing."""
    lemma = tok.info.lemma_with("NOUN")
    if lemma is None or lemma in lexicon.word_set("concrete_nouns"):
        return False
    return lemma.endswith(_VERBAL_SUFFIXES) or lemma in lexicon.word_set("light_nouns")


def _noun(tok: Token) -> bool:
    return tok.is_word and tok.info.best.tag.POS == "NOUN"


def _genitive_noun(tok: Token) -> bool:
    return tok.is_word and any(p.tag.POS in ("NOUN", "PRTF", "ADJF") and p.tag.case == "gent" for p in tok.info.parses)


def noun_chains(text: Text) -> list[str]:
    """Chains of verbal nouns: an empty noun + a verbal noun in the genitive («организация оказания
    помощи»), «работы по» + a verbal noun («работы по замене»), or four nouns in a genitive chain
    with a verbal noun among them («соблюдения режима отпуска блюд»)."""
    light = lexicon.word_set("light_nouns")
    heads = lexicon.word_set("light_nouns", "head")
    toks = text.tokens
    out: list[tuple[int, int]] = []
    for i, t in enumerate(toks):
        if not _noun(t) or t.quoted:
            continue
        noun = t.info.lemma_with("NOUN")
        if noun in heads and i + 2 < len(toks) and toks[i + 1].lower == "по" and _verbal(toks[i + 2]):
            out.append((i, _chain_end(text, i + 2)))
            continue
        end = _chain_end(text, i)
        nouns = [x for x in toks[i:end] if _noun(x)]
        light_chain = noun in light and noun not in heads and any(_verbal(x) for x in nouns[1:])
        long_chain = len(nouns) >= 4 and any(_verbal(x) for x in nouns)
        if light_chain or long_chain:
            out.append((i, end))
    return [text.span(a, b) for a, b in _merge(out)]


def _chain_end(text: Text, i: int) -> int:
    """The end of the genitive chain headed by the noun at ``i`` (agreeing adjectives included)."""
    toks = text.tokens
    _, stop = text.sentence_of(i)
    j = i + 1
    last = i + 1
    while j < stop and toks[j].is_word and not toks[j].quoted:
        if toks[j].info.best.tag.POS in ("ADJF", "PRTF") and _genitive_noun(toks[j]):
            j += 1
            continue
        if _genitive_noun(toks[j]) and _noun(toks[j]):
            j += 1
            last = j
            continue
        break
    return last


def check(draft: Draft) -> Finding | None:
    """A finding quoting the legal references, clichés and verbal-noun chains of the draft."""
    text = draft.text
    hits: list[tuple[int, str]] = [(text.tokens[m.first].start, m.text) for m in draft.find("cliches")]
    for quote in legal_references(text) + noun_chains(text):
        hits.append((text.source.find(quote), quote))
    if not hits:
        return None
    hits.sort()
    # A cliché inside a quoted chain or reference is said once.
    words = [w for _, w in hits]
    words = [w for w in words if not any(w != o and w in o for o in words)]
    return finding(Reason.bureaucratese, words)
