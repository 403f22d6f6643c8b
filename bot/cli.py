"""Command line: `python -m bot [run|db upgrade|db copy|backup|restore|check-config|calendar|deadline|report|import|
check-draft|demo-data|sandbox]`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import re
import sys
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from babel.dates import format_date

from bot.config import ConfigError, Settings, cannot_listen, load_settings, sqlite_file
from bot.domain.incident import Importance, Role
from bot.domain.presets import PRESETS, get_preset
from bot.domain.production_calendar import YearStatus
from bot.domain.worktime import NoWorkingTimeError
from bot.texts import N_, Text, message_of, os_problem, said

if TYPE_CHECKING:
    from bot.importing import Imported

# The language of everything this run prints: --locale, else the config's bot.default_locale (set by main).
_locale = "ru"


def _(message: str, /, **params: object) -> str:
    """``message`` in this run's language (bot.i18n.translate, imported here: aiogram's import costs seconds)."""
    from bot.i18n import translate

    return translate(_locale, message, **params)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m bot`` (and the ``otklik`` script): ``--config`` and the commands."""
    parser = argparse.ArgumentParser(
        prog="python -m bot",
        description=_("Otklik: incidents from open sources, answered on time. Without a command the bot runs."),
    )
    _common_options(parser, None)
    common = argparse.ArgumentParser(add_help=False)
    # The same options after the command (`check-config --config f.toml`); SUPPRESS keeps a value given before it.
    _common_options(common, argparse.SUPPRESS)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(name: str, **kwargs: Any) -> argparse.ArgumentParser:
        return commands.add_parser(name, parents=[common], **kwargs)

    command("run", help=_("run the bot (long polling); the default command"))

    db = command("db", help=_("database maintenance"))
    db_commands = db.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    db_commands.add_parser("upgrade", parents=[common], help=_("apply migrations up to the latest schema"))
    copy = db_commands.add_parser(
        "copy",
        parents=[common],
        help=_("copy the whole database into a new, empty one (e.g. SQLite to PostgreSQL) and verify it"),
    )
    copy.add_argument("--to", required=True, metavar="URL", help=_("postgresql+asyncpg://user:password@host/db"))
    copy.add_argument("--batch", type=int, default=1000, metavar="N", help=_("rows per insert (default 1000)"))

    bak = command("backup", help=_("a consistent copy of the database, made while the bot runs"))
    bak.add_argument("file", nargs="?", help=_("where to write it (default: otklik-<UTC moment>.sqlite3 here)"))
    res = command("restore", help=_("put a backup back into the configured database"))
    res.add_argument("file", help=_("a file made by python -m bot backup"))
    res.add_argument("--force", action="store_true", help=_("replace a database that already holds data"))

    command("check-config", help=_("validate the config and print what it resolves to"))

    cal = command("calendar", help=_("working days and hours per month of a year"))
    cal.add_argument("year", type=int)
    cal.add_argument("--json", action="store_true", help=_("machine-readable output"))

    dl = command("deadline", help=_("every deadline of an incident detected at a local moment"))
    dl.add_argument(
        "--detected",
        required=True,
        metavar=_("'YYYY-MM-DD HH:MM'"),
        help=_("moment of detection, local time of the organisation"),
    )
    dl.add_argument("--importance", choices=[i.value for i in Importance], default="normal")
    dl.add_argument("--preset", choices=sorted(PRESETS), help=_("use a preset with its default calendar"))
    dl.add_argument("--json", action="store_true", help=_("machine-readable output"))

    rep = command("report", help=_("the monthly report as text, JSON or an XLSX workbook"))
    rep.add_argument("--month", metavar="YYYY-MM", help=_("the month (default: the previous one)"))
    rep.add_argument(
        "--department",
        metavar="CODE",
        help=_("one department only, by its code in the config (check-config lists them); default: the organisation"),
    )
    rep.add_argument("--format", choices=("text", "json", "xlsx"), default="text")
    rep.add_argument("--output", metavar="FILE", help=_("write here instead of standard output (required for xlsx)"))

    imp = command(
        "import", help=_("register incidents from a CSV or XLSX file (monitoring exports, earlier spreadsheets)")
    )
    imp.add_argument("file", help=_(".csv (UTF-8 or Windows-1251) or .xlsx; the first row names the columns"))
    imp.add_argument(
        "--curator",
        type=int,
        metavar="TELEGRAM_ID",
        help=_("who registers them (default: the first configured curator)"),
    )
    imp.add_argument("--dry-run", action="store_true", help=_("check every row, register nothing"))

    chk = command("check-draft", help=_("the draft pre-check on an answer's text: what a curator would return it for"))
    chk.add_argument("--text", required=True, help=_("the draft answer"))
    chk.add_argument("--post", default="", help=_("the citizen's post it answers (helps some checks)"))
    chk.add_argument("--attachments", type=int, default=0, metavar="N", help=_("photos, videos or acts attached"))
    chk.add_argument("--json", action="store_true", help=_("machine-readable output"))

    demo = command("demo-data", help=_("fill the database with realistic synthetic incidents"))
    demo.add_argument("--incidents", type=int, default=500, metavar="N")
    demo.add_argument("--months", type=int, default=3, metavar="M", help=_("spread over the last M months"))
    demo.add_argument("--seed", type=int, default=1, metavar="S")
    demo.add_argument(
        "--force", action="store_true", help=_("add them even to a database that holds real (non-demo) incidents")
    )

    box = command(
        "sandbox", help=_("training sandbox: the real bot with an embedded Bot API server and a web page, no token")
    )
    box.add_argument("--host", default="127.0.0.1", help=_("listen here (default 127.0.0.1; loopback only)"))
    box.add_argument("--port", type=int, default=8080, help=_("the page's port (default 8080; 0: any free port)"))
    box.add_argument(
        "--preset",
        dest="sandbox_preset",
        choices=sorted(PRESETS),
        help=_("the organisation's regulation (default: the configured one with --config, else otradnaya)"),
    )
    box.add_argument("--speed", type=float, default=60.0, help=_("the clock runs this many times faster (default 60)"))
    box.add_argument("--allow-remote", action="store_true", help=_("allow a --host beyond loopback (no login!)"))
    return parser


def _common_options(parser: argparse.ArgumentParser, default: Any) -> None:
    """``-c/--config`` and ``--locale``, accepted before the command and after it."""
    parser.add_argument(
        "-c",
        "--config",
        default=default,
        metavar="FILE",
        help=_("TOML config file (default: $OTKLIK_CONFIG or built-in defaults)"),
    )
    parser.add_argument(
        "--locale",
        choices=("ru", "en"),
        default=default,
        help=_("language of the output (default: bot.default_locale of the config)"),
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command (``argv``: the arguments after the program name; default ``sys.argv[1:]``) and return the
    process's exit status: 0 done; 2 a configuration error (ConfigError: said on stderr as "error: …", a line per
    problem) or an import whose rows were refused (listed on stdout, nothing registered). Without a command the bot
    runs until stopped. argparse's own usage errors exit with 2 (SystemExit) before anything runs; any other
    exception propagates (a bug, or the database unreachable).

    Everything is said in one language: ``--locale``, else the config's ``bot.default_locale`` (read from the file
    even when it is invalid, so its problems and the usage are said in it too), else Russian."""
    global _locale
    argv = list(sys.argv[1:] if argv is None else argv)
    _locale = _early_locale(argv)
    with _argparse_in_locale():
        parser = build_parser()
        args = parser.parse_args(argv)
    _locale = args.locale or _locale
    try:
        settings = _settings(args)
        _locale = args.locale or settings.bot.default_locale
        if args.command in (None, "run"):
            return _run(settings)
        if args.command == "db" and args.db_command == "copy":
            return _db_copy(settings, args)
        if args.command in ("backup", "restore"):
            return _backup(settings, args)
        if args.command == "db":
            return _db_upgrade(settings)
        if args.command == "check-config":
            return _check_config(settings)
        if args.command == "calendar":
            return _calendar(settings, args.year, args.json)
        if args.command == "deadline":
            return _deadline(settings, args)
        if args.command == "report":
            return _report(settings, args)
        if args.command == "demo-data":
            return _demo_data(settings, args)
        if args.command == "import":
            return _import(settings, args)
        if args.command == "sandbox":
            return _sandbox(settings, args)
        if args.command == "check-draft":
            return _check_draft(args)
    except ConfigError as exc:
        for line in exc.text(_locale).splitlines() or [""]:
            print(_("error: {reason}", reason=line), file=sys.stderr)
        return 2
    parser.error(_("unknown command {command}", command=args.command))
    return 2


def _early_locale(argv: Sequence[str]) -> str:
    """The language of this run before argparse has read ``argv`` (its usage and errors are said in it):
    ``--locale`` when it names one we have, else the config's ``bot.default_locale``, else Russian."""
    from bot.config import configured_locale

    given = _option(argv, ("--locale",))
    if given in ("ru", "en"):
        return given
    return configured_locale(_option(argv, ("-c", "--config"))) or "ru"


def _option(argv: Sequence[str], names: tuple[str, ...]) -> str | None:
    """The value of the last ``--name VALUE`` or ``--name=VALUE`` in ``argv`` (None when absent)."""
    found = None
    for i, arg in enumerate(argv):
        for name in names:
            if arg == name and i + 1 < len(argv):
                found = argv[i + 1]
            elif arg.startswith(name + "="):
                found = arg.split("=", 1)[1]
    return found


# argparse's own words ("usage:", its errors), said in this run's language: argparse asks its module's `_` for them.
ARGPARSE_TEXTS = (
    N_("usage: "),
    N_("positional arguments"),
    N_("options"),
    N_("show this help message and exit"),
    N_("argument %(argument_name)s: %(message)s"),
    N_("unrecognized arguments: %s"),
    N_("invalid choice: %(value)r (choose from %(choices)s)"),
    N_("invalid %(type)s value: %(value)r"),
    N_("the following arguments are required: %s"),
    N_("expected one argument"),
    N_("ambiguous option: %(option)s could match %(matches)s"),
    N_("%(prog)s: error: %(message)s\n"),
    N_("not allowed with argument %s"),
    N_("ignored explicit argument %r"),
)


@contextlib.contextmanager
def _argparse_in_locale() -> Iterator[None]:
    """argparse's words through the catalogs while the parser is built and reads the arguments."""
    saved = argparse._  # type: ignore[attr-defined]
    argparse._ = _  # type: ignore[attr-defined]
    try:
        yield
    finally:
        argparse._ = saved  # type: ignore[attr-defined]


def _settings(args: argparse.Namespace) -> Settings:
    if getattr(args, "preset", None):
        if args.config:
            raise ConfigError(_("use either --preset or --config, not both"))
        return Settings.model_validate({"organisation": {"preset": args.preset}})
    return load_settings(args.config)


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _run(settings: Settings) -> int:
    token = settings.require_token()
    from bot.logs import configure

    configure(settings.logging.format, settings.logging.level)
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)  # its set-up, line by line: noise
    from bot.app import open_database, run_polling, run_webhook, wait_for_telegram

    log = logging.getLogger(__name__)
    log.info("Database: %s", _safe_url(settings.database.url))

    async def start() -> None:
        # The database first (a bad one stops the start at once: ConfigError), with the health server, which
        # answers 503 while Telegram is awaited; `running` then takes both over.
        opened = await open_database(settings)
        try:
            username = await wait_for_telegram(settings, token, health=opened.metrics.telegram)
        except BaseException:
            await opened.close()
            raise
        log.info("Telegram answers: the bot is @%s", username)
        await (run_webhook if settings.bot.webhook_url else run_polling)(settings, token, opened)

    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C before the bot runs (waiting for the network): a stop
        asyncio.run(start())
    return 0


def _sandbox(settings: Settings, args: argparse.Namespace) -> int:
    """``python -m bot sandbox``: the training sandbox (bot.sandbox.server) until Ctrl-C."""
    import os

    from bot.sandbox import RemoteRefused, check_host

    try:
        check_host(args.host, args.allow_remote)
    except RemoteRefused as exc:
        raise ConfigError(message_of(exc)) from None
    if not 0 < args.speed <= 3600:
        raise ConfigError("--speed must be above 0 and at most 3600")
    _port_free(args.host, args.port)
    # The bot's imports take seconds (aiogram, the handlers): say at once that something is happening.
    print(_("Starting the sandbox…"), flush=True)
    from bot.sandbox.server import Sandbox, run

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    configured = bool(args.config or os.environ.get("OTKLIK_CONFIG"))
    sandbox = Sandbox(settings, configured=configured, preset=args.sandbox_preset, speed=args.speed, locale=_locale)

    def ready(url: str) -> None:
        print(_("Otklik sandbox: open {url} (Ctrl-C to stop)", url=url), flush=True)

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run(sandbox, args.host, args.port, ready))
    return 0


def _port_free(host: str, port: int) -> None:
    """Raise ConfigError in one line when ``host:port`` cannot be listened on (taken by another program, or an
    address this machine does not have), before the sandbox spends seconds starting; port 0 is always free."""
    import socket

    if port == 0:
        return
    try:
        with socket.create_server((host, port)):
            pass
    except OSError as exc:
        raise cannot_listen(host, port, exc, Text("--port (0: any free port)")) from None


def _db_upgrade(settings: Settings) -> int:
    """``db upgrade``: the configured database migrated to the head, its absolute path or URL said."""
    from storage.db import upgrade

    file = sqlite_file(settings.database.url)
    new = file is not None and not file.exists()
    with _database_errors(settings.database.url):
        upgrade(settings.database.url)
    where = _safe_url(settings.database.url)
    print(_("Database created: {url}", url=where) if new else _("Database is up to date: {url}", url=where))
    return 0


def _database_errors(*urls: str) -> contextlib.AbstractContextManager[None]:
    """bot.db_errors.database_errors: a PostgreSQL driver not installed, a database not created or a server
    not answering said in one line (ConfigError), not a traceback."""
    from bot.db_errors import database_errors

    return database_errors(urls)


def _say_database(settings: Settings, file: TextIO | None = None) -> None:
    """The line naming the database a command uses (absolute path or URL, no password); ``file`` default stdout."""
    print(_("Database: {url}", url=_safe_url(settings.database.url)), file=file or sys.stdout, flush=True)


def _check_config(settings: Settings) -> int:
    preset = settings.preset()
    cal = settings.calendar()
    print(_("Organisation: {name}", name=settings.organisation.name))
    print(_("Preset: {name} — {document}", name=preset.name, document=preset.document))
    print(_("Time zone: {zone}", zone=cal.tz.key))
    for status in settings.calendar_years():
        said = _status(status)
        print(_("Production calendar {year} — {status}", year=status.year, status=said[:1].lower() + said[1:]))
    print(_("Database: {url}", url=_safe_url(settings.database.url)))
    print(
        _(
            "Departments: {departments}, topics: {topics}, locations: {locations}",
            departments=len(settings.departments),
            topics=len(settings.topics),
            locations=len(settings.locations),
        )
    )
    for title, entries in (
        (_("Department {code}: {name}"), settings.departments),
        (_("Topic {code}: {name}"), settings.topics),
        (_("Location {code}: {name}"), settings.locations),
    ):
        for entry in entries:
            print("  " + title.format(code=entry.code, name=entry.name))
    token = settings.bot.token
    print(_("Bot token: set") if token and token.get_secret_value() else _("Bot token: MISSING"))
    if not settings.people.admins:
        print(
            _(
                "Warning: no administrators in [people] admins: nobody can invite people or set up the bot from "
                "Telegram. Add your Telegram id (ask @userinfobot)."
            )
        )
    if settings.bot.webhook_url:
        print(_("Updates: webhook {url}", url=settings.bot.webhook_url))
    else:
        print(_("Updates: long polling"))
    intake = settings.intake
    if intake.enabled:
        print(_("Intake API: on, {url}", url=f"http://{intake.host}:{intake.port}/api/v1/incidents"))
    else:
        print(_("Intake API: off"))
    return 0


def _status(status: YearStatus) -> str:
    """Whose word the calendar of ``status.year`` rests on, in this run's language."""
    if status.source == "none":
        return _("No production calendar: public holidays are not taken into account.")
    if status.provisional:
        return _(
            "Provisional: the government's decree moving the days off of {year} is not known yet. Holidays that fall "
            "on a weekend are moved to the next working day by art. 112 of the Labour Code (except 1–8 January); "
            "the decree's transfers can be entered in [organisation.calendar] decrees.",
            year=status.year,
        )
    # The decree's title goes after a colon: «Официальный: постановление Правительства…» (an abbreviation, «ПП РФ»,
    # keeps its capitals).
    decree = status.decree or _("the government's decree (not named in the calendar data)")
    if decree[1:2].islower():
        decree = decree[:1].lower() + decree[1:]
    if status.source == "config":
        return _("Official: {decree} — from the config.", decree=decree)
    if status.config_ignored:
        return _(
            "Official: {decree}. The config's decree for this year is not used: the calendar data has it.",
            decree=decree,
        )
    return _("Official: {decree}.", decree=decree)


def _calendar(settings: Settings, year: int, as_json: bool) -> int:
    if year not in _YEARS:
        raise ConfigError(_("the year must be between {first} and {last}", first=_YEARS[0], last=_YEARS[-1]))
    cal = settings.calendar()
    status = cal.year_status(year)
    totals = cal.month_totals(year)
    days = sum(t.working_days for t in totals)
    seconds = sum(t.working_time.total_seconds() for t in totals)
    if as_json:
        print(
            json.dumps(
                {
                    "year": year,
                    "timezone": cal.tz.key,
                    "calendar": {
                        "official": status.official,
                        "source": status.source,
                        "decree": status.decree,
                        "note": status.describe(),
                    },
                    "months": [
                        {
                            "month": t.month,
                            "working_days": t.working_days,
                            "working_hours": t.working_time.total_seconds() / 3600,
                        }
                        for t in totals
                    ],
                    "total": {"working_days": days, "working_hours": seconds / 3600},
                },
                ensure_ascii=False,
                indent=2,
            )
        )
        return 0
    name = settings.organisation.name
    print(_("Production calendar {year} — {name} ({zone})", year=year, name=name, zone=cal.tz.key))
    print(_status(status))
    heads = (_("Month"), _("Working days"), _("Working hours"))
    print(f"{heads[0]:<10} {heads[1]:>13} {heads[2]:>14}")
    for t in totals:
        month = format_date(date(year, t.month, 1), "LLLL", locale=_locale).capitalize()  # standalone: «Январь»
        print(f"{month:<10} {t.working_days:>13} {_hours(t.working_time.total_seconds()):>14}")
    total = _("Total")
    print(f"{total:<10} {days:>13} {_hours(seconds):>14}")
    return 0


def _hours(seconds: float) -> str:
    hours = seconds / 3600
    return f"{hours:g}" if hours == int(hours) else f"{hours:.2f}"


def _deadline(settings: Settings, args: argparse.Namespace) -> int:
    from bot.domain.plan import plan
    from bot.domain.workflow import Workflow

    cal = settings.calendar()
    detected = _detected(args.detected).replace(tzinfo=cal.tz)
    preset = settings.preset() if not args.preset else get_preset(args.preset)
    workflow = Workflow(preset, cal, settings.curator_work_calendar())
    try:
        items = plan(workflow, detected, Importance(args.importance))
    except NoWorkingTimeError as exc:
        raise ConfigError("--detected {text!r}: {problem}", text=args.detected, problem=message_of(exc)) from None
    if args.json:
        print(
            json.dumps(
                {
                    "preset": preset.name,
                    "timezone": cal.tz.key,
                    "detected": detected.isoformat(),
                    "importance": args.importance,
                    "deadlines": [
                        {
                            "key": i.key,
                            "label": i.label,
                            "due": i.due.isoformat(),
                            "term": i.term,
                            "clause": i.clause,
                            "shortened": i.shortened,
                            "own_due": i.own_due.isoformat() if i.own_due else None,
                        }
                        for i in items
                    ],
                },
                ensure_ascii=False,
                indent=2,
            )
        )
        return 0
    print(f"{preset.title} ({preset.document})")
    importance = _("high") if args.importance == "high" else _("normal")
    print(
        _(
            "Detected: {moment} ({zone}), importance: {importance}",
            moment=f"{detected:%d.%m.%Y %H:%M}",
            zone=cal.tz.key,
            importance=importance,
        )
    )
    labels = {i.key: _(STEP_LABELS[i.key]) if i.key in STEP_LABELS else i.label for i in items}
    width = max(len(label) for label in labels.values())
    for i in items:
        line = f"  {labels[i.key]:<{width}}  {_day(i.due)}  ({i.term}, {i.clause})"
        if i.own_due is not None:
            line += _(" — shortened to the answer's deadline, by its own term: {due}", due=_day(i.own_due))
        print(line)
    if any(i.shortened for i in items):
        print(
            _("Every step ends no later than the answer's deadline: windows longer than the rest of it are shortened.")
        )
    years = sorted({detected.year, *(i.due.year for i in items)})
    for status in (cal.year_status(y) for y in years):
        if not status.official:
            said = _status(status)
            print(_("Calendar of {year} — {status}", year=status.year, status=said[:1].lower() + said[1:]))
    return 0


# The steps of ``deadline``, in the catalogs' words (bot.domain.plan labels them in Russian, as the regulation does).
STEP_LABELS = {
    "routing": N_("Routing to a department"),
    "not_ours": N_("Return as «not within our competence»"),
    "clarification": N_("Question (clarification) to the curator"),
    "reroute": N_("Routing again after a return"),
    "draft": N_("Draft answer submitted for approval"),
    "answer": N_("Answer published"),
    "approval": N_("Curator's decision on the draft"),
    "revision": N_("Revision of a returned draft"),
    "publication": N_("Approved answer published"),
    "final": N_("Final answer (the intermediate one published on time)"),
    "contribution": N_("Information for the joint answer (each department)"),
}


def _day(moment: datetime) -> str:
    return f"{format_date(moment, 'EEE', locale=_locale)} {moment:%d.%m.%Y %H:%M}"


# The production calendar's data begins in 1991; a year past 2100 is a typo, and 9999 would overflow.
_YEARS = range(1991, 2101)
_MOMENT = re.compile(r"\d{4}-\d{1,2}-\d{1,2} \d{1,2}:\d{2}")


def _detected(text: str) -> datetime:
    """``--detected``: a naive local moment, or a ConfigError that says what is wrong with it."""
    text = text.strip()
    if not _MOMENT.fullmatch(text):
        raise ConfigError(_("--detected {text!r}: write it as 'YYYY-MM-DD HH:MM'", text=text))
    day, clock = text.split(" ")
    try:
        when = datetime.strptime(day, "%Y-%m-%d").date()
    except ValueError:
        raise ConfigError(_("--detected {text!r}: the date {day} does not exist", text=text, day=day)) from None
    try:
        moment = datetime.combine(when, datetime.strptime(clock, "%H:%M").time())
    except ValueError:
        raise ConfigError(_("--detected {text!r}: the time {clock} does not exist", text=text, clock=clock)) from None
    if moment.year not in _YEARS:
        raise ConfigError(
            _(
                "--detected {text!r}: the year must be between {first} and {last}",
                text=text,
                first=_YEARS[0],
                last=_YEARS[-1],
            )
        )
    return moment


def _check_draft(args: argparse.Namespace) -> int:
    """The draft pre-check on ``--text`` (issue 13 §1), as the executor's preview gives it: one advice a line, or
    JSON ``{"findings": [{"reason", "return_reason", "words", "advice"}]}``. Runs whatever ``[assistant]``
    says (it is a tool to try the check). Exit status 0 (findings or not); ConfigError for a negative
    ``--attachments``."""
    from bot.domain.precheck import check_draft
    from bot.draft_check import advice_text

    if args.attachments < 0:
        raise ConfigError("--attachments: a count of files, 0 or more")
    findings = check_draft(args.post, args.text, args.attachments)
    if args.json:
        payload = {
            "findings": [
                {
                    "reason": f.reason.value,
                    "return_reason": f.return_reason.value,
                    "words": list(f.words),
                    "advice": advice_text(f, _locale),
                }
                for f in findings
            ]
        }
        print(json.dumps(payload, ensure_ascii=False, indent=2))
        return 0
    if not findings:
        print(_("No remarks."))
        return 0
    print(_("Remarks: {n}", n=len(findings)))
    for f in findings:
        print(advice_text(f, _locale))
    return 0


def _report(settings: Settings, args: argparse.Namespace) -> int:
    from bot.domain.errors import DomainError
    from bot.report import parse_month, previous_month

    try:
        month = parse_month(args.month) if args.month else previous_month(datetime.now(settings.calendar().tz).date())
    except DomainError:
        raise ConfigError("--month {text!r}: write it as YYYY-MM, e.g. 2026-03", text=args.month) from None
    if args.format == "xlsx" and not args.output:
        raise ConfigError(_("--format xlsx needs --output FILE"))
    locale = args.locale or settings.bot.default_locale
    if args.format == "xlsx":
        from bot.report_files import warm_up

        warm_up()
    # JSON on standard output stays JSON: the database is named on stderr then.
    _say_database(settings, sys.stderr if args.format == "json" and not args.output else None)
    try:
        with _database_errors(settings.database.url):
            payload = asyncio.run(_report_payload(settings, month, args.department, args.format, locale))
    except DomainError as exc:
        raise ConfigError(message_of(exc)) from None
    if args.output:
        try:
            with open(args.output, "wb") as out:
                out.write(payload)
        except OSError as exc:
            raise ConfigError("cannot write {file}: {problem}", file=args.output, problem=os_problem(exc)) from None
        print(_("Report written: {file}", file=Path(args.output).resolve()))
    else:
        sys.stdout.write(payload.decode("utf-8") + "\n")
    return 0


async def _report_payload(settings: Settings, month: object, department: str | None, fmt: str, locale: str) -> bytes:
    from datetime import UTC

    from bot.app import freeze_startup_objects, make_services
    from bot.report import build_report, summary_text
    from storage.db import make_engine, upgrade_async

    freeze_startup_objects()
    engine = make_engine(settings.database.url)
    try:
        if settings.database.upgrade_on_start:
            await upgrade_async(engine)
        services = make_services(settings, engine)
        await services.seed(settings)  # the config's codes, as the bot would have them after its start
        department_id = await _department_id(services, department) if department is not None else None
        report = await build_report(services.sessions, services.workflow, month, department_id, datetime.now(UTC))  # type: ignore[arg-type]
    finally:
        await engine.dispose()
    if fmt == "json":
        return report.to_json().encode()
    if fmt == "xlsx":
        from bot.report_files import workbook_xlsx

        return workbook_xlsx(report, locale)
    return summary_text(report, locale).encode()


async def _department_id(services: Any, code: str) -> int:
    """The id of the department with this code (or, as before codes, this internal id). Raises ConfigError naming
    the known codes when there is none."""
    departments = await services.all_departments()
    for department in departments:
        if department.code == code or (code.isdigit() and department.id == int(code)):
            return int(department.id)
    known = ", ".join(sorted(d.code for d in departments)) or "none"
    raise ConfigError(_("--department {code}: no department has this code (known: {known})", code=code, known=known))


def _import(settings: Settings, args: argparse.Namespace) -> int:
    from bot.assistant import flagged as flagged_post
    from bot.domain.errors import IllegalTransition
    from bot.i18n import translate_plural  # here, not at the top: aiogram's import costs every command seconds
    from bot.importing import ATTEMPTS, UnreadableFile, import_rows, read_table, rows_to_skip
    from bot.intake_rules import Context, IntakeLimits, check

    path = Path(args.file)
    if not path.is_file():
        raise ConfigError(_("{path}: no such file", path=path))
    try:
        table = read_table(path)
    except UnreadableFile as exc:
        raise ConfigError(message_of(exc)) from None
    _say_database(settings)

    async def go() -> int:
        from bot.app import make_services
        from storage.db import make_engine, upgrade_async

        engine = make_engine(settings.database.url)
        try:
            if settings.database.upgrade_on_start:
                await upgrade_async(engine)
            services = make_services(settings, engine)
            await services.seed(settings)
            curator_id = args.curator or next(iter(settings.people.curators), None)
            person = await services.identify(curator_id) if curator_id is not None else None
            if person is None or Role.curator not in person.roles:
                raise ConfigError(
                    _("--curator {id}: not a curator of this bot (curators register incidents)", id=curator_id)
                )
            context = Context(
                services.workflow, person, await services.directory(), services.clock.now(), IntakeLimits.of(settings)
            )
            if table.ignored_columns:
                columns = ", ".join(table.ignored_columns)
                print(_("Columns not used: {columns}", columns=columns))
            total = len(table.rows)
            print(translate_plural(_locale, "Checking {n} row…", "Checking {n} rows…", total), flush=True)
            checked = check(context, table.rows)
            if checked.errors:
                _print_problems(total, checked.errors, args.dry_run)
                return 2
            if args.dry_run:
                skipped = await rows_to_skip(services, checked.rows)
                n = len(checked.rows) - len(skipped)
                print(
                    translate_plural(
                        _locale,
                        "{n} row can be registered (dry run: nothing was).",
                        "{n} rows can be registered (dry run: nothing was).",
                        n,
                    )
                )
                if skipped:
                    rows = _numbers(skipped)
                    print(
                        translate_plural(
                            _locale,
                            "Already registered, would be skipped: {n} row ({rows}).",
                            "Already registered, would be skipped: {n} rows ({rows}).",
                            len(skipped),
                            rows=rows,
                        )
                    )
                skip = set(skipped)
                flagged = [r.line for r in checked.rows if r.line not in skip and flagged_post(services, r.source.text)]
                if flagged:
                    print(
                        translate_plural(
                            _locale,
                            "Possibly not to be answered (obscene, insulting, threatening): {n} row ({rows}).",
                            "Possibly not to be answered (obscene, insulting, threatening): {n} rows ({rows}).",
                            len(flagged),
                            rows=_numbers(flagged),
                        )
                    )
                return 0
            progress = _Progress(len(checked.rows), sys.stdout)
            try:
                done = await import_rows(services, person, checked.rows, progress)
            except IllegalTransition as exc:
                if exc.key != "already_registered":
                    raise
                progress.finish()
                # Another path (the bot, the API, another import) kept registering the file's posts meanwhile.
                raise ConfigError(
                    _(
                        "the file's posts were being registered by the bot at the same time, {n} times in a row; "
                        "nothing was saved: run the import again, it will skip what is registered",
                        n=ATTEMPTS,
                    )
                ) from None
            progress.finish()
        finally:
            await engine.dispose()
        _print_imported(done)
        return 0

    with _database_errors(settings.database.url):
        return asyncio.run(go())


SHOWN_PROBLEMS = 100  # rows with problems printed one by one; the rest are counted by kind


def _print_problems(rows: int, errors: Sequence[tuple[int, Sequence[Any]]], dry_run: bool = False) -> None:
    """The rows an import refuses; a real import registers none of them then, a dry run says it is one."""
    from bot.i18n import translate_plural

    if dry_run:
        said = translate_plural(
            _locale,
            "Dry run: {bad} of {n} row cannot be registered; an import would register nothing.",
            "Dry run: {bad} of {n} rows cannot be registered; an import would register nothing.",
            rows,
            bad=len(errors),
        )
    else:
        said = translate_plural(
            _locale,
            "Nothing was registered: {bad} of {n} row cannot be.",
            "Nothing was registered: {bad} of {n} rows cannot be.",
            rows,
            bad=len(errors),
        )
    print(said)
    for line, problems in errors[:SHOWN_PROBLEMS]:
        said = "; ".join(_said(p.message) for p in problems)
        print("  " + _("row {line}: {problems}", line=line, problems=said))
    rest = errors[SHOWN_PROBLEMS:]
    if rest:
        kinds = Counter(f"{p.field}: {p.code}" for _, problems in rest for p in problems)
        summary = ", ".join(f"{kind} ×{count}" for kind, count in kinds.most_common())
        print(
            translate_plural(
                _locale,
                "  … and {n} more row: {summary}",
                "  … and {n} more rows: {summary}",
                len(rest),
                summary=summary,
            )
        )


def _print_imported(done: Imported) -> None:
    """The summary of an import: the incidents registered, by number, and the rows skipped."""
    from bot.i18n import translate_plural

    registered = len(done.registered)
    if registered:
        numbers = _numbers(n for _, n in done.registered)
        print(
            translate_plural(
                _locale,
                "Registered {n} incident: No. {numbers}.",
                "Registered {n} incidents: No. {numbers}.",
                registered,
                numbers=numbers,
            )
        )
    else:
        print(translate_plural(_locale, "Registered {n} incident.", "Registered {n} incidents.", registered))
    if done.skipped:
        rows = _numbers(line for line, _ in done.skipped)
        print(
            translate_plural(
                _locale,
                "Already registered, skipped: {n} row ({rows}).",
                "Already registered, skipped: {n} rows ({rows}).",
                len(done.skipped),
                rows=rows,
            )
        )
    if done.flagged:
        numbers = _numbers(n for _, n, _ in done.flagged)
        print(
            translate_plural(
                _locale,
                "Possibly not to be answered (obscene, insulting, threatening): {n} incident: No. {numbers}; "
                "their cards offer «Not processable».",
                "Possibly not to be answered (obscene, insulting, threatening): {n} incidents: No. {numbers}; "
                "their cards offer «Not processable».",
                len(done.flagged),
                numbers=numbers,
            )
        )


def _numbers(numbers: Iterable[int]) -> str:
    """ "1–3, 7" for the numbers 1, 2, 3, 7: runs of consecutive numbers as ranges, the first 10 runs
    (", …" after them when there are more); "" for none."""
    runs: list[list[int]] = []
    for n in numbers:
        if runs and n == runs[-1][1] + 1:
            runs[-1][1] = n
        else:
            runs.append([n, n])
    parts = [str(a) if a == b else f"{a}–{b}" for a, b in runs[:10]]
    return ", ".join(parts) + (", …" if len(runs) > 10 else "")


class _Progress:
    """How far an import is: a bar redrawn in place on a terminal, a line per tenth otherwise (a log)."""

    def __init__(self, total: int, out: TextIO) -> None:
        self.total, self.out = total, out
        self.terminal = out.isatty()
        self.shown = -1

    def __call__(self, done: int) -> None:
        if self.total == 0:
            return
        if self.terminal:
            percent = done * 100 // self.total
            if percent != self.shown:
                self.shown = percent
                bar = "#" * (percent // 4)
                self.out.write(
                    "\r" + _("Registering [{bar}] {done}/{total}", bar=f"{bar:<25}", done=done, total=self.total)
                )
                self.out.flush()
        else:
            tenth = done * 10 // self.total
            if tenth != self.shown and (tenth > 0 or done == self.total):
                self.shown = tenth
                from bot.i18n import translate_plural

                line = translate_plural(
                    _locale,
                    "Registering: {done} of {n} row",
                    "Registering: {done} of {n} rows",
                    self.total,
                    done=done,
                )
                print(line, file=self.out, flush=True)

    def finish(self) -> None:
        if self.terminal and self.shown >= 0:
            self.out.write("\n")


def _demo_data(settings: Settings, args: argparse.Namespace) -> int:
    if not 1 <= args.incidents <= 2_000_000 or not 1 <= args.months <= 60:
        raise ConfigError(_("--incidents must be 1..2000000 and --months 1..60"))
    from datetime import UTC

    from bot.app import make_services
    from bot.demo import fill, real_incidents
    from storage.db import make_engine, upgrade_async

    async def go() -> tuple[date, date, int]:
        engine = make_engine(settings.database.url)
        try:
            await upgrade_async(engine)
            services = make_services(settings, engine)
            real = await real_incidents(services.sessions)
            if real and not args.force:
                raise ConfigError(
                    "{url} holds real incidents ({n}), not made by demo-data: demo incidents would mix into its "
                    "reports. Nothing was added. Use a database of its own "
                    "(e.g. OTKLIK_DATABASE_URL=sqlite+aiosqlite:///demo.sqlite3), or --force to add them anyway.",
                    url=_safe_url(settings.database.url),
                    n=real,
                )
            directory = await _demo_directory(settings, services)
            return await fill(
                services.sessions,
                services.workflow,
                incidents=args.incidents,
                months=args.months,
                seed=args.seed,
                now=datetime.now(UTC),
                directory=directory,
            )
        finally:
            await engine.dispose()

    with _database_errors(settings.database.url):
        first, last, made = asyncio.run(go())
    from bot.i18n import translate_plural

    where = _safe_url(settings.database.url)
    print(
        translate_plural(
            _locale,
            "Demo data: {n} incident in {url}",
            "Demo data: {n} incidents in {url}",
            made,
            url=where,
        )
    )
    if made < args.incidents:
        # Stories that would be registered after now are not made: the period was too short for them.
        print(
            _(
                "Not made: {n} of {asked}: they would have been registered after now (the period is short; "
                "--months adds earlier months)",
                n=args.incidents - made,
                asked=args.incidents,
            )
        )
    print(_("Months: {first} … {last}", first=f"{first:%Y-%m}", last=f"{last:%Y-%m}"))  # type: ignore[str-format]
    return 0 if made else 1  # nothing made: the lines above say why


def _backup(settings: Settings, args: argparse.Namespace) -> int:
    """``backup [FILE]`` and ``restore FILE [--force]`` (bot.backup); 0 done, 1 when a PostgreSQL client tool is
    missing and the command to run was printed instead; refusals raise BackupError (a ConfigError: exit 2)."""
    from bot import backup

    url = settings.database.url
    _say_database(settings)
    with _database_errors(url):
        if args.command == "backup":
            outcome = backup.backup(url, Path(args.file) if args.file else None)
        else:
            outcome = backup.restore(url, Path(args.file), force=args.force)
    for line in outcome.lines:
        print(_said(line))
    return 0 if outcome.done else 1


def _said(line: str) -> str:
    """A line of bot.backup, bot.dbcopy or bot.intake_rules (a bot.texts.Text or a domain Sentence, or a command to
    run as it is) in this run's language."""
    return said(line, _locale)


def _db_copy(settings: Settings, args: argparse.Namespace) -> int:
    """``db copy --to URL``: 0 copied and verified, 1 copied but the verification found a difference; a refused
    copy raises CopyRefused (a ConfigError: exit 2, nothing written)."""
    from bot.config import absolute_sqlite_url
    from bot.dbcopy import copy_database

    if not 1 <= args.batch <= 100_000:
        raise ConfigError("--batch must be 1..100000")
    # A relative SQLite file is taken from the current directory, as any path on a command line; the lines below
    # name it absolute, so the URL to put in the config means the same file there (where relative would mean
    # next to the config file).
    to = absolute_sqlite_url(args.to, Path.cwd())
    with _database_errors(settings.database.url, to):
        result = asyncio.run(
            copy_database(settings, to, batch=args.batch, say=lambda line: print(_said(line), flush=True))
        )
    for line in result.summary():
        print(_said(line))
    if result.verified:
        print(_("Now set [database] url (or OTKLIK_DATABASE_URL) to {url} and start the bot.", url=_safe_url(to)))
    return 0 if result.verified else 1


async def _demo_directory(settings: Settings, services: Any) -> tuple[list[str], list[str], list[str]] | None:
    """The directory demo data uses, said on stdout: the configured departments, topics and locations (at least
    two departments and a topic), or — when the config names no department and the database holds none — the
    demo organisation's own (None). Raises ConfigError when the config names too few, or none while the
    database has departments (demo data never mixes its own organisation into a real one)."""
    if not settings.departments:
        existing = [d for d in await services.all_departments() if d.is_active]
        if existing:
            codes = ", ".join(sorted(d.code for d in existing)[:5])
            raise ConfigError(
                _(
                    "the config names no departments, but the database has some ({codes}): give demo-data the "
                    "config of that database, or a database of its own "
                    "(e.g. OTKLIK_DATABASE_URL=sqlite+aiosqlite:///demo.sqlite3)",
                    codes=codes,
                )
            )
        print(_("Demo data: the config names no departments, so a demo organisation of its own is made"))
        return None
    if len(settings.departments) < 2 or not settings.topics:
        raise ConfigError(_("demo-data needs at least two departments and one topic in the config"))
    await services.seed(settings)
    print(
        _(
            "Demo data uses the configured directory: {departments} departments, {topics} topics, "
            "{locations} locations",
            departments=len(settings.departments),
            topics=len(settings.topics),
            locations=len(settings.locations),
        )
    )
    return (
        [d.name for d in settings.departments],
        [t.name for t in settings.topics],
        [loc.name for loc in settings.locations],
    )
