"""The monthly report (SPEC §6) and the live /stats picture as plain values, a chat summary and JSON.

The database computes every figure (storage/reports.py); this module chooses the month's bounds in
the organisation's zone, puts the current and the previous month side by side, names what the
numbers refer to, and renders the concise summary in the reader's language.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain.errors import InvalidInput, NotAllowed
from bot.domain.incident import DraftStatus, Importance, Kind, Network, ReturnReason, Role, State
from bot.domain.message_size import (
    TEXT_LIMIT,
    Block,
    Elastic,
    Part,
    fit,
    join_within,
    line,
    short_name,
    template,
    units,
)
from bot.domain.precheck import RETURN_REASONS, Reason
from bot.domain.workflow import Workflow
from bot.i18n import format_duration, incident_number, translate
from bot.texts import Text
from storage.assistant import AssistantRepository, RoutingFigures
from storage.db import parallel_sessions, snapshot
from storage.directory import DirectoryRepository
from storage.reports import (
    METRICS,
    Durations,
    LiveFigures,
    MonthFigures,
    PrecheckRow,
    QualityFigures,
    TimelinessRow,
    live_figures,
    month_figures,
    month_precheck,
    month_quality,
)

DIMENSIONS = ("topic", "network", "location", "department", "importance", "kind")
OVERDUE_IN_SUMMARY = 5
NAME_FLOOR = 40  # a topic's or department's name in the summary, when names have to be shortened


def parse_month(text: str) -> date:
    """``"2026-03"`` → 1 March 2026; anything else is refused with a message people understand."""
    try:
        year, month = (int(part) for part in text.strip().split("-"))
        if not 2000 <= year <= 2100:
            raise ValueError
        return date(year, month, 1)
    except ValueError:
        raise InvalidInput(
            Text("{text!r} is not a month: write it as YYYY-MM, e.g. 2026-03", text=text), key="bad_month"
        ) from None


def previous_month(day: date) -> date:
    """The first day of the month before ``day``'s (a calendar date, no time zone)."""
    first = day.replace(day=1)
    return (first - timedelta(days=1)).replace(day=1)


def next_month(day: date) -> date:
    """The first day of the month after ``day``'s (a calendar date, no time zone)."""
    first = day.replace(day=1)
    return (first + timedelta(days=32)).replace(day=1)


def month_bounds(month: date, tz: ZoneInfo) -> tuple[datetime, datetime, list[datetime]]:
    """Start, end and every local midnight of ``month`` in ``tz`` (the organisation's zone), as aware datetimes
    in ``tz``: ``[start, end)`` is the month, ``midnights`` runs from start to end inclusive (days + 1 entries)."""
    first, last = month.replace(day=1), next_month(month)
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    midnights = [datetime(d.year, d.month, d.day, tzinfo=tz) for d in days]
    return midnights[0], midnights[-1], midnights


# --- the report's values ----------------------------------------------------------------------------


@dataclass(frozen=True)
class VolumeRow:
    """Incidents with one value of a dimension (a topic, a network…), this month and the previous."""

    key: str | int | None  # enum value or directory id; None: not set / not routed
    name: str | None  # directory name (topics, locations, departments); enums are labelled on render
    current: int
    previous: int

    @property
    def change(self) -> int:
        """Incidents this month less the previous month's (negative: fewer)."""
        return self.current - self.previous


@dataclass(frozen=True)
class Volumes:
    """How many incidents were detected in the month and the previous one (split parents left out, their parts
    counted), by dimension (DIMENSIONS -> rows, most incidents first) and by local day (SPEC §6 «volumes»)."""

    total: int
    previous_total: int
    by: dict[str, list[VolumeRow]]  # DIMENSIONS -> rows, most incidents first
    daily: list[tuple[date, int]]


@dataclass(frozen=True)
class GroupTimeliness:
    """Timeliness of the whole scope or of one department; durations in working seconds."""

    department_id: int | None
    name: str
    incidents: int  # to be answered (not_processable left out)
    answered: int
    answered_on_time: int
    overdue: int
    durations: dict[str, Durations]  # route, response, draft, publish

    @property
    def on_time_share(self) -> float | None:
        """Answered on time / answered, 0…1; None when nothing was answered."""
        return self.answered_on_time / self.answered if self.answered else None

    @property
    def overdue_share(self) -> float | None:
        """Overdue / incidents to be answered, 0…1; None when there were none."""
        return self.overdue / self.incidents if self.incidents else None


@dataclass(frozen=True)
class OverdueItem:
    """One overdue incident of the month's list (SPEC §6): datetimes aware UTC (the workbook shows them in the
    organisation's zone), ``importance`` and ``state`` as enum values, the names of its live departments."""

    incident_id: int
    detected_at: datetime
    importance: str
    state: str
    due: datetime | None
    published_at: datetime | None  # the late publication; None: still open
    late_seconds: int | None  # working time past the deadline (to publication, or to the cutoff)
    departments: tuple[str, ...]


@dataclass(frozen=True)
class Timeliness:
    """SPEC §6 timeliness: the scope this month and the previous one, the departments' ranking, and the month's
    overdue incidents, earliest detection first."""

    whole: GroupTimeliness
    previous: GroupTimeliness
    ranking: list[GroupTimeliness]  # departments, fastest average answer first, then fewer overdue
    overdue: list[OverdueItem]


@dataclass(frozen=True)
class Quality:
    """SPEC §6 quality: answer-track drafts approved (at the first submission), returned (by reason, every
    ReturnReason listed, most returns first), intermediate answers still without a final, not processable —
    each this month and the previous one."""

    approved: int
    approved_first_time: int
    previous_approved: int
    previous_approved_first_time: int
    returned: int
    previous_returned: int
    returns: list[VolumeRow]  # by reason
    awaiting_final: VolumeRow
    not_processable: VolumeRow

    @property
    def first_time_share(self) -> float | None:
        """Approved at the first submission / approved, 0…1; None when nothing was approved."""
        return self.approved_first_time / self.approved if self.approved else None

    @property
    def previous_first_time_share(self) -> float | None:
        """``first_time_share`` of the previous month."""
        return self.previous_approved_first_time / self.previous_approved if self.previous_approved else None


@dataclass(frozen=True)
class PrecheckFigures:
    """The draft pre-check over one month's answer and intermediate drafts (issue 13 §1); drafts submitted while
    it was off are not counted."""

    checked: int = 0  # drafts submitted and checked
    with_findings: int = 0  # ... submitted with findings still open: the executor pressed «Send as is»
    returned: int = 0  # checked drafts the curator returned for revision
    matched: int = 0  # ... whose reasons, «other» aside, are exactly those the findings stand for (returns_match)

    @property
    def open_share(self) -> float | None:
        """Drafts submitted with open findings / drafts checked, 0…1; None when none was checked."""
        return self.with_findings / self.checked if self.checked else None

    @property
    def match_share(self) -> float | None:
        """Returns that matched the findings / returns of checked drafts, 0…1; None when none was returned."""
        return self.matched / self.returned if self.returned else None


@dataclass(frozen=True)
class PrecheckQuality:
    """``PrecheckFigures`` of the month and of the previous one."""

    current: PrecheckFigures = field(default_factory=PrecheckFigures)
    previous: PrecheckFigures = field(default_factory=PrecheckFigures)


def returns_match(found: Sequence[str], return_reasons: Sequence[str]) -> bool:
    """Whether a curator's return agrees with the pre-check: the set of return reasons the findings stand for
    (``found``: Reason values, mapped by bot.domain.precheck.RETURN_REASONS) equals the set of the curator's
    reasons (ReturnReason values) without «other», which no finding stands for. So a return with exactly the
    pre-ticked reasons matches; one where the curator ticked more, or unticked one, does not; a return for
    «other» alone of a draft with no findings matches (neither saw a checklist fault)."""
    known = {r.value for r in Reason}
    expected = {RETURN_REASONS[Reason(f)].value for f in found if f in known}
    given = {r for r in return_reasons if r != ReturnReason.other.value}
    return expected == given


def _precheck_figures(rows: Sequence[PrecheckRow]) -> PrecheckFigures:
    returned = [r for r in rows if r.status is DraftStatus.returned]
    return PrecheckFigures(
        checked=len(rows),
        with_findings=sum(1 for r in rows if r.found),
        returned=len(returned),
        matched=sum(1 for r in returned if returns_match(r.found, r.return_reasons)),
    )


@dataclass(frozen=True)
class MonthlyReport:
    """The monthly report of SPEC §6 for the organisation or one department: ``month`` is its first day (local
    calendar of ``timezone``), ``generated_at`` aware (the clock's now), every duration in working seconds."""

    organisation: str
    timezone: str
    month: date
    department_id: int | None  # None: the whole organisation
    scope_name: str
    generated_at: datetime
    complete: bool  # False while the month still runs (figures as of generated_at)
    volumes: Volumes
    timeliness: Timeliness
    quality: Quality
    notes: list[str] = field(default_factory=list)
    # Issue 13 §4: incidents routed with a suggestion and as suggested, routed and returned "not ours"
    # (the organisation's report only; None for a department's).
    routing: RoutingFigures | None = None
    previous_routing: RoutingFigures | None = None  # the same for the month before
    precheck: PrecheckQuality = field(default_factory=PrecheckQuality)  # the draft pre-check (issue 13 §1)

    def to_json(self) -> str:
        """The whole report as indented JSON (non-ASCII kept as is): the dataclasses' fields, plus the
        computed shares (0…1 or null) beside their counts; ``month`` as "YYYY-MM", datetimes in ISO 8601."""

        def default(value: Any) -> Any:
            if isinstance(value, datetime | date):
                return value.isoformat()
            raise TypeError(type(value).__name__)

        data = asdict(self)
        data["timeliness"]["whole"]["on_time_share"] = self.timeliness.whole.on_time_share
        data["timeliness"]["whole"]["overdue_share"] = self.timeliness.whole.overdue_share
        data["timeliness"]["previous"]["on_time_share"] = self.timeliness.previous.on_time_share
        for row, group in zip(data["timeliness"]["ranking"], self.timeliness.ranking, strict=True):
            row["on_time_share"], row["overdue_share"] = group.on_time_share, group.overdue_share
        data["quality"]["first_time_share"] = self.quality.first_time_share
        data["quality"]["previous_first_time_share"] = self.quality.previous_first_time_share
        for name in ("current", "previous"):
            figures = getattr(self.precheck, name)
            data["precheck"][name]["open_share"] = figures.open_share
            data["precheck"][name]["match_share"] = figures.match_share
        for name in ("routing", "previous_routing"):
            figures = getattr(self, name)
            if figures is not None:
                data[name]["followed_share"] = figures.followed_share
                data[name]["returned_share"] = figures.returned_share
        data["month"] = self.month.strftime("%Y-%m")
        return json.dumps(data, ensure_ascii=False, indent=2, default=default)

    def title(self, locale: str) -> str:
        """ "Report for March 2026: <scope>" in ``locale`` (Babel's month name; see month_name)."""
        return translate(
            locale, "Report for {month}: {scope}", month=month_name(self.month, locale), scope=self.scope_name
        )


# --- who sees what ---------------------------------------------------------------------------------


def report_scopes(
    roles: frozenset[Role], responsible_for: frozenset[int], department_id: int | None = None
) -> list[int | None]:
    """The scopes a person may read: the organisation for curators and heads (or any one department
    they name), only their own departments for a responsible official (SPEC §6, §8).

    Raises NotAllowed for anybody else, and for a responsible official naming another department.
    """
    if roles & {Role.curator, Role.head}:
        return [department_id]
    if responsible_for:
        if department_id is None:
            return sorted(responsible_for)
        if department_id in responsible_for:
            return [department_id]
        raise NotAllowed(
            Text("a responsible official sees only their own departments"), key="not_your_department_report"
        )
    raise NotAllowed(Text("the report is for curators, heads and responsible officials"), key="role_required")


# --- building ------------------------------------------------------------------------------------


async def build_report(
    sessions: async_sessionmaker[AsyncSession],
    workflow: Workflow,
    month: date,
    department_id: int | None,
    now: datetime,
) -> MonthlyReport:
    """The month's report for the organisation or one department, computed by the database.

    ``month``: any day of it; its bounds are local midnights in the organisation's zone. ``now`` (aware) cuts
    off a month still running (``complete`` False, figures as of ``now``). Raises InvalidInput
    ``unknown_department`` for a ``department_id`` that is no department; rights are the caller's
    (report_scopes).
    """
    tz = workflow.calendar.tz
    start, end, midnights = month_bounds(month, tz)
    p_start, p_end, p_midnights = month_bounds(previous_month(month), tz)
    async with snapshot(sessions) as session, session.begin():
        directory = DirectoryRepository(session)
        departments = {d.id: d.name for d in await directory.list_departments(active_only=False)}
        if department_id is not None and department_id not in departments:
            raise InvalidInput(Text("no such department"), key="unknown_department")
        names = {
            "topic": {t.id: t.name for t in await directory.list_topics(active_only=False)},
            "location": {loc.id: loc.name for loc in await directory.list_locations(active_only=False)},
            "department": departments,
        }
        routing = previous_routing = None
        if department_id is None:
            routing = await AssistantRepository(session).routing_figures(start, end)
            previous_routing = await AssistantRepository(session).routing_figures(p_start, p_end)

    async def this_month() -> MonthFigures:
        async with snapshot(sessions) as session, session.begin():  # one consistent snapshot
            return await month_figures(
                session,
                start,
                end,
                cutoff=min(end, now),
                day_starts=midnights,
                department_id=department_id,
                quality=False,  # counted meanwhile on the other connection
            )

    async def month_before_and_quality() -> tuple[MonthFigures, QualityFigures]:
        async with snapshot(sessions) as session, session.begin():
            before = await month_figures(
                session,
                p_start,
                p_end,
                cutoff=min(p_end, now),
                day_starts=p_midnights,
                department_id=department_id,
                detailed=False,  # shown beside the month for comparison: counts, shares and averages
            )
            return before, await month_quality(session, start, end, department_id)

    # Two connections work side by side where the database allows it; their snapshots are then
    # milliseconds apart, which a monthly report cannot tell.
    if parallel_sessions(sessions):
        current, (previous, quality) = await asyncio.gather(this_month(), month_before_and_quality())
    else:
        current = await this_month()
        previous, quality = await month_before_and_quality()
    current = replace(current, quality=quality)
    async with snapshot(sessions) as session, session.begin():
        precheck = PrecheckQuality(
            _precheck_figures(await month_precheck(session, start, end, department_id)),
            _precheck_figures(await month_precheck(session, p_start, p_end, department_id)),
        )
    scope = departments[department_id] if department_id is not None else workflow.organisation
    return MonthlyReport(
        organisation=workflow.organisation,
        timezone=tz.key,
        month=month.replace(day=1),
        department_id=department_id,
        scope_name=scope,
        generated_at=now,
        complete=now >= end,
        volumes=_volumes(current, previous, names, midnights),
        timeliness=_timeliness(current, previous, departments, scope, workflow, min(end, now)),
        quality=_quality(current, previous),
        routing=routing,
        previous_routing=previous_routing,
        precheck=precheck,
    )


def _volumes(
    current: MonthFigures, previous: MonthFigures, names: dict[str, dict[int, str]], midnights: list[datetime]
) -> Volumes:
    by: dict[str, list[VolumeRow]] = {}
    for dimension in DIMENSIONS:
        now_counts, then_counts = current.volumes.get(dimension, {}), previous.volumes.get(dimension, {})
        keys = set(now_counts) | set(then_counts)
        lookup = names.get(dimension)
        rows = [
            VolumeRow(
                key,
                (lookup.get(key, f"#{key}") if key is not None else None) if lookup is not None else None,
                now_counts.get(key, 0),
                then_counts.get(key, 0),
            )
            for key in keys
        ]
        rows.sort(key=lambda r: (-r.current, -r.previous, str(r.name or r.key)))
        by[dimension] = rows
    daily = [(midnights[i].date(), n) for i, n in enumerate(current.daily)]
    return Volumes(current.total, previous.total, by, daily)


def _group(row: TimelinessRow, name: str) -> GroupTimeliness:
    return GroupTimeliness(
        row.department_id, name, row.incidents, row.answered, row.answered_on_time, row.overdue, dict(row.durations)
    )


def _timeliness(
    current: MonthFigures,
    previous: MonthFigures,
    departments: dict[int, str],
    scope: str,
    workflow: Workflow,
    cutoff: datetime,
) -> Timeliness:
    whole = _group(current.timeliness[0], scope)
    before = _group(previous.timeliness[0], scope)
    ranking = [
        _group(row, departments.get(row.department_id, f"#{row.department_id}"))
        for row in current.timeliness[1:]
        if row.department_id is not None
    ]
    # Departments that answered nothing yet rank last, however few they were overdue.
    ranking.sort(
        key=lambda g: (
            g.durations["publish"].average is None,
            g.durations["publish"].average or 0.0,
            g.overdue_share or 0.0,
            g.name,
        )
    )
    overdue = []
    for row in current.overdue:
        late = row.late_by  # recorded at a late publication; otherwise counted up to the cutoff
        if late is None and row.due is not None:
            until = row.published_at or cutoff
            late = int(workflow.calendar.between(row.due, until).total_seconds()) if until > row.due else 0
        overdue.append(
            OverdueItem(
                row.incident_id,
                row.detected_at,
                row.importance,
                row.state,
                row.due,
                row.published_at,
                late,
                tuple(departments.get(d, f"#{d}") for d in row.department_ids),
            )
        )
    return Timeliness(whole, before, ranking, overdue)


def _quality(current: MonthFigures, previous: MonthFigures) -> Quality:
    now, then = current.quality, previous.quality
    returns = [
        VolumeRow(
            reason.value, None, now.returns_by_reason.get(reason.value, 0), then.returns_by_reason.get(reason.value, 0)
        )
        for reason in ReturnReason
    ]
    returns.sort(key=lambda r: (-r.current, -r.previous))

    def state_row(state: State) -> VolumeRow:
        return VolumeRow(
            state.value,
            None,
            current.volumes["state"].get(state.value, 0),
            previous.volumes["state"].get(state.value, 0),
        )

    return Quality(
        now.approved,
        now.approved_first_time,
        then.approved,
        then.approved_first_time,
        now.returned,
        then.returned,
        returns,
        state_row(State.awaiting_final),
        state_row(State.not_processable),
    )


# --- /stats --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LiveStats:
    """/stats at the moment ``at`` (aware, the clock's): the database's figures and every department's name by id."""

    at: datetime
    figures: LiveFigures
    department_names: dict[int, str]


async def build_stats(sessions: async_sessionmaker[AsyncSession], workflow: Workflow, now: datetime) -> LiveStats:
    """The live picture for curators and heads: open, overdue, due within a working hour, intake.

    ``now`` aware; "today" and "this month" begin at local midnight in the organisation's zone; "within a working
    hour" is one hour of the organisation's working time (over a night if need be). Rights are the caller's.
    """
    cal = workflow.calendar
    local = now.astimezone(cal.tz)
    today = datetime(local.year, local.month, local.day, tzinfo=cal.tz)
    month_start = datetime(local.year, local.month, 1, tzinfo=cal.tz)
    horizon = cal.add(now, timedelta(hours=1))  # "within the next working hour", over a night if need be
    async with snapshot(sessions) as session, session.begin():
        departments = {d.id: d.name for d in await DirectoryRepository(session).list_departments(active_only=False)}
        figures = await live_figures(session, now, due_horizon=horizon, today_start=today, month_start=month_start)
    return LiveStats(now, figures, departments)


# --- rendering ------------------------------------------------------------------------------------


def month_name(month: date, locale: str) -> str:
    """The month and year as a title says them in ``locale``: "март 2026", "March 2026" (Babel, standalone form)."""
    from babel.dates import format_date

    from bot.i18n import locale_of

    # "LLLL y": the standalone month name ("март 2026", "March 2026").
    return format_date(month, "LLLL y", locale=locale_of(locale))


def percent(share: float | None, locale: str = "ru") -> str:
    """A share (0…1) as Babel writes a whole percentage in ``locale`` ("83 %" in Russian, "83%" in English);
    "—" for none."""
    from babel.numbers import format_percent

    from bot.i18n import locale_of

    return "—" if share is None else format_percent(share, locale=locale_of(locale))


def duration(seconds: float | None, locale: str) -> str:
    """Working ``seconds`` in hours and minutes for people (bot.i18n.format_duration); "—" for none."""
    return "—" if seconds is None else format_duration(timedelta(seconds=round(seconds)), locale)


def change(
    current: float | None, previous: float | None, *, as_percent_points: bool = False, locale: str = "en"
) -> str:
    """ "+12" / "−3" / "+5 pp" ("+5 п. п." in Russian); empty when there is nothing to compare with."""
    if current is None or previous is None:
        return ""
    delta = (current - previous) * (100 if as_percent_points else 1)
    sign = "+" if delta > 0 else "−" if delta < 0 else "±"
    value = f"{abs(delta):.0f}" if as_percent_points or float(delta).is_integer() else f"{abs(delta):.1f}"
    unit = (" п. п." if locale == "ru" else " pp") if as_percent_points else ""
    return f"{sign}{value}{unit}"


def label(dimension: str, row: VolumeRow, locale: str) -> str:
    """What a volume row is about, in the reader's language."""
    if row.name is not None:
        return row.name
    if row.key is None:
        return translate(locale, "not routed") if dimension == "department" else translate(locale, "not set")
    labels: dict[str, dict[str, str]] = {
        "network": NETWORK_LABELS,
        "importance": {Importance.high.value: "high importance", Importance.normal.value: "normal importance"},
        "kind": {
            Kind.incident.value: "incident (monitoring)",
            Kind.publication.value: "publication found by the administration",
        },
        "reason": REASON_LABELS,
        "state": STATE_LABELS,
    }
    msgid = labels.get(dimension, {}).get(str(row.key))
    return translate(locale, msgid) if msgid else str(row.key)


# The same English msgids as handlers/render.py, so the existing translations apply.
NETWORK_LABELS = {
    Network.vk.value: "VKontakte",
    Network.ok.value: "Odnoklassniki",
    Network.telegram.value: "Telegram",
    Network.max.value: "MAX",
    Network.dzen.value: "Dzen",
    Network.youtube.value: "YouTube",
    Network.instagram.value: "Instagram",
    Network.facebook.value: "Facebook",
    Network.twitter.value: "Twitter",
    Network.site.value: "website",
    Network.messenger.value: "messenger",
    Network.other.value: "other source",
}
REASON_LABELS = {
    ReturnReason.not_on_merits.value: "does not answer the question on the merits",
    ReturnReason.no_date.value: "no date by which the problem will be solved",
    ReturnReason.no_evidence.value: "no photo, video or act where work is claimed done",
    ReturnReason.wrong_format.value: "wrong format for the network: officialese, references, abbreviations",
    ReturnReason.personal_data.value: "personal data of third parties",
    ReturnReason.redirects.value: "redirects to another body",
    ReturnReason.spelling.value: "spelling or punctuation errors",
    ReturnReason.other.value: "other",
}
STATE_LABELS = {
    State.detected.value: "registered, not routed",
    State.routed.value: "routed, waiting to be accepted",
    State.returned.value: "returned by the department, to be re-routed",
    State.in_work.value: "in work",
    State.clarification.value: "waiting for the author's clarification (clock paused)",
    State.on_approval.value: "draft on approval",
    State.on_external_approval.value: "draft on approval at the regional centre",
    State.approved.value: "approved, to be published",
    State.awaiting_final.value: "intermediate answer published, final answer due",
    State.published.value: "answer published",
    State.not_processable.value: "closed: not processable",
    State.split.value: "split between departments",
}


def summary_text(report: MonthlyReport, locale: str) -> str:
    """The concise chat message: the figures a head reads first; the workbook holds the rest.

    One Telegram message whatever the config holds: the figures are fixed, the names (the scope, the top
    topics, the fastest and slowest departments) are shortened when needed (bot/domain/message_size.py).
    """
    t, q, v = report.timeliness, report.quality, report.volumes
    whole, before = t.whole, t.previous
    blocks: list[Block] = [
        template(
            translate(locale, "Report for {month}: {scope}"),
            month=month_name(report.month, locale),
            scope=Elastic(report.scope_name, NAME_FLOOR),
        )
    ]
    if report.generated_at.astimezone(ZoneInfo(report.timezone)).date() < report.month:
        blocks.append(line(translate(locale, "The month has not begun yet: there are no figures for it.")))
        return fit(blocks).text
    if not report.complete:
        blocks.append(line(translate(locale, "The month is not over: figures as of today.")))
    blocks.append(
        line(
            translate(
                locale,
                "Incidents: {total} ({change} vs previous month)",
                total=v.total,
                change=change(v.total, v.previous_total) or "±0",
            )
        )
    )
    if v.total == 0:
        blocks.append(line(translate(locale, "No incidents this month.")))
        return fit(blocks).text
    publish = whole.durations["publish"]
    blocks += [
        line(
            translate(
                locale,
                "Answered on time: {share} ({change}); overdue: {overdue}",
                share=percent(whole.on_time_share, locale),
                change=change(whole.on_time_share, before.on_time_share, as_percent_points=True, locale=locale) or "—",
                overdue=whole.overdue,
            )
        ),
        line(
            translate(
                locale,
                "First response: {average} on average; answer published: {answer} on average, median {median}, "
                "90% within {p90}",
                average=duration(whole.durations["response"].average, locale),
                answer=duration(publish.average, locale),
                median=duration(publish.median, locale),
                p90=duration(publish.p90, locale),
            )
        ),
        line(
            translate(
                locale,
                "Approved at first submission: {share}; returned drafts: {returned}; intermediate answers without a "
                "final: {awaiting}; not processable: {not_processable}",
                share=percent(q.first_time_share, locale),
                returned=q.returned,
                awaiting=q.awaiting_final.current,
                not_processable=q.not_processable.current,
            )
        ),
    ]
    routing = report.routing
    if routing is not None and routing.routed:
        blocks.append(
            line(
                translate(
                    locale,
                    "Routed as suggested: {followed_share} ({followed} of {suggested}); returned «not ours»: "
                    "{returned_share} ({returned} of {routed})",
                    followed_share=percent(routing.followed_share, locale),
                    followed=routing.followed,
                    suggested=routing.suggested,
                    returned_share=percent(routing.returned_share, locale),
                    returned=routing.returned_not_ours,
                    routed=routing.routed,
                )
            )
        )
    pc = report.precheck.current
    if pc.checked:
        blocks.append(
            line(
                translate(
                    locale,
                    "Draft pre-check: sent with open findings {open} of {checked}; returns that matched the findings: "
                    "{matched} of {returned}",
                    open=percent(pc.open_share, locale),
                    checked=pc.checked,
                    matched=percent(pc.match_share, locale),
                    returned=pc.returned,
                )
            )
        )
    top = [r for r in v.by["topic"] if r.current][:3]
    if top:
        topics: list[Part] = []
        for index, row in enumerate(top):
            topics += [", " if index else "", Elastic(label("topic", row, locale), NAME_FLOOR), f" {row.current}"]
        blocks.append(template(translate(locale, "Top topics: {topics}"), topics=line(*topics)))
    if report.department_id is None and len(t.ranking) > 1:
        best, worst = t.ranking[0], t.ranking[-1]
        blocks.append(
            template(
                translate(locale, "Fastest: {best} ({best_time}); slowest: {worst} ({worst_time})"),
                best=Elastic(best.name, NAME_FLOOR),
                best_time=duration(best.durations["publish"].average, locale),
                worst=Elastic(worst.name, NAME_FLOOR),
                worst_time=duration(worst.durations["publish"].average, locale),
            )
        )
    if t.overdue:
        numbers = ", ".join(incident_number(locale, item.incident_id) for item in t.overdue[:OVERDUE_IN_SUMMARY])
        more = len(t.overdue) - OVERDUE_IN_SUMMARY
        blocks.append(
            line(translate(locale, "Overdue: {numbers}", numbers=numbers + (f" (+{more})" if more > 0 else "")))
        )
    return fit(blocks).text


def stats_text(stats: LiveStats, locale: str) -> str:
    """/stats in one Telegram message: the figures whole; the open incidents by department as many
    departments (most incidents first, names shortened) as fit, then "(+n)" for the rest."""
    f = stats.figures
    open_total = sum(f.open_by_state.values())
    lines = [
        translate(
            locale,
            "Now: {open} open incidents, {overdue} overdue, {soon} due within the next working hour",
            open=open_total,
            overdue=f.overdue_now,
            soon=f.due_within,
        ),
        translate(locale, "Registered today: {n}", n=f.intake_today),
        translate(
            locale,
            "Average working time to answer this month: {duration}",
            duration=duration(f.average_answer_seconds, locale),
        ),
    ]
    if f.open_by_state:
        lines.append(
            "; ".join(
                f"{translate(locale, STATE_LABELS.get(s, s))}: {n}"
                for s, n in sorted(f.open_by_state.items(), key=lambda kv: -kv[1])
            )
        )
    if f.open_by_department:
        departments = [
            f"{short_name(stats.department_names.get(d, f'#{d}'))}: {n}"
            for d, n in sorted(f.open_by_department.items(), key=lambda kv: -kv[1])
        ]
        room = TEXT_LIMIT - units("\n".join(lines)) - 1
        lines.append(join_within(departments, room, lambda n: f"; (+{n})", separator="; "))
    return "\n".join(lines)


__all__ = [
    "DIMENSIONS",
    "METRICS",
    "GroupTimeliness",
    "LiveStats",
    "MonthlyReport",
    "OverdueItem",
    "Quality",
    "Timeliness",
    "VolumeRow",
    "Volumes",
    "build_report",
    "build_stats",
    "label",
    "month_bounds",
    "parse_month",
    "previous_month",
    "report_scopes",
    "stats_text",
    "summary_text",
]
