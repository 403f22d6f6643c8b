"""`no_merits`: an отписка — the draft says nothing concrete about this problem.

Rule (answer-quality README): "the draft says nothing concrete about this problem. It gives no
cause or finding, no action done or planned (with what exactly) and no factual answer. Examples:
«принято к сведению», «на контроле», «рассмотрен в установленном порядке», «передано в X» without
saying what X will do, and general words about how a service works. … A draft that only
redirects gets `redirect`, not `no_merits`." (SPEC §3: «не по существу».)

The check needs both: a stock phrase or a hand-over (data/stock_phrases.txt, transfers.txt), and
nothing concrete anywhere in the draft (context.Draft.concrete). A plain answer without stock
phrases is not judged an отписка: that would need understanding the question.
"""

from __future__ import annotations

from ..context import Draft
from ..findings import Finding, Reason, finding


def check(draft: Draft) -> Finding | None:
    """A finding quoting the stock phrases and hand-overs, when nothing concrete stands beside them."""
    if draft.redirect is not None or draft.concrete:
        return None
    hits = sorted(draft.find("stock_phrases") + draft.find("transfers"), key=lambda m: m.first)
    if not hits:
        return None
    return finding(Reason.no_merits, [m.text for m in _outermost(hits)])


def _outermost(matches):
    """Drop matches inside a longer one («на контроле» inside «на постоянном контроле»)."""
    out = []
    for m in matches:
        if any(
            o is not m and o.first <= m.first and m.stop <= o.stop and (o.stop - o.first) > (m.stop - m.first)
            for o in matches
        ):
            continue
        out.append(m)
    return out
