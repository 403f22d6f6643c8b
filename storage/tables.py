"""The Core tables of the mapped models, which the repositories query with explicit statements."""

from __future__ import annotations

from typing import Any, cast

import sqlalchemy as sa

from storage.models import (
    AbsenceRow,
    AssignmentRow,
    AttachmentRow,
    CardRow,
    ChatMigrationRow,
    DepartmentRow,
    DraftRow,
    EventRow,
    InboxRow,
    IncidentRow,
    IncidentTopicRow,
    InviteRow,
    LocationRow,
    MembershipRow,
    OutboxRow,
    PauseRow,
    PostRow,
    ProcessedUpdateRow,
    ReminderSentRow,
    SourceRow,
    TopicRow,
    UserRoleRow,
    UserRow,
)


def table(model: type[Any]) -> sa.Table:
    """The Core table of a mapped class: repositories write explicit Core statements against it."""
    return cast(sa.Table, model.__table__)


incidents = table(IncidentRow)
incident_topics = table(IncidentTopicRow)
sources = table(SourceRow)
assignments = table(AssignmentRow)
drafts = table(DraftRow)
attachments = table(AttachmentRow)
pauses = table(PauseRow)
events = table(EventRow)
users = table(UserRow)
user_roles = table(UserRoleRow)
departments = table(DepartmentRow)
memberships = table(MembershipRow)
absences = table(AbsenceRow)
topics = table(TopicRow)
locations = table(LocationRow)
invites = table(InviteRow)
outbox = table(OutboxRow)
processed_updates = table(ProcessedUpdateRow)
inbox = table(InboxRow)
posts = table(PostRow)
chat_migrations = table(ChatMigrationRow)
cards = table(CardRow)
reminders_sent = table(ReminderSentRow)
