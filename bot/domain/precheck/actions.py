"""What a text says was done or will be done about the problem: work actions found through verbs' tenses.

Shared by `no_evidence` (work done needs a photo), `no_date` (work done means solved),
`no_merits` and `redirect` (a concrete action done or planned is an answer on the merits).
The verbs and nouns come from data/work_verbs.txt, light_verbs.txt and work_nouns.txt, the
exceptions from not_work.txt; the tenses and voices from pymorphy3.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from . import lexicon
from .nlp import Text, Token, fold

# Words that turn the infinitive after them into a commitment of the writer or a named body.
_COMMITMENT = frozenset(
    {
        "быть",  # «будем убирать», «будет заменён»
        "планировать",
        "планироваться",
        "намереваться",
        "собираться",
        "предстоять",
        "обязаться",
        "рассчитывать",
        "должный",  # «должен/должна» (pymorphy3's normal form of the short adjective)
        "пообещать",
        "обещать",
    }
)
# Words that, in the past tense, make the infinitive after them work begun: done in part.
_BEGIN = frozenset({"начать", "приступить", "стать"})
# Words that make a verb hypothetical or a purpose, not a report: «если не уберут», «чтобы убрать».
_HYPOTHETICAL = frozenset({"если", "чтобы", "чтоб", "бы", "когда"})
_NEGATIONS = frozenset({"не", "ни"})
_TEMPORARY_WORDS = frozenset({"временно", "временный", "пока"})
# A misspelt short participle («демонтированно») is guessed as an adjective: back to its verb.
_PARTICIPLE_TAIL = re.compile(r"(ова|ева|а|я)нн?ый$")


class When(StrEnum):
    """When an action happens according to the text."""

    done = "done"  # past tense or past passive participle: reported as done
    planned = "planned"  # future tense or a commitment with an infinitive
    other = "other"  # generic present, request, purpose, hypothesis


@dataclass(frozen=True, slots=True)
class Action:
    """A work action in a text: the verb's tokens, its normal form, when, and how it is qualified.

    ``partial`` marks work begun («начали ремонт»); ``temporary`` a measure that does not solve the
    problem («огородили», «временно»); ``negated`` a «не» before it.
    """

    first: int
    stop: int
    text: str
    lemma: str
    when: When
    negated: bool
    temporary: bool
    partial: bool = False

    @property
    def real(self) -> bool:
        """Not negated: the text asserts the action."""
        return not self.negated


def _clause_words(text: Text, index: int) -> list[Token]:
    a, b = text.clause_of(index)
    return [t for t in text.tokens[a:b] if t.is_word]


def _negated(text: Text, index: int) -> bool:
    """A «не»/«ни» among the three words before ``index`` in its clause («ещё не убрали»)."""
    a, _ = text.clause_of(index)
    words = [t for t in text.tokens[a:index] if t.is_word][-3:]
    return any(t.lower in _NEGATIONS for t in words)


def _hypothetical(text: Text, index: int) -> bool:
    """``index`` stands in an «если…»/«чтобы…» clause or with «бы»: not a report of fact."""
    a, _ = text.clause_of(index)
    return any(t.lower in _HYPOTHETICAL for t in text.tokens[a:index] if t.is_word)


def _temporary(text: Text, index: int) -> bool:
    first, stop = text.sentence_of(index)
    return any(not t.lemmas.isdisjoint(_TEMPORARY_WORDS) for t in text.tokens[first:stop] if t.is_word)


def _when_infinitive(text: Text, index: int, perfective: bool) -> tuple[When, bool]:
    """The time of an infinitive from the words of its clause: (when, partial)."""
    for t in _clause_words(text, index):
        if t.index == index:
            continue
        if not t.lemmas.isdisjoint(_BEGIN) and any("past" in p.tag for p in t.info.parses):
            return When.done, True
        # «обязана убирать» states a duty; «должен уложить» commits to one action.
        if not t.lemmas.isdisjoint(_COMMITMENT) and ("быть" in t.lemmas or perfective):
            return When.planned, False
    return When.other, False


def _when_finite(text: Text, index: int, tok: Token, lemma_ok: frozenset[str], active_only: frozenset[str]):
    """(when, lemma, partial) of the work reading of ``tok``, or None when it has none."""
    info = tok.info
    lemma_of = {}
    for p in info.parses:
        lemma = p.normal_form.replace("ё", "е")
        pos = p.tag.POS
        if pos in ("ADJS", "ADVB") and not info.known:
            lemma = _PARTICIPLE_TAIL.sub(lambda m: m.group(1) + "ть", lemma)
            pos = "PRTS"
        if lemma not in lemma_ok or pos not in ("VERB", "PRTS", "INFN", "GRND"):
            continue
        if pos == "PRTS" and lemma in active_only:
            continue
        lemma_of.setdefault(pos, (lemma, p))
    if not lemma_of:
        return None
    if "VERB" in lemma_of:
        # Prefer the reading that reports (a perfective future form is also a 1st person imperative).
        for pos_lemma in (p for p in info.parses if p.tag.POS == "VERB"):
            lemma = pos_lemma.normal_form.replace("ё", "е")
            if lemma not in lemma_ok:
                continue
            if "past" in pos_lemma.tag:
                return When.done, lemma, False
            if "futr" in pos_lemma.tag:
                return When.planned, lemma, False
        return When.other, lemma_of["VERB"][0], False
    if "PRTS" in lemma_of:
        lemma = lemma_of["PRTS"][0]
        # «будет заменён», «должна быть убрана»: a future passive.
        clause = _clause_words(text, index)
        if any(t.lower in ("будет", "будут", "быть") for t in clause):
            return When.planned, lemma, False
        # «До мая переход обозначен знаками»: a state that lasts until then, not a report of work.
        if any(t.lower == "до" for t in clause) and not any(t.lower in ("уже", "сегодня", "вчера") for t in clause):
            return When.other, lemma, False
        return When.done, lemma, False
    if "GRND" in lemma_of:
        lemma, p = lemma_of["GRND"]
        return (When.done if "past" in p.tag else When.other), lemma, False
    lemma, p = lemma_of["INFN"]
    when, partial = _when_infinitive(text, index, "perf" in p.tag)
    return when, lemma, partial


def _explains(text: Text, verb: int, cause: int) -> bool:
    """The cause conjunction at ``cause`` follows the verb at ``verb`` in its sentence."""
    return verb < cause < text.sentence_of(verb)[1]


def past_verb_lemmas(text: Text) -> frozenset[str]:
    """Normal forms of the past-tense verbs and past participles of ``text`` («спилили», «закрыта»).

    A short form read first as an adjective («мост закрыт»: «закрытый») counts by its participle reading:
    in a complaint it reports the state the author complains of. A negated one («яму так и не заделали») is
    what the author asks for, and is left out."""
    out = set()
    for t in text.tokens:
        if not t.is_cyrillic_word:
            continue
        before = text.prev_word(t.index)
        if before is not None and before.lower in _NEGATIONS:
            continue
        for k, p in enumerate(t.info.parses):
            if "past" in p.tag and (p.tag.POS == "PRTS" or (k == 0 and p.tag.POS == "VERB")):
                out.add(fold(p.normal_form))
                break
    return frozenset(out)


def actions(text: Text, complained: frozenset[str] = frozenset(), asked_why: bool = False) -> list[Action]:
    """Every work action in ``text``, in order (one per verb token).

    ``complained`` are verbs the citizen's post reports in the past tense («машину эвакуировали»,
    «зачем спилили»): the same verb done in the draft restates the event complained of, and is
    not work on the problem. ``asked_why``: the post asks why something was done («Почему запретили
    въезд?»); a verb done that a «потому что» / «так как» / «из-за» later in its sentence explains
    («Въезд закрыли, потому что…») restates that decision to give its ground, and is not work either.
    """
    verbs = lexicon.word_set("work_verbs")
    active_only = lexicon.word_set("work_verbs", "active")
    temporary = lexicon.word_set("work_verbs", "temporary")
    light = lexicon.word_set("light_verbs")
    partial_light = lexicon.word_set("light_verbs", "partial")
    nouns = lexicon.word_set("work_nouns")
    excluded = {i for m in lexicon.load("not_work").find(text) for i in range(m.first, m.stop)}
    violation_clauses = {text.clause_of(m.first) for m in lexicon.load("violations").find(text)}
    because = [m.first for m in lexicon.load("causes").find(text) if "because" in m.entry.flags] if asked_why else []
    out: list[Action] = []
    for tok in text.tokens:
        if not tok.is_cyrillic_word or tok.index in excluded:
            continue
        found = _when_finite(text, tok.index, tok, verbs, active_only)
        is_light = False
        if found is None:
            found = _when_finite(text, tok.index, tok, light, frozenset())
            if found is None:
                continue
            clause = _clause_words(text, tok.index)
            if not any(not t.lemmas.isdisjoint(nouns) or (t.index != tok.index and t.lemmas & verbs) for t in clause):
                continue
            is_light = True
        when, lemma, partial = found
        if is_light and lemma in partial_light and when is When.done:
            partial = True
        if _hypothetical(text, tok.index) and when is not When.done:
            when = When.other
        if text.clause_of(tok.index) in violation_clauses:
            when = When.other  # «поставлен без разрешения»: the offence, not the work
        if when is When.done and lemma in complained:
            when = When.other  # «Вашу машину эвакуировали, потому что…»: the event complained of
        if when is When.done and any(_explains(text, tok.index, k) for k in because):
            when = When.other  # «Почему закрыли въезд?» — «Въезд закрыли, потому что…»: the decision explained
        out.append(
            Action(
                first=tok.index,
                stop=tok.index + 1,
                text=tok.text,
                lemma=lemma,
                when=when,
                negated=_negated(text, tok.index),
                temporary=lemma in temporary or _temporary(text, tok.index),
                partial=partial,
            )
        )
    return out
