"""/report [YYYY-MM] [department id]: the monthly summary, workbook and chart; /stats: the live picture."""

from __future__ import annotations

import asyncio
from datetime import date

from aiogram import Bot, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import BufferedInputFile, Message
from aiogram.utils.i18n import gettext as _

from bot.domain.errors import DomainError
from bot.domain.incident import Role
from bot.report import (
    build_report,
    build_stats,
    month_name,
    parse_month,
    previous_month,
    report_scopes,
    stats_text,
    summary_text,
)
from bot.report_files import chart_png, workbook_xlsx
from bot.report_jobs import request_report
from bot.services import Person, Services
from handlers.filters import HasRole, Known
from handlers.sending import send_long


def parse_arguments(text: str | None) -> tuple[str | None, int | None]:
    """``"2026-03 4"`` → ("2026-03", 4); either part may be missing, in any order."""
    month: str | None = None
    department: int | None = None
    for part in (text or "").split():
        if part.isdigit() and len(part) <= 9:
            department = int(part)
        else:
            month = part
    return month, department


async def report(message: Message, command: CommandObject, person: Person, services: Services) -> None:
    """/report [YYYY-MM] [department id]: the summary, workbook and chart of each scope the person may read.

    Answers at once; the report itself is built and sent by the outbox sender (``bot.report_jobs``). A second
    request of a report still being prepared joins it."""
    month_text, department = parse_arguments(command.args)
    try:
        scopes = report_scopes(person.roles, person.responsible_for, department)
        now = services.clock.now()
        month = (
            parse_month(month_text)
            if month_text
            else previous_month(now.astimezone(services.workflow.calendar.tz).date())
        )
    except DomainError as exc:
        await message.answer(_refusal(exc))
        return
    queued = False
    for scope in scopes:
        try:
            queued |= await request_report(services.sessions, message.chat.id, month, scope, person.locale)
        except DomainError as exc:
            await message.answer(_refusal(exc))
            return
    if queued:
        await message.answer(_("Preparing the report for {month}…").format(month=month_name(month, person.locale)))
        services.outbox_ready.set()  # after the answer, so "preparing" comes before the report
    else:
        await message.answer(
            _("The report for {month} is already being prepared: it will come here shortly.").format(
                month=month_name(month, person.locale)
            )
        )


async def stats(message: Message, person: Person, services: Services) -> None:
    """/stats: the live figures, for curators and heads."""
    figures = await build_stats(services.sessions, services.workflow, services.clock.now())
    await message.answer(stats_text(figures, person.locale))


async def stats_refused(message: Message) -> None:
    """/stats from anyone else."""
    await message.answer(_("The live figures are for curators and heads."))


def build_router() -> Router:
    """A fresh router with /report and /stats."""
    router = Router(name=__name__)
    router.message.register(report, Command("report"), Known())
    router.message.register(stats, Command("stats"), HasRole(Role.curator, Role.head))
    router.message.register(stats_refused, Command("stats"), Known())
    return router


async def send_report(bot: Bot, services: Services, chat_id: int, month: date, scope: int | None, locale: str) -> None:
    """The summary, the workbook and the chart of one month and scope, in the reader's language."""
    result = await build_report(services.sessions, services.workflow, month, scope, services.clock.now())
    await send_long(bot, chat_id, summary_text(result, locale))
    # Rendering is CPU work: keep the event loop free for other people's updates.
    xlsx, png = await asyncio.gather(
        asyncio.to_thread(workbook_xlsx, result, locale), asyncio.to_thread(chart_png, result, locale)
    )
    stem = f"otklik-{month:%Y-%m}" + (f"-{scope}" if scope is not None else "")
    await bot.send_document(chat_id, BufferedInputFile(xlsx, filename=f"{stem}.xlsx"))
    await bot.send_photo(chat_id, BufferedInputFile(png, filename=f"{stem}.png"))


def _refusal(exc: DomainError) -> str:
    return {
        "bad_month": _("Write the month as YYYY-MM, for example /report 2026-03."),
        "not_your_department_report": _("You can see the report of your own department only."),
        "role_required": _("The report is for curators, heads and responsible officials."),
        "unknown_department": _("There is no such department."),
    }.get(exc.key, _("This input cannot be used."))
