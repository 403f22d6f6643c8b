"""The monthly report as files: an XLSX workbook (a sheet per section) and a PNG chart, in the reader's language.

Both are built in memory and returned as bytes (the handler sends them, the CLI writes them). They are
CPU work of a fraction of a second: call them through ``asyncio.to_thread`` from the event loop.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.i18n import N_, translate
from bot.report import (
    DIMENSIONS,
    GroupTimeliness,
    MonthlyReport,
    VolumeRow,
    label,
    month_name,
)

PERCENT = "0%"
HOURS = "0.00"
HEADER_FILL = "DDEBF7"
MAX_WIDTH = 60

DIMENSION_TITLES = {
    "topic": N_("Topic"),
    "network": N_("Network"),
    "location": N_("Location"),
    "department": N_("Department"),
    "importance": N_("Importance"),
    "kind": N_("Kind"),
}
METRIC_TITLES = {
    "route": N_("to routing"),
    "response": N_("to first response"),
    "draft": N_("to first draft"),
    "publish": N_("to publication"),
}


def _hours(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 3600, 2)


def _local(moment: datetime | None, tz: ZoneInfo) -> datetime | None:
    # Excel has no time zones: write the organisation's wall time.
    return None if moment is None else moment.astimezone(tz).replace(tzinfo=None)


# --- XLSX ------------------------------------------------------------------------------------------


def workbook_xlsx(report: MonthlyReport, locale: str) -> bytes:
    """The report as an XLSX workbook: Summary, Volumes, Daily, Timeliness, Overdue, Quality.

    Returns the file's bytes. Moments are shown in the report's zone, durations in working hours; text from
    people or the config is written as text, never as a formula.
    """
    from openpyxl import Workbook

    tz = ZoneInfo(report.timezone)
    book = Workbook()
    book.remove(book.active)  # type: ignore[arg-type]
    this, before = translate(locale, "This month"), translate(locale, "Previous month")
    whole, prev = report.timeliness.whole, report.timeliness.previous
    q = report.quality

    _sheet(
        book,
        translate(locale, "Summary"),
        [translate(locale, "Figure"), this, before],
        [
            [report.title(locale), None, None],
            [translate(locale, "Incidents"), report.volumes.total, report.volumes.previous_total],
            [translate(locale, "Answered on time, share"), whole.on_time_share, prev.on_time_share],
            [translate(locale, "Overdue"), whole.overdue, prev.overdue],
            [translate(locale, "Average working hours to first response"), *_pair(whole, prev, "response")],
            [translate(locale, "Average working hours to publication"), *_pair(whole, prev, "publish")],
            [translate(locale, "Approved at first submission, share"), q.first_time_share, q.previous_first_time_share],
            [translate(locale, "Not processable"), q.not_processable.current, q.not_processable.previous],
            [translate(locale, "Generated"), _local(report.generated_at, tz), None],
        ],
        row_formats={3: PERCENT, 5: HOURS, 6: HOURS, 7: PERCENT},
    )

    volume_rows: list[list[Any]] = []
    for dimension in DIMENSIONS:
        for row in report.volumes.by[dimension]:
            volume_rows.append(
                [
                    translate(locale, DIMENSION_TITLES[dimension]),
                    label(dimension, row, locale),
                    row.current,
                    row.previous,
                    row.change,
                ]
            )
    _sheet(
        book,
        translate(locale, "Volumes"),
        [translate(locale, "Dimension"), translate(locale, "Value"), this, before, translate(locale, "Change")],
        volume_rows,
    )

    _sheet(
        book,
        translate(locale, "Daily"),
        [translate(locale, "Date"), translate(locale, "Incidents")],
        [[day, n] for day, n in report.volumes.daily],
    )

    header = [
        translate(locale, "Rank"),
        translate(locale, "Department"),
        translate(locale, "Incidents"),
        translate(locale, "Answered"),
        translate(locale, "Answered on time, share"),
        translate(locale, "Overdue"),
        translate(locale, "Overdue, share"),
    ]
    for metric in METRIC_TITLES:
        what = translate(locale, METRIC_TITLES[metric])
        header += [
            translate(locale, "Average working hours {what}", what=what),
            translate(locale, "Median working hours {what}", what=what),
            translate(locale, "90th percentile working hours {what}", what=what),
        ]
    groups: list[tuple[Any, GroupTimeliness]] = [(None, whole), (translate(locale, "previous month"), prev)]
    groups += [(rank, group) for rank, group in enumerate(report.timeliness.ranking, start=1)]
    timeliness_rows = []
    for rank, group in groups:
        row: list[Any] = [
            rank,
            group.name,
            group.incidents,
            group.answered,
            group.on_time_share,
            group.overdue,
            group.overdue_share,
        ]
        for metric in METRIC_TITLES:
            figures = group.durations[metric]
            row += [_hours(figures.average), _hours(figures.median), _hours(figures.p90)]
        timeliness_rows.append(row)
    hour_columns = {c: HOURS for c in range(8, len(header) + 1)}
    _sheet(
        book, translate(locale, "Timeliness"), header, timeliness_rows, columns={5: PERCENT, 7: PERCENT, **hour_columns}
    )

    _sheet(
        book,
        translate(locale, "Overdue"),
        [
            translate(locale, "No."),
            translate(locale, "Detected"),
            translate(locale, "Importance"),
            translate(locale, "State"),
            translate(locale, "Departments"),
            translate(locale, "Due"),
            translate(locale, "Published"),
            translate(locale, "Working hours late"),
        ],
        [
            [
                item.incident_id,
                _local(item.detected_at, tz),
                label("importance", VolumeRow(item.importance, None, 0, 0), locale),
                label("state", VolumeRow(item.state, None, 0, 0), locale),
                ", ".join(item.departments),
                _local(item.due, tz),
                _local(item.published_at, tz),
                _hours(item.late_seconds),
            ]
            for item in report.timeliness.overdue
        ],
        columns={8: HOURS},
    )

    quality_rows: list[list[Any]] = [
        [translate(locale, "Drafts approved"), q.approved, q.previous_approved],
        [translate(locale, "Approved at first submission"), q.approved_first_time, q.previous_approved_first_time],
        [translate(locale, "Approved at first submission, share"), q.first_time_share, q.previous_first_time_share],
        [translate(locale, "Drafts returned"), q.returned, q.previous_returned],
    ]
    quality_rows += [
        [translate(locale, "Returned: {reason}", reason=label("reason", row, locale)), row.current, row.previous]
        for row in q.returns
    ]
    quality_rows += [
        [
            translate(locale, "Intermediate answers without a final"),
            q.awaiting_final.current,
            q.awaiting_final.previous,
        ],
        [translate(locale, "Not processable"), q.not_processable.current, q.not_processable.previous],
    ]
    precheck = [
        (N_("Drafts checked by the pre-check"), "checked"),
        (N_("Sent with open pre-check findings"), "with_findings"),
        (N_("Sent with open pre-check findings, share"), "open_share"),
        (N_("Returns of checked drafts"), "returned"),
        (N_("Returns that matched the findings"), "matched"),
        (N_("Returns that matched the findings, share"), "match_share"),
    ]
    quality_rows += _beside(locale, precheck, report.precheck.current, report.precheck.previous)
    shares = {len(quality_rows) - 3, len(quality_rows)}
    if report.routing is not None and report.previous_routing is not None:
        # the organisation's report: where the routing hints led (issue 13 §4)
        routing = [
            (N_("Routed with a suggestion"), "suggested"),
            (N_("Routed as suggested"), "followed"),
            (N_("Routed as suggested, share"), "followed_share"),
            (N_("Routed"), "routed"),
            (N_("Returned «not ours»"), "returned_not_ours"),
            (N_("Returned «not ours», share"), "returned_share"),
        ]
        quality_rows += _beside(locale, routing, report.routing, report.previous_routing)
        shares |= {len(quality_rows) - 3, len(quality_rows)}
    _sheet(
        book,
        translate(locale, "Quality"),
        [translate(locale, "Figure"), this, before],
        quality_rows,
        row_formats={3: PERCENT, **dict.fromkeys(shares, PERCENT)},
    )

    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _beside(locale: str, rows: Sequence[tuple[str, str]], current: Any, previous: Any) -> list[list[Any]]:
    """Sheet rows [label in ``locale``, this month's value, the month before's] for (msgid, attribute) pairs
    read off the two months' figures."""
    return [[translate(locale, label), getattr(current, name), getattr(previous, name)] for label, name in rows]


def _pair(whole: GroupTimeliness, prev: GroupTimeliness, metric: str) -> list[float | None]:
    return [_hours(whole.durations[metric].average), _hours(prev.durations[metric].average)]


# A cell whose text begins with one of these is run by a spreadsheet as a formula (OWASP "CSV injection";
# openpyxl itself stores any str starting with "=" as a formula). Names from the config and people's texts
# (departments, topics, locations, authors) are written as text whatever they begin with.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def _cell_text(value: Any) -> Any:
    """A value as a cell takes it: control characters, which XML (so XLSX) cannot hold and openpyxl refuses
    with IllegalCharacterError, are dropped from strings (a topic name pasted with one must not break the report)."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    return ILLEGAL_CHARACTERS_RE.sub("", value) if isinstance(value, str) else value


def _sheet(
    book: Any,
    title: str,
    header: Sequence[str],
    rows: Sequence[Sequence[Any]],
    columns: dict[int, str] | None = None,
    row_formats: dict[int, str] | None = None,
) -> None:
    """One formatted sheet; number formats by column, or by data row (both 1-based) for the
    figure-per-row sheets."""
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    sheet = book.create_sheet(title[:31])  # Excel's limit on sheet names
    sheet.append([_cell_text(v) for v in header])
    for row in rows:
        sheet.append([_cell_text(v) for v in row])
    for line in sheet.iter_rows():
        for cell in line:
            if isinstance(cell.value, str) and cell.value.startswith(FORMULA_TRIGGERS):
                cell.data_type = "s"  # text, not a formula: openpyxl takes any "=…" string for one
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", start_color=HEADER_FILL, end_color=HEADER_FILL)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    sheet.freeze_panes = "A2"
    columns, row_formats = columns or {}, row_formats or {}
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row, start=1):
            cell = sheet.cell(row=r + 1, column=c)
            if isinstance(value, datetime):
                cell.number_format = "yyyy-mm-dd hh:mm"
            fmt = row_formats.get(r) or columns.get(c)
            if fmt and isinstance(value, int | float) and not isinstance(value, bool):
                cell.number_format = fmt
    for c in range(1, len(header) + 1):
        values = [header[c - 1]] + [row[c - 1] for row in rows if c - 1 < len(row)]
        widest = max((_width(v) for v in values[1:]), default=0)
        # A long header wraps; the data decides the width, but never narrower than a header word.
        head = max(len(word) for word in str(values[0]).split()) if str(values[0]).strip() else 0
        sheet.column_dimensions[get_column_letter(c)].width = min(MAX_WIDTH, max(widest, head, 6) + 2)


def _width(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, datetime):
        return 16
    if isinstance(value, float):
        return 8
    return len(str(value))


# --- start-up ------------------------------------------------------------------------------------

_warm = False


def warm_up() -> None:
    """Import openpyxl and matplotlib and draw a tiny chart once per process (about 2–3 s of CPU), so the first
    report does not pay for it: called by the bot's start (in a thread) and by ``python -m bot report``.
    Later calls return at once."""
    global _warm
    if _warm:
        return
    import openpyxl  # noqa: F401
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(1, 1), dpi=10)
    FigureCanvasAgg(figure)
    figure.subplots().bar([1], [1])
    figure.savefig(io.BytesIO(), format="png")  # loads the font cache and the PNG writer
    _warm = True


# --- PNG -----------------------------------------------------------------------------------------


def chart_png(report: MonthlyReport, locale: str) -> bytes:
    """Daily volume as bars, and the share answered on time by department as a second panel; PNG bytes."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    # A Figure without pyplot: no global state, safe in a thread of a running bot.
    figure = Figure(figsize=(10, 8), dpi=110, layout="constrained")
    FigureCanvasAgg(figure)
    top, bottom = figure.subplots(2, 1, height_ratios=[1, 1.2])
    figure.suptitle(report.title(locale), fontsize=13)

    days = [d.day for d, _ in report.volumes.daily]
    counts = [n for _, n in report.volumes.daily]
    top.bar(days, counts, color="#4472C4")
    top.set_title(translate(locale, "Incidents per day, {month}", month=month_name(report.month, locale)))
    top.set_xlabel(translate(locale, "Day of the month"))
    top.set_ylabel(translate(locale, "Incidents"))
    top.set_xticks(days[::2] if len(days) > 16 else days)
    top.grid(axis="y", alpha=0.3)

    groups = [g for g in report.timeliness.ranking if g.on_time_share is not None]
    if report.department_id is not None or not groups:
        groups = [g for g in [report.timeliness.whole] if g.on_time_share is not None]
    names = [g.name for g in groups][::-1]
    shares = [(g.on_time_share or 0.0) * 100 for g in groups][::-1]
    bottom.set_title(translate(locale, "Answered on time by department, %"))
    if groups:
        colors = ["#70AD47" if s >= 90 else "#FFC000" if s >= 70 else "#C00000" for s in shares]
        bars = bottom.barh(names, shares, color=colors)
        bottom.bar_label(bars, labels=[f"{s:.0f}%" for s in shares], padding=3)
    else:
        bottom.text(0.5, 0.5, translate(locale, "No answers this month."), ha="center", va="center")
        bottom.set_yticks([])
    bottom.set_xlim(0, 110)
    bottom.grid(axis="x", alpha=0.3)
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()
