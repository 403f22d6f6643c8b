"""The incident aggregate: loading and storing whole incidents (optimistic on their version), the row ↔ domain
mapping written once, and the queries that list incidents."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.errors import ConcurrentUpdate, IllegalTransition, NotFound
from bot.domain.incident import (
    CLOSED_STATES,
    Assignment,
    AssignmentDeadline,
    AssignmentState,
    Attachment,
    DeadlineKind,
    Draft,
    Event,
    Incident,
    Milestones,
    Pause,
    ReturnReason,
    Source,
    State,
)
from bot.domain.precheck.findings import Finding, Reason, finding
from storage.posts import PostRepository
from storage.tables import assignments, attachments, drafts, events, incident_topics, incidents, pauses, sources

# A deadline kind added to the domain needs a column (and a migration): fail at import, loudly.
_DEADLINE_COLUMNS = {kind: f"{kind.value}_due" for kind in DeadlineKind}
_ASSIGNMENT_DEADLINE_COLUMNS = {kind: f"{kind.value}_due" for kind in AssignmentDeadline}
for _table_, _columns in (
    (incidents, _DEADLINE_COLUMNS.values()),
    (assignments, _ASSIGNMENT_DEADLINE_COLUMNS.values()),
):
    _missing = [name for name in _columns if name not in _table_.c]
    if _missing:
        raise RuntimeError(f"{_table_.name} lacks deadline columns {_missing}: add a migration")


# SQLite locks the whole file. When a transaction that has already read (the incident, to know
# its version) wants to write while another writer holds the lock it gets SQLITE_BUSY at once
# (waiting could deadlock), and once that writer has committed it gets SQLITE_BUSY_SNAPSHOT.
# Either way somebody wrote first and this transaction may not write: a lost optimistic race.
_SQLITE_LOST_RACE = frozenset({5, 517})  # SQLITE_BUSY, SQLITE_BUSY_SNAPSHOT


def _incident_values(incident: Incident) -> dict[str, Any]:
    values: dict[str, Any] = {
        "organisation": incident.organisation,
        "state": incident.state,
        "importance": incident.importance,
        "kind": incident.kind,
        "mode": incident.mode,
        "detected_at": incident.detected_at,
        "location_id": incident.location_id,
        "repeat_of": incident.repeat_of,
        "parent_id": incident.parent_id,
        "created_by": incident.created_by,
        "consolidator_department_id": incident.consolidator_department_id,
        "intermediate_published_at": incident.intermediate_published_at,
        "published_at": incident.published_at,
        "closed_reason": incident.closed_reason,
        "detected_clock": incident.detected_clock,
        "route_clock": incident.milestones.route,
        "response_clock": incident.milestones.response,
        "draft_clock": incident.milestones.draft,
        "publish_clock": incident.milestones.publish,
        "late_at": incident.milestones.late_at,
        "late_due": incident.milestones.late_due,
        "late_by": incident.milestones.late_by,
    }
    for kind, column in _DEADLINE_COLUMNS.items():
        values[column] = incident.deadlines.get(kind)
    return values


def _source_values(source: Source) -> dict[str, Any]:
    return {
        "network": source.network,
        "url": source.url,
        "author": source.author,
        "text": source.text,
        "detected_at": source.detected_at,
        "external_id": source.external_id,
    }


def _assignment_values(assignment: Assignment) -> dict[str, Any]:
    values: dict[str, Any] = {
        "department_id": assignment.department_id,
        "state": assignment.state,
        "order": assignment.order,
        "executor_id": assignment.executor_id,
        "received_at": assignment.received_at,
        "return_reason": assignment.return_reason,
        "returned_at": assignment.returned_at,
    }
    for kind, column in _ASSIGNMENT_DEADLINE_COLUMNS.items():
        values[column] = assignment.deadlines.get(kind)
    return values


def _draft_values(draft: Draft) -> dict[str, Any]:
    return {
        "number": draft.number,
        "kind": draft.kind,
        "text": draft.text,
        "author_id": draft.author_id,
        "department_id": draft.department_id,
        "submitted_at": draft.submitted_at,
        "status": draft.status,
        "is_final": draft.is_final,
        "return_reasons": [reason.value for reason in draft.return_reasons],
        "return_comment": draft.return_comment,
        "decided_by": draft.decided_by,
        "decided_at": draft.decided_at,
        "published_url": draft.published_url,
        "published_at": draft.published_at,
        "precheck": precheck_values(draft.precheck),
    }


def precheck_values(findings: list[Finding] | None) -> list[dict[str, Any]] | None:
    """The pre-check's findings as the drafts.precheck JSON: ``[{"reason": "no_date", "words": [...]}, ...]``;
    None (not checked) stays None."""
    if findings is None:
        return None
    return [{"reason": f.reason.value, "words": list(f.words)} for f in findings]


def precheck_findings(values: list[Any] | None) -> list[Finding] | None:
    """The drafts.precheck JSON back as findings (the inverse of precheck_values); a reason this version does
    not know is left out."""
    if values is None:
        return None
    known = {r.value for r in Reason}
    return [finding(Reason(v["reason"]), v.get("words") or ()) for v in values if v.get("reason") in known]


def _attachment_values(attachment: Attachment) -> dict[str, Any]:
    return {
        "file_id": attachment.file_id,
        "file_unique_id": attachment.file_unique_id,
        "type": attachment.type,
    }


def _event_values(incident_id: int, event: Event) -> dict[str, Any]:
    return {
        "incident_id": incident_id,
        "name": event.name,
        "at": event.at,
        "actor_id": event.actor_id,
        "from_state": event.from_state,
        "to_state": event.to_state,
        "comment": event.comment,
        "department_id": event.department_id,
        "data": dict(event.data),
        "work_clock": event.work_clock,
    }


def _event_from_row(row: sa.Row[Any]) -> Event:
    return Event(
        name=row.name,
        at=row.at,
        actor_id=row.actor_id,
        from_state=row.from_state,
        to_state=row.to_state,
        comment=row.comment,
        department_id=row.department_id,
        data=dict(row.data or {}),
        work_clock=row.work_clock,
    )


def _place(topic_id: int | None, location_id: int | None) -> list[sa.ColumnElement[bool]]:
    """Incidents on this topic and at this location (either may be None: any)."""
    condition: list[sa.ColumnElement[bool]] = []
    if topic_id is not None:
        on_topic = incident_topics.c.incident_id == incidents.c.id, incident_topics.c.topic_id == topic_id
        condition.append(sa.exists().where(*on_topic))
    if location_id is not None:
        condition.append(incidents.c.location_id == location_id)
    return condition


class IncidentRepository:
    """Loads and stores whole incidents; ``save`` is optimistic on ``Incident.version``.

    Works in the caller's transaction. Datetimes in are aware (any zone), out aware UTC; a naive one raises
    ``sqlalchemy.exc.StatementError``. Clocks (``detected_clock``, milestones, ``late_by``) are working seconds.
    """

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, incident: Incident, events_: Sequence[Event] = ()) -> Incident:
        """Insert a new incident with its children and ``events_``; ids are written back into the dataclasses.

        Returns the same incident. Raises ValueError if it has an id already; IllegalTransition (key
        ``already_registered``) if a source's ``external_id`` is registered already (another instance may have
        just done it; roll back); IntegrityError for an unknown topic, location, department or user id.
        """
        if incident.id is not None:
            raise ValueError(f"incident already stored as #{incident.id}: use save()")
        incident.id = await self._scalar(
            sa.insert(incidents)
            .values(**_incident_values(incident), version=incident.version)
            .returning(incidents.c.id)
        )
        await self._write_children(incident, existing_pauses=[], existing_attachments={})
        await self._add_events(incident.id, events_)
        return incident

    async def get(self, incident_id: int) -> Incident:
        """The whole incident with its children. Raises NotFound (param ``incident_id``) if there is none."""
        row = (await self._session.execute(sa.select(incidents).where(incidents.c.id == incident_id))).one_or_none()
        if row is None:
            raise NotFound(f"incident #{incident_id} not found", incident_id=incident_id)
        (incident,) = await self.assemble([row])
        return incident

    async def save(self, incident: Incident, events_: Sequence[Event] = ()) -> None:
        """Store a changed incident if nobody else changed it since it was loaded.

        Raises ConcurrentUpdate otherwise (the caller's transaction must then be rolled back).
        On success ``incident.version`` is bumped, new children get their ids and ``events_`` are appended.
        Also raises ValueError if it was never stored; NotFound if a child carries another incident's row id;
        IllegalTransition (key ``already_registered``) and IntegrityError as :meth:`add` does.
        """
        if incident.id is None:
            raise ValueError("incident was never stored: use add()")
        statement = (
            sa.update(incidents)
            .where(incidents.c.id == incident.id, incidents.c.version == incident.version)
            .values(
                **_incident_values(incident),
                version=incidents.c.version + 1,
                updated_at=sa.func.now(),
            )
        )
        try:
            result = await self._session.execute(statement)
        except OperationalError as error:
            if getattr(error.orig, "sqlite_errorcode", None) in _SQLITE_LOST_RACE:
                raise self._conflict(incident) from error
            raise
        if cast(sa.CursorResult[Any], result).rowcount != 1:
            raise self._conflict(incident)

        existing_pauses = list(
            (
                await self._session.execute(
                    sa.select(pauses.c.id, pauses.c.started_at, pauses.c.ended_at)
                    .where(pauses.c.incident_id == incident.id)
                    .order_by(pauses.c.id)
                )
            ).all()
        )
        await self._write_children(
            incident,
            existing_pauses=existing_pauses,
            existing_attachments=await self._existing_attachments(incident),
        )
        await self._add_events(incident.id, events_)
        incident.version += 1

    async def events(self, incident_id: int) -> list[Event]:
        """The incident's audit trail in the order it was recorded (empty for an unknown incident)."""
        rows = await self._session.execute(
            sa.select(events).where(events.c.incident_id == incident_id).order_by(events.c.id)
        )
        return [_event_from_row(row) for row in rows]

    async def first_activity(self) -> datetime | None:
        """When the first thing was recorded in the bot (the oldest event's ``at``, aware UTC; events are
        append-only), or None on a fresh database: the monthly report goes only to months the organisation
        worked in the bot."""
        return (await self._session.execute(sa.select(events.c.at).order_by(events.c.id).limit(1))).scalar()

    async def latest_open_deadline(self) -> datetime | None:
        """The latest answer (or final answer) deadline of an open incident, aware UTC, or None. Every step
        window ends by it (Workflow._fit), so no open deadline lies later."""
        column = incidents.c.answer_due
        due = sa.func.max(sa.func.coalesce(incidents.c.final_due, column, type_=column.type), type_=column.type)
        return await self._scalar(sa.select(due).where(incidents.c.state.notin_(list(CLOSED_STATES))))

    async def find_repeat_candidates(
        self, key: str | None, author: str | None, topic_ids: Sequence[int], since: datetime
    ) -> list[int]:
        """Ids of incidents that may be asked again: the one registered for the post with this key
        (bot.domain.links.post_key; at any time), or with a source by the same author since ``since`` (aware)
        on one of ``topic_ids``. That one first, then the others by id, each once; empty if none."""
        ids: list[int] = []
        if key:
            ids += (await PostRepository(self._session).registered([key])).values()
        if author and topic_ids:
            on_topic = (
                sa.select(incident_topics.c.incident_id)
                .where(
                    incident_topics.c.incident_id == sources.c.incident_id,
                    incident_topics.c.topic_id.in_(list(topic_ids)),
                )
                .exists()
            )
            rows = await self._session.execute(
                sa.select(sources.c.incident_id)
                .where(sources.c.author == author, sources.c.detected_at >= since, on_topic)
                .distinct()
                .order_by(sources.c.incident_id)
            )
            ids += rows.scalars()
        return list(dict.fromkeys(ids))

    async def list_by_state(self, states: Iterable[State], limit: int = 50, offset: int = 0) -> list[Incident]:
        """A page of whole incidents in any of ``states``: ``limit`` of them after skipping ``offset``, oldest
        detection first (then by id)."""
        rows = (
            await self._session.execute(
                sa.select(incidents)
                .where(incidents.c.state.in_(list(states)))
                .order_by(incidents.c.detected_at, incidents.c.id)
                .limit(limit)
                .offset(offset)
            )
        ).all()
        return await self.assemble(rows)

    async def search(
        self,
        *,
        states: Iterable[State] | None = None,
        department_ids: Iterable[int] | None = None,
        executor_id: int | None = None,
        overdue_at: datetime | None = None,
        topic_id: int | None = None,
        location_id: int | None = None,
        detected_since: datetime | None = None,
        limit: int = 10,
        offset: int = 0,
    ) -> tuple[list[Incident], int]:
        """A page of incidents matching every given filter, most urgent first, and the total count.

        department_ids / executor_id match live assignments (not cancelled, not returned);
        overdue_at keeps those whose answer (or final answer) deadline passed before it; detected_since keeps
        those detected at or after it (both aware). Returns (``limit`` whole incidents after ``offset``, the
        count of all matches); most urgent is the earliest answer (or final answer) deadline, none last.
        """
        condition: list[sa.ColumnElement[bool]] = []
        if states is not None:
            condition.append(incidents.c.state.in_(list(states)))
        live = assignments.c.state.notin_([AssignmentState.cancelled, AssignmentState.returned])
        if department_ids is not None:
            condition.append(
                sa.exists().where(
                    assignments.c.incident_id == incidents.c.id,
                    assignments.c.department_id.in_(list(department_ids)),
                    live,
                )
            )
        if executor_id is not None:
            condition.append(
                sa.exists().where(
                    assignments.c.incident_id == incidents.c.id, assignments.c.executor_id == executor_id, live
                )
            )
        condition += _place(topic_id, location_id)
        if detected_since is not None:
            condition.append(incidents.c.detected_at >= detected_since)
        due = sa.func.coalesce(incidents.c.answer_due, incidents.c.final_due)
        if overdue_at is not None:
            condition.append(due < overdue_at)
        where = sa.and_(sa.true(), *condition)
        total = await self._scalar(sa.select(sa.func.count()).select_from(incidents).where(where))
        rows = (
            await self._session.execute(
                sa.select(incidents)
                .where(where)
                .order_by(due.is_(None), due, incidents.c.id)
                .limit(limit)
                .offset(offset)
            )
        ).all()
        return await self.assemble(rows), int(total)

    async def count_detected_since(
        self, since: datetime, *, topic_id: int | None = None, location_id: int | None = None
    ) -> int:
        """How many incidents were detected at or after ``since`` (aware) on this topic and at this location
        (None: any), split parents included."""
        condition = [incidents.c.detected_at >= since, *_place(topic_id, location_id)]
        return int(await self._scalar(sa.select(sa.func.count()).select_from(incidents).where(*condition)))

    async def count_created_below(self, telegram_id: int) -> int:
        """How many incidents were not created by a user whose Telegram id is ``telegram_id`` or above: created by
        people below it, or by nobody known (imported, the intake API, a user since removed)."""
        from storage.tables import users

        ours = sa.select(users.c.id).where(users.c.telegram_id >= telegram_id)
        condition = sa.or_(incidents.c.created_by.is_(None), incidents.c.created_by.not_in(ours))
        return int(await self._scalar(sa.select(sa.func.count()).select_from(incidents).where(condition)))

    @staticmethod
    def _conflict(incident: Incident) -> ConcurrentUpdate:
        return ConcurrentUpdate(
            f"incident #{incident.id} was changed by someone else (version {incident.version})",
            incident_id=incident.id,
        )

    async def _scalar(self, statement: sa.Executable) -> Any:
        return (await self._session.execute(statement)).scalar_one()

    async def _add_events(self, incident_id: int, events_: Sequence[Event]) -> None:
        if events_:
            await self._session.execute(sa.insert(events), [_event_values(incident_id, event) for event in events_])

    async def _existing_attachments(self, incident: Incident) -> dict[tuple[str, int], dict[int, sa.Row[Any]]]:
        source_ids = [s.id for s in incident.sources if s.id is not None]
        draft_ids = [d.id for d in incident.drafts if d.id is not None]
        if not source_ids and not draft_ids:
            return {}
        rows = await self._session.execute(
            sa.select(attachments).where(
                sa.or_(attachments.c.source_id.in_(source_ids), attachments.c.draft_id.in_(draft_ids))
            )
        )
        existing: dict[tuple[str, int], dict[int, sa.Row[Any]]] = defaultdict(dict)
        for row in rows:
            owner = ("source", row.source_id) if row.source_id is not None else ("draft", row.draft_id)
            existing[owner][row.position] = row
        return existing

    async def _write_children(
        self,
        incident: Incident,
        *,
        existing_pauses: list[sa.Row[Any]],
        existing_attachments: dict[tuple[str, int], dict[int, sa.Row[Any]]],
    ) -> None:
        incident_id = incident.id
        assert incident_id is not None
        session = self._session

        await session.execute(sa.delete(incident_topics).where(incident_topics.c.incident_id == incident_id))
        if incident.topic_ids:
            await session.execute(
                sa.insert(incident_topics),
                [
                    {"incident_id": incident_id, "topic_id": topic_id, "position": position}
                    for position, topic_id in enumerate(incident.topic_ids)
                ],
            )

        for source in incident.sources:
            if source.id is None:
                try:
                    source.id = await self._scalar(
                        sa.insert(sources)
                        .values(incident_id=incident_id, **_source_values(source))
                        .returning(sources.c.id)
                    )
                except IntegrityError:
                    if not source.external_id:
                        raise
                    # The monitoring system's id is unique: another instance registered this post first.
                    raise IllegalTransition("this post is registered already", key="already_registered") from None
            else:
                await self._update_child(sources, source.id, incident_id, _source_values(source))
            await self._write_attachments("source", source.id, source.attachments, existing_attachments)

        for assignment in incident.assignments:
            values = _assignment_values(assignment)
            if assignment.id is None:
                assignment.id = await self._scalar(
                    sa.insert(assignments).values(incident_id=incident_id, **values).returning(assignments.c.id)
                )
            else:
                await self._update_child(assignments, assignment.id, incident_id, values)

        for draft in incident.drafts:
            if draft.id is None:
                draft.id = await self._scalar(
                    sa.insert(drafts).values(incident_id=incident_id, **_draft_values(draft)).returning(drafts.c.id)
                )
            else:
                await self._update_child(drafts, draft.id, incident_id, _draft_values(draft))
            await self._write_attachments("draft", draft.id, draft.attachments, existing_attachments)

        # Pauses have no id in the domain; they are only ever appended, so position is identity.
        for position, pause in enumerate(incident.pauses):
            if position < len(existing_pauses):
                row = existing_pauses[position]
                if (row.started_at, row.ended_at) != (pause.started_at, pause.ended_at):
                    await session.execute(
                        sa.update(pauses)
                        .where(pauses.c.id == row.id)
                        .values(started_at=pause.started_at, ended_at=pause.ended_at)
                    )
            else:
                await session.execute(
                    sa.insert(pauses).values(
                        incident_id=incident_id,
                        started_at=pause.started_at,
                        ended_at=pause.ended_at,
                    )
                )

    async def _update_child(self, table: sa.Table, child_id: int, incident_id: int, values: dict[str, Any]) -> None:
        result = await self._session.execute(
            sa.update(table).where(table.c.id == child_id, table.c.incident_id == incident_id).values(**values)
        )
        if cast(sa.CursorResult[Any], result).rowcount != 1:
            raise NotFound(
                f"{table.name} #{child_id} does not belong to incident #{incident_id}",
                incident_id=incident_id,
            )

    async def _write_attachments(
        self,
        owner_kind: str,
        owner_id: int,
        items: list[Attachment],
        existing: dict[tuple[str, int], dict[int, sa.Row[Any]]],
    ) -> None:
        # Attachments have no id in the domain either: (owner, position) identifies one.
        stored = existing.get((owner_kind, owner_id), {})
        owner_column = "source_id" if owner_kind == "source" else "draft_id"
        for position, attachment in enumerate(items):
            values = _attachment_values(attachment)
            row = stored.get(position)
            if row is None:
                await self._session.execute(
                    sa.insert(attachments).values(**{owner_column: owner_id}, position=position, **values)
                )
            elif any(getattr(row, key) != value for key, value in values.items()):
                await self._session.execute(sa.update(attachments).where(attachments.c.id == row.id).values(**values))

    async def assemble(self, rows: Sequence[sa.Row[Any]]) -> list[Incident]:
        """Build whole incidents from full ``incidents`` rows (a select or RETURNING of every column), in the
        rows' order, loading all children with one query per table; children in stored order (topics as chosen)."""
        if not rows:
            return []
        ids = [row.id for row in rows]
        session = self._session

        topic_rows = await session.execute(
            sa.select(incident_topics)
            .where(incident_topics.c.incident_id.in_(ids))
            .order_by(incident_topics.c.incident_id, incident_topics.c.position)
        )
        topics_of: dict[int, list[int]] = defaultdict(list)
        for row in topic_rows:
            topics_of[row.incident_id].append(row.topic_id)

        source_rows = (
            await session.execute(sa.select(sources).where(sources.c.incident_id.in_(ids)).order_by(sources.c.id))
        ).all()
        draft_rows = (
            await session.execute(sa.select(drafts).where(drafts.c.incident_id.in_(ids)).order_by(drafts.c.id))
        ).all()
        source_ids = [row.id for row in source_rows]
        draft_ids = [row.id for row in draft_rows]
        files: dict[tuple[str, int], list[Attachment]] = defaultdict(list)
        if source_ids or draft_ids:
            attachment_rows = await session.execute(
                sa.select(attachments)
                .where(
                    sa.or_(
                        attachments.c.source_id.in_(source_ids),
                        attachments.c.draft_id.in_(draft_ids),
                    )
                )
                .order_by(attachments.c.position, attachments.c.id)
            )
            for row in attachment_rows:
                owner = ("source", row.source_id) if row.source_id is not None else ("draft", row.draft_id)
                files[owner].append(Attachment(file_id=row.file_id, type=row.type, file_unique_id=row.file_unique_id))

        sources_of: dict[int, list[Source]] = defaultdict(list)
        for row in source_rows:
            sources_of[row.incident_id].append(
                Source(
                    network=row.network,
                    url=row.url,
                    author=row.author,
                    text=row.text,
                    detected_at=row.detected_at,
                    attachments=files.get(("source", row.id), []),
                    id=row.id,
                    external_id=row.external_id,
                )
            )

        drafts_of: dict[int, list[Draft]] = defaultdict(list)
        for row in draft_rows:
            drafts_of[row.incident_id].append(
                Draft(
                    kind=row.kind,
                    text=row.text,
                    author_id=row.author_id,
                    department_id=row.department_id,
                    submitted_at=row.submitted_at,
                    status=row.status,
                    attachments=files.get(("draft", row.id), []),
                    id=row.id,
                    number=row.number,
                    is_final=row.is_final,
                    return_reasons=[ReturnReason(value) for value in row.return_reasons or []],
                    return_comment=row.return_comment,
                    decided_by=row.decided_by,
                    decided_at=row.decided_at,
                    published_url=row.published_url,
                    published_at=row.published_at,
                    precheck=precheck_findings(row.precheck),
                )
            )

        assignments_of: dict[int, list[Assignment]] = defaultdict(list)
        assignment_rows = await session.execute(
            sa.select(assignments).where(assignments.c.incident_id.in_(ids)).order_by(assignments.c.id)
        )
        for row in assignment_rows:
            assignments_of[row.incident_id].append(
                Assignment(
                    department_id=row.department_id,
                    received_at=row.received_at,
                    state=row.state,
                    order=row.order,
                    executor_id=row.executor_id,
                    return_reason=row.return_reason,
                    returned_at=row.returned_at,
                    deadlines={
                        kind: value
                        for kind, column in _ASSIGNMENT_DEADLINE_COLUMNS.items()
                        if (value := row._mapping[column]) is not None
                    },
                    id=row.id,
                )
            )

        pauses_of: dict[int, list[Pause]] = defaultdict(list)
        pause_rows = await session.execute(sa.select(pauses).where(pauses.c.incident_id.in_(ids)).order_by(pauses.c.id))
        for row in pause_rows:
            pauses_of[row.incident_id].append(Pause(started_at=row.started_at, ended_at=row.ended_at))

        return [
            Incident(
                organisation=row.organisation,
                detected_at=row.detected_at,
                sources=sources_of[row.id],
                importance=row.importance,
                kind=row.kind,
                state=row.state,
                mode=row.mode,
                topic_ids=topics_of[row.id],
                location_id=row.location_id,
                repeat_of=row.repeat_of,
                parent_id=row.parent_id,
                created_by=row.created_by,
                assignments=assignments_of[row.id],
                drafts=drafts_of[row.id],
                pauses=pauses_of[row.id],
                deadlines={
                    kind: value
                    for kind, column in _DEADLINE_COLUMNS.items()
                    if (value := row._mapping[column]) is not None
                },
                consolidator_department_id=row.consolidator_department_id,
                intermediate_published_at=row.intermediate_published_at,
                published_at=row.published_at,
                closed_reason=row.closed_reason,
                detected_clock=row.detected_clock,
                milestones=Milestones(
                    row.route_clock,
                    row.response_clock,
                    row.draft_clock,
                    row.publish_clock,
                    row.late_at,
                    row.late_due,
                    row.late_by,
                ),
                id=row.id,
                version=row.version,
            )
            for row in rows
        ]
