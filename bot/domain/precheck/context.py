"""One pre-check run: the analysed post and draft, and the facts several checks share, each computed once."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property

from . import lexicon
from .actions import Action, When, actions, past_verb_lemmas
from .findings import Finding
from .lexicon import Match
from .nlp import Text, Token, analyse
from .terms import Term, future_terms


def _real(matches: list[Match], text: Text, past_only: bool = False) -> list[Match]:
    """Matches not negated by a «не» right before them, and (``past_only``) holding a past verb."""
    out = []
    for m in matches:
        prev = text.prev_word(m.first)
        if prev is not None and prev.lower == "не":
            continue
        if past_only and not any(
            p.tag.POS in ("VERB", "PRTS") and "past" in p.tag
            for t in text.tokens[m.first : m.stop]
            if t.is_word
            for p in t.info.parses[:1]
        ):
            continue
        out.append(m)
    return out


def asks_for_information(post: Text, kinds: str = "opener") -> bool:
    """The post asks where/how/why («Где оформить…?», «Зачем спилили…?»), not for a problem to be solved.

    A question sentence opening with a word of data/questions.txt (after an optional «Подскажите,»)
    whose verb is an infinitive («где оформить») or a past tense not negated («зачем спилили»); a bare
    «Почему?» / «Зачем?» asks about the sentence before it, which then needs such a past verb («Мне
    отказали без объяснений. Почему?»). «Почему не чистят?» and «Когда заделаете?» ask for action.
    ``kinds``: the flag of the question words counted — "opener" (all of them) or "where" (где, куда, как:
    the answer is a place or a way to turn to).
    """
    openers = lexicon.word_set("questions", kinds)
    politeness = lexicon.word_set("questions", "polite")
    waiting = lexicon.word_set("questions", "when")
    for first, stop in post.sentences:
        words = [t for t in post.tokens[first:stop] if t.is_word]
        if not words or "?" not in post.sentence_text(post.tokens[first].sentence):
            continue
        while words and not words[0].lemmas.isdisjoint(politeness):
            words = words[1:]
        if not words or words[0].lemmas.isdisjoint(openers):
            continue
        if any(not w.lemmas.isdisjoint(waiting) for w in words):
            continue  # «Как долго ещё ждать?» asks when, not how
        if len(words) == 1 and first > 0:  # «Почему?» alone: about what the sentence before it reports
            before = post.tokens[slice(*post.sentence_of(first - 1))]
            if _past_not_negated(before):
                return True
            continue
        # The verb right after the question word (a pronoun, «можно» or a prepositional phrase may stand
        # between): «Где оформить», «Где можно получить», «Зачем вы спилили», «Почему на старом кладбище
        # запретили…» — not «Где ремонт, который обещали?».
        governed = False  # inside a prepositional phrase: its adjectives, nouns and numbers are passed over
        for k, w in enumerate(words[1:_QUESTION_REACH], 1):
            pos = w.info.best.tag
            if words[k - 1].lower == "не":
                break
            if pos.POS == "INFN" or (pos.POS in ("VERB", "PRTS") and "past" in pos):
                return True
            if pos.POS == "PREP":
                governed = True
            elif governed and pos.POS in _PHRASE_POS:
                continue
            elif pos.POS not in ("NPRO", "PRED", "ADVB", "PRCL"):
                break
    return False


_QUESTION_REACH = 8  # words after the question word within which its verb is looked for
_PHRASE_POS = ("ADJF", "NOUN", "NUMR", "PRTF", "NPRO")


def _past_not_negated(tokens: Sequence[Token]) -> bool:
    """A verb or short participle in the past tense among ``tokens`` with no «не» right before it."""
    words = [t for t in tokens if t.is_word]
    for k, w in enumerate(words):
        tag = w.info.best.tag
        if tag.POS in ("VERB", "PRTS") and "past" in tag and not (k and words[k - 1].lower == "не"):
            return True
    return False


class Draft:
    """The inputs of one check — the citizen's post, the draft, the number of attachments — and shared facts.

    Only the draft is judged (answer-quality README); the post serves to tell a question asking
    for information («Где оформить…?») from a complaint.
    """

    def __init__(self, post: str, draft: str, attachments: int) -> None:
        if attachments < 0:
            raise ValueError(f"attachments must be >= 0, got {attachments}")
        self.post = analyse(post or "")
        self.text = analyse(draft or "")
        self.attachments = attachments

    def find(self, name: str) -> list[Match]:
        """Matches of the list ``data/<name>.txt`` in the draft."""
        return lexicon.load(name).find(self.text)

    @cached_property
    def actions(self) -> list[Action]:
        """Every action the draft reports, done or planned, in text order (see actions.actions)."""
        why = asks_for_information(self.post, "why")
        return actions(self.text, complained=past_verb_lemmas(self.post), asked_why=why)

    @cached_property
    def done(self) -> list[Action]:
        """Work the draft asserts is done (in whole, in part or temporarily)."""
        return [a for a in self.actions if a.when is When.done and a.real]

    @cached_property
    def planned(self) -> list[Action]:
        """Work the draft asserts will be done."""
        return [a for a in self.actions if a.when is When.planned and a.real]

    @cached_property
    def terms(self) -> list[Term]:
        """Calendar bounds of what is still to come (terms.future_terms)."""
        return future_terms(self.text)

    @cached_property
    def causes(self) -> list[Match]:
        """Statements of a cause («из-за», «потому что», «причина»): data/causes.txt."""
        return self.find("causes")

    @cached_property
    def inquiries(self) -> list[Match]:
        """Checks and findings done or planned («проверили», «выяснили», «замерят»): data/inquiries.txt."""
        return _real(self.find("inquiries"), self.text)

    @cached_property
    def measures(self) -> list[Match]:
        """Disciplinary and administrative measures taken (past tense only): data/measures.txt."""
        return _real(self.find("measures"), self.text, past_only=True)

    @cached_property
    def concrete(self) -> bool:
        """The draft says something concrete about the problem (answer-quality rule `no_merits`):

        a cause or finding, an action done or planned (with what exactly), or a calendar term.
        """
        return bool(self.done or self.planned or self.terms or self.causes or self.inquiries or self.measures)

    @cached_property
    def asks_for_information(self) -> bool:
        """The post asks where/how/why rather than for a problem to be solved (see asks_for_information)."""
        return asks_for_information(self.post)

    @cached_property
    def asks_where(self) -> bool:
        """The post asks where or how to turn to («Куда звонить, если…?»): telling it is the answer."""
        return asks_for_information(self.post, "where")

    @cached_property
    def redirect(self) -> Finding | None:
        """The redirect check's finding, computed once: other checks ask whether the draft only redirects."""
        from .checks import redirect

        return redirect.check(self)
