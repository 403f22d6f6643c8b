"""The checks' domain word lists: data files of lemma patterns, each entry with the reason it is there.

A list lives in ``data/<name>.txt``. One entry a line, ``pattern  # why`` — the comment is
required (``load`` raises ``ValueError`` for an entry without one), so that whoever edits a list
sees which rule each entry serves. Lines starting with ``#`` are comments.

A pattern is a sequence of slots separated by spaces, matched against consecutive tokens of one
sentence:

- ``word`` — any form of the word: the slot holds the normal forms (pymorphy3) of all analyses
  of ``word``, and a token matches when one of its own normal forms is among them, so
  «контроле», «контроль», «контролем» all match ``контроль``;
- ``=word`` — exactly this form (lower case, «ё» folded), for the cases where the form carries
  the meaning («силами МУП» is канцелярит, «с новой силой» is not);
- ``a|b`` — either (each side as above);
- ``...`` — up to four tokens of anything in between (punctuation included);
- ``:flag`` after the pattern, e.g. ``огородить :temporary`` — a flag the check reads.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources

from .nlp import Text, fold, word_info

GAP = "..."
GAP_WIDTH = 4


@dataclass(frozen=True, slots=True)
class Slot:
    """One position of a pattern: normal forms or exact folded forms it accepts (either may be empty)."""

    lemmas: frozenset[str]
    forms: frozenset[str]

    def accepts(self, lemmas: frozenset[str], form: str) -> bool:
        """True when a word with these lemmas (or this exact folded form) fills the slot."""
        return form in self.forms or not self.lemmas.isdisjoint(lemmas)


@dataclass(frozen=True, slots=True)
class Entry:
    """One line of a list: the pattern as written, its slots (``None`` = gap), flags and the why."""

    pattern: str
    slots: tuple[Slot | None, ...]
    flags: frozenset[str]
    why: str
    line: int


@dataclass(frozen=True, slots=True)
class Match:
    """Where an entry matched: tokens ``first`` up to ``stop`` (exclusive) and the text as written."""

    entry: Entry
    first: int
    stop: int
    text: str


def _slot(word: str) -> Slot:
    lemmas: set[str] = set()
    forms: set[str] = set()
    for alt in word.split("|"):
        if alt.startswith("="):
            forms.add(fold(alt[1:]))
        else:
            forms.add(fold(alt))
            lemmas |= word_info(alt.lower()).lemmas
    return Slot(frozenset(lemmas), frozenset(forms))


def parse_entries(lines: Iterable[str], name: str = "<list>") -> list[Entry]:
    """Parse list lines into entries; ``ValueError`` names the line of an entry without a ``# why``."""
    entries = []
    for n, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        pattern, sep, why = line.partition("#")
        why = why.strip()
        if not sep or not why:
            raise ValueError(f"{name}:{n}: entry {line!r} has no '# why' comment")
        words = pattern.split()
        flags = frozenset(w[1:] for w in words if w.startswith(":"))
        words = [w for w in words if not w.startswith(":")]
        if not words or words[0] == GAP or words[-1] == GAP:
            raise ValueError(f"{name}:{n}: pattern {pattern.strip()!r} is empty or starts/ends with a gap")
        slots = tuple(None if w == GAP else _slot(w) for w in words)
        entries.append(Entry(" ".join(words), slots, flags, why, n))
    return entries


class PhraseList:
    """A loaded list: finds its entries in a text, indexed by the first slot for speed."""

    def __init__(self, name: str, entries: list[Entry]) -> None:
        self.name = name
        self.entries = entries
        self._by_lemma: dict[str, list[Entry]] = defaultdict(list)
        self._by_form: dict[str, list[Entry]] = defaultdict(list)
        for e in entries:
            first = e.slots[0]
            assert first is not None
            for lemma in first.lemmas:
                self._by_lemma[lemma].append(e)
            for form in first.forms:
                self._by_form[form].append(e)

    def __len__(self) -> int:
        return len(self.entries)

    def find(self, text: Text, first: int = 0, stop: int | None = None) -> list[Match]:
        """All matches in ``text`` starting within tokens ``first``..``stop``, longest first per start.

        Matches never cross a sentence end. Overlapping matches of different entries are all kept.
        """
        stop = len(text.tokens) if stop is None else stop
        out: list[Match] = []
        for i in range(first, stop):
            tok = text.tokens[i]
            if tok.kind == "punct":
                continue
            lemmas, form = tok.lemmas, tok.lower
            candidates = {id(e): e for lemma in lemmas for e in self._by_lemma.get(lemma, ())}
            candidates.update({id(e): e for e in self._by_form.get(form, ())})
            _, sent_stop = text.sentence_of(i)
            found = []
            for entry in candidates.values():
                end = _match(text, entry.slots, 0, i, sent_stop)
                if end is not None:
                    found.append(Match(entry, i, end, text.span(i, end)))
            found.sort(key=lambda m: m.first - m.stop)
            out.extend(found)
        return out

    def single_words(self, flag: str | None = None) -> frozenset[str]:
        """The normal forms of the one-word entries (carrying ``:flag`` when given): a list as a word set."""
        return frozenset(
            lemma
            for e in self.entries
            if len(e.slots) == 1 and (flag is None or flag in e.flags)
            for lemma in e.slots[0].lemmas  # type: ignore[union-attr]
        )


def _match(text: Text, slots: tuple[Slot | None, ...], k: int, i: int, limit: int) -> int | None:
    """Match ``slots[k:]`` at token ``i``; the stop index of the match, else None."""
    if k == len(slots):
        return i
    slot = slots[k]
    if slot is None:
        for skip in range(GAP_WIDTH + 1):
            if i + skip >= limit:
                break
            end = _match(text, slots, k + 1, i + skip, limit)
            if end is not None:
                return end
        return None
    # Punctuation between two slots of a phrase breaks it, except a hyphen inside a word.
    while i < limit and text.tokens[i].kind == "punct" and k and text.tokens[i].text in '«»"':
        i += 1
    if i >= limit:
        return None
    tok = text.tokens[i]
    if tok.kind == "punct" or not slot.accepts(tok.lemmas, tok.lower):
        return None
    return _match(text, slots, k + 1, i + 1, limit)


@functools.cache
def load(name: str, package: str = __package__) -> PhraseList:
    """The list ``data/<name>.txt`` of ``package`` (this one by default), parsed once.

    Raises ``FileNotFoundError`` for an unknown list and ``ValueError`` for an entry without a why.
    """
    source = resources.files(package).joinpath("data", f"{name}.txt").read_text(encoding="utf-8")
    return PhraseList(name, parse_entries(source.splitlines(), f"{package}/data/{name}.txt"))


@functools.cache
def word_set(name: str, flag: str | None = None, package: str = __package__) -> frozenset[str]:
    """The normal forms of the one-word entries of list ``name`` (only those with ``:flag`` if given)."""
    return load(name, package).single_words(flag)


def list_names(package: str = __package__) -> list[str]:
    """The names of all lists in ``package``'s data folder (for tests that check every entry has a why)."""
    folder = resources.files(package).joinpath("data")
    return sorted(p.name[: -len(".txt")] for p in folder.iterdir() if p.name.endswith(".txt"))
