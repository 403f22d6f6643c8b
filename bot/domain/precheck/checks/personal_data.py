"""`personal_data`: another private person made identifiable by the draft.

Rule (answer-quality README): "the draft makes a private person other than the author
identifiable through a full name, a surname (with or without initials), a flat number, a
personal phone number or a car number. This covers neighbours, drivers, entrepreneurs and car
owners. These are fine: the author's own first name in the greeting, an official named with
their position, and the phone number of a department or service." (SPEC §3, 152-ФЗ.)

Names come from natasha's NER (PER spans) and pymorphy3's name grammemes (Surn, Name, Patr); a
first name, or a first name with a patronymic («Светлана Ивановна»), does not identify anyone.
Mobile numbers (+7/8 9xx…) are personal unless a service word stands before them
(data/service_words.txt); officials are recognised by data/positions.txt.
"""

from __future__ import annotations

import re

from .. import lexicon
from ..context import Draft
from ..findings import Finding, Reason, finding
from ..nlp import Text, Token

# Russian plates use the twelve letters that look Latin: «А 417 ММ 761», «а417мм61».
_PLATE = re.compile(
    r"(?<![А-ЯЁа-яё\w])[АВЕКМНОРСТУХавекмнорстух]\s?\d{3}\s?[АВЕКМНОРСТУХавекмнорстух]{2}\s?\d{2,3}(?!\d)"
)
_MOBILE = re.compile(r"(?<!\d)(?:\+7|8|7)[\s\-]?\(?9\d{2}\)?[\s\-]?\d{3}[\s\-]?\d{2}[\s\-]?\d{2}(?!\d)")
_FLAT_WORDS = frozenset({"квартира", "кв"})
_INITIAL = re.compile(r"[А-ЯЁ]")
_NAME_TAGS = ("Surn", "Name", "Patr")


def car_plate_tokens(text: Text) -> set[int]:
    """Indices of the tokens that form car plates in ``text``."""
    out: set[int] = set()
    for m in _PLATE.finditer(text.source):
        out |= {t.index for t in text.tokens if m.start() <= t.start < m.end()}
    return out


def _plates(text: Text) -> list[str]:
    return [m.group(0) for m in _PLATE.finditer(text.source)]


def _phones(text: Text) -> list[str]:
    service = lexicon.word_set("service_words")
    out = []
    for m in _MOBILE.finditer(text.source):
        first = text.token_at(m.start())
        if first is None:
            continue
        before = [t for t in text.tokens[max(0, first - 8) : first] if t.is_word]
        if any(not t.lemmas.isdisjoint(service) for t in before[-6:]):
            continue
        out.append(m.group(0))
    return out


def _flats(text: Text) -> list[str]:
    toks = text.tokens
    out = []
    for i, t in enumerate(toks):
        if not t.is_word or t.lemmas.isdisjoint(_FLAT_WORDS):
            continue
        j = i + 1
        while j < len(toks) and toks[j].text in (".", "№"):
            j += 1
        if j < len(toks) and toks[j].kind == "number" and toks[j].text.isdigit():
            out.append(text.span(i, j + 1))
    return out


def _name_parts(tokens: list[Token]) -> tuple[int, int, int, int]:
    """Counts of (surnames, first names, patronymics, initials) among ``tokens``."""
    surn = name = patr = initials = 0
    for t in tokens:
        if not t.is_word:
            continue
        if len(t.text) == 1 and _INITIAL.fullmatch(t.text):
            initials += 1
        elif t.info.has("Patr"):
            patr += 1
        elif t.info.has("Name") and not t.info.has("Surn"):
            name += 1
        elif t.info.has("Surn") or not (t.info.has("Name") or t.info.has("Patr")):
            surn += 1
        else:
            name += 1
    return surn, name, patr, initials


def _official(text: Text, first: int, stop: int) -> bool:
    """A position word within three words before the name, or right after it («Иванов, директор»)."""
    positions = lexicon.word_set("positions")
    s_first, s_stop = text.sentence_of(first)
    before = [t for t in text.tokens[s_first:first] if t.is_word][-3:]
    after = [t for t in text.tokens[stop:s_stop] if t.is_word][:1]
    return any(not t.lemmas.isdisjoint(positions) for t in before + after)


def _address(text: Text, first: int, stop: int) -> bool:
    """«ул. Гагарина», «на Кирова, 18», «Гагарина 3», «на Пушкина»: a street named after someone.

    A lone surname after «на»/«по» is read as a street («яма на Чкалова»), the way addresses are
    said; «жалоба на Петрова» is lost to that, a full name or initials are still found.
    """
    words = lexicon.word_set("address_words")
    prev = [t for t in text.tokens[max(0, first - 2) : first] if t.kind != "punct" or t.text == "."]
    if any(not t.lemmas.isdisjoint(words) for t in prev if t.is_word):
        return True
    before = text.prev_word(first)
    if stop - first == 1 and before is not None and before.lower in ("на", "по"):
        return True
    nxt = text.tokens[stop] if stop < len(text.tokens) else None
    if nxt is not None and nxt.text == ",":
        nxt = text.tokens[stop + 1] if stop + 1 < len(text.tokens) else None
    return nxt is not None and nxt.kind == "number" and stop - first == 1


def _surname_runs(text: Text) -> list[tuple[int, int]]:
    """«Сорокин В. А.», «В. А. Сорокин»: a surname with initials, which NER may miss."""
    toks = text.tokens
    out = []
    for i, t in enumerate(toks):
        if not (t.is_word and t.text[:1].isupper() and len(t.text) > 1 and t.info.has("Surn")):
            continue
        after = "".join(x.text for x in toks[i + 1 : i + 5])
        before = "".join(x.text for x in toks[max(0, i - 4) : i])
        if re.match(r"[А-ЯЁ]\.[А-ЯЁ]\.", after):
            out.append((i, i + 5))
        elif re.search(r"[А-ЯЁ]\.[А-ЯЁ]\.$", before):
            out.append((i - 4, i + 1))
    return out


def _names(text: Text) -> list[str]:
    not_persons = {i for m in lexicon.load("not_persons").find(text) for i in range(m.first, m.stop)}
    # natasha's NER is the slowest step: run it only when a capitalised word could be a name.
    if not any(t.is_word and t.text[:1].isupper() and t.info.has(g) for t in text.tokens for g in _NAME_TAGS):
        return []
    spans = [(a, b) for kind, a, b in text.entities if kind == "PER"]
    spans += [s for s in _surname_runs(text) if not any(a <= s[0] < b for a, b in spans)]
    out = []
    for a, b in sorted(spans):
        tokens = [t for t in text.tokens[a:b] if t.is_word]
        if not tokens or any(t.quoted for t in tokens) or any(t.index in not_persons for t in tokens):
            continue
        if _address(text, a, b) or _official(text, a, b):
            continue
        if _name_parts(tokens)[0] == 0:
            continue  # «Марина», «Светлана Ивановна»: nobody is identified by a first name
        if len(tokens) == 1 and not tokens[0].info.has("Surn"):
            continue  # a single capitalised word NER took for a name, not a known surname
        out.append(text.span(a, b))
    return out


def check(draft: Draft) -> Finding | None:
    """A finding quoting the names, flat numbers, personal phones and car plates in the draft."""
    text = draft.text
    words = _names(text) + _flats(text) + _phones(text) + _plates(text)
    if not words:
        return None
    words.sort(key=text.source.find)
    return finding(Reason.personal_data, words)
