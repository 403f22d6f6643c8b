"""`spelling`: misspelt words, wrong forms and the punctuation errors the checklist names.

Rule (answer-quality README): "spelling mistakes («Здраствуйте», «извенения», «рассматриваються»,
«демонтированно»), wrong forms («согласно графика», «в течении дня»), «что бы» for «чтобы», and
punctuation errors. Punctuation errors are a missing comma before «что» or «где» or between the
clauses of a conditional sentence, «пожалуйста» not set off by commas, and a superfluous comma
(before a single «или» or «либо», or inside a phrase). Writing «е» for «ё» is not an error."

A word is misspelt when neither pymorphy3's OpenCorpora dictionary nor hunspell ``ru_RU`` knows
it, nor a known prefix + a dictionary word («видео» + «регистратор»). Proper names (a capital
inside a sentence, natasha's entities, pymorphy3's Name/Surn/Geox), quoted names, abbreviations
and words with Latin letters are not judged: no dictionary has them all. Wrong forms are
data/wrong_forms.txt and data/dative_prepositions.txt; the punctuation words data/punctuation.txt
and data/fixed_phrases.txt.
"""

from __future__ import annotations

import functools
import re

from .. import lexicon
from ..context import Draft
from ..findings import Finding, Reason, finding
from ..nlp import Text, Token, hunspell_knows, word_info
from .abbreviations import is_abbreviation

_PREDICATE_POS = ("VERB", "INFN", "PRTS", "ADJS", "PRED", "GRND")
_PROPER = ("Name", "Surn", "Patr", "Geox", "Orgn", "Trad")
_MIN_COMPOUND_PREFIX = 3
_MIN_COMPOUND_REST = 4


@functools.cache
def _compound_prefixes() -> tuple[str, ...]:
    """pymorphy3's known prefixes («видео», «авто», «электро»…) of three letters or more, and the
    first parts of contracted words (data/contracted_words.txt)."""
    from pymorphy3.lang.ru.config import KNOWN_PREFIXES

    known = {p.rstrip("-") for p in KNOWN_PREFIXES if len(p.rstrip("-")) >= _MIN_COMPOUND_PREFIX}
    contracted = {f for e in lexicon.load("contracted_words").entries for s in e.slots if s for f in s.forms}
    return tuple(sorted(known | contracted))


@functools.lru_cache(maxsize=50_000)
def is_known_word(word: str) -> bool:
    """True when ``word`` (any case, «ё» or «е») is in pymorphy3's dictionary or hunspell ``ru_RU``,
    is a known prefix + a dictionary word, or is hyphenated from known words."""
    lower = word.lower()
    if word_info(lower).known:
        return True
    if "-" in lower:
        return all(is_known_word(part) for part in lower.split("-") if part)
    for prefix in _compound_prefixes():
        rest = lower[len(prefix) :]
        if lower.startswith(prefix) and len(rest) >= _MIN_COMPOUND_REST and word_info(rest).known:
            return True
    return hunspell_knows(word) or hunspell_knows(lower) or _univerbation(lower)


# The case endings of a noun in «-ка» (маршрутка, маршрутки, маршрутку, маршруткой, маршруток…).
_KA_NOUN = re.compile(r"^(?P<stem>[а-яё]{4,})к(?:а|и|е|у|ой|ою|ам|ами|ах)$")


def _univerbation(lower: str) -> bool:
    """A colloquial noun in «-ка» made from a dictionary adjective — «ливнёвка» (ливнёвая канализация),
    «маршрутка», «пятиэтажка»: Russian makes them freely, and no dictionary lists them all. The adjective
    (stem + «-ый»/«-ой»/«-ий») must be known, so a misspelt stem is still caught."""
    m = _KA_NOUN.match(lower.replace("ё", "е"))
    if m is None:
        return False
    stem = m.group("stem")
    return any(_known_adjective(stem + end) for end in ("ый", "ой", "ий", "ный"))


def _known_adjective(word: str) -> bool:
    info = word_info(word)
    return info.known and info.has("ADJF")


def _sentence_initial(text: Text, tok: Token) -> bool:
    first, _ = text.sentence_of(tok.index)
    return all(t.kind == "punct" for t in text.tokens[first : tok.index])


def _entity_tokens(text: Text) -> set[int]:
    return {i for _, a, b in text.entities for i in range(a, b)}


def misspelt_words(text: Text) -> list[str]:
    """The words of ``text`` no dictionary knows (proper names, quotes, abbreviations skipped)."""
    out = []
    entities: set[int] | None = None
    for tok in text.tokens:
        if not tok.is_word or tok.quoted or len(tok.text) < 3 or not tok.is_cyrillic_word:
            continue
        if any("a" <= ch.lower() <= "z" for ch in tok.text) or any(is_abbreviation(p) for p in tok.text.split("-")):
            continue
        if tok.text[0].isupper():
            if not _sentence_initial(text, tok):
                continue  # a proper name inside a sentence
            if entities is None:
                entities = _entity_tokens(text)
            if tok.index in entities or any(tok.info.has(g) for g in _PROPER):
                continue
        if not is_known_word(tok.text):
            out.append(tok.text)
    return out


def wrong_forms(text: Text) -> list[str]:
    """«в течении дня», «по приезду», «согласно графика»: each word exists, the form is wrong."""
    out = [m.text for m in lexicon.load("wrong_forms").find(text)]
    dative = lexicon.word_set("dative_prepositions")
    toks = text.tokens
    for i, t in enumerate(toks):
        if not t.is_word or t.lower not in dative:
            continue
        for j in range(i + 1, min(i + 4, len(toks))):
            nxt = toks[j]
            if not nxt.is_word:
                break
            if nxt.info.has("NOUN") and not nxt.info.has("ADJF"):
                cases = {p.tag.case for p in nxt.info.parses if p.tag.POS == "NOUN"}
                if "gent" in cases and "datv" not in cases:
                    out.append(text.span(i, j + 1))
                break
    # «что бы» for «чтобы»: «что бы ни…» and the question «Что бы вы хотели?» are right.
    for i, t in enumerate(toks[:-1]):
        if t.lower == "что" and toks[i + 1].lower == "бы":
            _, stop = text.sentence_of(i)
            rest = [x.lower for x in toks[i + 2 : min(i + 6, stop)]]
            if "ни" not in rest and "?" not in text.sentence_text(t.sentence):
                out.append(text.span(i, i + 2))
    return out


def _comma_before(text: Text, i: int) -> bool:
    return i > 0 and text.tokens[i - 1].kind == "punct" and text.tokens[i - 1].text in (",", "—", "–", ":", "(", ";")


def _predicate(tok: Token) -> bool:
    if not tok.is_word:
        return False
    best = tok.info.best.tag
    if best.POS in ("VERB", "PRTS", "PRED") or (best.POS == "ADJS" and tok.lower != "должен"):
        return True
    # «надо», «нужно», «можно»: the predicative reading may not be the most probable one.
    return any(p.tag.POS == "PRED" for p in tok.info.parses[:2])


def missing_commas(text: Text) -> list[str]:
    """Punctuation errors: «сообщил что», «если … не сделает ларёк демонтируют», «обращайтесь пожалуйста к»,
    «туда, либо в инспекцию», «с пониманием, к неудобствам»."""
    out: list[str] = []
    toks = text.tokens
    no_comma_words = lexicon.word_set("punctuation", "no_comma_before_chto")
    for i, t in enumerate(toks):
        if not t.is_word:
            continue
        first, stop = text.sentence_of(i)
        low = t.lower
        # A missing comma before the conjunction «что» or «где».
        # «где» after any word; «что» after a verb or predicative («сообщил что», «известно что») or a noun
        # whose clause it opens («приносим извинения что», «информация что») — not after a preposition's
        # noun, where the comma may stand earlier («при условии что»).
        if low in ("что", "где") and i > first and toks[i - 1].is_word:
            prev = toks[i - 1]
            if prev.lower not in no_comma_words and (
                low == "где" or prev.info.best.tag.POS in _PREDICATE_POS or _clause_noun(text, i - 1)
            ):
                out.append(text.span(i - 1, i + 1))
        # «пожалуйста» is set off by commas, except where it stands alone or at a sentence edge.
        elif low == "пожалуйста":
            before = i > first and toks[i - 1].kind != "punct"
            after = i + 1 < stop and toks[i + 1].kind != "punct"
            if before or after:
                a = i - 1 if before else i
                b = i + 2 if after else i + 1
                out.append(text.span(a, b))
        # A comma before a single «или»/«либо» joining parts of a sentence (not clauses).
        elif low in ("или", "либо") and _comma_before(text, i) and toks[i - 1].text == ",":
            same = sum(1 for x in toks[first:stop] if x.lower == low)
            if same == 1 and not _ends_subordinate(text, i - 1) and not _clause_follows(text, i):
                out.append(text.span(i - 2, i + 1) if i >= 2 and toks[i - 2].is_word else text.span(i - 1, i + 1))
        elif low == "если":
            quote = _conditional_without_comma(text, i)
            if quote:
                out.append(quote)
    out += _split_phrases(text)
    return out


def _clause_noun(text: Text, i: int) -> bool:
    """The word at ``i`` is a noun not governed by a preposition right before it («извинения», not «при
    условии»): a «что» after it opens a clause that takes a comma."""
    tok = text.tokens[i]
    if tok.info.best.tag.POS != "NOUN":
        return False
    before = text.prev_word(i)
    return before is None or before.info.best.tag.POS != "PREP"


def _ends_subordinate(text: Text, comma: int) -> bool:
    """The comma closes a subordinate or participial clause opened by a comma earlier in the sentence."""
    first, _ = text.sentence_of(comma)
    toks = text.tokens
    j = comma - 1
    while j >= first and toks[j].text != ",":
        j -= 1
    if j < first:
        return False
    segment = [t for t in toks[j + 1 : comma] if t.is_word]
    if not segment:
        return False
    opener = segment[0].lower
    return opener in ("который", "которая", "которое", "которые", "что", "где", "если", "когда", "чтобы", "как") or any(
        t.info.best.tag.POS in ("GRND", "PRTF") for t in segment
    )


def _clause_follows(text: Text, i: int) -> bool:
    """After «или» comes a clause with its own subject and verb («…, или мы перезвоним»), not a
    second verb of the same subject («позвоните, или напишите» is the error)."""
    _, stop = text.sentence_of(i)
    subject = False
    for t in text.tokens[i + 1 : stop]:
        if t.kind == "punct" and t.text in (",", ";", "—"):
            break
        if not t.is_word:
            continue
        tag = t.info.best.tag
        if tag.POS in ("NOUN", "NPRO") and tag.case == "nomn":
            subject = True
        elif tag.POS == "VERB":
            return subject
    return False


def _conditional_without_comma(text: Text, i: int) -> str | None:
    """«Если он этого не сделает ларёк демонтируют»: two predicates after «если», no comma between."""
    _, stop = text.sentence_of(i)
    toks = text.tokens
    if i + 1 < stop and toks[i + 1].lower in ("бы", "что"):
        return None  # «если бы», «если что»: not a conditional clause of this kind
    predicates = []
    for t in toks[i + 1 : stop]:
        if t.kind == "punct" and t.text in (",", "—", "–", ";", ":", "(", ")"):
            return None  # the clauses are separated
        if t.is_word and t.lower in ("и", "или", "а", "но"):
            return None  # «если будет темно и холодно»: one clause with joined parts
        # A form of «быть» with the next word is one predicate («если будет нужно»), not two.
        if _predicate(t) and not (
            predicates and predicates[-1] == t.index - 1 and "быть" in text.tokens[t.index - 1].lemmas
        ):
            predicates.append(t.index)
            if len(predicates) == 2:
                return text.span(i, t.index + 1)
    return None


def _split_phrases(text: Text) -> list[str]:
    """Set phrases (data/fixed_phrases.txt) written with a comma inside."""
    out = []
    entries = lexicon.load("fixed_phrases").entries
    for first, stop in text.sentences:
        words = [t for t in text.tokens[first:stop] if t.is_word]
        for e in entries:
            n = len(e.slots)
            for k in range(len(words) - n + 1):
                run = words[k : k + n]
                if not all(s is not None and s.accepts(w.lemmas, w.lower) for s, w in zip(e.slots, run, strict=True)):
                    continue
                between = text.tokens[run[0].index : run[-1].index + 1]
                if any(t.text == "," for t in between) and all(t.is_word or t.text == "," for t in between):
                    out.append(text.span(run[0].index, run[-1].index + 1))
    return out


def check(draft: Draft) -> Finding | None:
    """A finding quoting the misspelt words, wrong forms and badly punctuated places."""
    text = draft.text
    words = misspelt_words(text) + wrong_forms(text) + missing_commas(text)
    if not words:
        return None
    words.sort(key=lambda w: text.source.find(w))
    return finding(Reason.spelling, words)
