"""Draft pre-check (issue 13 §1): the return-reason checklist applied to a draft before it is submitted.

``check_draft(post, draft, attachments)`` returns the findings, one per reason, each with the
draft's words that triggered it and a stable ``advice_key`` the interface turns into advice.
The rules are those of ../shared/answer-quality/README.md (the curator's checklist, SPEC §3);
each reason is one module of ``checks``. Pure Python and deterministic: no Telegram, no SQL, no
network. The Russian language tools — razdel, pymorphy3, natasha, hunspell ``ru_RU`` through
spylls — load once, lazily; call ``warm_up()`` at start-up to pay that (about 4 s) in advance.
"""

from __future__ import annotations

from .checks import ALL
from .context import Draft
from .findings import ADVICE_KEYS, RETURN_REASONS, Finding, Reason
from .nlp import warm_up as _warm_nlp

__all__ = ["ADVICE_KEYS", "RETURN_REASONS", "Finding", "Reason", "check_draft", "warm_up"]


def check_draft(post: str, draft: str, attachments: int = 0) -> list[Finding]:
    """Check ``draft``, the answer to the citizen's ``post``, with ``attachments`` files attached.

    ``attachments`` counts photos, videos and acts (any file counts as evidence). Returns the
    findings in checklist order (substance first: no_merits, no_date, no_evidence, redirect, then
    personal_data, bureaucratese, abbreviations, spelling), at most one per reason; an empty list
    means nothing to advise. Raises ``ValueError`` for a negative ``attachments``.
    """
    ctx = Draft(post, draft, attachments)
    if not ctx.text.tokens:
        return []
    return [found for found in (module.check(ctx) for module in ALL) if found is not None]


def warm_up() -> None:
    """Load the language tools and word lists now, and run one check, so the first real check is fast."""
    _warm_nlp()
    check_draft("Яма во дворе.", "Здравствуйте! Яму заделают до 5 декабря, фото приложим.", 0)
