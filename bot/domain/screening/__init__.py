"""Screening of a citizen's post on registration (issue 13 §2): candidates "not to be answered".

All five regulations exclude obscene, insulting and threatening messages from answering. This
module only flags candidates — ``screen_post(text)`` returns a ``Flag`` per kind with the words
that triggered it — and a person decides («Не подлежит рассмотрению» with the reason pre-filled).

- obscenity: roots of мат (data/obscene_roots.txt) at a word's start or after a verbal prefix
  (data/obscene_prefixes.txt), on words normalised against the usual disguises: masks («х*й»,
  «п#зда»), Latin look-alikes and digits («xyй», «3», «0», «@»), Latin transliteration, repeated
  letters, letters spaced out («х у й», «х.у.й»);
- insults: lemmas of name-calling words (data/insults.txt), some only when said of people;
- threats: violent verbs in the first person future, the imperative, or an infinitive of intent,
  and threat phrases (data/threats.txt), on pymorphy3 lemmas.

The maintained package ``check-swear`` was considered and not used: it pins scikit-learn 1.4.0
and downloads NLTK stop words at run time, which this project cannot do.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from enum import StrEnum
from importlib import resources

from bot.domain.precheck import lexicon
from bot.domain.precheck.nlp import Text, Token, analyse, fold, word_info

_PACKAGE = __name__


class Kind(StrEnum):
    """Why a post may be excluded from answering (the seeds' exclusion grounds)."""

    obscenity = "obscenity"
    insult = "insult"
    threat = "threat"


@dataclass(frozen=True, slots=True)
class Flag:
    """A candidate ground for not answering: its ``kind`` and the post's ``words`` as written."""

    kind: Kind
    words: tuple[str, ...]


# --- obscenity ------------------------------------------------------------------------------------

# Latin letters and digits that stand in for Cyrillic ones inside a Cyrillic word.
_LOOKALIKE = str.maketrans(
    {
        "a": "а",
        "b": "в",
        "c": "с",
        "e": "е",
        "k": "к",
        "m": "м",
        "h": "н",
        "o": "о",
        "p": "р",
        "t": "т",
        "x": "х",
        "y": "у",
        "u": "и",
        "3": "з",
        "0": "о",
        "6": "б",
        "4": "ч",
        "ё": "е",
    }
)
# Transliteration of a word written in Latin letters only («hui», «blyat»), longest first.
_TRANSLIT = (
    ("shch", "щ"),
    ("sch", "щ"),
    ("sh", "ш"),
    ("ch", "ч"),
    ("zh", "ж"),
    ("kh", "х"),
    ("ya", "я"),
    ("ja", "я"),
    ("yu", "ю"),
    ("ju", "ю"),
    ("yo", "е"),
    ("jo", "е"),
    ("a", "а"),
    ("b", "б"),
    ("c", "ц"),
    ("d", "д"),
    ("e", "е"),
    ("f", "ф"),
    ("g", "г"),
    ("h", "х"),
    ("i", "и"),
    ("j", "й"),
    ("k", "к"),
    ("l", "л"),
    ("m", "м"),
    ("n", "н"),
    ("o", "о"),
    ("p", "п"),
    ("r", "р"),
    ("s", "с"),
    ("t", "т"),
    ("u", "у"),
    ("v", "в"),
    ("w", "в"),
    ("x", "х"),
    ("y", "й"),
    ("z", "з"),
    ("'", "ь"),
)
_MASKS = "*#$%_?@"  # «@» stands for «а» as often as for any other masked letter
_MASK_FILL = "аеиоуыяюй"  # a masked letter in мат is almost always a vowel or «й»
_WORD = re.compile(r"[0-9A-Za-zА-Яа-яЁё@*#$%_]+(?:[.\-'][0-9A-Za-zА-Яа-яЁё@*#$%_]+)*")
# Letters spaced out or dotted: «х у й», «х.у.й», «б-л-я».
_SPACED = re.compile(r"(?<![\wА-Яа-яЁё])(?:[A-Za-zА-Яа-яЁё@*#][\s.\-]){2,}[A-Za-zА-Яа-яЁё@*#](?![\wА-Яа-яЁё])")


@dataclass(frozen=True, slots=True)
class _Root:
    pattern: re.Pattern[str]
    anywhere: bool


def _read(name: str) -> list[tuple[str, frozenset[str]]]:
    """Lines of a regular-expression list: ``(pattern, flags)``; every entry must carry ``# why``."""
    source = resources.files(_PACKAGE).joinpath("data", f"{name}.txt").read_text(encoding="utf-8")
    out = []
    for n, raw in enumerate(source.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        pattern, sep, why = line.partition("  #")
        if not sep or not why.strip():
            raise ValueError(f"{name}.txt:{n}: entry {line!r} has no '# why' comment")
        words = pattern.split()
        out.append((words[0], frozenset(w[1:] for w in words[1:] if w.startswith(":"))))
    return out


@functools.cache
def _roots() -> tuple[_Root, ...]:
    return tuple(_Root(re.compile(p), "anywhere" in flags) for p, flags in _read("obscene_roots"))


@functools.cache
def _prefixes() -> tuple[str, ...]:
    return ("", *sorted((p for p, _ in _read("obscene_prefixes")), key=len, reverse=True))


def normalise(word: str) -> str:
    """``word`` as the obscenity roots are matched: lower case, «ё» as «е», look-alikes read as
    Cyrillic (or a Latin-only word transliterated), separators dropped, repeated letters collapsed."""
    w = word.lower().replace(".", "").replace("-", "")
    if re.fullmatch(r"[a-z']+", w):
        for latin, cyr in _TRANSLIT:
            w = w.replace(latin, cyr)
    else:
        w = w.translate(_LOOKALIKE)
    return re.sub(r"(.)\1+", r"\1", w)


def _obscene_form(w: str) -> bool:
    for root in _roots():
        if root.anywhere:
            if root.pattern.search(w):
                return True
            continue
        for prefix in _prefixes():
            if w.startswith(prefix) and root.pattern.match(w, len(prefix)):
                return True
    return False


def is_obscene(word: str) -> bool:
    """True when ``word``, however disguised, is built on a root of мат.

    A masked letter («*», «#», «_»…) may stand for any vowel or «й»; up to two masks are tried.
    """
    w = normalise(word)
    masks = [i for i, ch in enumerate(w) if ch in _MASKS]
    if not masks:
        return _obscene_form(w) or _obscene_form(fold(word_info(w).best.normal_form))
    if len(masks) > 2 or len(w) - len(masks) < 2:
        return False
    candidates = [w]
    for i in masks:
        candidates = [c[:i] + fill + c[i + 1 :] for c in candidates for fill in _MASK_FILL]
    return any(_obscene_form(c) for c in candidates)


def _obscene(source: str) -> list[str]:
    out = []
    spaced_spans = []
    for m in _SPACED.finditer(source):
        joined = re.sub(r"[\s.\-]", "", m.group(0))
        if is_obscene(joined):
            out.append((m.start(), m.group(0)))
            spaced_spans.append((m.start(), m.end()))
    for m in _WORD.finditer(source):
        if any(a <= m.start() < b for a, b in spaced_spans):
            continue
        if is_obscene(m.group(0)):
            out.append((m.start(), m.group(0)))
    return [w for _, w in sorted(out)]


# --- insults and threats --------------------------------------------------------------------------

_ADDRESSING = frozenset(
    {"ты", "вы", "вас", "вам", "тебя", "тебе", "этот", "эти", "эта", "какой", "какие", "все", "сам", "сами"}
)
_INTENT = frozenset({"надо", "нужно", "хочется", "хотеть", "готовый", "пора", "бы", "стоит", "следует"})


def _addressed(text: Text, tok: Token) -> bool:
    """The word is said of people: after a pronoun of address within two words, or before «!»."""
    first, stop = text.sentence_of(tok.index)
    before = [t for t in text.tokens[first : tok.index] if t.is_word][-2:]
    if any(t.lower in _ADDRESSING or not t.lemmas.isdisjoint(_ADDRESSING) for t in before):
        return True
    nxt = text.tokens[tok.index + 1] if tok.index + 1 < stop else None
    return nxt is not None and "!" in nxt.text


def _insults(text: Text) -> list[str]:
    always = lexicon.word_set("insults", None, _PACKAGE) - lexicon.word_set("insults", "addressed", _PACKAGE)
    addressed = lexicon.word_set("insults", "addressed", _PACKAGE)
    out = []
    for tok in text.tokens:
        if not tok.is_cyrillic_word:
            continue
        noun_lemmas = {fold(p.normal_form) for p in tok.info.parses if p.tag.POS in ("NOUN", "ADJF", "ADJS")}
        if noun_lemmas & always or (noun_lemmas & addressed and _addressed(text, tok)):
            out.append(tok.text)
    return out


def _threat_reading(text: Text, tok: Token, violent: frozenset[str]) -> bool:
    for p in tok.info.parses:
        if fold(p.normal_form) not in violent:
            continue
        tag = p.tag
        if tag.POS == "VERB" and "futr" in tag and ("1per" in tag or "2per" in tag):
            return True  # «сожгу», «взорвём»; «вас убьёшь» is rare, «пожалеете» is a phrase
        if tag.POS == "VERB" and "impr" in tag:
            return True  # «убейте их»
        if tag.POS == "INFN":
            first, _ = text.sentence_of(tok.index)
            before = [t for t in text.tokens[first : tok.index] if t.is_word][-4:]
            if any(not t.lemmas.isdisjoint(_INTENT) or t.lower in _INTENT for t in before):
                return True  # «надо их всех перестрелять», «сжечь бы»
            after = text.tokens[tok.index + 1] if tok.index + 1 < len(text.tokens) else None
            if after is not None and after.lower == "бы":
                return True
    return False


def _threats(text: Text) -> list[str]:
    violent = lexicon.word_set("threats", "violent", _PACKAGE)
    out = []
    for tok in text.tokens:
        if tok.is_cyrillic_word and not tok.lemmas.isdisjoint(violent) and _threat_reading(text, tok, violent):
            prev = text.prev_word(tok.index)
            if prev is not None and prev.lower == "не":
                continue
            out.append((tok.start, tok.text))
    for m in lexicon.load("threats", _PACKAGE).find(text):
        if len(m.entry.slots) > 1:
            out.append((text.tokens[m.first].start, m.text))
    return [w for _, w in sorted(out)]


def screen_post(text: str) -> list[Flag]:
    """Flags for the grounds on which ``text`` (a citizen's post) may be excluded from answering.

    Returns at most one ``Flag`` per kind, in the order obscenity, insult, threat, each with the
    words as written in the post; an empty list when nothing is suspected. Deterministic; a person
    decides (issue 13 §2).
    """
    if not text or not text.strip():
        return []
    analysed = analyse(text)
    found = [
        (Kind.obscenity, _obscene(text)),
        (Kind.insult, _insults(analysed)),
        (Kind.threat, _threats(analysed)),
    ]
    flags = []
    for kind, words in found:
        unique = tuple(dict.fromkeys(words))
        if unique:
            flags.append(Flag(kind, unique))
    return flags


def warm_up() -> None:
    """Load the lists and the morphology now, so the first registration is not slowed."""
    _roots()
    _prefixes()
    screen_post("Проверка связи.")
