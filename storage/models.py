"""The database schema: one SQLAlchemy model per table, mapped from the domain in repositories.

Models carry no behaviour. Enums are stored as their string values in plain VARCHAR columns
(no native ENUM, no CHECK) so a new state or reason needs no migration and the schema is the
same on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from bot.domain.incident import (
    MAX_AUTHOR,
    MAX_EXTERNAL_ID,
    MAX_URL,
    AssignmentState,
    DraftKind,
    DraftStatus,
    Importance,
    Kind,
    MultiMode,
    Network,
    Role,
    State,
)
from storage.types import UTCDateTime


class OutboxStatus(StrEnum):
    """Where an outbox row is in its delivery: pending → sending → sent, or failed for good."""

    pending = "pending"
    sending = "sending"  # claimed by a sender until `claimed_until`; taken again after a crash
    sent = "sent"
    failed = "failed"  # gave up: needs a human look


# Stable constraint names on every backend, so later migrations can drop or alter them by name.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def _enum(enum_cls: type[StrEnum]) -> sa.Enum:
    return sa.Enum(
        enum_cls,
        name=enum_cls.__name__.lower(),
        native_enum=False,
        create_constraint=False,
        length=32,
        values_callable=lambda cls: [member.value for member in cls],
        validate_strings=True,
    )


class Base(DeclarativeBase):
    """The models' base: stable constraint names, and every ``datetime`` column a :class:`UTCDateTime`."""

    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {  # noqa: RUF012 - SQLAlchemy reads this class attribute
        datetime: UTCDateTime(),
        dict[str, Any]: sa.JSON(),
        list[Any]: sa.JSON(),
    }


_now = sa.func.now()


# --- people and organisation ------------------------------------------------------------------


class UserRow(Base):
    """A person known to the bot by their Telegram id; the storage layer deactivates, never deletes one."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    telegram_id: Mapped[int] = mapped_column(sa.BigInteger, unique=True)
    full_name: Mapped[str] = mapped_column(sa.String(255))
    username: Mapped[str | None] = mapped_column(sa.String(64))
    locale: Mapped[str] = mapped_column(sa.String(16), default="ru", server_default="ru")
    is_active: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    created_at: Mapped[datetime] = mapped_column(server_default=_now)


class UserRoleRow(Base):
    """One role a user holds (SPEC §1); a person may hold several."""

    __tablename__ = "user_roles"

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[Role] = mapped_column(_enum(Role), primary_key=True)


class DepartmentRow(Base):
    """A department (отраслевой орган) with its bound group chat and responsible official."""

    __tablename__ = "departments"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)  # the config's code (bot.domain.codes)
    name: Mapped[str] = mapped_column(sa.String(255), unique=True)
    chat_id: Mapped[int | None] = mapped_column(sa.BigInteger)  # the bound group chat
    responsible_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    is_active: Mapped[bool] = mapped_column(default=True, server_default=sa.true())


class MembershipRow(Base):
    """A user's membership of a department: whose queue they see and act on."""

    __tablename__ = "memberships"

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    department_id: Mapped[int] = mapped_column(
        sa.ForeignKey("departments.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class AbsenceRow(Base):
    """A vacation or sick leave: someone else stands in for the user meanwhile."""

    __tablename__ = "absences"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    substitute_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    reason: Mapped[str | None] = mapped_column(sa.String(255))


class TopicRow(Base):
    """A topic of the rubricator an incident can be filed under (SPEC §2)."""

    __tablename__ = "topics"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)  # the config's code (bot.domain.codes)
    name: Mapped[str] = mapped_column(sa.String(255), unique=True)
    is_active: Mapped[bool] = mapped_column(default=True, server_default=sa.true())


class LocationRow(Base):
    """A location of the directory an incident can be placed at (SPEC §2)."""

    __tablename__ = "locations"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)  # the config's code (bot.domain.codes)
    name: Mapped[str] = mapped_column(sa.String(255), unique=True)
    is_active: Mapped[bool] = mapped_column(default=True, server_default=sa.true())


class InviteRow(Base):
    """A one-time invitation code for a role (and department); used_by/used_at once claimed."""

    __tablename__ = "invites"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(64), unique=True)
    role: Mapped[Role] = mapped_column(_enum(Role))
    department_id: Mapped[int | None] = mapped_column(sa.ForeignKey("departments.id", ondelete="CASCADE"))
    created_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(server_default=_now)
    expires_at: Mapped[datetime | None]
    used_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    used_at: Mapped[datetime | None]


# --- incidents ----------------------------------------------------------------------------------


class IncidentRow(Base):
    """One incident: its state, classification, deadlines (aware UTC) and working-second milestones."""

    __tablename__ = "incidents"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation: Mapped[str] = mapped_column(sa.String(255))
    state: Mapped[State] = mapped_column(_enum(State), index=True)
    importance: Mapped[Importance] = mapped_column(_enum(Importance))
    kind: Mapped[Kind] = mapped_column(_enum(Kind))
    mode: Mapped[MultiMode] = mapped_column(_enum(MultiMode))
    detected_at: Mapped[datetime] = mapped_column(index=True)
    location_id: Mapped[int | None] = mapped_column(sa.ForeignKey("locations.id"))
    repeat_of: Mapped[int | None] = mapped_column(sa.ForeignKey("incidents.id", ondelete="SET NULL"))
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("incidents.id", ondelete="SET NULL"))
    created_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    consolidator_department_id: Mapped[int | None] = mapped_column(sa.ForeignKey("departments.id"))
    intermediate_published_at: Mapped[datetime | None]
    published_at: Mapped[datetime | None]
    closed_reason: Mapped[str | None] = mapped_column(sa.Text)
    detected_clock: Mapped[int | None] = mapped_column(sa.BigInteger)  # working seconds, see Workflow.work_clock
    # bot.domain.incident.Milestones: what the monthly report reads instead of the events.
    route_clock: Mapped[int | None] = mapped_column(sa.BigInteger)
    response_clock: Mapped[int | None] = mapped_column(sa.BigInteger)
    draft_clock: Mapped[int | None] = mapped_column(sa.BigInteger)
    publish_clock: Mapped[int | None] = mapped_column(sa.BigInteger)
    late_at: Mapped[datetime | None]  # the first publication after its deadline
    late_due: Mapped[datetime | None]  # ... and that deadline
    late_by: Mapped[int | None] = mapped_column(sa.BigInteger)  # ... and the working seconds between
    version: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(server_default=_now)
    updated_at: Mapped[datetime] = mapped_column(server_default=_now)
    # One column per bot.domain.incident.DeadlineKind: "<kind>_due".
    routing_due: Mapped[datetime | None]
    reroute_due: Mapped[datetime | None]
    answer_due: Mapped[datetime | None]
    draft_due: Mapped[datetime | None]
    approval_due: Mapped[datetime | None]
    revision_due: Mapped[datetime | None]
    publication_due: Mapped[datetime | None]
    final_due: Mapped[datetime | None]
    # When the reminder sweep should look at this incident next; not part of the aggregate.
    next_reminder_at: Mapped[datetime | None] = mapped_column(index=True)


class IncidentTopicRow(Base):
    """A topic of an incident, in the order the curator chose them."""

    __tablename__ = "incident_topics"

    incident_id: Mapped[int] = mapped_column(sa.ForeignKey("incidents.id", ondelete="CASCADE"), primary_key=True)
    topic_id: Mapped[int] = mapped_column(sa.ForeignKey("topics.id"), primary_key=True, index=True)
    # Keeps Incident.topic_ids in the order the curator chose them.
    position: Mapped[int] = mapped_column(default=0, server_default="0")


class SourceRow(Base):
    """A post an incident answers (network, link, author, text); an incident may have several."""

    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(sa.ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    network: Mapped[Network] = mapped_column(_enum(Network))
    url: Mapped[str | None] = mapped_column(sa.String(MAX_URL), index=True)
    author: Mapped[str | None] = mapped_column(sa.String(MAX_AUTHOR), index=True)
    text: Mapped[str] = mapped_column(sa.Text)
    detected_at: Mapped[datetime]
    # The intake API's source_id: unique, so two bot instances racing on one post register it once.
    external_id: Mapped[str | None] = mapped_column(sa.String(MAX_EXTERNAL_ID), index=True, unique=True)


class PostRow(Base):
    """A post registered as an incident, by its canonical key (bot.domain.links.post_key): one post is one
    incident, whatever path and link form it comes by, even when two processes register it at once.

    Written when a post is registered or added to an incident as a further source — not for the copies
    of its sources that a split (Боровичи п. 17) gives each part, so they still share the post.
    """

    __tablename__ = "posts"

    id: Mapped[int] = mapped_column(primary_key=True)
    # sha256 of the key: a fixed width that any index takes (a key is up to 2048 characters of URL).
    digest: Mapped[str] = mapped_column(sa.String(64), unique=True)
    key: Mapped[str] = mapped_column(sa.Text)
    incident_id: Mapped[int] = mapped_column(sa.ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    source_id: Mapped[int | None] = mapped_column(sa.ForeignKey("sources.id", ondelete="CASCADE"), index=True)
    registered_at: Mapped[datetime] = mapped_column(server_default=_now)


class AssignmentRow(Base):
    """An incident's routing to one department, with its executor, state and per-step deadlines."""

    __tablename__ = "assignments"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(sa.ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    department_id: Mapped[int] = mapped_column(sa.ForeignKey("departments.id"), index=True)
    state: Mapped[AssignmentState] = mapped_column(_enum(AssignmentState))
    order: Mapped[int] = mapped_column(default=0, server_default="0")
    executor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    received_at: Mapped[datetime | None]
    return_reason: Mapped[str | None] = mapped_column(sa.Text)
    returned_at: Mapped[datetime | None]
    # One column per bot.domain.incident.AssignmentDeadline: "<kind>_due".
    not_ours_due: Mapped[datetime | None]
    clarification_due: Mapped[datetime | None]
    contribution_due: Mapped[datetime | None]


class DraftRow(Base):
    """A draft of an incident (answer, intermediate, clarification, contribution) and its decision."""

    __tablename__ = "drafts"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(sa.ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    number: Mapped[int]
    kind: Mapped[DraftKind] = mapped_column(_enum(DraftKind))
    text: Mapped[str] = mapped_column(sa.Text)
    author_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    department_id: Mapped[int] = mapped_column(sa.ForeignKey("departments.id"))
    submitted_at: Mapped[datetime]
    status: Mapped[DraftStatus] = mapped_column(_enum(DraftStatus))
    is_final: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    return_reasons: Mapped[list[Any]] = mapped_column(default=list)  # ReturnReason values
    return_comment: Mapped[str | None] = mapped_column(sa.Text)
    decided_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]
    published_url: Mapped[str | None] = mapped_column(sa.String(2048))
    published_at: Mapped[datetime | None]
    # The draft pre-check's findings at submission, [{"reason": "no_date", "words": [...]}, ...]; NULL: not checked.
    precheck: Mapped[list[Any] | None] = mapped_column(sa.JSON(none_as_null=True))


class AttachmentRow(Base):
    """A Telegram file of a source post or of a draft (exactly one of the two)."""

    __tablename__ = "attachments"
    __table_args__ = (sa.CheckConstraint("(source_id IS NULL) <> (draft_id IS NULL)", name="one_owner"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int | None] = mapped_column(sa.ForeignKey("sources.id", ondelete="CASCADE"), index=True)
    draft_id: Mapped[int | None] = mapped_column(sa.ForeignKey("drafts.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]
    file_id: Mapped[str] = mapped_column(sa.String(255))
    file_unique_id: Mapped[str | None] = mapped_column(sa.String(255))
    type: Mapped[str] = mapped_column(sa.String(32))


class PauseRow(Base):
    """A clarification pause of an incident's answer clock (SPEC §3, Боровичи п. 10); ended_at None while it runs."""

    __tablename__ = "pauses"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(sa.ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]


class EventRow(Base):
    """The transition and audit log: append-only."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(sa.ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(64))
    at: Mapped[datetime]
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    from_state: Mapped[State | None] = mapped_column(_enum(State))
    to_state: Mapped[State] = mapped_column(_enum(State))
    comment: Mapped[str | None] = mapped_column(sa.Text)
    department_id: Mapped[int | None] = mapped_column(sa.ForeignKey("departments.id"))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    work_clock: Mapped[int | None] = mapped_column(sa.BigInteger)  # working seconds at `at`


# --- delivery -----------------------------------------------------------------------------------


class OutboxRow(Base):
    """A notification written in the same transaction as the change it announces."""

    __tablename__ = "outbox"
    __table_args__ = (
        sa.Index("ix_outbox_status_id", "status", "id"),
        # "Is an earlier message to this chat still open?" — the per-chat order check of every claim.
        sa.Index("ix_outbox_chat_id_status_id", "chat_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    chat_id: Mapped[int] = mapped_column(sa.BigInteger)
    payload: Mapped[dict[str, Any]]
    incident_id: Mapped[int | None] = mapped_column(sa.ForeignKey("incidents.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(server_default=_now)
    not_before: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    status: Mapped[OutboxStatus] = mapped_column(
        _enum(OutboxStatus), default=OutboxStatus.pending, server_default="pending"
    )
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    dedupe_key: Mapped[str | None] = mapped_column(sa.String(255), unique=True)
    claimed_by: Mapped[str | None] = mapped_column(sa.String(128))  # the sender instance delivering it
    claimed_until: Mapped[datetime | None]  # the claim's lease: past it, another sender may take the row
    # The parts of the row Telegram already has, one list of message ids per sending call, in order
    # (a report's text, workbook, chart; a card's albums and the card): a retry sends only the rest.
    sent_parts: Mapped[list[Any] | None]


class ChatMigrationRow(Base):
    """A group chat Telegram upgraded to a supergroup: the old id now means the new one.

    Kept so that the config's old ``chat_id`` is read as the new chat at every start."""

    __tablename__ = "chat_migrations"

    old_chat_id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
    new_chat_id: Mapped[int] = mapped_column(sa.BigInteger)
    migrated_at: Mapped[datetime] = mapped_column(server_default=_now)


class ProcessedUpdateRow(Base):
    """Telegram update ids already handled: a redelivered update is ignored."""

    __tablename__ = "processed_updates"

    update_id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
    processed_at: Mapped[datetime] = mapped_column(server_default=_now)


class InboxRow(Base):
    """A Telegram update as received (raw JSON), recorded before Telegram is told it arrived (the polling
    offset, the webhook's answer) and marked done once handled: one cut short by a crash is handled after
    restart (``storage.inbox``)."""

    __tablename__ = "inbox"
    __table_args__ = (sa.Index("ix_inbox_pending", "done_at", "update_id"),)

    update_id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
    key: Mapped[int] = mapped_column(sa.BigInteger)  # the chat (or user) whose updates run in order
    payload: Mapped[str] = mapped_column(sa.Text)
    received_at: Mapped[datetime]
    claimed_by: Mapped[str | None] = mapped_column(sa.String(128))  # the instance handling it
    claimed_until: Mapped[datetime | None]  # the claim's lease: past it, another instance may take the row
    done_at: Mapped[datetime | None]


# --- Telegram presentation state ----------------------------------------------------------------


class CardRow(Base):
    """The message that shows an incident's card in a chat, edited in place as it changes."""

    __tablename__ = "cards"
    __table_args__ = (sa.UniqueConstraint("chat_id", "incident_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    chat_id: Mapped[int] = mapped_column(sa.BigInteger)
    incident_id: Mapped[int] = mapped_column(sa.ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    message_id: Mapped[int] = mapped_column(sa.BigInteger)
    version: Mapped[int | None]  # the incident version the card shows; None until drawn
    outbox_id: Mapped[int | None] = mapped_column(sa.BigInteger)  # the outbox row that sent it, if one did
    updated_at: Mapped[datetime] = mapped_column(server_default=_now)


class FsmStateRow(Base):
    """aiogram FSM state and data per chat/user: a half-written draft survives a restart."""

    __tablename__ = "fsm_states"

    key: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    state: Mapped[str | None] = mapped_column(sa.String(255))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)


class ReminderSentRow(Base):
    """A reminder mark that went out: (incident, mark@deadline) is sent at most once."""

    __tablename__ = "reminders_sent"
    __table_args__ = (sa.UniqueConstraint("incident_id", "mark"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(sa.ForeignKey("incidents.id", ondelete="CASCADE"))
    mark: Mapped[str] = mapped_column(sa.String(160))
    sent_at: Mapped[datetime] = mapped_column(server_default=_now)


# --- the assistant (issue 13 §3, §5) -------------------------------------------------------------------------


# The repeat-by-meaning pool (bot.assistant) re-reads only the incidents changed since its last look.
sa.Index("ix_incidents_updated_at", IncidentRow.updated_at)


class SimilarTextRow(Base):
    """An incident's post as its normalised lemmas (bot.domain.similar.normalise), written at registration, so a
    repeat-by-meaning check compares stored strings instead of lemmatising every open incident."""

    __tablename__ = "similar_texts"

    incident_id: Mapped[int] = mapped_column(sa.ForeignKey("incidents.id", ondelete="CASCADE"), primary_key=True)
    lemmas: Mapped[str] = mapped_column(sa.Text)


class AnswerTemplateRow(Base):
    """An answer template kept by an administrator or a department's responsible official (issue 13 §5): a title
    and a text with placeholders, for a topic (or any topic when None), owned by a department (or the whole
    organisation when None)."""

    __tablename__ = "answer_templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    topic_id: Mapped[int | None] = mapped_column(sa.ForeignKey("topics.id", ondelete="CASCADE"), index=True)
    department_id: Mapped[int | None] = mapped_column(sa.ForeignKey("departments.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(sa.String(255))
    text: Mapped[str] = mapped_column(sa.Text)
    created_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(server_default=_now)


class RouteSuggestionRow(Base):
    """The departments suggested for an incident when it was routed (issue 13 §4) and whether the curator routed
    it to exactly those: the report's share of incidents routed as suggested."""

    __tablename__ = "route_suggestions"

    incident_id: Mapped[int] = mapped_column(sa.ForeignKey("incidents.id", ondelete="CASCADE"), primary_key=True)
    departments: Mapped[list[int]] = mapped_column(sa.JSON)
    followed: Mapped[bool]
    routed_at: Mapped[datetime] = mapped_column(index=True)
