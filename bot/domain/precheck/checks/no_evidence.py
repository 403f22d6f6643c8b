"""`no_evidence`: the draft reports work done on the problem and nothing is attached.

Rule (answer-quality README): "the draft says work on the problem is done, in whole or in part and
including temporary measures (repaired, cleaned, removed, installed, fenced, dogs caught), and
`attachments` is 0. The count decides: «фото прилагаем» with 0 attachments is still a fault, and
any attachment counts as evidence. Planned work, inspections, letters, warnings and disciplinary
measures need no evidence." Work done is found by actions.py (past tense of a work verb).
"""

from __future__ import annotations

from ..context import Draft
from ..findings import Finding, Reason, finding


def check(draft: Draft) -> Finding | None:
    """A finding quoting the verbs that report work done, when ``draft.attachments`` is 0."""
    if draft.attachments > 0 or not draft.done:
        return None
    return finding(Reason.no_evidence, [a.text for a in draft.done])
