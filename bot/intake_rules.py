"""The intake contract (SPEC §7): one validator for every post a machine sends — the intake API and
imported files alike — with the schema's limits, the characters every database can store (no NUL, no
lone surrogate), the link rules and sane bounds on the moment of detection, and every problem named by
its field, a stable code and a sentence.

A curator's own message in the chat passes the same domain checks (Workflow.register: the link,
the text and the author's limits of bot.domain.incident) and loses the characters no column can store
(handlers/posts.py: they show nothing, so nothing is lost); this module adds what only machine input needs
(parsing values, names from the config, the moment of detection) and runs the domain checks on a
throwaway incident, so a row that passes here registers.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from bot.config import Settings
from bot.domain.errors import DomainError
from bot.domain.incident import (
    MAX_AUTHOR,
    MAX_EXTERNAL_ID,
    MAX_POST_TEXT,
    Importance,
    Kind,
    Network,
    Source,
    unstorable,
)
from bot.domain.links import BadLink, PostLink, parse_link
from bot.domain.workflow import Workflow
from bot.services import Directory, Person, RegisterOptions
from bot.texts import N_, Text, message_of

MAX_TOPICS = 20
MAX_NAME = 255  # topics.name, locations.name

# The fields of an incoming post, as the intake API names them (imported columns map onto these).
FIELDS = ("source_id", "url", "text", "author", "network", "detected_at", "topics", "location", "importance", "kind")

IMPORTANCE = {
    Importance.normal: ("", "normal", "обычная", "нет", "no", "0"),
    Importance.high: ("high", "высокая", "да", "yes", "1"),
}
KINDS = {
    Kind.incident: ("", "incident", "инцидент", "сообщение"),
    Kind.publication: ("publication", "публикация"),
}
NETWORK_NAMES = {
    Network.vk: ("вконтакте", "вк", "vkontakte"),
    Network.ok: ("одноклассники", "ок", "odnoklassniki"),
    Network.telegram: ("телеграм", "телеграмм"),
    Network.max: ("макс", "мах"),
    Network.dzen: ("дзен", "яндекс дзен", "яндекс.дзен", "zen"),
    Network.youtube: ("ютуб", "ютьюб"),
    Network.instagram: ("инстаграм",),
    Network.facebook: ("фейсбук",),
    Network.twitter: ("твиттер", "x"),
    Network.site: ("сайт",),
    Network.messenger: ("мессенджер",),
    Network.other: ("другое", "другая"),
}
# A link to a site may be named a messenger's or other: the networks we know have hosts of their own.
SITE_LIKE = frozenset({Network.site, Network.messenger, Network.other})
SHEET_FORMATS = ("%d.%m.%Y %H:%M", "%d.%m.%Y %H:%M:%S", "%d.%m.%y %H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S")
_DATE_ONLY = re.compile(r"\d{1,2}\.\d{1,2}\.\d{2,4}|\d{4}-\d{2}-\d{2}")
# Before any arithmetic with time zones: a year-1 moment would overflow converting to UTC.
_EARLIEST_SANE = datetime(1971, 1, 1)
_LATEST_SANE = datetime(9000, 1, 1)


@dataclass(frozen=True)
class IntakeLimits:
    """Bounds on the moment of detection (config ``[intake]``).

    ``future_tolerance``: a moment up to this far ahead of the bot's clock is taken as "now" — the
    clocks of two servers drift apart (default 5 minutes); further ahead is refused.
    ``max_age``: a moment further back is refused (default 30 days): such a post is long overdue under
    every regulation, and registering it would only send overdue reminders; raise it to import an
    older spreadsheet.
    """

    future_tolerance: timedelta = timedelta(minutes=5)
    max_age: timedelta = timedelta(days=30)

    @classmethod
    def of(cls, settings: Settings | None) -> IntakeLimits:
        """The limits the config's ``[intake]`` sets (``future_tolerance_seconds``, ``max_age_days``); the
        defaults without settings."""
        if settings is None:
            return cls()
        intake = settings.intake
        return cls(timedelta(seconds=intake.future_tolerance_seconds), timedelta(days=intake.max_age_days))


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an incoming post: the field it is in (an API field name, or ``body``), a
    stable ``code`` an integrator can act on, and a sentence for people (a bot.texts.Text: English as ``str``, as
    the intake API answers; ``message.text(locale)`` for the command line's import)."""

    field: str
    code: str
    message: str

    def as_json(self) -> dict[str, str]:
        """``{"field", "code", "message"}`` as the intake API answers it (bot/intake_openapi.json ``Problem``)."""
        return {"field": self.field, "code": self.code, "message": self.message}


@dataclass(frozen=True)
class Row:
    """One post that passed every check: register it with ``Services.register(person, [source], **options)``
    (or ``register_many``). ``source.detected_at`` is the moment as sent (aware); ``options["detected_at"]`` the
    same, but no later than the check's now."""

    line: int  # the row's number as the spreadsheet shows it (the header is row 1); 1 for the API
    source: Source
    options: RegisterOptions


@dataclass
class Checked:
    """What ``check`` found: the rows that register, and for every other row its line and problems (at least
    one each), both in the order the rows came."""

    rows: list[Row] = field(default_factory=list)
    errors: list[tuple[int, list[Problem]]] = field(default_factory=list)  # (line, what is wrong)


@dataclass(frozen=True)
class Context:
    """What a check needs besides the values: the rules, the registrar, the names and the clock."""

    workflow: Workflow
    person: Person
    directory: Directory
    now: datetime
    limits: IntakeLimits = IntakeLimits()
    iso_only: bool = False  # the intake API speaks ISO 8601; a spreadsheet also 25.11.2026 10:30


def check(context: Context, rows: Sequence[tuple[int, Mapping[str, Any]]]) -> Checked:
    """Every row ({field: value} under FIELDS' names) turned into a source and registration options,
    or every reason it cannot be.

    ``rows`` are (line, values) pairs; a moment without an offset is local time of the organisation's zone.
    Raises nothing for bad input: each problem is a Problem under its row's line (SPEC §7: the same checks as
    Workflow.register, whose DomainErrors become problems too).
    """
    checked = Checked()
    topics = {name.lower(): topic_id for topic_id, name in context.directory.topics.items()}
    locations = {name.lower(): loc_id for loc_id, name in context.directory.locations.items()}
    for line, values in rows:
        problems: list[Problem] = []
        row = _check_row(context, values, topics, locations, problems)
        if row is not None and not problems:
            checked.rows.append(Row(line, *row))
        else:
            checked.errors.append((line, problems))
    return checked


def _check_row(
    context: Context,
    values: Mapping[str, Any],
    topics: dict[str, int],
    locations: dict[str, int],
    problems: list[Problem],
) -> tuple[Source, RegisterOptions] | None:
    values = _storable(values, problems)
    unusable = {problem.field for problem in problems}
    url, text = _text(values.get("url")), _text(values.get("text"))
    author, source_id = _text(values.get("author")), _text(values.get("source_id"))
    link = _link(url, problems)
    if url is None and text is None and not unusable & {"url", "text"}:
        problems.append(Problem("text", "link_or_text_required", Text("neither a link nor a text")))
    if text is not None and len(text) > MAX_POST_TEXT:
        problems.append(_too_long("text", MAX_POST_TEXT))
    if author is not None and len(author) > MAX_AUTHOR:
        problems.append(_too_long("author", MAX_AUTHOR))
    if values.get("source_id") is not None and source_id is None:
        problems.append(
            Problem("source_id", "empty", Text("the source id is empty: leave it out or send the post's id"))
        )
    if source_id is not None and len(source_id) > MAX_EXTERNAL_ID:
        problems.append(_too_long("source_id", MAX_EXTERNAL_ID))
    detected = _moment(values.get("detected_at"), context, problems)
    network = _network(values.get("network"), link, problems)
    importance = _choice(values.get("importance"), IMPORTANCE, "importance", problems)
    kind = _choice(values.get("kind"), KINDS, "kind", problems)
    topic_ids = _names(values.get("topics"), topics, context.directory.topics, "topics", problems)
    directory = context.directory
    location_ids = _names(values.get("location"), locations, directory.locations, "location", problems)
    if problems:
        return None
    # The post keeps the moment it was sent with (its key, for a post without a link, must not change
    # when it is sent again a second later); the incident starts no later than now: the sender's clock
    # ran a little fast.
    source = Source(network, link.url if link else None, author, text or "", detected, external_id=source_id)
    options: RegisterOptions = {
        "importance": importance,
        "kind": kind,
        "topic_ids": topic_ids,
        "location_id": location_ids[0] if location_ids else None,
        "detected_at": min(detected, context.now),
    }
    try:  # the domain's own rules, on a throwaway incident: nothing is stored
        context.workflow.register(context.person.actor, context.now, [source], **options)
    except DomainError as exc:
        problems.append(_domain_problem(exc))
        return None
    return source, options


# --- values -----------------------------------------------------------------------------------------

# Each field as a sentence names it.
_FIELD_NAMES = {
    "source_id": Text("the source id"),
    "url": Text("the post's link"),
    "text": Text("the text"),
    "author": Text("the author's name"),
    "network": Text("the network"),
    "detected_at": Text("the moment of detection"),
    "topics": Text("a topic"),
    "location": Text("the location"),
    "importance": Text("the importance"),
    "kind": Text("the kind"),
}


# An unknown value of a field with choices, as a sentence says it.
_UNKNOWN = {
    "importance": N_("unknown importance «{value}» (known: {known})"),
    "kind": N_("unknown kind «{value}» (known: {known})"),
    "topics": N_("unknown topic «{value}» (known: {known})"),
    "location": N_("unknown location «{value}» (known: {known})"),
}


def _storable(values: Mapping[str, Any], problems: list[Problem]) -> dict[str, Any]:
    """``values`` without the fields that hold a character no database column can store (NUL, a lone
    surrogate: bot.domain.incident.unstorable), each such field a problem ``bad_character``; a list
    (topics) counts when one of its names has one. The rest of the row is checked as usual, so every
    problem is reported at once — and SQLite, which would store a NUL, answers as PostgreSQL must."""
    kept = dict(values)
    for name in FIELDS:
        value = values.get(name)
        bad = next((found for item in _strings(value) if (found := unstorable(item)) is not None), None)
        if bad is not None:
            kind = Text("a NUL") if bad == "U+0000" else Text("half of a UTF-16 surrogate pair")
            message = Text(
                "{field} contains the character {bad} ({kind}), which cannot be stored: remove it",
                field=_FIELD_NAMES[name],
                bad=bad,
                kind=kind,
            )
            problems.append(Problem(name, "bad_character", message))
            kept[name] = None
    return kept


def _strings(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value]
    return [item for item in items if isinstance(item, str)]


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = (value if isinstance(value, str) else str(value)).strip()
    return text or None


def _too_long(name: str, limit: int) -> Problem:
    shown = f"{limit:,}".replace(",", " ")
    return Problem(
        name, "too_long", Text("{field} is longer than {limit} characters", field=_FIELD_NAMES[name], limit=shown)
    )


def _link(url: str | None, problems: list[Problem]) -> PostLink | None:
    if url is None:
        return None
    try:
        return parse_link(url)
    except BadLink as exc:
        problems.append(Problem("url", exc.key, Text("the post's link: {problem}", problem=message_of(exc))))
        return None


def _moment(value: Any, context: Context, problems: list[Problem]) -> datetime:
    """The moment of detection: a date cell, ISO 8601 (or 25.11.2026 10:30 in a spreadsheet), local time
    when it has no offset, now when empty; within the limits (up to ``future_tolerance`` ahead)."""
    now, limits = context.now, context.limits
    if isinstance(value, str):
        value = value.strip().removeprefix("\ufeff") or None
    if value is None:
        return now  # as for a forwarded post: detected when it reaches the bot
    example = "2026-11-25T10:30:00+03:00" if context.iso_only else "25.11.2026 10:30"
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date) or (isinstance(value, str) and _DATE_ONLY.fullmatch(value)):
        problems.append(
            Problem(
                "detected_at",
                "time_required",
                Text("the moment of detection needs a time too (e.g. {example})", example=example),
            )
        )
        return now
    else:
        parsed = _parse_moment(str(value), context.iso_only)
        if parsed is None:
            what = Text("an ISO 8601 moment") if context.iso_only else Text("a moment of detection")
            said = Text("«{value}» is not {what} (write {example})", value=value, what=what, example=example)
            problems.append(Problem("detected_at", "bad_moment", said))
            return now
        moment = parsed
    naive = moment.replace(tzinfo=None)
    if naive < _EARLIEST_SANE or naive > _LATEST_SANE:
        code = "too_old" if naive < _EARLIEST_SANE else "in_future"
        problems.append(_bound_problem(code, limits))
        return now
    if moment.tzinfo is None or moment.utcoffset() is None:
        moment = moment.replace(tzinfo=context.workflow.calendar.tz)
    if moment > now + limits.future_tolerance:
        problems.append(_bound_problem("in_future", limits))
        return now
    if moment < now - limits.max_age:
        problems.append(_bound_problem("too_old", limits))
        return now
    return moment


def _bound_problem(code: str, limits: IntakeLimits) -> Problem:
    if code == "in_future":
        minutes = int(limits.future_tolerance.total_seconds() // 60)
        said = Text("the moment of detection is in the future (more than {minutes} min ahead)", minutes=minutes)
        return Problem("detected_at", code, said)
    days = limits.max_age.days
    said = Text("the moment of detection is more than {days} days ago (intake.max_age_days)", days=days)
    return Problem("detected_at", code, said)


def _parse_moment(text: str, iso_only: bool) -> datetime | None:
    if not iso_only:
        for pattern in SHEET_FORMATS:
            try:
                return datetime.strptime(text, pattern)
            except ValueError:
                continue
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def network_named(name: str) -> Network | None:
    """The network a person or a system calls ``name`` (vk, ВКонтакте, вк, телеграм, дзен…), if any."""
    name = name.strip().lower()
    for network in Network:
        if name == network.value or name in NETWORK_NAMES.get(network, ()):
            return network
    return None


def _network(value: Any, link: PostLink | None, problems: list[Problem]) -> Network:
    """The network: the link's; a given one must agree with it (a site's link may be called a
    messenger's or other); without a link, the one given, or ``other``."""
    name = _text(value)
    given = network_named(name) if name is not None else None
    if name is not None and given is None:
        known = ", ".join(n.value for n in Network)
        said = Text("unknown network «{name}» (known: {known})", name=name, known=known)
        problems.append(Problem("network", "unknown_value", said))
    if link is None:
        return given or Network.other
    if given is None or given is link.network or (link.network is Network.site and given in SITE_LIKE):
        return given or link.network
    problems.append(
        Problem(
            "network",
            "network_mismatch",
            Text(
                "the link is a {network} link, not {given}: leave the network out or correct it",
                network=link.network.value,
                given=given.value,
            ),
        )
    )
    return link.network


def _choice(value: Any, choices: dict[Any, tuple[str, ...]], name: str, problems: list[Problem]) -> Any:
    text = (_text(value) or "").lower()
    for choice, names in choices.items():
        if text in names:
            return choice
    known = ", ".join(names[1] for names in choices.values())
    said = Text(_UNKNOWN[name], value=value, known=known)
    problems.append(Problem(name, "unknown_value", said))
    return next(iter(choices))


def _names(
    value: Any,
    by_lower: dict[str, int],
    names: dict[int, str],
    name: str,
    problems: list[Problem],
) -> list[int]:
    """Names from the config: a list, or one cell with several separated by ; or , (topics)."""
    if isinstance(value, list):
        given = [str(v).strip() for v in value]
    else:
        text = _text(value) or ""
        given = [n.strip() for n in text.replace(",", ";").split(";")] if name == "topics" else [text]
    given = [g for g in given if g]
    if len(given) > MAX_TOPICS:
        problems.append(Problem(name, "too_many", Text("more than {n} topics", n=MAX_TOPICS)))
        return []
    found = []
    for item in given:
        if item.lower() in by_lower:
            found.append(by_lower[item.lower()])
        else:
            choices = ", ".join(sorted(names.values())) or Text("none in the config")
            shown = item if len(item) <= 60 else item[:60] + "…"
            said = Text(_UNKNOWN[name], value=shown, known=choices)
            problems.append(Problem(name, "unknown_value", said))
    return list(dict.fromkeys(found))


def _domain_problem(exc: DomainError) -> Problem:
    if isinstance(exc, BadLink):
        return Problem("url", exc.key, Text("the post's link: {problem}", problem=message_of(exc)))
    known = {
        "no_source": Problem("text", "link_or_text_required", Text("neither a link nor a text")),
        "empty_source": Problem("text", "link_or_text_required", Text("neither a link nor a text")),
        "long_source": _too_long("text", MAX_POST_TEXT),
        "long_author": _too_long("author", MAX_AUTHOR),
        "detected_in_future": Problem("detected_at", "in_future", Text("the moment of detection is in the future")),
    }
    return known.get(exc.key, Problem("body", exc.key, Text.of(message_of(exc))))
