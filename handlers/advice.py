"""The draft pre-check's findings in the chat (issue 13 §1): advice in the executor's preview, lines on the
curator's card, and the return reasons they pre-tick. The advice texts are bot.draft_check.ADVICE."""

from __future__ import annotations

from collections.abc import Sequence

from aiogram.utils.i18n import gettext as _

from bot.domain.incident import ReturnReason
from bot.domain.message_size import Elastic, Line, template
from bot.domain.precheck import Finding
from bot.draft_check import ADVICE, quoted_words

WORDS_FLOOR = 20  # on a full card, the quoted words may shrink to this many units


def advice(finding: Finding) -> str:
    """One finding as advice in the current locale, e.g. «⚠ Нет срока решения: укажите, когда будет устранено.»"""
    return "⚠ " + _(ADVICE[finding.reason]).format(words=quoted_words(finding.words))


def advice_line(finding: Finding) -> Line:
    """``advice`` as a card line whose quoted words are shortened first when the card is full."""
    return template("⚠ " + _(ADVICE[finding.reason]), words=Elastic(quoted_words(finding.words), WORDS_FLOOR))


def preticked_reasons(findings: Sequence[Finding] | None) -> list[ReturnReason]:
    """The curator's return reasons the findings stand for (SPEC §3; канцелярит and abbreviations are both
    «неверный формат»), each once, in checklist order."""
    found = {f.return_reason for f in findings or ()}
    return [reason for reason in ReturnReason if reason in found]
