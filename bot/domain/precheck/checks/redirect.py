"""`redirect`: the author is sent elsewhere, or competence is disclaimed, and nobody named acts.

Rule (answer-quality README): "the draft sends the author elsewhere («обратитесь», «рекомендуем»,
«звоните в …») or disclaims competence, and does not say that a named body will do something
specific. «Не относится к полномочиям, обращение направлено в министерство» is still a redirect.
These are not redirects: «передали в УК «ЖилСервис», лифт запустят до 11 декабря» …, telling
the author where to get what they asked for («оформляют в МФЦ»), and an extra contact given
after the question has been answered." (SPEC §3: «переадресация».)

The phrases are data/redirect_phrases.txt. They are not a redirect when the draft also reports
work done or planned, a check, or a term: then someone does something specific, and the contact
is extra; nor when the post asks where or how to turn to («Куда звонить, если прорвало трубу?»):
then the place is what was asked for.
"""

from __future__ import annotations

from ..context import Draft
from ..findings import Finding, Reason, finding


def check(draft: Draft) -> Finding | None:
    """A finding quoting the phrases that send the author away, when nothing specific is done."""
    hits = draft.find("redirect_phrases")
    if not hits:
        return None
    if draft.done or draft.planned or draft.terms or draft.inquiries or draft.measures:
        return None
    if draft.asks_where:
        return None  # «Куда звонить?» — «звоните в ЕДДС»: where to get what they asked for is the answer
    hits.sort(key=lambda m: (m.first, m.first - m.stop))
    kept = []
    for m in hits:
        if kept and m.first < kept[-1].stop:
            continue  # «рекомендуем» inside «рекомендуем обратиться»: one quote
        kept.append(m)
    return finding(Reason.redirect, [m.text for m in kept])
