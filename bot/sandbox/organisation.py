"""The sandbox organisation: its settings (a preset's or the configured ones, pointed at the embedded Bot API server
and a fresh SQLite file), its people — fake Telegram users with every role, their access already set up — and the
working morning its clock starts at."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bot.config import Department, Settings
from bot.domain.incident import Role
from bot.domain.worktime import WorkCalendar
from bot.i18n import N_

DEPARTMENTS = ("Управление ЖКХ", "Комитет по дорогам и транспорту")
TOPICS = ("ЖКХ", "Дороги", "Благоустройство", "Транспорт")
LOCATIONS = ("Центральный микрорайон", "пос. Северный")


@dataclass(frozen=True)
class Person:
    """One person of the sandbox: the Telegram id of their fake account, their name, what they do (a msgid, shown
    on the page) and the department they belong to (index into the sandbox's departments, None for none)."""

    key: str  # stable name on the page and in scenarios: curator, executor1, executor2, responsible, head, approver
    telegram_id: int
    name: str
    role: str
    department: int | None = None


CURATOR = Person("curator", 1001, "Мария Куратова", N_("Curator and administrator"))
EXECUTOR1 = Person("executor1", 1002, "Иван Петров", N_("Executor"), 0)
EXECUTOR2 = Person("executor2", 1003, "Ольга Смирнова", N_("Executor"), 1)
RESPONSIBLE = Person("responsible", 1004, "Сергей Иванов", N_("Responsible official"), 0)
HEAD = Person("head", 1005, "Николай Главов", N_("Head of the municipality"))
APPROVER = Person("approver", 1006, "ЦУР края", N_("Second approver (regional centre)"))


def people_for(settings: Settings) -> list[Person]:
    """The people of the sandbox under ``settings``: a curator (also the administrator), two executors of different
    departments, the first department's responsible official, the head, and the regional centre's approver where
    the regulation has a second approval level (Петровский п. 10)."""
    people = [CURATOR, EXECUTOR1, EXECUTOR2, RESPONSIBLE, HEAD]
    if settings.preset().approval_levels.value == 2:
        people.append(APPROVER)
    return people


def sandbox_settings(
    base: Settings | None, preset: str | None, database: Path, api_base_url: str, locale: str = "ru"
) -> Settings:
    """The settings the sandbox's bot runs on.

    ``base`` (the configured settings, or None for the defaults) gives the organisation, its calendar, departments,
    topics and locations; ``preset`` (a name of bot.domain.presets, or None: the configured one) replaces its
    regulation and, when given, the directory too. Always: the bot talks to ``api_base_url`` (the embedded server)
    with no token of its own, speaks ``locale`` by default, keeps its data in the SQLite file ``database``, reminds
    every 5 real seconds, paces at 100× Telegram's limits, has no webhook, no intake API and no group chats, and its
    people are the sandbox's (people_for). Raises pydantic's ValidationError for an unknown preset.
    """
    data: dict[str, Any] = base.model_dump(mode="python") if base is not None else {}
    for secret in ("token", "webhook_secret"):
        data.get("bot", {}).pop(secret, None)
    data.setdefault("intake", {}).pop("tokens", None)
    data["bot"] = {**data.get("bot", {}), "api_base_url": api_base_url, "webhook_url": None, "default_locale": locale}
    data["bot"]["fsm_storage"] = "database"
    data["database"] = {"url": f"sqlite+aiosqlite:///{database}", "upgrade_on_start": True}
    data["delivery"] = {**data.get("delivery", {}), "rate_scale": 100, "lease_seconds": 3600}
    data["reminders"] = {**data.get("reminders", {}), "sweep_seconds": 5}
    data["intake"] = {**data.get("intake", {}), "enabled": False}
    organisation = data.setdefault("organisation", {})
    if preset is not None or base is None:
        from bot.domain.presets import get_preset

        chosen = get_preset(preset or organisation.get("preset") or "otradnaya")
        organisation.update(preset=chosen.name, name=chosen.title, overrides={}, timezone=None)
        data["departments"] = [{"code": f"d{i}", "name": name} for i, name in enumerate(DEPARTMENTS)]
        data["topics"] = list(TOPICS)
        data["locations"] = list(LOCATIONS)
    departments = [Department.model_validate({**d, "chat_id": None}) for d in data.get("departments", [])]
    for name in DEPARTMENTS[len(departments) :]:  # a config with fewer than two departments gets the sandbox's
        departments.append(Department(code=f"sandbox{len(departments)}", name=name))
    data["departments"] = [d.model_dump() for d in departments]
    data["topics"] = data.get("topics") or list(TOPICS)
    data["locations"] = data.get("locations") or list(LOCATIONS)
    settings = Settings.model_validate({**data, "people": {}})
    people = people_for(settings)
    data["people"] = {
        "admins": [CURATOR.telegram_id],
        "curators": [CURATOR.telegram_id],
        "heads": [HEAD.telegram_id],
        "external_approvers": [p.telegram_id for p in people if p is APPROVER],
    }
    return Settings.model_validate(data)


async def set_up_people(settings: Settings, people: list[Person], locale: str = "ru") -> None:
    """Write the directory into the sandbox's fresh database before the bot starts: the departments, and every
    person with their name, language (``locale``), role, department and (for the responsible official) their
    department's responsibility — as if each had redeemed their invitation. The bot's own start (``Services.seed``)
    then finds them and adds nothing. Migrates the database first."""
    from storage.db import make_engine, make_session_factory, upgrade_async
    from storage.directory import DirectoryRepository

    engine = make_engine(settings.database.url)
    try:
        await upgrade_async(engine)
        sessions = make_session_factory(engine)
        async with sessions() as session, session.begin():
            repo = DirectoryRepository(session)
            departments = [await repo.add_department(d.name) for d in settings.departments]
            roles = {
                CURATOR.key: {Role.admin, Role.curator},
                HEAD.key: {Role.head},
                APPROVER.key: {Role.external_approver},
                EXECUTOR1.key: {Role.executor},
                EXECUTOR2.key: {Role.executor},
                RESPONSIBLE.key: set(),  # a responsible official's role comes from their department
            }
            for person in people:
                user = await repo.add_user(person.telegram_id, person.name, locale=locale, roles=roles[person.key])
                if person.department is not None:
                    department = departments[person.department]
                    await repo.add_membership(user.id, department.id)
                    if person.key == RESPONSIBLE.key:
                        await repo.set_responsible(department.id, user.id)
    finally:
        await engine.dispose()


def next_working_morning(calendar: WorkCalendar, now: datetime) -> datetime:
    """The start of the first working span that begins after ``now`` (aware), in the calendar's zone: where the
    sandbox's clock starts, so a whole working day lies ahead."""
    local = now.astimezone(calendar.tz)
    day = local.date()
    for _ in range(60):
        spans = calendar.spans(day)
        if spans:
            start = datetime.combine(day, spans[0].start, tzinfo=calendar.tz)
            if start > local:
                return start
        day += timedelta(days=1)
    raise ValueError("no working day within 60 days")
