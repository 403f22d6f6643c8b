"""Calendar bounds in a draft: dates, months, seasons, years, «до конца месяца», «в течение недели».

The `no_date` rule (answer-quality README): "A term is any calendar bound, in digits or in words:
a date («до двадцатого декабря»), «до конца месяца», «в течение недели», a month, quarter, season
or year («в мае 2027 года», «в 2027 году»), or «рассчитываем к 15 декабря»". The words come from
data/terms.txt; natasha's dates extractor adds what it finds. A bound counts as a term only when
it bounds something still to come: «27 ноября заделали» dates the past, «от 14.09.2026 № 1187»
dates a document.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from . import lexicon
from .nlp import Text, Token

_DIGIT_DATE = re.compile(r"(\d{1,2})\.(\d{1,2})(?:\.(\d{2}|\d{4}))?")
_YEAR = re.compile(r"(20\d\d)(?:-[а-я]+)?")
_DAY = re.compile(r"\d{1,2}")
_TIME = re.compile(r"([01]?\d|2[0-3])[:.][0-5]\d")
# Prepositions after which a date bounds the future whatever the verb's tense.
_FIRM = frozenset({"до", "к", "ко", "на", "через", "течение", "течении", "позднее", "позже", "по", "с", "со", "после"})
_PARTS = frozenset({"конец", "начало", "середина", "окончание"})
_PERIOD_PREPOSITIONS = frozenset({"течение", "течении", "через"})
_NUMERALS = frozenset(
    {"один", "два", "три", "четыре", "пять", "шесть", "семь", "десять", "несколько", "пара", "полтора"}
)


@dataclass(frozen=True, slots=True)
class Term:
    """A calendar expression: tokens ``first``..``stop``, its text, kind and the preposition before it.

    ``kind`` is one of ``date``, ``month``, ``year``, ``season``, ``period``, ``day``, ``weekday``,
    ``time`` (a clock time after «до»/«к»: a bound on the same day).
    """

    first: int
    stop: int
    text: str
    kind: str
    bound: str | None


def _flags(tok: Token, flag: str) -> bool:
    return tok.is_word and not tok.lemmas.isdisjoint(lexicon.word_set("terms", flag))


def _is_time(text: Text, i: int) -> bool:
    """Tokens ``i``.. spell a clock time split by razdel: «16», «:», «00»."""
    toks = text.tokens
    return (
        i + 2 < len(toks)
        and toks[i].kind == "number"
        and toks[i + 1].text == ":"
        and toks[i + 2].kind == "number"
        and bool(_TIME.fullmatch(f"{toks[i].text}:{toks[i + 2].text}"))
    )


def _year_after(text: Text, i: int) -> int:
    """Index after an optional year («2027», «2027 года», «2027 г.») starting at ``i``."""
    toks = text.tokens
    if i < len(toks) and toks[i].kind == "number" and _YEAR.fullmatch(toks[i].text):
        i += 1
        if i < len(toks) and (toks[i].lower in ("г", "гг") or "год" in toks[i].lemmas):
            i += 1
            if i < len(toks) and toks[i].text == ".":
                i += 1
    return i


def _scan(text: Text) -> list[tuple[int, int, str]]:
    toks = text.tokens
    found: list[tuple[int, int, str]] = []
    i = 0
    while i < len(toks):
        t = toks[i]
        nxt = toks[i + 1] if i + 1 < len(toks) else None
        m = _DIGIT_DATE.fullmatch(t.text) if t.kind == "number" else None
        if m and 1 <= int(m.group(1)) <= 31 and 1 <= int(m.group(2)) <= 12:
            found.append((i, i + 1, "date"))
        elif t.kind == "number" and _DAY.fullmatch(t.text) and nxt is not None and _flags(nxt, "month"):
            end = _year_after(text, i + 2)
            found.append((i, end, "date"))
            i = end
            continue
        elif _flags(t, "ordinal") or _flags(t, "tens"):
            j = i + 1 if _flags(t, "tens") and nxt is not None and _flags(nxt, "ordinal") else i
            after = toks[j + 1] if j + 1 < len(toks) else None
            if after is not None and _flags(after, "month"):
                end = _year_after(text, j + 2)
                found.append((i, end, "date"))
                i = end
                continue
            if after is not None and after.lemmas & {"квартал", "полугодие"}:
                found.append((i, j + 2, "period"))
                i = j + 2
                continue
        elif _flags(t, "month"):
            end = _year_after(text, i + 1)
            found.append((i, end, "month"))
            i = end
            continue
        elif t.kind == "number" and _YEAR.fullmatch(t.text) and nxt is not None:
            end = _year_after(text, i)
            if end > i + 1:
                found.append((i, end, "year"))
                i = end
                continue
        elif t.is_word and (_flags(t, "relative") or _flags(t, "past") or _flags(t, "vague")):
            if nxt is not None and (_flags(nxt, "period") or _flags(nxt, "season") or _flags(nxt, "month")):
                kind = "past" if _flags(t, "past") else "vague" if _flags(t, "vague") else "period"
                found.append((i, i + 2, kind))
                i += 2
                continue
        elif t.is_word and not t.lemmas.isdisjoint(_PARTS) and nxt is not None:
            if _flags(nxt, "period") or _flags(nxt, "month") or _flags(nxt, "season"):
                found.append((i, _year_after(text, i + 2), "period"))
                i += 2
                continue
        elif t.lower in _PERIOD_PREPOSITIONS:
            j = i + 1
            if j < len(toks) and (toks[j].kind == "number" or not toks[j].lemmas.isdisjoint(_NUMERALS)):
                j += 1
            if j < len(toks) and _flags(toks[j], "period"):
                found.append((i, j + 1, "period"))
                i = j + 1
                continue
        elif _flags(t, "season") and t.pos_in("NOUN", "ADVB"):
            found.append((i, _year_after(text, i + 1), "season"))
        elif t.kind == "number" and (_TIME.fullmatch(t.text) or _is_time(text, i)):
            prev = text.prev_word(i)
            if prev is not None and prev.lower in ("до", "к", "ко"):
                end = i + 3 if _is_time(text, i) else i + 1
                found.append((i, end, "time"))  # «до 16:00»: a bound today
                i = end
                continue
        elif _flags(t, "day"):
            found.append((i, i + 1, "day"))
        elif _flags(t, "weekday") and (t.lower == "выходные" or any("sing" in p.tag for p in t.info.parses)):
            prev = text.prev_word(i)
            if prev is not None and prev.lower in ("в", "во", "с", "со", "до", "к", "ко", "на"):
                found.append((i, i + 1, "weekday"))
        i += 1
    return found


def terms(text: Text, with_natasha: bool = True) -> list[Term]:
    """Every calendar expression in ``text`` (dates of documents and past periods excluded).

    The word grammar of this module finds most; natasha's dates extractor (``with_natasha``) adds
    the dates it alone recognises.
    """
    spans = {(a, b): kind for a, b, kind in _scan(text)}
    if with_natasha:
        for a, b in text.natasha_dates:
            if not any(x <= a < y for x, y in spans):
                spans[(a, b)] = "date"
    out = []
    for (a, b), kind in sorted(spans.items()):
        if kind in ("past", "vague"):
            continue
        prev = text.prev_word(a)
        bound = prev.lower if prev is not None else None
        if text.tokens[a].lower in _PERIOD_PREPOSITIONS:
            bound = text.tokens[a].lower  # «через неделю», «в течение дня»: the term holds its own bound
        after = text.tokens[b] if b < len(text.tokens) else None
        if bound == "от" or (after is not None and after.text == "№"):
            continue  # «постановление от 14.09.2026 № 1187»: the date of a document
        out.append(Term(a, b, text.span(a, b), kind, bound))
    return out


def _tense_near(text: Text, first: int, stop: int) -> str:
    """The tense of the predicate nearest to tokens ``first``..``stop``: past, present, future, state or none."""
    a, b = text.clause_of(first)
    s_first, s_stop = text.sentence_of(first)
    for lo, hi in ((a, b), (s_first, s_stop)):
        best: tuple[int, str] | None = None
        for t in text.tokens[lo:hi]:
            if not t.is_word or first <= t.index < stop:
                continue
            tense = _predicate_tense(text, t)
            if tense is None:
                continue
            distance = first - t.index if t.index < first else t.index - stop
            if best is None or distance < best[0]:
                best = (distance, tense)
        if best is not None:
            return best[1]
    return "none"


def _predicate_tense(text: Text, t: Token) -> str | None:
    parse = t.info.best
    pos = parse.tag.POS
    if pos == "VERB":
        if "past" in parse.tag:
            return "past"
        if "futr" in parse.tag or "impr" in parse.tag:
            return "future"
        return "present"
    if pos == "INFN":
        return "future"  # an intention: «требование убрать до 10 декабря»
    if pos == "PRTS":
        clause_first, clause_stop = text.clause_of(t.index)
        words = [w.lower for w in text.tokens[clause_first:clause_stop]]
        return "future" if "будет" in words or "будут" in words else "state"
    if pos in ("PRED", "ADJS"):
        return "state"
    return None


def future_terms(text: Text) -> list[Term]:
    """The calendar expressions that bound something still to come.

    A past predicate («27 ноября служба забрала собак») makes a date history, not a term, unless
    «на» schedules it («вывоз назначили на 8 декабря»); a
    present or state predicate keeps it only with a bounding preposition («назначен на 8
    декабря», «до 4 декабря») or as a full date («бассейн откроется 14 декабря»).
    """
    out = _future(text, terms(text, with_natasha=False))
    if not out:  # natasha's grammar is slower: asked only when the word grammar found no term
        out = _future(text, terms(text))
    return out


def _future(text: Text, found: list[Term]) -> list[Term]:
    out = []
    for term in found:
        tense = _tense_near(text, term.first, term.stop)
        firm = term.bound in _FIRM or (term.bound in ("в", "во") and term.kind in ("month", "year", "period"))
        if tense == "past" and term.bound != "на":
            continue  # «на» schedules even after a past verb: «перенесли на май», «включили в план на 2027 год»
        if tense in ("present", "state") and not (firm or (tense == "present" and term.kind == "date")):
            continue
        out.append(term)
    return out
