"""Configuration: a TOML file validated with pydantic; secrets may come from the environment.

A wrong file fails at start with `ConfigError`, whose message names the key and what is wrong.
"""

from __future__ import annotations

import os
import re
import tomllib
from datetime import date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator

from bot.domain.presets import PRESETS, Preset, get_preset
from bot.domain.production_calendar import Decree, YearStatus, decrees_by_year
from bot.domain.worktime import CalendarOverrides, Span, WeeklySchedule, WorkCalendar
from bot.outbox import DeliverySettings

ENV_CONFIG = "OTKLIK_CONFIG"
ENV_TOKEN = "OTKLIK_BOT_TOKEN"
ENV_DATABASE = "OTKLIK_DATABASE_URL"
ENV_INTAKE_TOKEN = "OTKLIK_INTAKE_TOKEN"
ENV_WEBHOOK_SECRET = "OTKLIK_WEBHOOK_SECRET"
DEFAULT_DATABASE = "sqlite+aiosqlite:///otklik.sqlite3"

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_INTERVAL = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


class ConfigError(Exception):
    """The configuration cannot be used; the message is meant for the person starting the bot."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


def parse_interval(text: str) -> tuple[time, time]:
    """``"09:00-18:00"`` as local wall-clock (start, end), naive times; an end of ``24:00`` reads as 23:59:59.
    Raises ValueError naming ``text`` when it is no such interval, has an impossible time, or ends before it
    starts."""
    match = _INTERVAL.match(str(text))
    if not match:
        raise ValueError(f"{text!r} is not an interval like 09:00-18:00")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    end = time(23, 59, 59) if (h2, m2) == (24, 0) else _time(h2, m2, text)
    start = _time(h1, m1, text)
    if start >= end:
        raise ValueError(f"{text!r} ends before it starts")
    return start, end


def _time(hour: int, minute: int, text: str) -> time:
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        raise ValueError(f"{text!r} has an impossible time")
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

    @model_validator(mode="after")
    def _webhook(self) -> BotSection:
        url = self.webhook_url
        if url is not None and not url.startswith("https://") and not (self.api_base_url and url.startswith("http://")):
            raise ValueError("webhook_url must be an https:// address (Telegram pushes only over TLS)")
        secret = self.webhook_secret.get_secret_value() if self.webhook_secret else None
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
            raise ValueError("webhook_secret: 1-256 characters of A-Z, a-z, 0-9, _ and -")
        return self

    @field_validator("fsm_storage")
    @classmethod
    def _fsm(cls, v: str) -> str:
        if v != "database" and not v.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must be 'database' or a redis:// URL")
        return v

    @field_validator("default_locale")
    @classmethod
    def _locale(cls, v: str) -> str:
        if v not in ("ru", "en"):
            raise ValueError("must be 'ru' or 'en'")
        return v


class DatabaseSection(_Section):
    """``[database]``: an SQLAlchemy async URL (SQLite via aiosqlite, the default, or PostgreSQL via asyncpg;
    ``OTKLIK_DATABASE_URL`` wins) and whether migrations run at start."""

    url: str = DEFAULT_DATABASE
    upgrade_on_start: bool = True

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        if not v.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("must start with sqlite+aiosqlite:// or postgresql+asyncpg://")
        return v


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
        parse_interval(self.hours)
        if self.lunch:
            parse_interval(self.lunch)
        for day in self.workdays:
            if day not in WEEKDAYS:
                raise ValueError(f"workdays: {day!r} is not one of {', '.join(WEEKDAYS)}")
        for day in WEEKDAYS:
            for interval in getattr(self, day) or ():
                parse_interval(interval)
        return self

    def build(self) -> WeeklySchedule:
        """The schedule: a weekday's own intervals where given, else ``hours`` on ``workdays``, lunch cut out;
        the other weekdays are days off. Raises ValueError for overlapping intervals of one day."""
        days: dict[int, list[tuple[time, time]]] = {}
        for index, day in enumerate(WEEKDAYS):
            explicit = getattr(self, day)
            if explicit is not None:
                days[index] = [parse_interval(i) for i in explicit]
            elif day in self.workdays:
                days[index] = [parse_interval(self.hours)]
        lunch = parse_interval(self.lunch) if self.lunch else None
        return WeeklySchedule.from_intervals(days, lunch=lunch)


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
            raise ValueError(f"{sorted(both)[0]} is both a day off and a working day")
        decrees_by_year(self.build_decrees())  # one decree per year
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
                raise ValueError(f"unknown time zone {v!r}; use an IANA name like Europe/Moscow") from None
        return v

    @field_validator("production_calendar")
    @classmethod
    def _production(cls, v: str | None) -> str | None:
        if v in (None, "", "none"):
            return None
        if v != "RU":
            raise ValueError("only 'RU' (the Russian production calendar) or 'none' is supported")
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
    """``[[departments]]``: a department (отраслевой орган) made at start if missing — its ``code`` (a short
    unique id: a-z, 0-9, _ and -), its name, and the Telegram id of its group chat, if any."""

    code: str = Field(pattern=r"^[a-z0-9_-]{1,32}$")
    name: str = Field(min_length=1, max_length=200)
    chat_id: int | None = None


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
            raise ValueError(f"unknown preset {v!r}; choose one of {', '.join(PRESETS)}")
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
                raise ValueError(f"overrides.{key}: no such preset parameter") from None
            except ValueError as exc:
                raise ValueError(f"overrides.{key}: {exc}") from None
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
    lease_seconds: float = Field(120.0, ge=1, le=3600)  # a message claimed by a crashed instance waits this long
    max_attempts: int = Field(8, ge=1, le=100)  # network / 5xx failures before a message is given up
    concurrency: int = Field(32, ge=1, le=1000)  # chats served at once

    def build(self) -> DeliverySettings:
        """The outbox sender's settings (bot.outbox.DeliverySettings) with these values, the rest at defaults."""
        return DeliverySettings(
            rate_scale=self.rate_scale,
            lease_seconds=self.lease_seconds,
            max_attempts=self.max_attempts,
            concurrency=self.concurrency,
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
            raise ValueError(f"the intake API is enabled without a token: set intake.tokens or {ENV_INTAKE_TOKEN}")
        return self


class PeopleSection(_Section):
    """Telegram ids of the first people; everybody else joins by invitation."""

    admins: list[int] = Field(default_factory=list)
    curators: list[int] = Field(default_factory=list)
    heads: list[int] = Field(default_factory=list)
    external_approvers: list[int] = Field(default_factory=list)


class AssistantSection(_Section):
    """The helps offered while drafting and approving (issue 13 §1); each can be turned off."""

    # The draft pre-check (bot.domain.precheck): advice in the executor's preview, findings on the curator's
    # card, return reasons pre-ticked. Off: none of it, and the language tools (~400 MB) are never loaded.
    precheck: bool = True


class Settings(_Section):
    """The whole configuration (config.example.toml documents every key); built by ``load_settings``."""

    bot: BotSection = Field(default_factory=BotSection)
    database: DatabaseSection = Field(default_factory=DatabaseSection)
    organisation: OrganisationSection = Field(default_factory=OrganisationSection)
    curator_calendar: CalendarSpec | None = None  # Боровичи п. 5: the curator's own hours
    departments: list[Department] = Field(default_factory=list)
    topics: list[str] = Field(default_factory=list)
    locations: list[str] = Field(default_factory=list)
    people: PeopleSection = Field(default_factory=PeopleSection)
    reminders: RemindersSection = Field(default_factory=RemindersSection)
    delivery: DeliverySection = Field(default_factory=DeliverySection)
    intake: IntakeSection = Field(default_factory=IntakeSection)
    assistant: AssistantSection = Field(default_factory=AssistantSection)

    @model_validator(mode="after")
    def _unique(self) -> Settings:
        codes = [d.code for d in self.departments]
        if len(codes) != len(set(codes)):
            raise ValueError("departments: two departments share a code")
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
                f"variable {ENV_TOKEN} or as bot.token in the config file."
            )
        return self.bot.token.get_secret_value().strip()


def load_settings(path: str | os.PathLike[str] | None = None, env: dict[str, str] | None = None) -> Settings:
    """Read the TOML file (or the embedded defaults when there is none) and the environment.

    ``path`` defaults to ``$OTKLIK_CONFIG``; ``env`` (default: ``os.environ``) supplies the token, the database
    URL, the webhook secret and one more intake token, which win over the file. Raises ConfigError naming the
    file and each wrong key (format_validation_error): a missing or unreadable file, invalid TOML, values that
    fail validation.
    """
    env = dict(os.environ if env is None else env)
    path = path or env.get(ENV_CONFIG) or None
    data: dict[str, Any] = {}
    if path is not None:
        file = Path(path)
        try:
            data = tomllib.loads(file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"Config file {file} does not exist.") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"Config file {file} is not valid TOML: {exc}") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"Config file {file} cannot be read: {exc}") from None
    if env.get(ENV_TOKEN):
        data.setdefault("bot", {})["token"] = env[ENV_TOKEN]
    if env.get(ENV_DATABASE):
        data.setdefault("database", {})["url"] = env[ENV_DATABASE]
    if env.get(ENV_WEBHOOK_SECRET):
        data.setdefault("bot", {})["webhook_secret"] = env[ENV_WEBHOOK_SECRET]
    if env.get(ENV_INTAKE_TOKEN):
        intake = data.setdefault("intake", {})
        intake["tokens"] = [*intake.get("tokens", []), env[ENV_INTAKE_TOKEN]]
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, path)) from None


def format_validation_error(exc: ValidationError, path: object | None) -> str:
    """pydantic's errors for people: a first line naming the file (or "Configuration") and the count, then one
    line per problem, ``  <dotted.key>: <what is wrong>``."""
    where = f"Config file {path}" if path else "Configuration"
    lines = [f"{where} has {exc.error_count()} problem(s):"]
    for error in exc.errors():
        key = ".".join(str(part) for part in error["loc"]) or "(top level)"
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown key (misspelt? see config.example.toml)"
        lines.append(f"  {key}: {message}")
    return "\n".join(lines)
