"""/report as a background job: the request is an outbox row, the sender builds and delivers the report.

Building a month's report over a region's million incidents takes seconds, and rendering its workbook and
chart more; done in the update handler, everybody's updates waited for it. Now the handler records the
request — an outbox row ``{"kind": "report", "month": "2026-10", "scope": <department id or null>,
"locale": "ru"}`` — in one transaction and answers at once («Готовлю отчёт за октябрь 2026…»). The outbox
sender, outside the update path, builds the report when the row comes up and sends its parts (summary,
workbook, chart), each recorded on the row as it goes (``bot.outbox``: ``sent_parts``). A crash mid-build
loses nothing: the row is still claimed, not sent, and is built again after the restart (at once after a
normal stop, after ``DeliverySettings.lease_seconds`` after a crash), without repeating the parts already
delivered. The monthly automatic report (``bot.sweep``) is the same kind of row.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain.errors import InvalidInput
from storage.directory import DirectoryRepository
from storage.outbox import OutboxRepository

REPORT = "report"  # the outbox payload kind


def report_payload(month: date, scope: int | None, locale: str | None) -> dict[str, object]:
    """The outbox payload of a report for ``month`` (any day of it), ``scope`` (a department id; None: the
    organisation), in ``locale`` (None: the recipient's language, looked up at delivery)."""
    payload: dict[str, object] = {"kind": REPORT, "month": f"{month:%Y-%m}", "scope": scope}
    if locale is not None:
        payload["locale"] = locale
    return payload


async def request_report(
    sessions: async_sessionmaker[AsyncSession], chat_id: int, month: date, scope: int | None, locale: str
) -> bool:
    """Queue the report of ``month`` and ``scope`` for the Telegram chat ``chat_id``, in one transaction.

    Returns False when the same report (month and scope) for this chat is already waiting or being built: the
    two requests coalesce into the one delivery. Raises InvalidInput ``unknown_department`` for a ``scope``
    that is no department (also a deactivated one is reported on); rights are the caller's
    (``bot.report.report_scopes``)."""
    async with sessions() as session, session.begin():
        if scope is not None:
            departments = await DirectoryRepository(session).list_departments(active_only=False)
            if scope not in {d.id for d in departments}:
                raise InvalidInput("no such department", key="unknown_department")
        outbox = OutboxRepository(session)
        month_text = f"{month:%Y-%m}"
        for row in await outbox.pending_in_chat(chat_id, with_sending=True):
            p = row.payload
            if p.get("kind") == REPORT and p.get("month") == month_text and p.get("scope") == scope:
                return False
        await outbox.add(chat_id, report_payload(month, scope, locale))
    return True
