"""The pre-check's vocabulary: the eight reasons, a finding, advice keys and the curator's return reasons.

The reasons are the answer-quality checklist (issue 13 §1, ../shared/answer-quality/README.md);
each maps to one of the return reasons a curator ticks (SPEC §3, ``bot.domain.incident.ReturnReason``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.domain.incident import ReturnReason


class Reason(StrEnum):
    """A checklist reason the pre-check can find in a draft (answer-quality README, one rule each)."""

    no_merits = "no_merits"  # an отписка: nothing concrete about this problem
    no_date = "no_date"  # not solved and no calendar bound for the solution
    no_evidence = "no_evidence"  # work reported done, no attachment
    bureaucratese = "bureaucratese"  # legal references, official clichés, chains of verbal nouns
    abbreviations = "abbreviations"  # a letter abbreviation not expanded at first use
    personal_data = "personal_data"  # another private person made identifiable
    redirect = "redirect"  # the author is sent elsewhere, nobody named does anything
    spelling = "spelling"  # spelling, wrong forms, punctuation


@dataclass(frozen=True, slots=True)
class Finding:
    """One reason found in a draft.

    ``words`` are the draft's own words that triggered it, as written and in order of appearance
    (empty when the fault is an absence, e.g. no term at all); ``advice_key`` names the advice the
    interface shows (``"precheck.no_date"`` …), stable across versions.
    """

    reason: Reason
    words: tuple[str, ...]
    advice_key: str

    @property
    def return_reason(self) -> ReturnReason:
        """The curator's return reason this finding pre-ticks (SPEC §3)."""
        return RETURN_REASONS[self.reason]


ADVICE_KEYS: dict[Reason, str] = {r: f"precheck.{r.value}" for r in Reason}

# The return reasons of SPEC §3 are coarser: канцелярит and abbreviations are both "wrong format".
RETURN_REASONS: dict[Reason, ReturnReason] = {
    Reason.no_merits: ReturnReason.not_on_merits,
    Reason.no_date: ReturnReason.no_date,
    Reason.no_evidence: ReturnReason.no_evidence,
    Reason.bureaucratese: ReturnReason.wrong_format,
    Reason.abbreviations: ReturnReason.wrong_format,
    Reason.personal_data: ReturnReason.personal_data,
    Reason.redirect: ReturnReason.redirects,
    Reason.spelling: ReturnReason.spelling,
}


def finding(reason: Reason, words: list[str] | tuple[str, ...]) -> Finding:
    """A finding for ``reason`` with ``words`` de-duplicated in order (case kept as written)."""
    seen: dict[str, None] = {}
    for w in words:
        w = w.strip()
        if w and w.lower() not in {k.lower() for k in seen}:
            seen[w] = None
    return Finding(reason, tuple(seen), ADVICE_KEYS[reason])
