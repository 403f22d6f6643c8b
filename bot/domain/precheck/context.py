"""One pre-check run: the analysed post and draft, and the facts several checks share, each computed once."""

from __future__ import annotations

from functools import cached_property

from . import lexicon
from .actions import Action, When, actions, past_verb_lemmas
from .findings import Finding
from .lexicon import Match
from .nlp import Text, analyse
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
        return actions(self.text, complained=past_verb_lemmas(self.post))

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
    def redirect(self) -> Finding | None:
        """The redirect check's finding, computed once: other checks ask whether the draft only redirects."""
        from .checks import redirect

        return redirect.check(self)
