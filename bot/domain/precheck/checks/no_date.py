"""`no_date`: the problem is not reported solved and no term is given for solving it.

Rule (answer-quality README): "the draft does not report the problem as solved and gives no term.
A term is any calendar bound, in digits or in words … These are not terms: «в ближайшее время»,
«сообщим дополнительно», «с учётом возможностей бюджета», or an event with no calendar bound …
The reason also applies to отписки and redirects. It does not apply to an intermediate answer
that dates both its next step and the final answer, to a justified refusal, to an answer to a
how/why/where question, or to a past incident once the measures taken are reported."
Terms come from terms.py; "solved" is work reported done (actions.py) that is not only a
temporary measure.
"""

from __future__ import annotations

from ..context import Draft
from ..findings import Finding, Reason, finding
from ..nlp import Text


def _solved(draft: Draft) -> bool:
    return any(not a.temporary and not a.partial for a in draft.done)


def _asks_for_information(post: Text) -> bool:
    """The post asks where/how/why («Где оформить…?», «Зачем спилили…?»), not for a problem to be solved.

    A question sentence opening with a word of data/questions.txt (after an optional «Подскажите,»)
    whose verb is an infinitive («где оформить») or a past tense not negated («зачем спилили»).
    «Почему не чистят?» and «Когда заделаете?» ask for action and do not count.
    """
    from .. import lexicon

    openers = lexicon.word_set("questions", "opener")
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
        # The verb right after the question word (a pronoun or «можно» may stand between):
        # «Где оформить», «Где можно получить», «Зачем вы спилили» — not «Где ремонт, который обещали?».
        for k, w in enumerate(words[1:3], 1):
            pos = w.info.best.tag
            if words[k - 1].lower == "не":
                break
            if pos.POS == "INFN" or (pos.POS in ("VERB", "PRTS") and "past" in pos):
                return True
            if pos.POS not in ("NPRO", "PRED", "ADVB", "PRCL"):
                break
    return False


def check(draft: Draft) -> Finding | None:
    """A finding when the draft neither reports the problem solved nor names a term.

    ``words`` are the phrases that promise without a date (data/non_terms.txt), if any.
    """
    if draft.terms or _solved(draft) or draft.measures:
        return None
    if draft.redirect is None and (draft.find("refusals") or _asks_for_information(draft.post)):
        return None
    return finding(Reason.no_date, [m.text for m in draft.find("non_terms")])
