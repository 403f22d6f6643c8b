"""What the assistant keeps (issue 13 §3–§5): incidents' posts as normalised lemmas, the history routing hints
read, the suggestions made at routing, and answer templates. Works in the caller's transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.incident import CLOSED_STATES, AssignmentState, State
from storage.models import AnswerTemplateRow, RouteSuggestionRow, SimilarTextRow
from storage.tables import assignments, incident_topics, incidents, sources, table

similar_texts = table(SimilarTextRow)
answer_templates = table(AnswerTemplateRow)
route_suggestions = table(RouteSuggestionRow)


@dataclass(frozen=True)
class TemplateRecord:
    """An answer template: ``topic_id`` None = any topic; ``department_id`` None = the whole organisation's."""

    id: int
    topic_id: int | None
    department_id: int | None
    title: str
    text: str


@dataclass(frozen=True, slots=True)
class PoolRow:
    """An incident as the repeat-by-meaning pool needs it: whether it is closed (a split parent too), when it
    was detected and last changed (aware UTC), its location, and its stored lemmas — or, registered before
    lemmas were stored, its first post's text."""

    id: int
    closed: bool
    split: bool
    detected_at: datetime
    location_id: int | None
    updated_at: datetime
    lemmas: str | None
    text: str | None


@dataclass(frozen=True)
class RoutingFigures:
    """Routing in a period (issue 13 §4): incidents routed with a suggestion, how many of them exactly as
    suggested, incidents routed at all, and how many of those a department returned "not ours"."""

    suggested: int
    followed: int
    routed: int
    returned_not_ours: int

    @property
    def followed_share(self) -> float | None:
        """Share (0…1) of the incidents routed with a suggestion that were routed exactly as suggested; None
        when nothing was suggested."""
        return self.followed / self.suggested if self.suggested else None

    @property
    def returned_share(self) -> float | None:
        """Share (0…1) of the routed incidents a department returned "not ours"; None when none was routed."""
        return self.returned_not_ours / self.routed if self.routed else None


class AssistantRepository:
    """The assistant's tables and the history its hints read. Datetimes in aware, out aware UTC."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    # --- repeats by meaning ---------------------------------------------------------------------------

    async def put_lemmas(self, rows: Sequence[tuple[int, str]]) -> None:
        """Store (incident id, normalised lemmas) pairs, replacing what an incident had."""
        if not rows:
            return
        ids = [incident_id for incident_id, _ in rows]
        await self._session.execute(sa.delete(similar_texts).where(similar_texts.c.incident_id.in_(ids)))
        await self._session.execute(
            sa.insert(similar_texts), [{"incident_id": i, "lemmas": lemmas} for i, lemmas in rows]
        )

    async def pool_rows(
        self, horizon: datetime, changed_since: datetime | None = None
    ) -> tuple[list[PoolRow], dict[int, set[int]]]:
        """The incidents for the repeat-by-meaning pool, with their topics ({id: topic ids}).

        Without ``changed_since``: those a new post may repeat — open ones, and closed ones detected since
        ``horizon``. With it: every incident changed (``updated_at``, the database's clock) at or after it,
        whatever its state, so the caller also learns which closed. A row registered before lemmas were
        stored carries its first post's text instead."""
        if changed_since is None:
            closed = [s.value for s in CLOSED_STATES]
            where = sa.or_(incidents.c.state.not_in(closed), incidents.c.detected_at >= horizon)
        else:
            where = incidents.c.updated_at >= changed_since
        first_text = (
            sa.select(sources.c.text)
            .where(sources.c.incident_id == incidents.c.id)
            .order_by(sources.c.id)
            .limit(1)
            .scalar_subquery()
        )
        rows = await self._session.execute(
            sa.select(
                incidents.c.id,
                incidents.c.state,
                incidents.c.detected_at,
                incidents.c.location_id,
                incidents.c.updated_at,
                similar_texts.c.lemmas,
                sa.case((similar_texts.c.lemmas.is_(None), first_text), else_=None),
            )
            .select_from(incidents.outerjoin(similar_texts, similar_texts.c.incident_id == incidents.c.id))
            .where(where)
        )
        found = [
            PoolRow(i, State(state) in CLOSED_STATES, State(state) is State.split, at, place, updated, lemmas, text)
            for i, state, at, place, updated, lemmas, text in rows
        ]
        topics: dict[int, set[int]] = {}
        if found:
            on_topic = await self._session.execute(
                sa.select(incident_topics.c.incident_id, incident_topics.c.topic_id)
                .join(incidents, incidents.c.id == incident_topics.c.incident_id)
                .where(where)
            )
            for incident_id, topic_id in on_topic:
                topics.setdefault(incident_id, set()).add(topic_id)
        return found, topics

    # --- routing hints ------------------------------------------------------------------------------------

    async def last_departments(self, topic_ids: Sequence[int], location_id: int | None) -> list[int]:
        """The departments that last answered an incident on one of ``topic_ids`` (at ``location_id``, when
        given): of the latest such incident with an assignment not returned "not ours", its departments that did
        not return it, in routing order. Empty when there is none."""
        if not topic_ids:
            return []
        kept = [AssignmentState.returned.value, AssignmentState.cancelled.value]
        on_topic = sa.exists().where(
            incident_topics.c.incident_id == incidents.c.id, incident_topics.c.topic_id.in_(list(topic_ids))
        )
        where = [on_topic, assignments.c.state.not_in(kept)]
        if location_id is not None:
            where.append(incidents.c.location_id == location_id)
        latest = await self._session.scalar(
            sa.select(incidents.c.id)
            .join(assignments, assignments.c.incident_id == incidents.c.id)
            .where(*where)
            .order_by(incidents.c.detected_at.desc(), incidents.c.id.desc())
            .limit(1)
        )
        if latest is None:
            return []
        rows = await self._session.execute(
            sa.select(assignments.c.department_id)
            .where(assignments.c.incident_id == latest, assignments.c.state.not_in(kept))
            .order_by(assignments.c.order, assignments.c.id)
        )
        return list(dict.fromkeys(rows.scalars()))

    async def record_suggestion(
        self, incident_id: int, suggested: Sequence[int], chosen: Sequence[int], at: datetime
    ) -> None:
        """Remember what was suggested when the incident was first routed and whether ``chosen`` was exactly that
        (in any order); a later routing of the same incident keeps the first record."""
        exists = await self._session.scalar(
            sa.select(route_suggestions.c.incident_id).where(route_suggestions.c.incident_id == incident_id)
        )
        if exists is not None:
            return
        await self._session.execute(
            sa.insert(route_suggestions).values(
                incident_id=incident_id,
                departments=list(suggested),
                followed=bool(suggested) and set(suggested) == set(chosen),
                routed_at=at,
            )
        )

    async def routing_figures(self, start: datetime, end: datetime) -> RoutingFigures:
        """Routing of the incidents detected in [start, end): suggestions made and followed, incidents routed,
        and those a department returned "not ours" (an assignment returned)."""
        in_period = (incidents.c.detected_at >= start, incidents.c.detected_at < end)
        suggested, followed = (
            await self._session.execute(
                sa.select(
                    sa.func.count(),
                    sa.func.coalesce(sa.func.sum(sa.case((route_suggestions.c.followed, 1), else_=0)), 0),
                )
                .select_from(route_suggestions.join(incidents, incidents.c.id == route_suggestions.c.incident_id))
                .where(*in_period, sa.func.json_array_length(route_suggestions.c.departments) > 0)
            )
        ).one()
        routed = await self._session.scalar(
            sa.select(sa.func.count(sa.distinct(assignments.c.incident_id)))
            .join(incidents, incidents.c.id == assignments.c.incident_id)
            .where(*in_period)
        )
        returned = await self._session.scalar(
            sa.select(sa.func.count(sa.distinct(assignments.c.incident_id)))
            .join(incidents, incidents.c.id == assignments.c.incident_id)
            .where(*in_period, assignments.c.returned_at.is_not(None))
        )
        return RoutingFigures(int(suggested), int(followed), int(routed or 0), int(returned or 0))

    # --- answer templates ---------------------------------------------------------------------------------

    async def templates(self, department_ids: Sequence[int] | None = None) -> list[TemplateRecord]:
        """The templates, by title: all (``department_ids`` None), or the organisation's and those of
        ``department_ids``."""
        query = sa.select(answer_templates).order_by(answer_templates.c.title, answer_templates.c.id)
        if department_ids is not None:
            query = query.where(
                sa.or_(
                    answer_templates.c.department_id.is_(None),
                    answer_templates.c.department_id.in_(list(department_ids)),
                )
            )
        return [_template(row) for row in await self._session.execute(query)]

    async def template(self, template_id: int) -> TemplateRecord | None:
        """One template, or None when there is none with this id."""
        row = (
            await self._session.execute(sa.select(answer_templates).where(answer_templates.c.id == template_id))
        ).first()
        return _template(row) if row is not None else None

    async def add_template(
        self, topic_id: int | None, department_id: int | None, title: str, text: str, by: int | None, at: datetime
    ) -> int:
        """Store a new template; returns its id. IntegrityError for an unknown topic or department."""
        values = {"topic_id": topic_id, "department_id": department_id, "title": title, "text": text}
        result = await self._session.execute(
            sa.insert(answer_templates).values(**values, created_by=by, updated_at=at).returning(answer_templates.c.id)
        )
        return int(result.scalar_one())

    async def update_template(self, template_id: int, text: str, at: datetime) -> bool:
        """Replace a template's text; whether it existed."""
        result = await self._session.execute(
            sa.update(answer_templates).where(answer_templates.c.id == template_id).values(text=text, updated_at=at)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def delete_template(self, template_id: int) -> bool:
        """Delete a template; whether it existed."""
        result = await self._session.execute(sa.delete(answer_templates).where(answer_templates.c.id == template_id))
        return bool(result.rowcount)  # type: ignore[attr-defined]


def _template(row: sa.Row[object]) -> TemplateRecord:
    m = row._mapping
    return TemplateRecord(m["id"], m["topic_id"], m["department_id"], m["title"], m["text"])
