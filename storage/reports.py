"""SQL aggregates behind the monthly report and /stats: the database counts, Python only labels.

Every figure is one or a few SQLAlchemy Core statements that run unchanged on SQLite and
PostgreSQL. No incident is loaded as an object: the results are counts, sums, and two values
per percentile.

Definitions (the report's footnotes say the same):

* The month's incidents ("cohort") are those detected in ``[start, end)``; a split parent is
  left out because its per-department children carry the work. A department's incidents are
  those with a live assignment of it (not cancelled by re-routing, not returned "not ours").
* Durations are working seconds from detection to the first event of a kind, as the workflow
  keeps them on the incident (bot.domain.incident.Milestones): route (``routed``/``rerouted``/
  ``split_from``), first response (``accepted``/``executor_assigned``/``contribution_submitted``),
  first draft (``draft_submitted``), publication (first ``published``, an intermediate answer
  included). Both ends are work clocks, so the difference needs no calendar in the database.
* Answered on time: answered (published) and no publication of the incident came after the
  deadline it was due by (the first such publication is ``late_at``, its deadline ``late_due``).
  Overdue: a late publication, or still open with the answer (or final answer) deadline before
  ``cutoff`` (the end of the month, or now while the month runs).
* Percentiles interpolate linearly between the two nearest ranks (as PostgreSQL's
  ``percentile_cont`` and numpy's default): SQL returns those two values, Python interpolates.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.incident import CLOSED_STATES, AssignmentState, DraftKind, DraftStatus, ReturnReason, State
from storage.tables import assignments, drafts, incident_topics, incidents, sources
from storage.types import UTCDateTime

METRICS = ("route", "response", "draft", "publish")
PERCENTILES = {"median": (1, 2), "p90": (9, 10)}  # p = numerator / denominator
VOLUME_DIMENSIONS = ("topic", "network", "location", "department", "importance", "kind", "state")
FLAGS = ("answerable", "answered", "on_time", "overdue")
PERCENTILE_QUERIES_PER_STATEMENT = 100  # SQLite allows 500 terms in a compound SELECT

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
    """One overdue incident of the month (SPEC §6 overdue list): datetimes aware UTC, ``importance`` and
    ``state`` as enum values, the scope's live departments holding it by id (empty if none)."""

    incident_id: int
    detected_at: datetime
    importance: str
    state: str
    due: datetime | None
    published_at: datetime | None  # the late publication, None while still open
    late_by: int | None  # working seconds past the deadline, as recorded at the late publication
    department_ids: tuple[int, ...]


@dataclass(frozen=True)
class QualityFigures:
    """Draft counts of the month's incidents (SPEC §6 quality); ``returns_by_reason`` has every ReturnReason
    value as a key."""

    approved: int  # answer / intermediate drafts approved (or published)
    approved_first_time: int  # ... with no earlier returned answer-track draft on the incident
    returned: int  # drafts returned for revision
    returns_by_reason: dict[str, int]  # a draft returned for two reasons counts under both


NO_QUALITY = QualityFigures(0, 0, 0, {r.value: 0 for r in ReturnReason})


@dataclass(frozen=True)
class MonthFigures:
    """Everything the monthly report shows for one scope (the organisation or one department)."""

    total: int
    volumes: dict[str, dict[Any, int]]  # VOLUME_DIMENSIONS -> key -> incidents (None: not set / not routed)
    daily: list[int]  # incidents per day, one entry per [day_starts[i], day_starts[i+1])
    timeliness: list[TimelinessRow]  # the whole scope first, then each department
    overdue: list[OverdueRow]
    quality: QualityFigures


@dataclass(frozen=True)
class LiveFigures:
    """The /stats picture at one moment: counts of open incidents (by state value, by department id) and
    the month's average working seconds from detection to publication."""

    open_by_state: dict[str, int]
    open_by_department: dict[int, int]
    overdue_now: int
    due_within: int  # open, due between now and the given horizon
    intake_today: int
    average_answer_seconds: float | None  # over the month's incidents answered so far


# --- building blocks ----------------------------------------------------------------------------


def _due() -> sa.ColumnElement[datetime]:
    """The deadline an incident is overdue by: the answer's, or the final answer's after an intermediate one."""
    return sa.func.coalesce(incidents.c.answer_due, incidents.c.final_due)


def _in_cohort(start: datetime, end: datetime, department_id: int | None) -> list[sa.ColumnElement[bool]]:
    """The incidents of the month (of one department's, when given)."""
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
    return conditions


def _cohort(start: datetime, end: datetime, cutoff: datetime, department_id: int | None) -> sa.Select[Any]:
    """One row per incident of the month: what the figures group by, its flags and its durations."""
    conditions = _in_cohort(start, end, department_id)
    first_network = (
        sa.select(sources.c.network)
        .where(sources.c.incident_id == incidents.c.id)
        .order_by(sources.c.id)
        .limit(1)
        .scalar_subquery()
    )
    answered = incidents.c.publish_clock.is_not(None)
    late = incidents.c.late_at.is_not(None)
    still_open = sa.and_(_OPEN, _due() < cutoff)
    return sa.select(
        incidents.c.id,
        incidents.c.state,
        incidents.c.importance,
        incidents.c.kind,
        incidents.c.location_id,
        first_network.label("network"),
        incidents.c.detected_at,
        _due().label("due"),
        sa.case((incidents.c.state != State.not_processable, 1), else_=0).label("answerable"),
        sa.case((answered, 1), else_=0).label("answered"),
        sa.case((sa.and_(answered, ~late), 1), else_=0).label("on_time"),
        sa.case((sa.or_(late, still_open), 1), else_=0).label("overdue"),
        incidents.c.late_at,
        incidents.c.late_due,
        incidents.c.late_by,
        *((incidents.c[f"{m}_clock"] - incidents.c.detected_clock).label(m) for m in METRICS),
    ).where(*conditions)


class _MonthTables:
    """The month's incidents with their marks, and who holds them, computed once into temporary tables.

    Every later figure reads these narrow rows instead of the incidents table again. The holders
    carry the flags and durations too, so per-department figures need no join, and the indexes on
    (department, duration) let each percentile read two values off an index instead of sorting.
    CREATE TEMPORARY TABLE is per connection on both backends, so concurrent reports do not meet;
    the tables are dropped at the end (and vanish with a rolled-back transaction anyway).
    """

    def __init__(self) -> None:
        meta = sa.MetaData()

        def figures() -> list[sa.Column[Any]]:
            return [
                *(sa.Column(name, sa.Integer) for name in FLAGS),
                *(sa.Column(metric, sa.BigInteger) for metric in METRICS),
            ]

        self.month = sa.Table(
            "report_month",
            meta,
            # No primary key: rows are appended in the order the detected_at index yields them, which
            # costs half of inserting them into a b-tree keyed by id.
            sa.Column("id", sa.Integer),
            sa.Column("state", sa.String(32)),
            sa.Column("importance", sa.String(32)),
            sa.Column("kind", sa.String(32)),
            sa.Column("location_id", sa.Integer),
            sa.Column("network", sa.String(32)),
            sa.Column("detected_at", UTCDateTime()),
            sa.Column("due", UTCDateTime()),
            sa.Column("late_at", UTCDateTime()),
            sa.Column("late_due", UTCDateTime()),
            sa.Column("late_by", sa.BigInteger),
            *figures(),
            prefixes=["TEMPORARY"],
        )
        self.holders = sa.Table(
            "report_holders",
            meta,
            sa.Column("incident_id", sa.Integer),
            sa.Column("department_id", sa.Integer),
            *figures(),
            prefixes=["TEMPORARY"],
        )
        self.days = sa.Table(
            "report_days",
            meta,
            sa.Column("day", sa.Integer, primary_key=True),
            sa.Column("start", UTCDateTime()),
            sa.Column("end", UTCDateTime()),
            prefixes=["TEMPORARY"],
        )
        # Created after the rows are in (one sort each, cheaper than keeping them up on insert);
        # the ranked ones only when percentiles (and days) are asked for.
        self.lookup = [sa.Index("ix_report_holders_incident_id", self.holders.c.incident_id)]
        self.ranked = [sa.Index(f"ix_report_month_{m}", self.month.c[m]) for m in METRICS]
        self.ranked += [
            sa.Index(f"ix_report_holders_{m}", self.holders.c.department_id, self.holders.c[m]) for m in METRICS
        ]
        self.ranked.append(sa.Index("ix_report_month_detected_at", self.month.c.detected_at))
        self.meta = meta

    async def fill(
        self,
        session: AsyncSession,
        start: datetime,
        end: datetime,
        cutoff: datetime,
        department_id: int | None,
    ) -> None:
        # CREATE TABLE without the indexes the Table objects carry: those come after the rows.
        await session.run_sync(lambda s: [s.execute(sa.schema.CreateTable(t)) for t in self.meta.sorted_tables])
        cohort = _cohort(start, end, cutoff, department_id)
        await session.execute(sa.insert(self.month).from_select([c.name for c in cohort.selected_columns], cohort))
        copied = [self.month.c[name] for name in (*FLAGS, *METRICS)]
        # At most one live assignment per department: routing takes distinct departments and
        # re-routing cancels the earlier set. The month's rows drive the join, each looking up its
        # assignments by index.
        holders = (
            sa.select(assignments.c.incident_id, assignments.c.department_id, *copied)
            .select_from(self.month.join(assignments, assignments.c.incident_id == self.month.c.id))
            .where(_LIVE)
        )
        if department_id is not None:
            holders = holders.where(assignments.c.department_id == department_id)
        await session.execute(
            sa.insert(self.holders).from_select(["incident_id", "department_id", *(c.name for c in copied)], holders)
        )
        await self._create(session, self.lookup)

    async def rank(self, session: AsyncSession) -> None:
        """The indexes percentiles and days read; after the plain aggregates, which a planner
        without statistics on these tables might otherwise run along an index instead of a scan."""
        await self._create(session, self.ranked)

    async def _create(self, session: AsyncSession, indexes: list[sa.Index]) -> None:
        await session.run_sync(lambda s: [index.create(s.connection()) for index in indexes])

    async def drop(self, session: AsyncSession) -> None:
        await session.run_sync(lambda s: self.meta.drop_all(s.connection()))


def interpolate(low: float, high: float, count: int, numerator: int, denominator: int) -> float:
    """The p-quantile (p = numerator/denominator) of ``count`` values, from the values at its two bracketing ranks.

    Linear between the ranks, as PostgreSQL's ``percentile_cont``; ``count`` ≥ 1.
    """
    rest = numerator * (count - 1) % denominator
    return float(low) if rest == 0 else low + (high - low) * rest / denominator


def bracket(count: int, numerator: int, denominator: int) -> tuple[int, int]:
    """The 0-based offset of the lower bracketing rank of the p-quantile, and how many ranks it needs (1 or 2).

    For ``count`` ≥ 1 values sorted ascending; feeds :func:`interpolate`.
    """
    low, rest = divmod(numerator * (count - 1), denominator)
    return low, 1 if rest == 0 else 2


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
    quality: bool = True,
) -> MonthFigures:
    """All the figures of ``[start, end)`` (aware) for the organisation or one department; overdue means by
    ``cutoff`` (aware). Durations are working seconds.

    ``day_starts`` are the local midnights of the month (and ``end``) as aware datetimes: the
    caller knows the zone, the database only compares instants. ``detailed=False`` (the previous
    month, shown only for comparison) skips the percentiles, the days and the overdue list.
    ``quality=False`` leaves the quality figures empty, for a caller that gets them from
    :func:`month_quality` on another connection meanwhile.

    Creates, fills and drops temporary tables on the session's connection (per connection, so concurrent
    reports do not meet); callers read in a :func:`storage.db.snapshot` session. Database errors propagate.
    """
    tables = _MonthTables()
    await tables.fill(session, start, end, cutoff, department_id)
    try:
        volumes, total = await _volumes(session, tables, department_id)
        timeliness = await _timeliness(session, tables, percentiles=detailed)
        daily = await _daily(session, tables, day_starts) if detailed else []
        overdue = await _overdue(session, tables) if detailed else []
        drafted = await _quality(session, sa.select(tables.month.c.id), department_id) if quality else NO_QUALITY
    finally:
        await tables.drop(session)
    return MonthFigures(total, volumes, daily, timeliness, overdue, drafted)


async def month_quality(
    session: AsyncSession, start: datetime, end: datetime, department_id: int | None = None
) -> QualityFigures:
    """The quality figures of ``[start, end)`` (aware) alone, straight from the incidents table."""
    cohort_ids = sa.select(incidents.c.id).where(*_in_cohort(start, end, department_id))
    return await _quality(session, cohort_ids, department_id)


async def _volumes(
    session: AsyncSession, tables: _MonthTables, department_id: int | None
) -> tuple[dict[str, dict[Any, int]], int]:
    month, holders = tables.month, tables.holders
    count = sa.func.count()
    statements: dict[str, sa.Select[Any]] = {
        name: sa.select(month.c[name], count).group_by(month.c[name])
        for name in ("importance", "kind", "network", "state")
    }
    statements["location"] = sa.select(month.c.location_id, count).group_by(month.c.location_id)
    # An incident on two topics counts under each.
    statements["topic"] = (
        sa.select(incident_topics.c.topic_id, count)
        .where(incident_topics.c.incident_id.in_(sa.select(month.c.id)))  # by index, not a scan of every topic row
        .group_by(incident_topics.c.topic_id)
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
            sa.select(count).select_from(month).where(~sa.exists().where(holders.c.incident_id == month.c.id))
        )
        if unassigned:
            volumes["department"][None] = int(unassigned)
    return volumes, total


async def _daily(session: AsyncSession, tables: _MonthTables, day_starts: Sequence[datetime]) -> list[int]:
    """Incidents per local day; a zone may shift its offset inside a month, so days are instant ranges."""
    if len(day_starts) < 2:
        return []
    days, month = tables.days, tables.month
    await session.execute(
        sa.insert(days),
        [{"day": i, "start": day_starts[i], "end": day_starts[i + 1]} for i in range(len(day_starts) - 1)],
    )
    rows = await session.execute(
        sa.select(days.c.day, sa.func.count(month.c.id))
        .select_from(
            days.outerjoin(month, sa.and_(month.c.detected_at >= days.c.start, month.c.detected_at < days.c.end))
        )
        .group_by(days.c.day)
    )
    daily = [0] * (len(day_starts) - 1)
    for day, n in rows:
        daily[day] = int(n)
    return daily


async def _timeliness(session: AsyncSession, tables: _MonthTables, *, percentiles: bool = True) -> list[TimelinessRow]:
    def summary(table: sa.Table, group: sa.ColumnElement[Any]) -> sa.Select[Any]:
        aggregates: list[sa.ColumnElement[Any]] = [sa.func.sum(table.c[flag]) for flag in FLAGS]
        for metric in METRICS:
            aggregates += [sa.func.count(table.c[metric]), sa.func.avg(table.c[metric])]
        return sa.select(group.label("department_id"), *aggregates)

    holders = tables.holders
    statement = sa.union_all(
        summary(tables.month, sa.null()),
        summary(holders, holders.c.department_id).group_by(holders.c.department_id),
    )
    groups = {row[0]: row[1:] for row in await session.execute(statement)}
    sizes = {
        (g, metric): int(figures[4 + 2 * i] or 0) for g, figures in groups.items() for i, metric in enumerate(METRICS)
    }
    values: dict[tuple[Any, str, str], float] = {}
    if percentiles:
        await tables.rank(session)
        values = await _percentile_values(session, tables, sizes)

    rows: list[TimelinessRow] = []
    for g, figures in groups.items():
        answerable, answered, on_time, overdue, *rest = figures
        durations: dict[str, Durations] = {}
        for i, metric in enumerate(METRICS):
            n, average = int(rest[2 * i] or 0), rest[2 * i + 1]
            quantiles = [values.get((g, metric, name)) for name in PERCENTILES]
            durations[metric] = Durations(n, float(average) if average is not None else None, *quantiles)
        rows.append(
            TimelinessRow(g, int(answerable or 0), int(answered or 0), int(on_time or 0), int(overdue or 0), durations)
        )
    rows.sort(key=lambda r: (r.department_id is not None, r.department_id or 0))
    return rows


async def _percentile_values(
    session: AsyncSession, tables: _MonthTables, sizes: dict[tuple[Any, str], int]
) -> dict[tuple[Any, str, str], float]:
    """Each percentile from the one or two values bracketing it, read off the (department, duration)
    indexes with ORDER BY … LIMIT … OFFSET: no sort, a few index steps per figure."""
    picks: list[tuple[tuple[Any, str, str], int, sa.Select[Any]]] = []
    for (g, metric), n in sizes.items():
        if not n:
            continue
        table = tables.month if g is None else tables.holders
        value = table.c[metric]
        for name, (numerator, denominator) in PERCENTILES.items():
            offset, width = bracket(n, numerator, denominator)
            pick = sa.select(value.label("v")).where(value.is_not(None))
            if g is not None:
                pick = pick.where(table.c.department_id == g)
            pick = pick.order_by(value).limit(width).offset(offset).subquery()
            picks.append(((g, metric, name), n, sa.select(sa.func.min(pick.c.v), sa.func.max(pick.c.v))))
    values: dict[tuple[Any, str, str], float] = {}
    for i in range(0, len(picks), PERCENTILE_QUERIES_PER_STATEMENT):
        chunk = picks[i : i + PERCENTILE_QUERIES_PER_STATEMENT]
        tagged = [statement.add_columns(sa.literal(k).label("k")) for k, (_, _, statement) in enumerate(chunk)]
        for low, high, k in await session.execute(sa.union_all(*tagged)):
            key, n, _ = chunk[k]
            numerator, denominator = PERCENTILES[key[2]]
            values[key] = interpolate(low, high, n, numerator, denominator)
    return values


async def _overdue(session: AsyncSession, tables: _MonthTables) -> list[OverdueRow]:
    month, holders = tables.month, tables.holders
    rows = (
        await session.execute(
            sa.select(
                month.c.id,
                month.c.detected_at,
                month.c.importance,
                month.c.state,
                sa.func.coalesce(month.c.late_due, month.c.due).label("due"),
                month.c.late_at,
                month.c.late_by,
            )
            .where(month.c.overdue == 1)
            .order_by(month.c.detected_at, month.c.id)
        )
    ).all()
    if not rows:
        return []
    held: dict[int, list[int]] = defaultdict(list)
    for incident_id, dep in await session.execute(
        sa.select(holders.c.incident_id, holders.c.department_id)
        .where(holders.c.overdue == 1)
        .order_by(holders.c.incident_id, holders.c.department_id)
    ):
        held[incident_id].append(dep)
    return [
        OverdueRow(
            row.id,
            row.detected_at,
            _plain(row.importance),
            _plain(row.state),
            row.due,
            row.late_at,
            row.late_by,
            tuple(held[row.id]),
        )
        for row in rows
    ]


async def _quality(session: AsyncSession, cohort_ids: sa.Select[Any], department_id: int | None) -> QualityFigures:
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
    ).where(drafts.c.incident_id.in_(cohort_ids))
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
    """The picture at ``now`` for the whole organisation (/stats); every moment aware.

    Overdue and due counts use the answer (or final answer) deadline: ``overdue_now`` before ``now``,
    ``due_within`` in ``[now, due_horizon)``; ``intake_today`` counts detections since ``today_start``;
    the average covers incidents detected in ``[month_start, now)`` and answered. Split parents are left out
    of the intake and the average.
    """
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
    overdue_now = await session.scalar(sa.select(count).where(_OPEN, _due() < now))
    due_within = await session.scalar(sa.select(count).where(_OPEN, _due() >= now, _due() < due_horizon))
    intake = await session.scalar(
        sa.select(count).where(incidents.c.detected_at >= today_start, incidents.c.state != State.split)
    )
    answer_time = incidents.c.publish_clock - incidents.c.detected_clock
    average = await session.scalar(
        sa.select(sa.func.avg(answer_time)).where(
            incidents.c.detected_at >= month_start, incidents.c.detected_at < now, incidents.c.state != State.split
        )
    )
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


@dataclass(frozen=True)
class PrecheckRow:
    """One answer-track draft the pre-check looked at: the reasons it found (Reason values, [] for none), the
    draft's status and, when returned, the curator's reasons (ReturnReason values)."""

    found: list[str]
    status: DraftStatus
    return_reasons: list[str]


async def month_precheck(
    session: AsyncSession, start: datetime, end: datetime, department_id: int | None = None
) -> list[PrecheckRow]:
    """The answer and intermediate drafts of the month's incidents (``[start, end)`` aware; of one department's,
    when given) that were checked by the draft pre-check (drafts.precheck not NULL), in submission order."""
    cohort_ids = sa.select(incidents.c.id).where(*_in_cohort(start, end, department_id))
    statement = (
        sa.select(drafts.c.precheck, drafts.c.status, drafts.c.return_reasons)
        .where(drafts.c.incident_id.in_(cohort_ids), drafts.c.kind.in_(_ANSWER_TRACK), drafts.c.precheck.is_not(None))
        .order_by(drafts.c.id)
    )
    if department_id is not None:
        statement = statement.where(drafts.c.department_id == department_id)
    rows = await session.execute(statement)
    return [
        PrecheckRow([f["reason"] for f in found or []], DraftStatus(status), list(reasons or []))
        for found, status, reasons in rows
    ]
