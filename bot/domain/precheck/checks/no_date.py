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


def _solved(draft: Draft) -> bool:
    return any(not a.temporary and not a.partial for a in draft.done)


def check(draft: Draft) -> Finding | None:
    """A finding when the draft neither reports the problem solved nor names a term.

    ``words`` are the phrases that promise without a date (data/non_terms.txt), if any.
    """
    if draft.terms or _solved(draft) or draft.measures:
        return None
    if draft.redirect is None and (draft.find("refusals") or draft.asks_for_information):
        return None
    return finding(Reason.no_date, [m.text for m in draft.find("non_terms")])
