"""Repositories: the incident aggregate, the directory, the outbox and processed updates.

Each repository works inside the caller's transaction (``async with session.begin():``), never
commits, and returns domain dataclasses (bot.domain.incident) or the frozen records below — never ORM
objects, so nothing can lazy-load outside the session. Queries are explicit Core statements.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
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
    Role,
    Source,
    State,
)
from storage.models import (
    AbsenceRow,
    AssignmentRow,
    AttachmentRow,
    CardRow,
    ChatMigrationRow,
    DepartmentRow,
    DraftRow,
    EventRow,
    IncidentRow,
    IncidentTopicRow,
    InviteRow,
    LocationRow,
    MembershipRow,
    OutboxRow,
    OutboxStatus,
    PauseRow,
    PostRow,
    ProcessedUpdateRow,
    ReminderSentRow,
    SourceRow,
    TopicRow,
    UserRoleRow,
    UserRow,
)


def _table(model: type[Any]) -> sa.Table:
    return cast(sa.Table, model.__table__)


incidents = _table(IncidentRow)
incident_topics = _table(IncidentTopicRow)
sources = _table(SourceRow)
assignments = _table(AssignmentRow)
drafts = _table(DraftRow)
attachments = _table(AttachmentRow)
pauses = _table(PauseRow)
events = _table(EventRow)
users = _table(UserRow)
user_roles = _table(UserRoleRow)
departments = _table(DepartmentRow)
memberships = _table(MembershipRow)
absences = _table(AbsenceRow)
topics = _table(TopicRow)
locations = _table(LocationRow)
invites = _table(InviteRow)
outbox = _table(OutboxRow)
processed_updates = _table(ProcessedUpdateRow)
posts = _table(PostRow)
chat_migrations = _table(ChatMigrationRow)

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

# The PostgreSQL advisory lock that serialises bulk registrations (imports): any fixed 64-bit number.
_BULK_REGISTRATION_LOCK = 0x6F746B6C696B  # "otklik"


# --- the incident aggregate ---------------------------------------------------------------------


def _digest(key: str) -> str:
    """The fixed-width form of a post key that the unique index holds (posts.digest)."""
    return hashlib.sha256(key.encode()).hexdigest()


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
    }


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
    """Loads and stores whole incidents; ``save`` is optimistic on ``Incident.version``."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, incident: Incident, events_: Sequence[Event] = ()) -> Incident:
        """Insert a new incident with its children; ids are written back into the dataclasses."""
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
        row = (await self._session.execute(sa.select(incidents).where(incidents.c.id == incident_id))).one_or_none()
        if row is None:
            raise NotFound(f"incident #{incident_id} not found", incident_id=incident_id)
        (incident,) = await self._assemble([row])
        return incident

    async def save(self, incident: Incident, events_: Sequence[Event] = ()) -> None:
        """Store a changed incident if nobody else changed it since it was loaded.

        Raises ConcurrentUpdate otherwise (the caller's transaction must then be rolled back).
        On success ``incident.version`` is bumped and new children get their ids.
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
        rows = await self._session.execute(
            sa.select(events).where(events.c.incident_id == incident_id).order_by(events.c.id)
        )
        return [_event_from_row(row) for row in rows]

    async def registered(self, keys: Iterable[str]) -> dict[str, int]:
        """Of these post keys (bot.domain.links.post_key), those registered already: key -> incident id."""
        by_digest = {_digest(key): key for key in keys}
        found: dict[str, int] = {}
        digests = list(by_digest)
        for start in range(0, len(digests), 500):  # within every database's limit of bound parameters
            rows = await self._session.execute(
                sa.select(posts.c.digest, posts.c.incident_id).where(posts.c.digest.in_(digests[start : start + 500]))
            )
            found.update({by_digest[digest]: incident_id for digest, incident_id in rows})
        return found

    async def wait_for_bulk_registrations(self) -> None:
        """Make this transaction the only bulk registration (an import) running, waiting for one under way
        to finish; call it first in the transaction.

        PostgreSQL: a transaction-scoped advisory lock, so the second of two imports of one file starts
        after the first commits and finds its posts (without it, it would fail at the first post both
        register). SQLite: nothing to do — a unit of work holds the database's write lock from its BEGIN
        (``storage.db``); open the session with ``storage.db.bulk_writer`` to wait long enough for it.
        """
        if self._session.get_bind().dialect.name == "postgresql":
            await self._session.execute(sa.select(sa.func.pg_advisory_xact_lock(_BULK_REGISTRATION_LOCK)))

    async def claim_posts(self, incident_id: int, claimed: Iterable[tuple[str, int | None]]) -> None:
        """Record that ``incident_id`` answers these posts, as (post key, source id) pairs.

        Raises IllegalTransition (key ``already_registered``) when one is registered already — also
        by another process at the same moment: the unique digest decides, and the caller's
        transaction must then be rolled back.
        """
        values = [
            {"digest": _digest(key), "key": key, "incident_id": incident_id, "source_id": source_id}
            for key, source_id in claimed
        ]
        if not values:
            return
        try:
            await self._session.execute(sa.insert(posts), values)
        except IntegrityError:
            raise IllegalTransition("this post is registered already", key="already_registered") from None

    async def first_activity(self) -> datetime | None:
        """When the first thing was recorded in the bot (the oldest event; events are append-only), or None on
        a fresh database: the monthly report goes only to months the organisation worked in the bot."""
        return (await self._session.execute(sa.select(events.c.at).order_by(events.c.id).limit(1))).scalar()

    async def latest_open_deadline(self) -> datetime | None:
        """The latest answer (or final answer) deadline of an open incident, or None. Every step window ends by
        it (Workflow._fit), so no open deadline lies later."""
        column = incidents.c.answer_due
        due = sa.func.max(sa.func.coalesce(incidents.c.final_due, column, type_=column.type), type_=column.type)
        return await self._scalar(sa.select(due).where(incidents.c.state.notin_(list(CLOSED_STATES))))

    async def by_external_id(self, external_id: str) -> tuple[int, Source] | None:
        """The incident and the source that carry this id of the monitoring system, if any."""
        row = (await self._session.execute(sa.select(sources).where(sources.c.external_id == external_id))).first()
        if row is None:
            return None
        source = Source(row.network, row.url, row.author, row.text, row.detected_at, id=row.id, external_id=external_id)
        return row.incident_id, source

    async def find_repeat_candidates(
        self, key: str | None, author: str | None, topic_ids: Sequence[int], since: datetime
    ) -> list[int]:
        """Ids of incidents that may be asked again: the one registered for the post with this key
        (bot.domain.links.post_key; at any time), or with a source by the same author since ``since`` on one
        of ``topic_ids``."""
        ids: list[int] = []
        if key:
            ids += (await self.registered([key])).values()
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
        """Incidents in any of ``states``, oldest detection first."""
        rows = (
            await self._session.execute(
                sa.select(incidents)
                .where(incidents.c.state.in_(list(states)))
                .order_by(incidents.c.detected_at, incidents.c.id)
                .limit(limit)
                .offset(offset)
            )
        ).all()
        return await self._assemble(rows)

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
        overdue_at keeps those whose answer (or final answer) deadline passed before it.
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
        return await self._assemble(rows), int(total)

    async def count_detected_since(
        self, since: datetime, *, topic_id: int | None = None, location_id: int | None = None
    ) -> int:
        """How many incidents were detected at or after ``since`` on this topic or at this location."""
        condition = [incidents.c.detected_at >= since, *_place(topic_id, location_id)]
        return int(await self._scalar(sa.select(sa.func.count()).select_from(incidents).where(*condition)))

    async def claim_due(self, now: datetime, limit: int = 500) -> list[Incident]:
        """Take the incidents whose next reminder is due, in this transaction.

        The conditional UPDATE is the claim: a second sweeper (another instance) updating the same
        rows waits for this transaction and then finds nothing due, so no reminder goes twice.
        """
        due = (
            sa.select(incidents.c.id)
            .where(incidents.c.next_reminder_at <= now)
            .order_by(incidents.c.next_reminder_at, incidents.c.id)
            .limit(limit)
            .scalar_subquery()
        )
        rows = (
            await self._session.execute(
                sa.update(incidents)
                .where(incidents.c.id.in_(due), incidents.c.next_reminder_at <= now)
                .values(next_reminder_at=None)
                .returning(*incidents.c)
            )
        ).all()
        return await self._assemble(rows)

    async def set_next_reminders(self, moments: dict[int, datetime | None]) -> None:
        if moments:
            await self._session.execute(
                sa.update(incidents)
                .where(incidents.c.id == sa.bindparam("iid"))
                .values(next_reminder_at=sa.bindparam("at")),
                [{"iid": iid, "at": at} for iid, at in moments.items()],
            )

    async def sent_marks(self, incident_ids: Iterable[int]) -> dict[int, set[str]]:
        result: dict[int, set[str]] = defaultdict(set)
        ids = list(incident_ids)
        if ids:
            rows = await self._session.execute(
                sa.select(reminders_sent.c.incident_id, reminders_sent.c.mark).where(
                    reminders_sent.c.incident_id.in_(ids)
                )
            )
            for incident_id, mark in rows:
                result[incident_id].add(mark)
        return result

    async def record_marks(self, marks: Iterable[tuple[int, str]], at: datetime) -> None:
        values = [{"incident_id": i, "mark": m, "sent_at": at} for i, m in marks]
        if values:
            await self._session.execute(sa.insert(reminders_sent), values)

    # --- internals --------------------------------------------------------------------------

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

    async def _assemble(self, rows: Sequence[sa.Row[Any]]) -> list[Incident]:
        """Build incidents from their rows, loading all children with one query per table."""
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


# --- the directory: people, departments, topics, locations, absences, invites -------------------


@dataclass(frozen=True)
class UserRecord:
    id: int
    telegram_id: int
    full_name: str
    username: str | None
    locale: str
    is_active: bool
    created_at: datetime
    roles: frozenset[Role]


@dataclass(frozen=True)
class DepartmentRecord:
    id: int
    name: str
    chat_id: int | None  # the bound group chat
    responsible_user_id: int | None
    is_active: bool


@dataclass(frozen=True)
class TopicRecord:
    id: int
    name: str
    is_active: bool


@dataclass(frozen=True)
class LocationRecord:
    id: int
    name: str
    is_active: bool


@dataclass(frozen=True)
class AbsenceRecord:
    id: int
    user_id: int
    substitute_id: int
    starts_at: datetime
    ends_at: datetime
    reason: str | None


@dataclass(frozen=True)
class ChatMap:
    chats: dict[int, int]  # user id -> the chat that receives their notices now
    members: dict[int, frozenset[int]]  # department id -> active member user ids


@dataclass(frozen=True)
class InviteRecord:
    id: int
    code: str
    role: Role
    department_id: int | None
    created_by: int | None
    created_at: datetime
    expires_at: datetime | None
    used_by: int | None
    used_at: datetime | None


def _department(row: sa.Row[Any]) -> DepartmentRecord:
    return DepartmentRecord(
        id=row.id,
        name=row.name,
        chat_id=row.chat_id,
        responsible_user_id=row.responsible_user_id,
        is_active=row.is_active,
    )


def _invite(row: sa.Row[Any]) -> InviteRecord:
    return InviteRecord(
        id=row.id,
        code=row.code,
        role=row.role,
        department_id=row.department_id,
        created_by=row.created_by,
        created_at=row.created_at,
        expires_at=row.expires_at,
        used_by=row.used_by,
        used_at=row.used_at,
    )


class DirectoryRepository:
    """Who is who: users and roles, departments and members, topics, locations, invites."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    # users

    async def get_user(self, user_id: int) -> UserRecord:
        found = await self._users(users.c.id == user_id)
        if not found:
            raise NotFound(f"user #{user_id} not found", user_id=user_id)
        return found[0]

    async def get_by_telegram_id(self, telegram_id: int) -> UserRecord | None:
        found = await self._users(users.c.telegram_id == telegram_id)
        return found[0] if found else None

    async def users_with_role(self, role: Role, *, active_only: bool = True) -> list[UserRecord]:
        condition = users.c.id.in_(sa.select(user_roles.c.user_id).where(user_roles.c.role == role))
        if active_only:
            condition = sa.and_(condition, users.c.is_active.is_(True))
        return await self._users(condition)

    async def add_user(
        self,
        telegram_id: int,
        full_name: str,
        username: str | None = None,
        *,
        locale: str = "ru",
        roles: Iterable[Role] = (),
        created_at: datetime | None = None,
    ) -> UserRecord:
        values: dict[str, Any] = {
            "telegram_id": telegram_id,
            "full_name": full_name,
            "username": username,
            "locale": locale,
        }
        if created_at is not None:
            values["created_at"] = created_at
        user_id = (await self._session.execute(sa.insert(users).values(**values).returning(users.c.id))).scalar_one()
        await self.set_roles(user_id, roles)
        return await self.get_user(user_id)

    async def set_roles(self, user_id: int, roles: Iterable[Role]) -> None:
        await self._session.execute(sa.delete(user_roles).where(user_roles.c.user_id == user_id))
        wanted = sorted(set(roles))
        if wanted:
            await self._session.execute(sa.insert(user_roles), [{"user_id": user_id, "role": role} for role in wanted])

    async def set_locale(self, user_id: int, locale: str) -> None:
        await self._update_one(users, user_id, locale=locale)

    async def set_user_active(self, user_id: int, is_active: bool) -> None:
        await self._update_one(users, user_id, is_active=is_active)

    async def _users(self, condition: sa.ColumnElement[bool]) -> list[UserRecord]:
        rows = (await self._session.execute(sa.select(users).where(condition).order_by(users.c.id))).all()
        if not rows:
            return []
        role_rows = await self._session.execute(
            sa.select(user_roles).where(user_roles.c.user_id.in_([row.id for row in rows]))
        )
        roles_of: dict[int, set[Role]] = defaultdict(set)
        for role_row in role_rows:
            roles_of[role_row.user_id].add(role_row.role)
        return [
            UserRecord(
                id=row.id,
                telegram_id=row.telegram_id,
                full_name=row.full_name,
                username=row.username,
                locale=row.locale,
                is_active=row.is_active,
                created_at=row.created_at,
                roles=frozenset(roles_of[row.id]),
            )
            for row in rows
        ]

    # departments and memberships

    async def add_department(
        self, name: str, *, chat_id: int | None = None, responsible_user_id: int | None = None
    ) -> DepartmentRecord:
        row = (
            await self._session.execute(
                sa.insert(departments)
                .values(name=name, chat_id=chat_id, responsible_user_id=responsible_user_id)
                .returning(*departments.c)
            )
        ).one()
        return _department(row)

    async def list_departments(self, *, active_only: bool = True) -> list[DepartmentRecord]:
        statement = sa.select(departments).order_by(departments.c.name)
        if active_only:
            statement = statement.where(departments.c.is_active.is_(True))
        return [_department(row) for row in await self._session.execute(statement)]

    async def get_department(self, department_id: int) -> DepartmentRecord:
        row = (
            await self._session.execute(sa.select(departments).where(departments.c.id == department_id))
        ).one_or_none()
        if row is None:
            raise NotFound(f"department #{department_id} not found", department_id=department_id)
        return _department(row)

    async def department_by_chat(self, chat_id: int) -> DepartmentRecord | None:
        row = (await self._session.execute(sa.select(departments).where(departments.c.chat_id == chat_id))).first()
        return _department(row) if row is not None else None

    async def set_responsible(self, department_id: int, user_id: int | None) -> None:
        await self._update_one(departments, department_id, responsible_user_id=user_id)

    async def bind_chat(self, department_id: int, chat_id: int | None) -> None:
        await self._update_one(departments, department_id, chat_id=chat_id)

    # chats that move: Telegram upgrades a group to a supergroup with a new id

    async def current_chat(self, chat_id: int) -> int:
        """The chat a (possibly old) chat id means now, following recorded upgrades to supergroups."""
        seen = {chat_id}
        while True:
            found = (
                await self._session.execute(
                    sa.select(chat_migrations.c.new_chat_id).where(chat_migrations.c.old_chat_id == chat_id)
                )
            ).scalar_one_or_none()
            if found is None or found in seen:  # a cycle cannot happen in Telegram; do not loop on one
                return chat_id
            seen.add(found)
            chat_id = found

    async def record_chat_migration(self, old_chat_id: int, new_chat_id: int, at: datetime) -> bool:
        """Record that ``old_chat_id`` became ``new_chat_id``; False if it was recorded before."""
        try:
            async with self._session.begin_nested():
                await self._session.execute(
                    sa.insert(chat_migrations).values(old_chat_id=old_chat_id, new_chat_id=new_chat_id, migrated_at=at)
                )
        except IntegrityError:
            return False
        return True

    async def rebind_chat(self, old_chat_id: int, new_chat_id: int) -> list[DepartmentRecord]:
        """Departments bound to ``old_chat_id`` are bound to ``new_chat_id``; returns them, rebound."""
        rows = await self._session.execute(
            sa.update(departments)
            .where(departments.c.chat_id == old_chat_id)
            .values(chat_id=new_chat_id)
            .returning(*departments.c)
        )
        return [_department(row) for row in rows]

    async def add_membership(self, user_id: int, department_id: int) -> None:
        """Idempotent: adding an existing membership changes nothing."""
        exists = (
            await self._session.execute(
                sa.select(memberships.c.user_id).where(
                    memberships.c.user_id == user_id, memberships.c.department_id == department_id
                )
            )
        ).first()
        if exists is None:
            await self._session.execute(sa.insert(memberships).values(user_id=user_id, department_id=department_id))

    async def remove_membership(self, user_id: int, department_id: int) -> None:
        await self._session.execute(
            sa.delete(memberships).where(memberships.c.user_id == user_id, memberships.c.department_id == department_id)
        )

    async def departments_of(self, user_id: int) -> list[DepartmentRecord]:
        rows = await self._session.execute(
            sa.select(departments)
            .join(memberships, memberships.c.department_id == departments.c.id)
            .where(memberships.c.user_id == user_id)
            .order_by(departments.c.name)
        )
        return [_department(row) for row in rows]

    async def members(self, department_id: int) -> list[UserRecord]:
        return await self._users(
            users.c.id.in_(sa.select(memberships.c.user_id).where(memberships.c.department_id == department_id))
        )

    # topics and locations

    async def add_topic(self, name: str) -> TopicRecord:
        row = (await self._session.execute(sa.insert(topics).values(name=name).returning(*topics.c))).one()
        return TopicRecord(id=row.id, name=row.name, is_active=row.is_active)

    async def list_topics(self, *, active_only: bool = True) -> list[TopicRecord]:
        statement = sa.select(topics).order_by(topics.c.name)
        if active_only:
            statement = statement.where(topics.c.is_active.is_(True))
        rows = await self._session.execute(statement)
        return [TopicRecord(id=row.id, name=row.name, is_active=row.is_active) for row in rows]

    async def add_location(self, name: str) -> LocationRecord:
        row = (await self._session.execute(sa.insert(locations).values(name=name).returning(*locations.c))).one()
        return LocationRecord(id=row.id, name=row.name, is_active=row.is_active)

    async def list_locations(self, *, active_only: bool = True) -> list[LocationRecord]:
        statement = sa.select(locations).order_by(locations.c.name)
        if active_only:
            statement = statement.where(locations.c.is_active.is_(True))
        rows = await self._session.execute(statement)
        return [LocationRecord(id=row.id, name=row.name, is_active=row.is_active) for row in rows]

    # absences

    async def add_absence(
        self,
        user_id: int,
        substitute_id: int,
        starts_at: datetime,
        ends_at: datetime,
        reason: str | None = None,
    ) -> AbsenceRecord:
        row = (
            await self._session.execute(
                sa.insert(absences)
                .values(
                    user_id=user_id,
                    substitute_id=substitute_id,
                    starts_at=starts_at,
                    ends_at=ends_at,
                    reason=reason,
                )
                .returning(*absences.c)
            )
        ).one()
        return AbsenceRecord(**row._asdict())

    async def list_absences(self, ending_after: datetime) -> list[AbsenceRecord]:
        """Absences running or still to come at ``ending_after``, the earliest first."""
        rows = await self._session.execute(
            sa.select(absences).where(absences.c.ends_at > ending_after).order_by(absences.c.starts_at, absences.c.id)
        )
        return [AbsenceRecord(**row._asdict()) for row in rows]

    async def get_absence(self, absence_id: int) -> AbsenceRecord:
        row = (await self._session.execute(sa.select(absences).where(absences.c.id == absence_id))).one_or_none()
        if row is None:
            raise NotFound(f"absence #{absence_id} not found", key="absence_gone")
        return AbsenceRecord(**row._asdict())

    async def delete_absence(self, absence_id: int) -> None:
        await self._session.execute(sa.delete(absences).where(absences.c.id == absence_id))

    async def active_substitute(self, user_id: int, at: datetime) -> int | None:
        """Who stands in for ``user_id`` at ``at`` (the latest-started absence wins), if anyone."""
        return (
            await self._session.execute(
                sa.select(absences.c.substitute_id)
                .where(
                    absences.c.user_id == user_id,
                    absences.c.starts_at <= at,
                    absences.c.ends_at > at,
                )
                .order_by(absences.c.starts_at.desc(), absences.c.id.desc())
                .limit(1)
            )
        ).scalar_one_or_none()

    async def substituted_by(self, substitute_id: int, at: datetime) -> list[int]:
        """The people ``substitute_id`` stands in for at ``at``."""
        rows = await self._session.execute(
            sa.select(absences.c.user_id).where(
                absences.c.substitute_id == substitute_id, absences.c.starts_at <= at, absences.c.ends_at > at
            )
        )
        return sorted(set(rows.scalars()))

    async def chat_map(self, at: datetime) -> ChatMap:
        """Everybody's Telegram chat, with substitutes in place of absent people, in three queries."""
        people = {
            row.id: (row.telegram_id, row.is_active)
            for row in await self._session.execute(sa.select(users.c.id, users.c.telegram_id, users.c.is_active))
        }
        standing_in: dict[int, int] = {}
        absent = await self._session.execute(
            sa.select(absences.c.user_id, absences.c.substitute_id)
            .where(absences.c.starts_at <= at, absences.c.ends_at > at)
            .order_by(absences.c.starts_at, absences.c.id)  # the latest-started absence wins
        )
        for user_id, substitute_id in absent:
            standing_in[user_id] = substitute_id
        chats = {
            user_id: people[standing_in.get(user_id, user_id)][0]
            for user_id in people
            if standing_in.get(user_id, user_id) in people
        }
        members: dict[int, set[int]] = {}
        for department_id, user_id in await self._session.execute(
            sa.select(memberships.c.department_id, memberships.c.user_id)
        ):
            if people.get(user_id, (0, False))[1]:
                members.setdefault(department_id, set()).add(user_id)
        return ChatMap(chats, {d: frozenset(m) for d, m in members.items()})

    # invites

    async def create_invite(
        self,
        code: str,
        role: Role,
        *,
        created_by: int | None,
        department_id: int | None = None,
        expires_at: datetime | None = None,
        created_at: datetime | None = None,
    ) -> InviteRecord:
        values: dict[str, Any] = {
            "code": code,
            "role": role,
            "department_id": department_id,
            "created_by": created_by,
            "expires_at": expires_at,
        }
        if created_at is not None:
            values["created_at"] = created_at
        row = (await self._session.execute(sa.insert(invites).values(**values).returning(*invites.c))).one()
        return _invite(row)

    async def get_invite(self, code: str) -> InviteRecord | None:
        row = (await self._session.execute(sa.select(invites).where(invites.c.code == code))).one_or_none()
        return _invite(row) if row is not None else None

    get_by_code = get_invite

    async def mark_invite_used(self, invite_id: int, user_id: int, at: datetime) -> bool:
        """Claim the invite; False if someone used it first (expiry is the caller's rule)."""
        result = await self._session.execute(
            sa.update(invites)
            .where(invites.c.id == invite_id, invites.c.used_by.is_(None))
            .values(used_by=user_id, used_at=at)
        )
        return cast(sa.CursorResult[Any], result).rowcount == 1

    mark_used = mark_invite_used

    async def _update_one(self, table: sa.Table, row_id: int, **values: Any) -> None:
        result = await self._session.execute(sa.update(table).where(table.c.id == row_id).values(**values))
        if cast(sa.CursorResult[Any], result).rowcount != 1:
            raise NotFound(f"{table.name} #{row_id} not found", id=row_id)


# --- delivery -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class OutboxMessage:
    id: int
    chat_id: int
    payload: dict[str, Any]
    incident_id: int | None
    created_at: datetime
    not_before: datetime | None
    attempts: int
    status: OutboxStatus
    sent_at: datetime | None
    last_error: str | None
    dedupe_key: str | None
    claimed_by: str | None = None
    claimed_until: datetime | None = None
    sent_parts: list[list[int]] | None = None  # message ids of the parts Telegram already has, in order


_OPEN = (OutboxStatus.pending, OutboxStatus.sending)


def _claimable(now: datetime) -> sa.ColumnElement[bool]:
    """Due pending rows, and rows whose sender's lease ran out (it crashed or hangs)."""
    return sa.or_(
        sa.and_(
            outbox.c.status == OutboxStatus.pending,
            sa.or_(outbox.c.not_before.is_(None), outbox.c.not_before <= now),
        ),
        sa.and_(outbox.c.status == OutboxStatus.sending, outbox.c.claimed_until < now),
    )


class OutboxRepository:
    """Notifications written with the change they announce, sent later by the sender."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add_many(self, rows: Iterable[dict[str, Any]]) -> None:
        """Queue several messages at once (chat_id, payload, incident_id; no dedupe keys)."""
        values = [{"chat_id": r["chat_id"], "payload": r["payload"], "incident_id": r.get("incident_id")} for r in rows]
        if values:
            await self._session.execute(sa.insert(outbox), values)

    async def add(
        self,
        chat_id: int,
        payload: dict[str, Any],
        incident_id: int | None = None,
        dedupe_key: str | None = None,
        not_before: datetime | None = None,
        *,
        created_at: datetime | None = None,
    ) -> int | None:
        """Queue a message; returns its id, or None if ``dedupe_key`` was already queued."""
        values: dict[str, Any] = {
            "chat_id": chat_id,
            "payload": payload,
            "incident_id": incident_id,
            "dedupe_key": dedupe_key,
            "not_before": not_before,
        }
        if created_at is not None:
            values["created_at"] = created_at
        statement = sa.insert(outbox).values(**values).returning(outbox.c.id)
        if dedupe_key is None:
            return (await self._session.execute(statement)).scalar_one()
        try:
            async with self._session.begin_nested():
                return (await self._session.execute(statement)).scalar_one()
        except IntegrityError:
            return None

    async def pending(self, limit: int = 100, now: datetime | None = None) -> list[OutboxMessage]:
        """The oldest pending messages; with ``now``, only those whose ``not_before`` passed."""
        statement = sa.select(outbox).where(outbox.c.status == OutboxStatus.pending)
        if now is not None:
            statement = statement.where(sa.or_(outbox.c.not_before.is_(None), outbox.c.not_before <= now))
        rows = await self._session.execute(statement.order_by(outbox.c.id).limit(limit))
        return [OutboxMessage(**row._asdict()) for row in rows]

    async def mark_sent(self, message_id: int, at: datetime) -> None:
        await self._session.execute(
            sa.update(outbox)
            .where(outbox.c.id == message_id)
            .values(status=OutboxStatus.sent, sent_at=at, attempts=outbox.c.attempts + 1)
        )

    async def mark_failed(self, message_id: int, error: str, *, retry_at: datetime | None = None) -> None:
        """Record a failed attempt: retried after ``retry_at`` if given, else given up."""
        values: dict[str, Any] = {"attempts": outbox.c.attempts + 1, "last_error": error}
        if retry_at is None:
            values["status"] = OutboxStatus.failed
        else:
            values["not_before"] = retry_at
        await self._session.execute(sa.update(outbox).where(outbox.c.id == message_id).values(**values))

    # Claims. A chat's *head* is its lowest-id open (pending or sending) row; only heads are claimed, so
    # messages to one chat go out in id order and never two at once, whichever sender claims them. Once a
    # row is a head it stays one until it is sent or failed (both final), so a claim only has to check that
    # the row is still claimable: the conditional UPDATE decides races between senders.

    @property
    def session(self) -> AsyncSession:
        """For writes that must share this transaction (the curator's notice with the failure it reports)."""
        return self._session

    async def has_due(self, chat_id: int, now: datetime) -> bool:
        """Whether the chat has a pending row due now: a cheap read before trying a claim (a write)."""
        statement = sa.select(outbox.c.id).where(
            outbox.c.chat_id == chat_id,
            outbox.c.status == OutboxStatus.pending,
            sa.or_(outbox.c.not_before.is_(None), outbox.c.not_before <= now),
        )
        return (await self._session.execute(statement.limit(1))).first() is not None

    async def ready_heads(self, now: datetime, limit: int) -> list[OutboxMessage]:
        """Heads that may be claimed now, oldest first."""
        earlier = outbox.alias("earlier")
        earlier_open = (
            sa.select(earlier.c.id)
            .where(earlier.c.chat_id == outbox.c.chat_id, earlier.c.status.in_(_OPEN), earlier.c.id < outbox.c.id)
            .exists()
        )
        statement = sa.select(outbox).where(_claimable(now), ~earlier_open).order_by(outbox.c.id).limit(limit)
        return [OutboxMessage(**row._asdict()) for row in await self._session.execute(statement)]

    async def claim(
        self, ids: Sequence[int], instance: str, now: datetime, lease_until: datetime
    ) -> list[OutboxMessage]:
        """Claim those of ``ids`` still claimable; returns the rows this call won, oldest first."""
        if not ids:
            return []
        statement = (
            sa.update(outbox)
            .where(outbox.c.id.in_(list(ids)), _claimable(now))
            .values(status=OutboxStatus.sending, claimed_by=instance, claimed_until=lease_until)
            .returning(*outbox.c)
        )
        rows = await self._session.execute(statement)
        return sorted((OutboxMessage(**row._asdict()) for row in rows), key=lambda m: m.id)

    async def claim_next(
        self, chat_id: int, instance: str, now: datetime, lease_until: datetime
    ) -> OutboxMessage | None:
        """Claim the chat's head if it is due: the sender keeps going in a chat it just delivered to."""
        rows = outbox.alias("open_rows")  # an alias, or the subquery would correlate to the updated row
        head = (
            sa.select(sa.func.min(rows.c.id))
            .where(rows.c.chat_id == chat_id, rows.c.status.in_(_OPEN))
            .scalar_subquery()
        )
        statement = (
            sa.update(outbox)
            .where(outbox.c.id == head, _claimable(now))
            .values(status=OutboxStatus.sending, claimed_by=instance, claimed_until=lease_until)
            .returning(*outbox.c)
        )
        row = (await self._session.execute(statement)).first()
        return None if row is None else OutboxMessage(**row._asdict())

    async def claim_heads(
        self, chat_ids: Sequence[int], instance: str, now: datetime, lease_until: datetime
    ) -> list[OutboxMessage]:
        """``claim_next`` for several chats in one statement (the sender's group commit)."""
        if not chat_ids:
            return []
        rows = outbox.alias("open_rows")  # an alias, or the subquery would correlate to the updated row
        heads = (
            sa.select(sa.func.min(rows.c.id))
            .where(rows.c.chat_id.in_(list(chat_ids)), rows.c.status.in_(_OPEN))
            .group_by(rows.c.chat_id)
        )
        statement = (
            sa.update(outbox)
            .where(outbox.c.id.in_(heads), _claimable(now))
            .values(status=OutboxStatus.sending, claimed_by=instance, claimed_until=lease_until)
            .returning(*outbox.c)
        )
        return [OutboxMessage(**row._asdict()) for row in await self._session.execute(statement)]

    async def record_parts(self, message_id: int, instance: str, parts: Sequence[Sequence[int]]) -> bool:
        """Record the parts of a claimed row Telegram has accepted so far (message ids per sending call);
        False if the claim was lost."""
        return await self._update_claimed(message_id, instance, {"sent_parts": [list(p) for p in parts]})

    async def retarget(self, old_chat_id: int, new_chat_id: int, now: datetime) -> int:
        """Rows for a chat that moved go to its new id: the open ones, and those given up because of the
        move (their error names the supergroup), which are queued again. Returns how many rows moved."""
        moved = await self._session.execute(
            sa.update(outbox)
            .where(outbox.c.chat_id == old_chat_id, outbox.c.status.in_(_OPEN))
            .values(chat_id=new_chat_id)
        )
        failed = await self._session.execute(
            sa.update(outbox)
            .where(
                outbox.c.chat_id == old_chat_id,
                outbox.c.status == OutboxStatus.failed,
                outbox.c.last_error.like("%supergroup%"),
            )
            .values(
                chat_id=new_chat_id,
                status=OutboxStatus.pending,
                not_before=now,
                attempts=0,
                claimed_by=None,
                claimed_until=None,
                sent_parts=None,
            )
        )
        return sum(cast(sa.CursorResult[Any], r).rowcount for r in (moved, failed))

    async def merge_pending(self, dedupe_key: str, chat_id: int, payload: dict[str, Any], not_before: datetime) -> bool:
        """Replace the payload of the still pending row with this key, or queue it; False when the key
        belongs to a row already being sent or sent (the caller then uses a new key)."""
        updated = await self._session.execute(
            sa.update(outbox)
            .where(outbox.c.dedupe_key == dedupe_key, outbox.c.status == OutboxStatus.pending)
            .values(payload=payload, not_before=not_before)
        )
        if cast(sa.CursorResult[Any], updated).rowcount == 1:
            return True
        return await self.add(chat_id, payload, dedupe_key=dedupe_key, not_before=not_before) is not None

    async def mark_sent_many(self, message_ids: Sequence[int], at: datetime) -> None:
        await self._session.execute(
            sa.update(outbox)
            .where(outbox.c.id.in_(list(message_ids)))
            .values(status=OutboxStatus.sent, sent_at=at, attempts=outbox.c.attempts + 1)
        )

    async def release(
        self, message_id: int, instance: str, *, not_before: datetime, error: str, attempt: bool = True
    ) -> bool:
        """Hand a claimed row back to be tried again after ``not_before``; False if the claim was lost."""
        values: dict[str, Any] = {
            "status": OutboxStatus.pending,
            "not_before": not_before,
            "last_error": error,
            "claimed_until": None,
        }
        if attempt:
            values["attempts"] = outbox.c.attempts + 1
        return await self._update_claimed(message_id, instance, values)

    async def give_up(self, message_id: int, instance: str, error: str) -> bool:
        """Record a claimed row as failed for good; False if the claim was lost."""
        values = {
            "status": OutboxStatus.failed,
            "last_error": error,
            "attempts": outbox.c.attempts + 1,
            "claimed_until": None,
        }
        return await self._update_claimed(message_id, instance, values)

    async def _update_claimed(self, message_id: int, instance: str, values: dict[str, Any]) -> bool:
        # Only while still ours: after a lost lease another sender owns the row and decides its fate.
        result = await self._session.execute(
            sa.update(outbox)
            .where(
                outbox.c.id == message_id,
                outbox.c.status == OutboxStatus.sending,
                outbox.c.claimed_by == instance,
            )
            .values(**values)
        )
        return cast(sa.CursorResult[Any], result).rowcount == 1

    async def next_due(self, now: datetime) -> datetime | None:
        """When the next waiting row becomes claimable (a retry's moment or a lease's end), if any."""
        retry = sa.select(sa.func.min(outbox.c.not_before)).where(
            outbox.c.status == OutboxStatus.pending, outbox.c.not_before > now
        )
        lease = sa.select(sa.func.min(outbox.c.claimed_until)).where(outbox.c.status == OutboxStatus.sending)
        moments = [(await self._session.execute(q)).scalar_one_or_none() for q in (retry, lease)]
        found = [m for m in moments if m is not None]
        return min(found) if found else None

    async def status_counts(self) -> dict[OutboxStatus, int]:
        rows = await self._session.execute(sa.select(outbox.c.status, sa.func.count()).group_by(outbox.c.status))
        return {OutboxStatus(status): count for status, count in rows}

    async def get(self, message_id: int) -> OutboxMessage | None:
        row = (await self._session.execute(sa.select(outbox).where(outbox.c.id == message_id))).first()
        return None if row is None else OutboxMessage(**row._asdict())


class ProcessedUpdates:
    """Telegram may deliver an update twice (restart, webhook retry): handle it once."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def seen(self, update_id: int) -> bool:
        row = await self._session.execute(
            sa.select(processed_updates.c.update_id).where(processed_updates.c.update_id == update_id)
        )
        return row.first() is not None

    async def first_time(self, update_id: int, at: datetime | None = None) -> bool:
        values: dict[str, Any] = {"update_id": update_id}
        if at is not None:
            values["processed_at"] = at
        try:
            # A savepoint, so a duplicate does not poison the caller's transaction (PostgreSQL).
            async with self._session.begin_nested():
                await self._session.execute(sa.insert(processed_updates).values(**values))
        except IntegrityError:
            return False
        return True


# --- Telegram presentation ----------------------------------------------------------------------

cards = _table(CardRow)
reminders_sent = _table(ReminderSentRow)


class CardRepository:
    """Which message shows an incident's card in a chat."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, chat_id: int, incident_id: int) -> int | None:
        row = await self._session.execute(
            sa.select(cards.c.message_id).where(cards.c.chat_id == chat_id, cards.c.incident_id == incident_id)
        )
        return row.scalar_one_or_none()

    async def remember(
        self,
        chat_id: int,
        incident_id: int,
        message_id: int,
        version: int | None = None,
        outbox_id: int | None = None,
    ) -> None:
        """The card is this message; `version` is the incident version it shows (None: not drawn yet),
        `outbox_id` the outbox row that sent it (a retried row then knows it was delivered)."""
        values = {"message_id": message_id, "version": version, "outbox_id": outbox_id}
        result = await self._session.execute(
            sa.update(cards)
            .where(cards.c.chat_id == chat_id, cards.c.incident_id == incident_id)
            .values(**values, updated_at=sa.func.now())
        )
        if cast(sa.CursorResult[Any], result).rowcount == 0:
            await self._session.execute(sa.insert(cards).values(chat_id=chat_id, incident_id=incident_id, **values))

    async def forget_chat(self, chat_id: int) -> None:
        """A chat that moved: its cards cannot be edited under the new id, so the next notice draws anew."""
        await self._session.execute(sa.delete(cards).where(cards.c.chat_id == chat_id))

    async def drawn_by(self, chat_id: int, incident_id: int) -> int | None:
        row = await self._session.execute(
            sa.select(cards.c.outbox_id).where(cards.c.chat_id == chat_id, cards.c.incident_id == incident_id)
        )
        return row.scalar_one_or_none()

    async def shown_version(self, chat_id: int, incident_id: int) -> int | None:
        row = await self._session.execute(
            sa.select(cards.c.version).where(cards.c.chat_id == chat_id, cards.c.incident_id == incident_id)
        )
        return row.scalar_one_or_none()
