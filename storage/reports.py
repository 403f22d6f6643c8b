"""SQL aggregates behind the monthly report and /stats: the database counts, Python only labels.

Every figure is one or a few SQLAlchemy Core statements that run unchanged on SQLite and
PostgreSQL (window functions, CASE, JSON through ``JSON[...]``.as_boolean()/as_string(), which
SQLAlchemy renders as ``JSON_EXTRACT`` on SQLite and ``->>`` on PostgreSQL). No incident is
loaded as an object: the results are counts, sums, and at most two rows per percentile.

Definitions (the report's footnotes say the same):

* The month's incidents ("cohort") are those detected in ``[start, end)``; a split parent is
  left out because its per-department children carry the work. A department's incidents are
  those with a live assignment of it (not cancelled by re-routing, not returned "not ours").
* Durations are working seconds: ``event.work_clock - incident.detected_clock`` of the first
  event of a kind — route (``routed``/``rerouted``/``split_from``), first response
  (``accepted``/``executor_assigned``/``contribution_submitted``), first draft
  (``draft_submitted``), publication (first ``published``, an intermediate answer included).
* Answered on time: answered (some ``published`` event) and no publication of the incident was
  late by the deadline the workflow recorded in the event (``data.on_time``; the due moment is
  in ``data.due``). Overdue: a late publication, or still open with the answer (or final answer)
  deadline before ``cutoff`` (the end of the month, or now while the month runs).
* Percentiles interpolate linearly between the two nearest ranks (as PostgreSQL's
  ``percentile_cont`` and numpy's default): SQL returns those two rows, Python interpolates.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from bot.incident import CLOSED_STATES, AssignmentState, DraftKind, DraftStatus, ReturnReason, State
from storage.repositories import assignments, drafts, events, incident_topics, incidents, sources
from storage.types import UTCDateTime

ROUTE_EVENTS = ("routed", "rerouted", "split_from")
RESPONSE_EVENTS = ("accepted", "executor_assigned", "contribution_submitted")
DRAFT_EVENTS = ("draft_submitted",)
PUBLISHED_EVENTS = ("published",)
METRICS = ("route", "response", "draft", "publish")
PERCENTILES = {"median": (1, 2), "p90": (9, 10)}  # p = numerator / denominator
VOLUME_DIMENSIONS = ("topic", "network", "location", "department", "importance", "kind", "state")

_LIVE = assignments.c.state.notin_([AssignmentState.cancelled, AssignmentState.returned])
_OPEN = incidents.c.state.notin_(list(CLOSED_STATES))
_ANSWER_TRACK = (DraftKind.answer, DraftKind.intermediate)


@dataclass(frozen=True)
class Durations:
    """Working seconds from detection to a mark, over the incidents that reached it."""

    count: int = 0
    average: float | None = None
    median: float | None = None
    p90: float | None = None


@dataclass(frozen=True)
class TimelinessRow:
    """One group: the whole scope (department_id None) or one department."""

    department_id: int | None
    incidents: int  # to be answered: the cohort less not_processable
    answered: int
    answered_on_time: int
    overdue: int
    durations: dict[str, Durations]  # METRICS -> figures


@dataclass(frozen=True)
class OverdueRow:
    incident_id: int
    detected_at: datetime
    importance: str
    state: str
    due: datetime | None
    published_at: datetime | None  # the late publication, None while still open
    department_ids: tuple[int, ...]


@dataclass(frozen=True)
class QualityFigures:
    approved: int  # answer / intermediate drafts approved (or published)
    approved_first_time: int  # ... with no earlier returned answer-track draft on the incident
    returned: int  # drafts returned for revision
    returns_by_reason: dict[str, int]  # a draft returned for two reasons counts under both


@dataclass(frozen=True)
class MonthFigures:
    total: int
    volumes: dict[str, dict[Any, int]]  # VOLUME_DIMENSIONS -> key -> incidents (None: not set / not routed)
    daily: list[int]  # incidents per day, one entry per [day_starts[i], day_starts[i+1])
    timeliness: list[TimelinessRow]  # the whole scope first, then each department
    overdue: list[OverdueRow]
    quality: QualityFigures


@dataclass(frozen=True)
class LiveFigures:
    open_by_state: dict[str, int]
    open_by_department: dict[int, int]
    overdue_now: int
    due_within: int  # open, due between now and the given horizon
    intake_today: int
    average_answer_seconds: float | None  # over the month's incidents answered so far


# --- building blocks ----------------------------------------------------------------------------


def _cohort(start: datetime, end: datetime, department_id: int | None) -> sa.CTE:
    conditions: list[sa.ColumnElement[bool]] = [
        incidents.c.detected_at >= start,
        incidents.c.detected_at < end,
        incidents.c.state != State.split,
    ]
    if department_id is not None:
        conditions.append(
            sa.exists().where(
                assignments.c.incident_id == incidents.c.id, assignments.c.department_id == department_id, _LIVE
            )
        )
    return (
        sa.select(
            incidents.c.id,
            incidents.c.state,
            incidents.c.importance,
            incidents.c.kind,
            incidents.c.location_id,
            incidents.c.detected_at,
            incidents.c.detected_clock,
            sa.func.coalesce(incidents.c.answer_due, incidents.c.final_due).label("due"),
        )
        .where(*conditions)
        .cte("cohort")
    )


def _first(names: Sequence[str]) -> sa.ColumnElement[Any]:
    return sa.func.min(sa.case((events.c.name.in_(names), events.c.work_clock)))


def _marks(cohort: sa.CTE, cutoff: datetime) -> sa.Select[Any]:
    """One row per cohort incident: its columns, durations to each mark, answered / late / overdue flags."""
    per_incident = (
        sa.select(
            events.c.incident_id,
            _first(ROUTE_EVENTS).label("route_clock"),
            _first(RESPONSE_EVENTS).label("response_clock"),
            _first(DRAFT_EVENTS).label("draft_clock"),
        )
        .where(
            events.c.incident_id.in_(sa.select(cohort.c.id)),
            events.c.name.in_(ROUTE_EVENTS + RESPONSE_EVENTS + DRAFT_EVENTS),
        )
        .group_by(events.c.incident_id)
        .subquery("per_incident")
    )
    # The JSON is read only on publications (about one per incident), not on every event.
    late = events.c.data["on_time"].as_boolean() == sa.false()
    published = (
        sa.select(
            events.c.incident_id,
            sa.func.min(events.c.work_clock).label("publish_clock"),
            sa.func.max(sa.case((late, 1), else_=0)).label("late"),
            sa.func.min(sa.case((late, events.c.at))).label("late_at"),
            sa.func.min(sa.case((late, events.c.data["due"].as_string()))).label("late_due"),
        )
        .where(events.c.incident_id.in_(sa.select(cohort.c.id)), events.c.name.in_(PUBLISHED_EVENTS))
        .group_by(events.c.incident_id)
        .subquery("published")
    )
    is_late = sa.func.coalesce(published.c.late, 0) == 1
    still_open = sa.and_(cohort.c.state.notin_(list(CLOSED_STATES)), cohort.c.due < cutoff)
    answered = published.c.publish_clock.is_not(None)
    clocks = {
        "route": per_incident.c.route_clock,
        "response": per_incident.c.response_clock,
        "draft": per_incident.c.draft_clock,
        "publish": published.c.publish_clock,
    }
    return sa.select(
        cohort.c.id,
        cohort.c.state,
        cohort.c.importance,
        cohort.c.kind,
        cohort.c.location_id,
        cohort.c.detected_at,
        cohort.c.due,
        sa.case((cohort.c.state != State.not_processable, 1), else_=0).label("answerable"),
        sa.case((answered, 1), else_=0).label("answered"),
        sa.case((sa.and_(answered, ~is_late), 1), else_=0).label("on_time"),
        sa.case((sa.or_(is_late, still_open), 1), else_=0).label("overdue"),
        published.c.late_at,
        published.c.late_due,
        *((clock - cohort.c.detected_clock).label(metric) for metric, clock in clocks.items()),
    ).select_from(
        cohort.outerjoin(per_incident, per_incident.c.incident_id == cohort.c.id).outerjoin(
            published, published.c.incident_id == cohort.c.id
        )
    )


class _MonthTables:
    """The month's incidents with their marks, and who holds them, computed once into temporary tables.

    Every later figure reads these few thousand (or hundred thousand) narrow rows instead of joining
    the events again. CREATE TEMPORARY TABLE is per connection on both backends, so concurrent reports
    do not meet; the tables are dropped at the end (and vanish with a rolled-back transaction anyway).
    """

    def __init__(self) -> None:
        meta = sa.MetaData()
        self.month = sa.Table(
            "report_month",
            meta,
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("state", sa.String(32)),
            sa.Column("importance", sa.String(32)),
            sa.Column("kind", sa.String(32)),
            sa.Column("location_id", sa.Integer),
            sa.Column("detected_at", UTCDateTime()),
            sa.Column("due", UTCDateTime()),
            *(sa.Column(name, sa.Integer) for name in ("answerable", "answered", "on_time", "overdue")),
            sa.Column("late_at", UTCDateTime()),
            sa.Column("late_due", sa.String(64)),
            *(sa.Column(metric, sa.BigInteger) for metric in METRICS),
            prefixes=["TEMPORARY"],
        )
        self.holders = sa.Table(
            "report_holders",
            meta,
            sa.Column("incident_id", sa.Integer, index=True),
            sa.Column("department_id", sa.Integer),
            prefixes=["TEMPORARY"],
        )
        self.meta = meta

    async def fill(
        self, session: AsyncSession, start: datetime, end: datetime, cutoff: datetime, department_id: int | None
    ) -> None:
        await session.run_sync(lambda s: self.meta.create_all(s.connection()))
        cohort = _cohort(start, end, department_id)
        marks = _marks(cohort, cutoff)
        await session.execute(sa.insert(self.month).from_select([c.name for c in self.month.c], marks))
        holders = sa.select(assignments.c.incident_id, assignments.c.department_id).where(
            assignments.c.incident_id.in_(sa.select(self.month.c.id)), _LIVE
        )
        if department_id is not None:
            holders = holders.where(assignments.c.department_id == department_id)
        await session.execute(sa.insert(self.holders).from_select(["incident_id", "department_id"], holders.distinct()))

    async def drop(self, session: AsyncSession) -> None:
        await session.run_sync(lambda s: self.meta.drop_all(s.connection()))


def _grouped(marks: sa.Table, attribution: sa.Table) -> sa.CTE:
    """The marks once for the whole scope (department NULL) and once per attributed department."""
    columns = [marks.c.id, marks.c.answerable, marks.c.answered, marks.c.on_time, marks.c.overdue]
    columns += [marks.c[m] for m in METRICS]
    whole = sa.select(sa.null().label("department_id"), *columns)
    per_department = sa.select(attribution.c.department_id, *columns).select_from(
        marks.join(attribution, attribution.c.incident_id == marks.c.id)
    )
    return sa.union_all(whole, per_department).cte("grouped")


def interpolate(ranked: dict[int, float], count: int, numerator: int, denominator: int) -> float | None:
    """The p-quantile (p = numerator/denominator) from the values at the two bracketing ranks."""
    if count == 0:
        return None
    position = numerator * (count - 1)  # 0-based position times the denominator
    low, rest = divmod(position, denominator)
    low_value = ranked[low + 1]
    if rest == 0:
        return float(low_value)
    return low_value + (ranked[low + 2] - low_value) * rest / denominator


def bracket_ranks(n: int) -> list[int]:
    """The 1-based ranks whose values the percentiles of ``n`` values interpolate between."""
    ranks: set[int] = set()
    for numerator, denominator in PERCENTILES.values():
        position = numerator * (n - 1)
        ranks |= {position // denominator + 1, -(-position // denominator) + 1}
    return sorted(ranks)


# --- the month ----------------------------------------------------------------------------------


async def month_figures(
    session: AsyncSession,
    start: datetime,
    end: datetime,
    *,
    cutoff: datetime,
    day_starts: Sequence[datetime],
    department_id: int | None = None,
    detailed: bool = True,
) -> MonthFigures:
    """All the figures of ``[start, end)`` for the organisation or one department.

    ``day_starts`` are the local midnights of the month (and ``end``) as aware datetimes: the
    caller knows the zone, the database only compares instants. ``detailed=False`` (the previous
    month, shown only for comparison) skips the percentiles and the overdue list, the costly parts.
    """
    tables = _MonthTables()
    await tables.fill(session, start, end, cutoff, department_id)
    try:
        month, holders = tables.month, tables.holders
        volumes, total = await _volumes(session, month, holders, department_id)
        daily = await _daily(session, month, day_starts)
        timeliness = await _timeliness(session, month, holders, percentiles=detailed)
        overdue = await _overdue(session, month, holders) if detailed else []
        quality = await _quality(session, month, department_id)
    finally:
        await tables.drop(session)
    return MonthFigures(total, volumes, daily, timeliness, overdue, quality)


async def _volumes(
    session: AsyncSession, cohort: sa.Table, holders: sa.Table, department_id: int | None
) -> tuple[dict[str, dict[Any, int]], int]:
    count = sa.func.count()
    statements: dict[str, sa.Select[Any]] = {
        "importance": sa.select(cohort.c.importance, count).group_by(cohort.c.importance),
        "kind": sa.select(cohort.c.kind, count).group_by(cohort.c.kind),
        "location": sa.select(cohort.c.location_id, count).group_by(cohort.c.location_id),
        "state": sa.select(cohort.c.state, count).group_by(cohort.c.state),
        # An incident on two topics counts under each.
        "topic": sa.select(incident_topics.c.topic_id, count)
        .select_from(cohort.join(incident_topics, incident_topics.c.incident_id == cohort.c.id))
        .group_by(incident_topics.c.topic_id),
    }
    first_source = (
        sa.select(sources.c.incident_id, sa.func.min(sources.c.id).label("source_id"))
        .where(sources.c.incident_id.in_(sa.select(cohort.c.id)))
        .group_by(sources.c.incident_id)
        .subquery()
    )
    statements["network"] = (
        sa.select(sources.c.network, count)
        .select_from(first_source.join(sources, sources.c.id == first_source.c.source_id))
        .group_by(sources.c.network)
    )
    statements["department"] = sa.select(holders.c.department_id, count).group_by(holders.c.department_id)
    volumes: dict[str, dict[Any, int]] = {}
    for dimension, statement in statements.items():
        rows = await session.execute(statement)
        volumes[dimension] = {_plain(key): int(n) for key, n in rows}
    total = sum(volumes["state"].values())
    if department_id is None:
        # The incidents nobody holds (not routed yet, closed as not processable before routing).
        unassigned = await session.scalar(
            sa.select(count).select_from(cohort).where(~sa.exists().where(holders.c.incident_id == cohort.c.id))
        )
        if unassigned:
            volumes["department"][None] = int(unassigned)
    return volumes, total


async def _daily(session: AsyncSession, cohort: sa.Table, day_starts: Sequence[datetime]) -> list[int]:
    if len(day_starts) < 2:
        return []
    # Local days as instants (a zone may shift its offset inside a month): the bucket is a CASE.
    bucket = sa.case(
        *((cohort.c.detected_at < day_starts[i + 1], i) for i in range(len(day_starts) - 1)),
        else_=len(day_starts) - 1,
    ).label("day")
    rows = await session.execute(sa.select(bucket, sa.func.count()).group_by(bucket))
    daily = [0] * (len(day_starts) - 1)
    for day, n in rows:
        if 0 <= day < len(daily):
            daily[day] = int(n)
    return daily


async def _timeliness(
    session: AsyncSession, marks: sa.Table, attribution: sa.Table, *, percentiles: bool = True
) -> list[TimelinessRow]:
    grouped = _grouped(marks, attribution)
    group = grouped.c.department_id
    aggregates = [
        sa.func.sum(grouped.c.answerable),
        sa.func.sum(grouped.c.answered),
        sa.func.sum(grouped.c.on_time),
        sa.func.sum(grouped.c.overdue),
    ]
    for metric in METRICS:
        aggregates += [sa.func.count(grouped.c[metric]), sa.func.avg(grouped.c[metric])]
    summary = {row[0]: row[1:] for row in await session.execute(sa.select(group, *aggregates).group_by(group))}
    sizes = {
        (g, metric): int(figures[4 + 2 * i] or 0) for g, figures in summary.items() for i, metric in enumerate(METRICS)
    }
    values = await _percentile_values(session, grouped, sizes) if percentiles else defaultdict(dict)

    rows: list[TimelinessRow] = []
    for g, figures in summary.items():
        answerable, answered, on_time, overdue, *rest = figures
        durations: dict[str, Durations] = {}
        for i, metric in enumerate(METRICS):
            n, average = int(rest[2 * i] or 0), rest[2 * i + 1]
            key = (g, metric)
            quantiles = [interpolate(values[key], n, *p) for p in PERCENTILES.values()] if percentiles else [None, None]
            durations[metric] = Durations(n, float(average) if average is not None else None, *quantiles)
        rows.append(
            TimelinessRow(g, int(answerable or 0), int(answered or 0), int(on_time or 0), int(overdue or 0), durations)
        )
    rows.sort(key=lambda r: (r.department_id is not None, r.department_id or 0))
    if not rows or rows[0].department_id is not None:
        rows.insert(0, TimelinessRow(None, 0, 0, 0, 0, {m: Durations() for m in METRICS}))
    return rows


async def _percentile_values(
    session: AsyncSession, grouped: sa.CTE, sizes: dict[tuple[Any, str], int]
) -> dict[tuple[Any, str], dict[int, float]]:
    """The values at the ranks the percentiles need, per group and metric: one window query whose
    result is a few rows per group (the group sizes come from the summary, so no second window)."""
    group = grouped.c.department_id
    long = sa.union_all(
        *(
            sa.select(
                group.label("g"), sa.literal(metric, sa.String).label("metric"), grouped.c[metric].label("v")
            ).where(grouped.c[metric].is_not(None))
            for metric in METRICS
        )
    ).subquery("long")
    partition = [long.c.g, long.c.metric]
    ranked = sa.select(
        long.c.g,
        long.c.metric,
        long.c.v,
        sa.func.row_number().over(partition_by=partition, order_by=long.c.v).label("rn"),
    ).subquery("ranked")
    wanted = [
        sa.and_(
            ranked.c.g.is_(None) if g is None else ranked.c.g == g,
            ranked.c.metric == metric,
            ranked.c.rn.in_(bracket_ranks(n)),
        )
        for (g, metric), n in sizes.items()
        if n
    ]
    values: dict[tuple[Any, str], dict[int, float]] = defaultdict(dict)
    if not wanted:
        return values
    picked = sa.select(ranked.c.g, ranked.c.metric, ranked.c.rn, ranked.c.v).where(sa.or_(*wanted))
    for g, metric, rn, v in await session.execute(picked):
        values[(g, metric)][int(rn)] = float(v)
    return values


async def _overdue(session: AsyncSession, marks: sa.Table, holders: sa.Table) -> list[OverdueRow]:
    rows = (
        await session.execute(
            sa.select(
                marks.c.id,
                marks.c.detected_at,
                marks.c.importance,
                marks.c.state,
                marks.c.due,
                marks.c.late_at,
                marks.c.late_due,
            )
            .where(marks.c.overdue == 1)
            .order_by(marks.c.detected_at, marks.c.id)
        )
    ).all()
    if not rows:
        return []
    held: dict[int, list[int]] = defaultdict(list)
    for incident_id, dep in await session.execute(
        sa.select(holders.c.incident_id, holders.c.department_id)
        .join(marks, marks.c.id == holders.c.incident_id)
        .where(marks.c.overdue == 1)
        .order_by(holders.c.incident_id, holders.c.department_id)
    ):
        held[incident_id].append(dep)
    return [
        OverdueRow(
            row.id,
            row.detected_at,
            _plain(row.importance),
            _plain(row.state),
            _parse_due(row.late_due) if row.late_at is not None else row.due,
            row.late_at,
            tuple(dict.fromkeys(held[row.id])),
        )
        for row in rows
    ]


async def _quality(session: AsyncSession, cohort: sa.Table, department_id: int | None) -> QualityFigures:
    earlier = drafts.alias("earlier")
    first_time = ~sa.exists().where(
        earlier.c.incident_id == drafts.c.incident_id,
        earlier.c.kind.in_(_ANSWER_TRACK),
        earlier.c.status == DraftStatus.returned,
        earlier.c.number < drafts.c.number,
    )
    approved = sa.and_(
        drafts.c.kind.in_(_ANSWER_TRACK), drafts.c.status.in_([DraftStatus.approved, DraftStatus.published])
    )
    returned = drafts.c.status == DraftStatus.returned
    # The reasons are a JSON list of enum values; a quoted value cannot match inside another one.
    reasons_text = sa.cast(drafts.c.return_reasons, sa.Text)
    by_reason = [
        sa.func.sum(sa.case((sa.and_(returned, reasons_text.like(f'%"{reason.value}"%')), 1), else_=0))
        for reason in ReturnReason
    ]
    statement = sa.select(
        sa.func.sum(sa.case((approved, 1), else_=0)),
        sa.func.sum(sa.case((sa.and_(approved, first_time), 1), else_=0)),
        sa.func.sum(sa.case((returned, 1), else_=0)),
        *by_reason,
    ).where(drafts.c.incident_id.in_(sa.select(cohort.c.id)))
    if department_id is not None:
        statement = statement.where(drafts.c.department_id == department_id)
    row = (await session.execute(statement)).one()
    approved_n, first_n, returned_n, *reasons = (int(v or 0) for v in row)
    return QualityFigures(
        approved_n, first_n, returned_n, {r.value: n for r, n in zip(ReturnReason, reasons, strict=True)}
    )


# --- live -----------------------------------------------------------------------------------------


async def live_figures(
    session: AsyncSession,
    now: datetime,
    *,
    due_horizon: datetime,
    today_start: datetime,
    month_start: datetime,
) -> LiveFigures:
    """The picture at ``now`` for the whole organisation (/stats)."""
    count = sa.func.count()
    by_state = {
        _plain(state): int(n)
        for state, n in await session.execute(
            sa.select(incidents.c.state, count).where(_OPEN).group_by(incidents.c.state)
        )
    }
    by_department = {
        int(dep): int(n)
        for dep, n in await session.execute(
            sa.select(assignments.c.department_id, sa.func.count(sa.distinct(assignments.c.incident_id)))
            .select_from(assignments.join(incidents, incidents.c.id == assignments.c.incident_id))
            .where(_OPEN, _LIVE)
            .group_by(assignments.c.department_id)
        )
    }
    due = sa.func.coalesce(incidents.c.answer_due, incidents.c.final_due)
    overdue_now = await session.scalar(sa.select(count).where(_OPEN, due < now))
    due_within = await session.scalar(sa.select(count).where(_OPEN, due >= now, due < due_horizon))
    intake = await session.scalar(
        sa.select(count).where(incidents.c.detected_at >= today_start, incidents.c.state != State.split)
    )
    marks = _marks(_cohort(month_start, now, None), now).subquery()
    average = await session.scalar(sa.select(sa.func.avg(marks.c.publish)))
    return LiveFigures(
        by_state,
        by_department,
        int(overdue_now or 0),
        int(due_within or 0),
        int(intake or 0),
        float(average) if average is not None else None,
    )


def _plain(value: Any) -> Any:
    """Enum members as their string values, so results compare and serialise simply."""
    return getattr(value, "value", value)


def _parse_due(text: str | None) -> datetime | None:
    if not text:
        return None
    due = datetime.fromisoformat(text)
    return due if due.tzinfo is not None else due.replace(tzinfo=UTC)  # the workflow writes aware ISO moments
