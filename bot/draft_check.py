"""The draft pre-check in the application (issue 13 §1, config ``[assistant]``): loaded once, run off the event loop.

The checker (bot.domain.precheck) needs 1–3 s and ~400 MB to load its language tools, then ~25 ms a draft.
``PrecheckService.start()`` loads it in a worker thread at start-up; a check awaits that load (it never
starts it on an update's path) and runs in a thread itself, so the event loop keeps serving others.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import Sequence

from bot.domain.incident import DraftKind, Incident
from bot.domain.message_size import cut
from bot.domain.precheck import Finding, Reason, check_draft, warm_up
from bot.i18n import N_, translate

log = logging.getLogger(__name__)

# An answer and an intermediate answer go to the citizen: the checklist is theirs. A clarification question
# and a department's contribution are not answers, and the checklist would only misfire on them.
CHECKED_KINDS = frozenset({DraftKind.answer, DraftKind.intermediate})

# One advice per reason, saying what to do; ``{words}`` is « («a», «b»)», the draft's words that triggered it, or "".
ADVICE: dict[Reason, str] = {
    Reason.no_merits: N_("Not an answer on the merits{words}: say what was found and what will be done."),
    Reason.no_date: N_("No date for the solution{words}: say when it will be fixed."),
    Reason.no_evidence: N_("Work reported done{words} with nothing attached: attach a photo, video or act."),
    Reason.bureaucratese: N_("Officialese{words}: say it in plain words."),
    Reason.abbreviations: N_("Abbreviations not spelled out{words}: write them in full at first use."),
    Reason.personal_data: N_("Personal data of other people{words}: leave them out."),
    Reason.redirect: N_(
        "The author is sent elsewhere{words}: say who will do what, or pass the question on yourselves."
    ),
    Reason.spelling: N_("Spelling or punctuation{words}: check and correct."),
}
WORDS_SHOWN = 3  # the triggering words quoted in one advice; more are «…»
WORD_LIMIT = 40  # UTF-16 units of one quoted word or phrase (bot.domain.message_size)


def quoted_words(words: Sequence[str]) -> str:
    """`` («a», «b», «c», …)`` — the first WORDS_SHOWN words, each cut to WORD_LIMIT units; "" for none."""
    if not words:
        return ""
    shown = ", ".join(f"«{cut(w, WORD_LIMIT)}»" for w in words[:WORDS_SHOWN])
    return f" ({shown}{', …' if len(words) > WORDS_SHOWN else ''})"


def advice_text(finding: Finding, locale: str) -> str:
    """One finding as advice in ``locale``, e.g. «⚠ Нет срока решения: укажите, когда будет устранено.»"""
    return "⚠ " + translate(locale, ADVICE[finding.reason], words=quoted_words(finding.words))


def post_text(incident: Incident) -> str:
    """The citizen's post a draft answers: the incident's first source's text ("" when it has none)."""
    return (incident.sources[0].text or "") if incident.sources else ""


class PrecheckService:
    """The pre-check as the bot runs it: ``enabled`` is ``[assistant] precheck``; off, nothing is ever loaded."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._loaded: asyncio.Future[None] | None = None

    def start(self) -> None:
        """Begin loading the language tools in a worker thread (call from the running loop, at start-up); a no-op
        when off or already begun."""
        if self.enabled and self._loaded is None:
            self._loaded = asyncio.ensure_future(asyncio.to_thread(load_checker))

    async def ready(self) -> None:
        """Wait until the tools are loaded (begins the load when ``start`` was not called, e.g. in a script).
        Raises whatever the load raised (a missing dependency), each time it is awaited."""
        self.start()
        if self._loaded is not None:
            await asyncio.shield(self._loaded)

    async def check(self, post: str, draft: str, attachments: int, kind: DraftKind) -> list[Finding] | None:
        """The findings on ``draft`` (answering ``post``, with ``attachments`` files) of ``kind``: a list (empty:
        nothing to advise), or None when the pre-check is off or ``kind`` is not checked (CHECKED_KINDS)."""
        if not self.enabled or kind not in CHECKED_KINDS or not draft.strip():
            return None
        await self.ready()
        return await asyncio.to_thread(check_draft, post, draft, attachments)


def load_checker() -> None:
    """Load the checker's language tools and word lists now (blocking: 1–3 s, ~400 MB), then put what they
    made out of the garbage collector's reach (``gc.freeze``): otherwise every full collection walks their
    millions of objects again, a pause of seconds for everyone using the bot."""
    started = time.monotonic()
    warm_up()
    gc.freeze()
    log.info("Draft pre-check loaded in %.1f s", time.monotonic() - started)
