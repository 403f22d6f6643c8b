"""Russian text analysis shared by the draft checks: razdel tokens, pymorphy3 parses, natasha NER and dates, hunspell.

Every library and its packaged data is loaded once, on first use, into a module-level cache
(``warm_up()`` does it ahead of time). Nothing here reaches the network: natasha's models come
inside the ``navec``/``slovnet`` wheels, pymorphy3's dictionary in ``pymorphy3-dicts-ru`` and the
hunspell ``ru_RU`` dictionary (A. Lebedev's, BSD licence) shipped in data/hunspell/.

The letter «ё» is folded to «е» in every form used for matching (``Token.lower``, lemmas): the
answer-quality rules say writing «е» for «ё» is no error, and people write both.
"""

from __future__ import annotations

import functools
import re
import threading
from dataclasses import dataclass
from functools import cached_property
from importlib import resources
from typing import TYPE_CHECKING

from razdel import sentenize, tokenize

if TYPE_CHECKING:  # the heavy imports happen lazily in the loaders below
    import pymorphy3
    from pymorphy3.analyzer import Parse

_LOAD_LOCK = threading.Lock()

_WORD_RE = re.compile(r"[А-Яа-яЁёA-Za-z]+(?:-[А-Яа-яЁёA-Za-z]+)*")
_CYRILLIC_RE = re.compile(r"[А-Яа-яЁё]")
_OPEN_QUOTES = {"«", "„", "“"}
_CLOSE_QUOTES = {"»", "”"}


def fold(word: str) -> str:
    """Lower-case ``word`` and fold «ё» to «е» (the form every list and lemma is compared in)."""
    return word.lower().replace("ё", "е")


# --- the libraries, loaded once ---------------------------------------------------------------


@functools.cache
def morph() -> pymorphy3.MorphAnalyzer:
    """The pymorphy3 analyser with the OpenCorpora dictionary (``pymorphy3-dicts-ru``)."""
    import pymorphy3

    with _LOAD_LOCK:
        return pymorphy3.MorphAnalyzer(lang="ru")


@dataclass(frozen=True, slots=True)
class WordInfo:
    """What pymorphy3 knows of one lower-cased word form.

    ``parses`` are pymorphy3's analyses, most probable first; ``lemmas`` their normal forms (ё
    folded); ``known`` is True when the OpenCorpora dictionary itself has the form (not a guess).
    """

    parses: tuple[Parse, ...]
    lemmas: frozenset[str]
    known: bool

    @property
    def best(self) -> Parse:
        """pymorphy3's most probable analysis."""
        return self.parses[0]

    def has(self, grammeme: str) -> bool:
        """True when any analysis carries ``grammeme`` (an OpenCorpora tag such as ``"Surn"``)."""
        return any(grammeme in p.tag for p in self.parses)

    def lemma_with(self, grammeme: str) -> str | None:
        """The normal form of the first analysis carrying ``grammeme``, else None."""
        for p in self.parses:
            if grammeme in p.tag:
                return fold(p.normal_form)
        return None


@functools.lru_cache(maxsize=200_000)
def word_info(word: str) -> WordInfo:
    """pymorphy3's analyses of ``word`` (any case; cached by the lower-cased form)."""
    analyser = morph()
    parses = tuple(analyser.parse(word))
    return WordInfo(
        parses=parses,
        lemmas=frozenset(fold(p.normal_form) for p in parses),
        known=analyser.word_is_known(word),
    )


@functools.cache
def _natasha() -> tuple[object, object]:
    """natasha's segmenter and news NER tagger (navec embeddings + slovnet model, both in wheels)."""
    from natasha import NewsEmbedding, NewsNERTagger, Segmenter

    with _LOAD_LOCK:
        return Segmenter(), NewsNERTagger(NewsEmbedding())


@functools.cache
def dates_extractor() -> object:
    """natasha's rule-based dates extractor (yargy grammar over its own morphology vocabulary)."""
    from natasha import DatesExtractor, MorphVocab

    with _LOAD_LOCK:
        return DatesExtractor(MorphVocab())


@functools.cache
def hunspell() -> object:
    """The hunspell ``ru_RU`` dictionary (A. I. Lebedev, BSD licence: data/hunspell/ru_RU.license) read by spylls
    (pure Python); the two files ship in this package (5 MB) rather than in a 310 MB all-languages wheel.

    Loading takes about two seconds and ~150 MB; the spelling check asks it only about the words
    pymorphy3's dictionary does not know.
    """
    from spylls.hunspell import Dictionary

    # The package installs as plain files, so its data folder is a real path spylls can open.
    folder = resources.files("bot.domain.precheck") / "data" / "hunspell"
    with _LOAD_LOCK:
        return Dictionary.from_files(str(folder / "ru_RU"))


def hunspell_knows(word: str) -> bool:
    """True when hunspell ``ru_RU`` accepts ``word`` (its dictionary spells «ё» as «е»)."""
    return bool(hunspell().lookup(word.replace("ё", "е").replace("Ё", "Е")))


def warm_up() -> None:
    """Load every library and dictionary now (about 4 s, ~400 MB) instead of on the first check."""
    morph()
    word_info("проверка")
    _natasha()
    dates_extractor()
    hunspell()


# --- the analysed text ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Token:
    """One razdel token: its text, character offsets in the source, and where it stands.

    ``kind`` is ``"word"`` (letters, hyphenated parts allowed), ``"number"`` (has a digit) or
    ``"punct"``; ``quoted`` is True inside «…» (names of bodies, shops, programmes).
    """

    text: str
    start: int
    stop: int
    index: int
    sentence: int
    kind: str
    quoted: bool

    @property
    def lower(self) -> str:
        """The text in lower case with «ё» folded to «е»: the form lists are matched against."""
        return fold(self.text)

    @property
    def is_word(self) -> bool:
        """True for a word token (not a number, sign or space)."""
        return self.kind == "word"

    @property
    def is_cyrillic_word(self) -> bool:
        """True for a word with at least one Cyrillic letter."""
        return self.kind == "word" and bool(_CYRILLIC_RE.search(self.text))

    @property
    def info(self) -> WordInfo:
        """pymorphy3's analyses of the word (cached per word form)."""
        return word_info(self.text.lower())

    @property
    def lemmas(self) -> frozenset[str]:
        """Normal forms of all its analyses (words) or the folded text itself (numbers, signs)."""
        return self.info.lemmas if self.kind == "word" else frozenset((self.lower,))

    def pos_in(self, *pos: str) -> bool:
        """True when any analysis has one of the parts of speech ``pos`` (``"VERB"``, ``"NOUN"``…)."""
        return self.kind == "word" and any(p.tag.POS in pos for p in self.info.parses)


def _kind(text: str) -> str:
    if _WORD_RE.fullmatch(text):
        return "word"
    if any(ch.isdigit() for ch in text):
        return "number"
    return "punct"


class Text:
    """A text split by razdel into sentences and tokens, with natasha's entities on demand.

    ``tokens`` is the whole text in order; ``sentences`` holds ``(first, stop)`` token index ranges.
    """

    def __init__(self, source: str) -> None:
        self.source = source
        self.tokens: list[Token] = []
        self.sentences: list[tuple[int, int]] = []
        depth = 0
        straight_open = False
        for n, sent in enumerate(sentenize(source)):
            first = len(self.tokens)
            for t in tokenize(sent.text):
                text = t.text
                if text in _OPEN_QUOTES or (text == '"' and not straight_open):
                    depth += 1
                    straight_open = straight_open or text == '"'
                    quoted = False
                elif text in _CLOSE_QUOTES or (text == '"' and straight_open):
                    depth = max(0, depth - 1)
                    straight_open = straight_open and text != '"'
                    quoted = False
                else:
                    quoted = depth > 0
                start = sent.start + t.start
                self.tokens.append(Token(text, start, start + len(text), len(self.tokens), n, _kind(text), quoted))
            self.sentences.append((first, len(self.tokens)))

    def __repr__(self) -> str:
        return f"Text({self.source!r})"

    def span(self, first: int, stop: int) -> str:
        """The source text from token ``first`` up to token ``stop`` (exclusive), as written."""
        return self.source[self.tokens[first].start : self.tokens[stop - 1].stop]

    def sentence_of(self, index: int) -> tuple[int, int]:
        """The ``(first, stop)`` token range of the sentence holding token ``index``."""
        return self.sentences[self.tokens[index].sentence]

    def sentence_text(self, n: int) -> str:
        """The text of sentence ``n`` (0-based), "" for an empty one."""
        first, stop = self.sentences[n]
        return self.span(first, stop) if stop > first else ""

    def prev_word(self, index: int, skip: frozenset[str] = frozenset()) -> Token | None:
        """The nearest word token before ``index`` in the same sentence, skipping folded ``skip``."""
        first, _ = self.sentence_of(index)
        for i in range(index - 1, first - 1, -1):
            t = self.tokens[i]
            if t.kind == "punct":
                return None
            if t.kind == "word" and t.lower not in skip:
                return t
        return None

    def clause_of(self, index: int) -> tuple[int, int]:
        """The token range around ``index`` bounded by punctuation (, ; : — ( )) or the sentence."""
        first, stop = self.sentence_of(index)
        a = index
        while a > first and not _is_clause_break(self.tokens[a - 1]):
            a -= 1
        b = index + 1
        while b < stop and not _is_clause_break(self.tokens[b]):
            b += 1
        return a, b

    def token_at(self, char: int) -> int | None:
        """The index of the token covering character offset ``char``, else None."""
        for t in self.tokens:
            if t.start <= char < t.stop:
                return t.index
        return None

    @cached_property
    def entities(self) -> list[tuple[str, int, int]]:
        """natasha NER spans as ``(type, first token, stop token)``; type is PER, LOC or ORG."""
        from natasha import Doc

        segmenter, tagger = _natasha()
        doc = Doc(self.source)
        doc.segment(segmenter)
        doc.tag_ner(tagger)
        out = []
        for span in doc.spans:
            first = self.token_at(span.start)
            last = self.token_at(span.stop - 1)
            if first is not None and last is not None:
                out.append((span.type, first, last + 1))
        return out

    @cached_property
    def natasha_dates(self) -> list[tuple[int, int]]:
        """Token ranges of the dates natasha's extractor finds («10 декабря», «мае 2027 года»)."""
        out = []
        for match in dates_extractor()(self.source):
            first = self.token_at(match.start)
            last = self.token_at(match.stop - 1)
            if first is not None and last is not None:
                out.append((first, last + 1))
        return out


_CLAUSE_BREAKS = frozenset(",;:—–()")


def _is_clause_break(t: Token) -> bool:
    return t.kind == "punct" and (t.text in _CLAUSE_BREAKS or t.text == "-")


@functools.lru_cache(maxsize=256)
def analyse(source: str) -> Text:
    """The analysed ``source`` (cached: the post and the draft are looked at by several checks)."""
    return Text(source)
