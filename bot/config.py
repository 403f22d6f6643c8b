"""Configuration: a TOML file validated with pydantic; secrets may come from the environment.

A wrong file fails at start with `ConfigError`, whose message names the key and what is wrong.
"""

from __future__ import annotations

import os
import re
import tomllib
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator

from bot.domain.codes import CODE_PATTERN, slug
from bot.domain.presets import PRESETS, Preset, get_preset
from bot.domain.production_calendar import Decree, YearStatus, decrees_by_year
from bot.domain.texts import Sentence
from bot.domain.worktime import CalendarOverrides, Span, WeeklySchedule, WorkCalendar
from bot.outbox import DeliverySettings
from bot.texts import Invalid, Lines, Said, Text, message_of, os_problem

ENV_CONFIG = "OTKLIK_CONFIG"
ENV_TOKEN = "OTKLIK_BOT_TOKEN"
ENV_DATABASE = "OTKLIK_DATABASE_URL"
ENV_INTAKE_TOKEN = "OTKLIK_INTAKE_TOKEN"
ENV_WEBHOOK_SECRET = "OTKLIK_WEBHOOK_SECRET"
ENV_METRICS_TOKEN = "OTKLIK_METRICS_TOKEN"
DEFAULT_DATABASE = "sqlite+aiosqlite:///otklik.sqlite3"

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_INTERVAL = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


class ConfigError(Said, Exception):
    """The configuration cannot be used; the message is meant for the person starting the bot: ``message`` an
    English msgid of the catalogs formatted with ``params`` (bot.texts.Text), ``str(error)`` in English,
    ``error.text(locale)`` in the reader's language."""

    def __init__(self, message: str, /, **params: Any) -> None:
        super().__init__(self._say(message, params))


def cannot_listen(host: str, port: int, error: OSError, choose: str) -> ConfigError:
    """The one-line refusal of ``host:port`` that cannot be listened on (taken by another program, or an address
    this machine does not have): ``error``, what the socket raised; ``choose``, where to choose another
    (``[metrics] port`` as it is, or a bot.texts.Text said in the reader's language)."""
    return ConfigError(
        "cannot listen on {host}:{port} ({problem}): the port is taken or the address is not this machine's; "
        "choose another with {choose}",
        host=host,
        port=port,
        problem=os_problem(error),
        choose=choose,
    )


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


def parse_interval(text: str) -> tuple[time, time]:
    """``"09:00-18:00"`` as local wall-clock (start, end), naive times; an end of ``24:00`` reads as 23:59:59.
    Raises ValueError naming ``text`` when it is no such interval, has an impossible time, or ends before it
    starts."""
    match = _INTERVAL.match(str(text))
    if not match:
        raise Invalid("{text!r} is not an interval like 09:00-18:00", text=text)
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    end = time(23, 59, 59) if (h2, m2) == (24, 0) else _time(h2, m2, text)
    start = _time(h1, m1, text)
    if start >= end:
        raise Invalid("{text!r} ends before it starts", text=text)
    return start, end


def _time(hour: int, minute: int, text: str) -> time:
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        raise Invalid("{text!r} has an impossible time", text=text)
    return time(hour, minute)


class BotSection(_Section):
    """``[bot]``: the token (or ``OTKLIK_BOT_TOKEN``), an own Bot API server, the default language, where
    unfinished dialogs live, and webhook mode (Telegram Bot API «setWebhook»: HTTPS only, a secret token of
    1–256 characters of A-Z, a-z, 0-9, _ and -)."""

    token: SecretStr | None = None
    api_base_url: str | None = Field(None, description="own Bot API server, e.g. http://127.0.0.1:8081")
    default_locale: str = "ru"
    # Where unfinished dialogs live: "database" (the embedded default) or a redis:// URL.
    fsm_storage: str = "database"
    # Webhook mode: Telegram pushes updates to this public HTTPS address instead of the bot polling.
    webhook_url: str | None = None
    webhook_listen: str = "127.0.0.1"  # where the bot listens; a TLS proxy forwards webhook_url here
    webhook_port: int = Field(8080, ge=1, le=65535)
    webhook_secret: SecretStr | None = None  # Telegram sends it back in a header; random per start if unset
    # Updates of different chats are handled at once, up to this many; one chat's run in order (bot.inbox).
    update_concurrency: int = Field(16, ge=1, le=256)
    # An instance's hold on the updates it received; past it (a crashed instance) another may take them.
    update_lease_seconds: float = Field(60.0, ge=5)
    # This instance's name in the inbox, the same across its restarts; default: host and webhook port.
    instance: str | None = Field(None, min_length=1, max_length=128)

    @model_validator(mode="after")
    def _webhook(self) -> BotSection:
        url = self.webhook_url
        if url is not None and not url.startswith("https://") and not (self.api_base_url and url.startswith("http://")):
            raise Invalid("webhook_url must be an https:// address (Telegram pushes only over TLS)")
        secret = self.webhook_secret.get_secret_value() if self.webhook_secret else None
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
            raise Invalid("webhook_secret: 1-256 characters of A-Z, a-z, 0-9, _ and -")
        return self

    @field_validator("fsm_storage")
    @classmethod
    def _fsm(cls, v: str) -> str:
        if v != "database" and not v.startswith(("redis://", "rediss://", "unix://")):
            raise Invalid("must be 'database' or a redis:// URL")
        return v

    @field_validator("default_locale")
    @classmethod
    def _locale(cls, v: str) -> str:
        if v not in ("ru", "en"):
            raise Invalid("must be 'ru' or 'en'")
        return v


class DatabaseSection(_Section):
    """``[database]``: an SQLAlchemy async URL (SQLite via aiosqlite, the default, or PostgreSQL via asyncpg;
    ``OTKLIK_DATABASE_URL`` wins), whether migrations run at start, and the daily backup: ``backup_dir`` (none:
    off), ``backup_keep`` files kept, at ``backup_time`` (HH:MM, the organisation's local time)."""

    url: str = DEFAULT_DATABASE
    upgrade_on_start: bool = True
    # The daily backup (bot.backup): off unless a directory is named; the newest `backup_keep` are kept.
    backup_dir: str | None = None
    backup_keep: int = Field(7, ge=1, le=3650)
    backup_time: str = "03:00"  # local time of the organisation, HH:MM

    @field_validator("backup_time")
    @classmethod
    def _backup_time(cls, v: str) -> str:
        match = re.fullmatch(r"(\d{1,2}):(\d{2})", v.strip())
        if not match or int(match[1]) > 23 or int(match[2]) > 59:
            raise Invalid("{value!r} is not a time like 03:00", value=v)
        return f"{int(match[1]):02d}:{match[2]}"

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        if not v.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise Invalid("must start with sqlite+aiosqlite:// or postgresql+asyncpg://")
        return v


def _interval_of(key: str, text: str) -> tuple[time, time]:
    """parse_interval for the schedule's ``key`` (hours, lunch, a weekday): its refusal names the key."""
    try:
        return parse_interval(text)
    except Invalid as exc:
        raise Invalid("{key}: {problem}", key=key, problem=exc.said) from None


class ScheduleSection(_Section):
    """A weekly schedule: one default interval for workdays, per-weekday overrides, lunch."""

    hours: str = "09:00-18:00"
    lunch: str | None = "13:00-14:00"
    workdays: list[str] = Field(default_factory=lambda: list(WEEKDAYS[:5]))
    monday: list[str] | None = None
    tuesday: list[str] | None = None
    wednesday: list[str] | None = None
    thursday: list[str] | None = None
    friday: list[str] | None = None
    saturday: list[str] | None = None
    sunday: list[str] | None = None

    @model_validator(mode="after")
    def _check(self) -> ScheduleSection:
        _interval_of("hours", self.hours)
        lunch = _interval_of("lunch", self.lunch) if self.lunch else None
        for day in self.workdays:
            if day not in WEEKDAYS:
                raise Invalid("workdays: {day!r} is not one of {days}", day=day, days=", ".join(WEEKDAYS))
        for day in WEEKDAYS:
            for interval in getattr(self, day) or ():
                _interval_of(day, interval)
        days = self._days()
        WeeklySchedule.from_intervals(days, lunch=lunch)  # raises ValueError naming the weekday whose hours overlap
        spans = [span for intervals in days.values() for span in intervals]
        # A week with no working time at all is refused where it is used (deadline, the bot's start), by its name.
        if lunch is not None and spans and not any(start < lunch[1] and lunch[0] < end for start, end in spans):
            raise Invalid(
                "lunch: {lunch} lies outside the working hours ({hours}): it would cut nothing — check both",
                lunch=self.lunch,
                hours=self.hours,
            )
        return self

    def _days(self) -> dict[int, list[tuple[time, time]]]:
        """Weekday index (Monday 0) → its working intervals before lunch is cut out (naive local times)."""
        days: dict[int, list[tuple[time, time]]] = {}
        for index, day in enumerate(WEEKDAYS):
            explicit = getattr(self, day)
            if explicit is not None:
                days[index] = [parse_interval(i) for i in explicit]
            elif day in self.workdays:
                days[index] = [parse_interval(self.hours)]
        return days

    def build(self) -> WeeklySchedule:
        """The schedule: a weekday's own intervals where given, else ``hours`` on ``workdays``, lunch cut out;
        the other weekdays are days off. Raises ValueError for overlapping intervals of one day."""
        lunch = parse_interval(self.lunch) if self.lunch else None
        return WeeklySchedule.from_intervals(self._days(), lunch=lunch)


class TransferSection(_Section):
    """One transfer of a decree: the day off of ``from`` (a Saturday or Sunday) moves to ``to``."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    from_: date = Field(alias="from")
    to: date


class DecreeSection(_Section):
    """The government's decree on the transfer of days off for a year the ``holidays`` package does not know yet
    (Labour Code art. 112 part 5), entered by hand from its text: the year becomes official."""

    year: int = Field(ge=1991, le=2100)
    name: str = Field(min_length=1, max_length=300)  # "Постановление Правительства РФ от … № …"
    transfers: list[TransferSection] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check(self) -> DecreeSection:
        self.build()  # raises ValueError naming the date
        return self

    def build(self) -> Decree:
        """The decree as the production calendar takes it. Raises ValueError naming the date for a transfer
        outside ``year``, from a weekday, or to itself (bot.domain.production_calendar.Decree)."""
        return Decree(self.year, self.name, tuple((t.from_, t.to) for t in self.transfers))


class CalendarSection(_Section):
    """Local changes to the production calendar, and decrees the ``holidays`` package does not know yet."""

    days_off: list[date] = Field(default_factory=list)
    working_days: list[date] = Field(default_factory=list)
    custom_hours: dict[date, list[str]] = Field(default_factory=dict)
    decrees: list[DecreeSection] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check(self) -> CalendarSection:
        for intervals in self.custom_hours.values():
            for interval in intervals:
                parse_interval(interval)
        both = set(self.days_off) & set(self.working_days)
        if both:
            raise Invalid("{day} is both a day off and a working day", day=sorted(both)[0])
        decrees_by_year(self.build_decrees())  # one decree per year
        self.build()  # raises ValueError naming the date whose custom hours overlap
        return self

    def build_decrees(self) -> list[Decree]:
        """The decrees entered in the config, in the order written."""
        return [d.build() for d in self.decrees]

    def build(self) -> CalendarOverrides:
        """The local exceptions (days off, working days, custom hours per local date), which win over the
        production calendar (bot.domain.worktime.CalendarOverrides)."""
        return CalendarOverrides(
            days_off=frozenset(self.days_off),
            working_days=frozenset(self.working_days),
            custom_hours={
                d: tuple(Span(*parse_interval(i)) for i in intervals) for d, intervals in self.custom_hours.items()
            },
        )


class CalendarSpec(_Section):
    """Time zone + schedule + calendar: everything a WorkCalendar needs."""

    timezone: str | None = None  # default: the preset's
    production_calendar: str | None = "RU"
    shorten_pre_holiday: bool = True
    schedule: ScheduleSection = Field(default_factory=ScheduleSection)
    calendar: CalendarSection = Field(default_factory=CalendarSection)

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                ZoneInfo(v)
            except (ZoneInfoNotFoundError, ValueError):
                raise Invalid("unknown time zone {zone!r}; use an IANA name like Europe/Moscow", zone=v) from None
        return v

    @field_validator("production_calendar")
    @classmethod
    def _production(cls, v: str | None) -> str | None:
        if v in (None, "", "none"):
            return None
        if v != "RU":
            raise Invalid("only 'RU' (the Russian production calendar) or 'none' is supported")
        return v

    def build(self, default_tz: str, inherited_decrees: list[Decree] | None = None) -> WorkCalendar:
        """The calendar; ``inherited_decrees`` (the organisation's, for the curator's calendar) fill in the years
        this section names no decree for — a decree is national, entered once."""
        own = self.calendar.build_decrees()
        named = {d.year for d in own}
        decrees = own + [d for d in inherited_decrees or () if d.year not in named]
        return WorkCalendar(
            self.timezone or default_tz,
            self.schedule.build(),
            production_calendar=self.production_calendar,
            shorten_pre_holiday=self.shorten_pre_holiday,
            overrides=self.calendar.build(),
            decrees=decrees,
        )


class Department(_Section):
    """``[[departments]]``: a department (отраслевой орган) — its ``code`` (a short unique id: a-z, 0-9, _ and -,
    by which the config, the command line and reports know it: a new name under the same code is a rename), its
    name, and the Telegram id of its group chat, if any."""

    code: str = Field(pattern=CODE_PATTERN)
    name: str = Field(min_length=1, max_length=200)
    chat_id: int | None = None


class Entry(_Section):
    """A topic or a location: its ``code`` (as a department's) and its name. Written in the config either as a
    table ``{ code = "roads", name = "Дороги" }`` or as the bare name, whose code is then made from it
    (bot.domain.codes.slug: a renamed bare name is a new entry, the old one deactivated)."""

    code: str = Field(pattern=CODE_PATTERN)
    name: str = Field(min_length=1, max_length=200)

    @model_validator(mode="before")
    @classmethod
    def _bare_name(cls, data: Any) -> Any:
        if isinstance(data, str):
            return {"code": slug(data) or "entry", "name": data}
        return data


class OrganisationSection(CalendarSpec):
    """``[organisation]``: the name, the regulation (a preset of bot.domain.presets) with ``overrides`` of its
    parameters, and the working-time calendar (time zone, schedule, production calendar)."""

    name: str = "Администрация"
    preset: str = "otradnaya"
    overrides: dict[str, Any] = Field(default_factory=dict)

    @field_validator("preset")
    @classmethod
    def _preset(cls, v: str) -> str:
        if v not in PRESETS:
            raise Invalid("unknown preset {preset!r}; choose one of {presets}", preset=v, presets=", ".join(PRESETS))
        return v

    @model_validator(mode="after")
    def _overrides(self) -> OrganisationSection:
        self.build_preset()  # raises ValueError naming the parameter
        return self

    def build_preset(self) -> Preset:
        """The preset with the config's overrides applied. Raises ValueError "overrides.<key>: …" for an
        unknown parameter or a value it cannot take."""
        base = get_preset(self.preset)
        for key, value in self.overrides.items():
            try:
                base = base.with_overrides({key: value})
            except KeyError:
                raise Invalid("overrides.{key}: no such preset parameter", key=key) from None
            except ValueError as exc:
                raise Invalid("overrides.{key}: {problem}", key=key, problem=message_of(exc)) from None
        return base


class RemindersSection(_Section):
    """Reminders, escalation and alerts (SPEC §5)."""

    sweep_seconds: int = Field(30, ge=5, le=3600)  # how often the reminder sweep looks for due marks
    morning_digest: bool = True  # curators and responsible officials at the start of their day
    surge_count: int = Field(5, ge=0)  # this many incidents on one topic/location… (0: no surge alerts)
    surge_window_minutes: int = Field(60, ge=5, le=7 * 24 * 60)  # …within this window raise an alert


class DeliverySection(_Section):
    """The outbox sender: Telegram's limits and how long a claim on a message holds."""

    rate_scale: float = Field(1.0, gt=0, le=1000)  # 1.0 = Telegram's limits; more only for a local Bot API stand-in
    # The share of each limit aimed at: requests reach Telegram a little later or earlier than they leave, and a
    # slow or busy link needs more margin (0.9 on a jittery network; tests with scaled limits use less).
    headroom: float = Field(0.95, ge=0.5, le=1.0)
    lease_seconds: float = Field(120.0, ge=1, le=3600)  # a message claimed by a crashed instance waits this long
    max_attempts: int = Field(8, ge=1, le=100)  # network / 5xx failures before a message is given up
    concurrency: int = Field(32, ge=1, le=1000)  # chats served at once
    coalesce_after: int = Field(5, ge=0, le=1000)  # more new-incident cards waiting in a chat: one summary (0: never)
    coalesce_seconds: float = Field(5.0, ge=0, le=600)  # after a summary, the chat's next new cards gather this long

    def build(self) -> DeliverySettings:
        """The outbox sender's settings (bot.outbox.DeliverySettings) with these values, the rest at defaults."""
        return DeliverySettings(
            rate_scale=self.rate_scale,
            headroom=self.headroom,
            lease_seconds=self.lease_seconds,
            max_attempts=self.max_attempts,
            concurrency=self.concurrency,
            coalesce_after=self.coalesce_after,
            coalesce_seconds=self.coalesce_seconds,
        )


class IntakeSection(_Section):
    """The HTTP intake API for monitoring systems (SPEC §7); off unless enabled."""

    enabled: bool = False
    host: str = "127.0.0.1"  # listen here; put a TLS proxy in front for anything beyond this machine
    port: int = Field(8090, ge=1, le=65535)
    tokens: list[SecretStr] = Field(default_factory=list)  # accepted as "Authorization: Bearer <token>"
    curator: int | None = None  # Telegram id of the curator incidents are registered by (default: the first)
    # Bounds on the moment of detection, for the intake API and imported files (bot.intake_rules.IntakeLimits):
    # up to this many seconds ahead of the bot's clock is taken as now (servers' clocks drift) ...
    future_tolerance_seconds: int = Field(300, ge=0, le=3600)
    # ... and no further back than this many days.
    max_age_days: int = Field(30, ge=1, le=3650)

    @model_validator(mode="after")
    def _token_when_enabled(self) -> IntakeSection:
        if self.enabled and not any(t.get_secret_value().strip() for t in self.tokens):
            raise Invalid("the intake API is enabled without a token: set intake.tokens or {env}", env=ENV_INTAKE_TOKEN)
        return self


class MetricsSection(_Section):
    """``/metrics`` (Prometheus text format) and ``GET /api/v1/health`` (README «Health and metrics»).

    Served by the intake API when it is enabled (its host and port), else by a small server of their own on
    ``host``:``port`` — which runs only when ``enabled``."""

    enabled: bool = False  # /metrics answers 404 unless enabled
    token: SecretStr | None = None  # "Authorization: Bearer <token>" for /metrics; without one, loopback only
    host: str = "127.0.0.1"  # the own server's address, when the intake API is off
    port: int = Field(9091, ge=1, le=65535)
    # /api/v1/health answers 503 when Telegram calls have been failing (no success since) for this long
    telegram_seconds: float = Field(300.0, ge=1, le=86400)
    database_timeout: float = Field(5.0, gt=0, le=60)  # seconds the health check's database query may take


class LoggingSection(_Section):
    """Log lines (bot.logs): one per event, with the update id and the incident number it concerns."""

    format: Literal["text", "json"] = "text"  # json: one JSON object a line, for log collectors
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


class PeopleSection(_Section):
    """Telegram ids of the first people; everybody else joins by invitation."""

    admins: list[int] = Field(default_factory=list)
    curators: list[int] = Field(default_factory=list)
    heads: list[int] = Field(default_factory=list)
    external_approvers: list[int] = Field(default_factory=list)


class AssistantSection(_Section):
    """``[assistant]``: the helps on drafting and approving (issue 13 §1) and on registration, routing and
    answering (§2–§5), each on by default; ``false`` turns one off and the bot behaves as without it."""

    # The draft pre-check (bot.domain.precheck): advice in the executor's preview, findings on the curator's
    # card, return reasons pre-ticked. Off: none of it, and the language tools (~400 MB) are never loaded.
    precheck: bool = True
    screening: bool = True  # flag obscene, insulting, threatening posts on the registration card
    similar: bool = True  # offer open and recent incidents whose text is alike («Возможно, тот же вопрос»)
    routing_hints: bool = True  # pre-tick departments in the routing picker from the rubricator and history
    templates: bool = True  # /templates and «Из шаблона» in the executor's draft step


class Settings(_Section):
    """The whole configuration (config.example.toml documents every key); built by ``load_settings``."""

    bot: BotSection = Field(default_factory=BotSection)
    database: DatabaseSection = Field(default_factory=DatabaseSection)
    organisation: OrganisationSection = Field(default_factory=OrganisationSection)
    curator_calendar: CalendarSpec | None = None  # Боровичи п. 5: the curator's own hours
    departments: list[Department] = Field(default_factory=list)
    topics: list[Entry] = Field(default_factory=list)
    locations: list[Entry] = Field(default_factory=list)
    people: PeopleSection = Field(default_factory=PeopleSection)
    reminders: RemindersSection = Field(default_factory=RemindersSection)
    delivery: DeliverySection = Field(default_factory=DeliverySection)
    intake: IntakeSection = Field(default_factory=IntakeSection)
    assistant: AssistantSection = Field(default_factory=AssistantSection)
    # The rubricator (issue 13 §4): topic name → the code of its usual department, from ``topics`` entries
    # written as ``{ name = "ЖКХ", department = "gkh" }``, or set directly.
    topic_departments: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _rubricator(cls, data: Any) -> Any:
        """``topics`` may mix names and tables ``{ code, name, department }``: the entries (code and name) stay
        in ``topics``, the departments go to ``topic_departments`` keyed by the topic's name."""
        if not isinstance(data, dict) or not isinstance(data.get("topics"), list):
            return data
        names: list[Any] = []
        routes = dict(data.get("topic_departments") or {})
        for entry in data["topics"]:
            if isinstance(entry, dict):
                unknown = set(entry) - {"code", "name", "department"}
                if unknown or not isinstance(entry.get("name"), str):
                    raise Invalid(
                        "topics: an entry must be a name or {{ code, name, department }}, got {entry!r}", entry=entry
                    )
                # Without a code the entry is its bare name, whose code is made from it (Entry).
                names.append({"code": entry["code"], "name": entry["name"]} if "code" in entry else entry["name"])
                if entry.get("department"):
                    routes[entry["name"]] = entry["department"]
            else:
                names.append(entry)
        return {**data, "topics": names, "topic_departments": routes}

    metrics: MetricsSection = Field(default_factory=MetricsSection)
    logging: LoggingSection = Field(default_factory=LoggingSection)

    @model_validator(mode="after")
    def _unique(self) -> Settings:
        for key, entries in (("departments", self.departments), ("topics", self.topics), ("locations", self.locations)):
            seen: dict[str, str] = {}
            for entry in entries:
                if entry.code in seen:
                    raise Invalid(
                        "{key}: {first!r} and {second!r} share the code {code!r} (give one of them its own code)",
                        key=key,
                        first=seen[entry.code],
                        second=entry.name,
                        code=entry.code,
                    )
                seen[entry.code] = entry.name
        codes = {d.code for d in self.departments}
        topic_names = {t.name for t in self.topics}
        for topic, code in self.topic_departments.items():
            if topic not in topic_names:
                raise Invalid("topic_departments: {topic!r} is not one of the topics", topic=topic)
            if code not in codes:
                raise Invalid(
                    "topics: {topic!r} names department {code!r}, which is not in [[departments]]",
                    topic=topic,
                    code=code,
                )
        return self

    def preset(self) -> Preset:
        """The organisation's regulation with its overrides (validated at load, so it raises nothing)."""
        return self.organisation.build_preset()

    def calendar(self) -> WorkCalendar:
        """The organisation's working-time calendar: its time zone (default: the preset's), schedule, production
        calendar and local exceptions (SPEC §4). A new instance per call."""
        return self.organisation.build(self.preset().timezone)

    def curator_work_calendar(self) -> WorkCalendar:
        """The curator's working-time calendar: ``[curator_calendar]`` where given (Боровичи п. 5: the regional
        centre's hours), taking the organisation's zone and decrees where it names none; else ``calendar()``."""
        if self.curator_calendar is None:
            return self.calendar()
        return self.curator_calendar.build(
            self.organisation.timezone or self.preset().timezone, self.organisation.calendar.build_decrees()
        )

    def calendar_years(self, now: datetime | None = None) -> list[YearStatus]:
        """Whose word the organisation's calendar rests on for the years deadlines can reach at ``now`` (aware;
        default the system clock) — this local year and the next — and for every year the config names a
        decree for; shown by ``check-config`` and logged at start."""
        cal = self.calendar()
        year = (now or datetime.now(cal.tz)).astimezone(cal.tz).year
        years = {year, year + 1} | {d.year for d in self.organisation.calendar.decrees}
        return [cal.year_status(y) for y in sorted(years)]

    def require_token(self) -> str:
        """The bot token, stripped. Raises ConfigError saying where to set it when it is missing or blank."""
        if self.bot.token is None or not self.bot.token.get_secret_value().strip():
            raise ConfigError(
                "The bot token is missing. Get one from @BotFather and set it in the environment "
                "variable {env} or as bot.token in the config file — or try `python -m bot sandbox`, the bot "
                "in your browser without a token.",
                env=ENV_TOKEN,
            )
        return self.bot.token.get_secret_value().strip()


def load_settings(path: str | os.PathLike[str] | None = None, env: dict[str, str] | None = None) -> Settings:
    """Read the TOML file (or the embedded defaults when there is none) and the environment.

    ``path`` defaults to ``$OTKLIK_CONFIG``; ``env`` (default: ``os.environ``) supplies the token, the database
    URL, the webhook secret, one more intake token and the metrics token, which win over the file. Raises
    ConfigError naming the file and each wrong key (format_validation_error): a missing or unreadable file,
    invalid TOML, values that fail validation.
    """
    env = dict(os.environ if env is None else env)
    path = path or env.get(ENV_CONFIG) or None
    data: dict[str, Any] = {}
    if path is not None:
        file = Path(path)
        try:
            data = tomllib.loads(file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError("Config file {file} does not exist.", file=file) from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError("Config file {file} is not valid TOML: {problem}", file=file, problem=str(exc)) from None
        except (OSError, UnicodeDecodeError) as exc:
            problem = os_problem(exc) if isinstance(exc, OSError) else Text("not UTF-8 text")
            raise ConfigError("Config file {file} cannot be read: {problem}", file=file, problem=problem) from None
    if env.get(ENV_TOKEN):
        data.setdefault("bot", {})["token"] = env[ENV_TOKEN]
    # A relative SQLite path means next to the config file (wherever the command is started from); one from the
    # environment, or without a file, means the current directory. Either way the bot names the absolute path.
    base = Path(path).resolve().parent if path is not None else Path.cwd()
    section = data.get("database", {})
    if env.get(ENV_DATABASE):
        data.setdefault("database", {})["url"] = absolute_sqlite_url(env[ENV_DATABASE], Path.cwd())
    elif isinstance(section, dict) and isinstance(section.get("url", DEFAULT_DATABASE), str):
        data["database"] = {**section, "url": absolute_sqlite_url(section.get("url", DEFAULT_DATABASE), base)}
    if env.get(ENV_WEBHOOK_SECRET):
        data.setdefault("bot", {})["webhook_secret"] = env[ENV_WEBHOOK_SECRET]
    if env.get(ENV_INTAKE_TOKEN):
        intake = data.setdefault("intake", {})
        intake["tokens"] = [*intake.get("tokens", []), env[ENV_INTAKE_TOKEN]]
    if env.get(ENV_METRICS_TOKEN):
        data.setdefault("metrics", {})["token"] = env[ENV_METRICS_TOKEN]
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, path)) from None


def absolute_sqlite_url(url: str, base: Path) -> str:
    """``url`` with a relative SQLite file path made absolute against the folder ``base``
    (``sqlite+aiosqlite:///otklik.sqlite3`` → ``sqlite+aiosqlite:////etc/otklik/otklik.sqlite3``); any other URL
    (absolute path, in-memory database, PostgreSQL, something unparsable — validation names that) as given."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    if not url.startswith("sqlite"):
        return url
    try:
        parsed = make_url(url)
    except ArgumentError:
        return url
    database = parsed.database
    if not database or database == ":memory:" or database.startswith("file:") or Path(database).is_absolute():
        return url
    return parsed.set(database=str((base / database).resolve())).render_as_string(hide_password=False)


def sqlite_file(url: str) -> Path | None:
    """The file of an SQLite URL (None for another database or an in-memory one)."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if not parsed.drivername.startswith("sqlite") or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def format_validation_error(exc: ValidationError, path: object | None) -> Lines:
    """pydantic's errors for people, one line per problem: ``<file>: <[table] key>: <what is wrong>``
    (``config.toml: [bot] update_concurrency: must be a whole number ≥ 1, got "abc"``), in English as ``str``
    and in the reader's language by ``.text(locale)``; never pydantic's own wording or its links, except for a
    kind of error this function does not know (then pydantic's message, which names no link)."""
    where: str = str(path) if path else Text("configuration")
    lines: list[str] = []
    for error in exc.errors():
        loc = tuple(error["loc"])
        key = _key_path(loc)
        problem = _problem(error, loc)
        lines.append(
            Text("{where}: {key}: {problem}", where=where, key=key, problem=problem)
            if key
            else Text("{where}: {problem}", where=where, problem=problem)
        )
    return Lines(lines)


def _problem(error: Any, loc: tuple[int | str, ...]) -> str:
    """What is wrong, as a Text (pydantic's message, "Value error, " cut, for a kind not known here)."""
    kind, ctx = error["type"], error.get("ctx") or {}
    value = _shown(error.get("input"))
    field = _field_at(loc)
    if kind == "extra_forbidden":
        return _unknown_key(loc)
    if kind in ("value_error", "assertion_error"):
        cause = ctx.get("error")
        if isinstance(cause, Said):
            return cause.said
        said = message_of(cause) if isinstance(cause, BaseException) else None
        return Text.of(said) if isinstance(said, Sentence) else Text(str(error["msg"]).removeprefix("Value error, "))
    if kind == "missing":
        return Text("is required")
    numbers = ("int_parsing", "int_type", "int_from_float", "float_parsing", "float_type")
    bounds = ("greater_than_equal", "greater_than", "less_than_equal", "less_than")
    if kind in numbers or kind in bounds:
        whole = kind.startswith("int") or (field is not None and _inner(field.annotation) is int)
        number = Text("a whole number") if whole else Text("a number")
        return Text("must be {kind}{bounds}, got {value}", kind=number, bounds=_bounds(field), value=value)
    if kind in ("bool_parsing", "bool_type"):
        return Text("must be true or false, got {value}", value=value)
    if kind == "string_type":
        return Text("must be text in quotes, got {value}", value=value)
    if kind == "string_too_short":
        return Text("must not be empty")
    if kind == "string_too_long":
        return Text("must be at most {limit} characters long", limit=ctx.get("max_length"))
    if kind == "string_pattern_mismatch" and ctx.get("pattern") == CODE_PATTERN:
        return Text("must be 1–32 latin small letters, digits, - and _, got {value}", value=value)
    if kind == "list_type":
        return Text("must be a list in square brackets [ … ], got {value}", value=value)
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return Text("must be a table, got {value}", value=value)
    if kind == "literal_error":
        return Text("must be one of {expected}, got {value}", expected=ctx.get("expected"), value=value)
    if kind.startswith("date"):
        return Text("must be a date like 2026-01-12, got {value}", value=value)
    return Text(str(error["msg"]).removeprefix("Value error, "))


def _shown(value: Any) -> str:
    """A value as the config file writes it: text in quotes, true/false, numbers as they are (80 characters)."""
    import json

    if isinstance(value, bool):
        said = "true" if value else "false"
    elif isinstance(value, str):
        said = json.dumps(value, ensure_ascii=False)
    elif isinstance(value, int | float):
        said = str(value)
    else:
        said = json.dumps(value, ensure_ascii=False, default=str)
    return said if len(said) <= 80 else said[:77] + "…"


def _inner(annotation: Any) -> Any:
    """The type inside ``X | None`` and ``list[X]`` (the model of a table, the type of a number)."""
    from typing import get_args

    args = [a for a in get_args(annotation) if a is not type(None)]
    if not args:
        return annotation
    models = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
    return models[0] if models else _inner(args[0])


def _field_at(loc: tuple[int | str, ...]) -> Any:
    """The pydantic FieldInfo of the key at ``loc`` in Settings (None where the path leaves the models)."""
    model: Any = Settings
    info = None
    for part in loc:
        if isinstance(part, int):
            continue
        if not (isinstance(model, type) and issubclass(model, BaseModel)) or part not in model.model_fields:
            return None
        info = model.model_fields[part]
        model = _inner(info.annotation)
    return info


def _bounds(field: Any) -> str:
    """ " from 1 to 256", " ≥ 5", " ≤ 10" (a Text) from the field's constraints; "" without any."""
    low = high = None
    strict_low = False
    for rule in getattr(field, "metadata", ()):
        if getattr(rule, "ge", None) is not None:
            low = rule.ge
        if getattr(rule, "gt", None) is not None:
            low, strict_low = rule.gt, True
        if getattr(rule, "le", None) is not None:
            high = rule.le
    if low is not None and high is not None and not strict_low:
        return Text(" from {low} to {high}", low=low, high=high)
    if low is not None:
        return Text(" > {low}", low=low) if strict_low else Text(" ≥ {low}", low=low)
    if high is not None:
        return Text(" ≤ {high}", high=high)
    return ""


def _key_path(loc: tuple[int | str, ...]) -> str:
    """``[bot] update_concurrency``, ``[[departments]] no. 2 code``, ``topics``, ``[people] curators[1]`` (list
    items counted from 1); a table alone (``[bot]``) for a problem of the whole table; "" at the top level."""
    if not loc:
        return ""
    keys = [i for i, part in enumerate(loc) if isinstance(part, str)]
    field = _field_at(loc)
    table_only = field is not None and isinstance(_inner(field.annotation), type) and loc[-1] == loc[keys[-1]]
    table_only = table_only and issubclass(_inner(field.annotation), BaseModel)
    if table_only:
        return _table(loc)
    last = keys[-1]
    key = str(loc[last]) + "".join(f"[{int(i) + 1}]" for i in loc[last + 1 :])
    if last == 0:
        return key
    return Text("{table} {key}", table=_table(loc[:last]), key=key)


def _table(table: tuple[int | str, ...]) -> str:
    """``[organisation.schedule]``, or ``[[departments]] no. 2`` for an array of tables (a Text)."""
    indexes = [i for i, part in enumerate(table) if isinstance(part, int)]
    if not indexes:
        return "[" + ".".join(str(p) for p in table) + "]"
    i = indexes[-1]
    where = Text("[[{table}]] no. {n}", table=".".join(str(p) for p in table[:i]), n=int(table[i]) + 1)
    rest = table[i + 1 :]
    return Text("{table} [{rest}]", table=where, rest=".".join(str(p) for p in rest)) if rest else where


def _unknown_key(loc: tuple[int | str, ...]) -> str:
    """What to say about an unknown key at ``loc`` (a Text): the table TOML read it into, and, for a top-level key
    written below a table (``topics = …`` after ``[[departments]]``), that it belongs above the first table."""
    *table, key = loc
    if not table:
        return Text("unknown key at the top level, outside any table (misspelt? see config.example.toml)")
    message = Text("unknown key in the table {table} (misspelt? see config.example.toml)", table=_table(tuple(table)))
    if key in Settings.model_fields and loc[0] != key:
        return Text(
            "{problem}; TOML puts every key below a [table] header into that table: move {key} = … above the "
            "first [table] of the file",
            problem=message,
            key=key,
        )
    return message


def configured_locale(path: str | os.PathLike[str] | None, env: dict[str, str] | None = None) -> str | None:
    """``bot.default_locale`` as the config file at ``path`` (default ``$OTKLIK_CONFIG``) writes it, read before the
    file is validated — the language to say a bad file's problems and the command line's usage in; None when there
    is no file, it cannot be read, or the key is absent or no supported language."""
    env = dict(os.environ if env is None else env)
    path = path or env.get(ENV_CONFIG) or None
    if path is None:
        return None
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None
    section = data.get("bot")
    locale = section.get("default_locale") if isinstance(section, dict) else None
    return locale if locale in ("ru", "en") else None
