"""Command line: `python -m bot [run|db upgrade|check-config|calendar|deadline|report|import|check-draft|demo-data]`."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import re
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, TextIO

from babel.dates import format_date

from bot.config import ConfigError, Settings, load_settings
from bot.domain.incident import Importance, Role
from bot.domain.presets import PRESETS, get_preset
from bot.domain.production_calendar import YearStatus
from bot.domain.worktime import NoWorkingTimeError

if TYPE_CHECKING:
    from bot.importing import Imported

CLI_LOCALE = "ru"  # the command line speaks Russian, as the officials who run it do (month and weekday names by Babel)
# The import and the demo data speak English, like the problems the import prints (bot.intake_rules, shared with
# the intake API); their counts still go through the catalogs, for the plural forms of every language.
IMPORT_LOCALE = "en"


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m bot`` (and the ``otklik`` script): ``--config`` and the commands."""
    parser = argparse.ArgumentParser(
        prog="python -m bot",
        description="Otklik: incidents from open sources, answered on time. Without a command the bot runs.",
    )
    parser.add_argument("--config", help="TOML config file (default: $OTKLIK_CONFIG or built-in defaults)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    commands.add_parser("run", help="run the bot (long polling); the default command")

    db = commands.add_parser("db", help="database maintenance")
    db_commands = db.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    db_commands.add_parser("upgrade", help="apply migrations up to the latest schema")

    commands.add_parser("check-config", help="validate the config and print what it resolves to")

    cal = commands.add_parser("calendar", help="working days and hours per month of a year")
    cal.add_argument("year", type=int)
    cal.add_argument("--json", action="store_true", help="machine-readable output")

    dl = commands.add_parser("deadline", help="every deadline of an incident detected at a local moment")
    dl.add_argument(
        "--detected",
        required=True,
        metavar="'YYYY-MM-DD HH:MM'",
        help="moment of detection, local time of the organisation",
    )
    dl.add_argument("--importance", choices=[i.value for i in Importance], default="normal")
    dl.add_argument("--preset", choices=sorted(PRESETS), help="use a preset with its default calendar")
    dl.add_argument("--json", action="store_true", help="machine-readable output")

    rep = commands.add_parser("report", help="the monthly report (SPEC §6) as text, JSON or an XLSX workbook")
    rep.add_argument("--month", metavar="YYYY-MM", help="the month (default: the previous one)")
    rep.add_argument("--department", type=int, metavar="ID", help="one department only (default: the organisation)")
    rep.add_argument("--format", choices=("text", "json", "xlsx"), default="text")
    rep.add_argument("--output", metavar="FILE", help="write here instead of standard output (required for xlsx)")
    rep.add_argument("--locale", choices=("ru", "en"), help="language of the text and the workbook")

    imp = commands.add_parser(
        "import", help="register incidents from a CSV or XLSX file (monitoring exports, earlier spreadsheets)"
    )
    imp.add_argument("file", help=".csv (UTF-8 or Windows-1251) or .xlsx; the first row names the columns")
    imp.add_argument(
        "--curator", type=int, metavar="TELEGRAM_ID", help="who registers them (default: the first configured curator)"
    )
    imp.add_argument("--dry-run", action="store_true", help="check every row, register nothing")

    chk = commands.add_parser(
        "check-draft", help="the draft pre-check on an answer's text: what a curator would return it for"
    )
    chk.add_argument("--text", required=True, help="the draft answer")
    chk.add_argument("--post", default="", help="the citizen's post it answers (helps some checks)")
    chk.add_argument("--attachments", type=int, default=0, metavar="N", help="photos, videos or acts attached")
    chk.add_argument("--json", action="store_true", help="machine-readable output")

    demo = commands.add_parser("demo-data", help="fill the database with realistic synthetic incidents")
    demo.add_argument("--incidents", type=int, default=500, metavar="N")
    demo.add_argument("--months", type=int, default=3, metavar="M", help="spread over the last M months")
    demo.add_argument("--seed", type=int, default=1, metavar="S")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command (``argv``: the arguments after the program name; default ``sys.argv[1:]``) and return the
    process's exit status: 0 done; 2 a configuration error (ConfigError: said on stderr as "error: …") or an
    import whose rows were refused (listed on stdout, nothing registered). Without a command the bot runs until
    stopped. argparse's own usage errors exit with 2 (SystemExit) before anything runs; any other exception
    propagates (a bug, or the database unreachable)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = _settings(args)
        if args.command in (None, "run"):
            return _run(settings)
        if args.command == "db":
            from storage.db import upgrade

            upgrade(settings.database.url)
            print(f"Database is up to date: {_safe_url(settings.database.url)}")
            return 0
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
        if args.command == "check-draft":
            return _check_draft(args)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    parser.error(f"unknown command {args.command}")
    return 2


def _settings(args: argparse.Namespace) -> Settings:
    if getattr(args, "preset", None):
        if args.config:
            raise ConfigError("use either --preset or --config, not both")
        return Settings.model_validate({"organisation": {"preset": args.preset}})
    return load_settings(args.config)


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _run(settings: Settings) -> int:
    token = settings.require_token()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from bot.app import run_polling, run_webhook

    asyncio.run(run_webhook(settings, token) if settings.bot.webhook_url else run_polling(settings, token))
    return 0


def _check_config(settings: Settings) -> int:
    preset = settings.preset()
    cal = settings.calendar()
    print(f"Organisation: {settings.organisation.name}")
    print(f"Preset: {preset.name} — {preset.document}")
    print(f"Time zone: {cal.tz.key}")
    for status in settings.calendar_years():
        print(f"Production calendar {status.describe()}")
    print(f"Database: {_safe_url(settings.database.url)}")
    print(
        f"Departments: {len(settings.departments)}, topics: {len(settings.topics)}, "
        f"locations: {len(settings.locations)}"
    )
    token = settings.bot.token
    print("Bot token: " + ("set" if token and token.get_secret_value() else "MISSING"))
    mode = f"webhook {settings.bot.webhook_url}" if settings.bot.webhook_url else "long polling"
    print(f"Updates: {mode}")
    intake = settings.intake
    print(f"Intake API: {f'on, http://{intake.host}:{intake.port}/api/v1/incidents' if intake.enabled else 'off'}")
    return 0


def _status_ru(status: YearStatus) -> str:
    """The calendar's source for ``calendar YEAR``, in Russian like the rest of its table."""
    if status.source == "none":
        return "Без производственного календаря: праздничные дни не учитываются."
    if status.provisional:
        return (
            f"Предварительный: постановление Правительства о переносе выходных дней в {status.year} году ещё "
            "не известно. Праздники, совпавшие с выходными, перенесены на следующий рабочий день по ст. 112 ТК РФ "
            "(кроме 1–8 января); переносы из постановления можно внести в [organisation.calendar] decrees."
        )
    decree = status.decree or "постановление Правительства (в данных календаря не названо)"
    where = " — из конфигурации" if status.source == "config" else ""
    return f"Официальный: {decree}{where}."


def _calendar(settings: Settings, year: int, as_json: bool) -> int:
    if year not in _YEARS:
        raise ConfigError(f"the year must be between {_YEARS[0]} and {_YEARS[-1]}")
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
    print(f"Производственный календарь {year} — {settings.organisation.name} ({cal.tz.key})")
    print(_status_ru(status))
    print(f"{'Месяц':<10} {'Рабочих дней':>13} {'Рабочих часов':>14}")
    for t in totals:
        month = format_date(date(year, t.month, 1), "LLLL", locale=CLI_LOCALE).capitalize()  # standalone: «Январь»
        print(f"{month:<10} {t.working_days:>13} {_hours(t.working_time.total_seconds()):>14}")
    print(f"{'Итого':<10} {days:>13} {_hours(seconds):>14}")
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
        raise ConfigError(f"--detected {args.detected!r}: {exc}") from None
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
    print(
        f"Выявлено: {detected:%d.%m.%Y %H:%M} ({cal.tz.key}), важность: "
        f"{'высокая' if args.importance == 'high' else 'обычная'}"
    )
    width = max(len(i.label) for i in items)
    for i in items:
        line = f"  {i.label:<{width}}  {_day_ru(i.due)}  ({i.term}, {i.clause})"
        if i.own_due is not None:
            line += f" — сокращён до срока ответа, по своему сроку: {_day_ru(i.own_due)}"
        print(line)
    if any(i.shortened for i in items):
        print("Каждый шаг заканчивается не позже срока размещения ответа: окна длиннее остатка срока сокращены.")
    years = sorted({detected.year, *(i.due.year for i in items)})
    for status in (cal.year_status(y) for y in years):
        if not status.official:
            print(f"Календарь {status.year} года — {_status_ru(status)[0].lower()}{_status_ru(status)[1:]}")
    return 0


def _day_ru(moment: datetime) -> str:
    return f"{format_date(moment, 'EEE', locale=CLI_LOCALE)} {moment:%d.%m.%Y %H:%M}"


# The production calendar's data begins in 1991; a year past 2100 is a typo, and 9999 would overflow.
_YEARS = range(1991, 2101)
_MOMENT = re.compile(r"\d{4}-\d{1,2}-\d{1,2} \d{1,2}:\d{2}")


def _detected(text: str) -> datetime:
    """``--detected``: a naive local moment, or a ConfigError that says what is wrong with it."""
    text = text.strip()
    if not _MOMENT.fullmatch(text):
        raise ConfigError(f"--detected {text!r}: write it as 'YYYY-MM-DD HH:MM'")
    day, clock = text.split(" ")
    try:
        when = datetime.strptime(day, "%Y-%m-%d").date()
    except ValueError:
        raise ConfigError(f"--detected {text!r}: the date {day} does not exist") from None
    try:
        moment = datetime.combine(when, datetime.strptime(clock, "%H:%M").time())
    except ValueError:
        raise ConfigError(f"--detected {text!r}: the time {clock} does not exist") from None
    if moment.year not in _YEARS:
        raise ConfigError(f"--detected {text!r}: the year must be between {_YEARS[0]} and {_YEARS[-1]}")
    return moment


def _check_draft(args: argparse.Namespace) -> int:
    """The draft pre-check on ``--text`` (issue 13 §1), as the executor's preview gives it: one advice a line, or
    JSON ``{"findings": [{"reason", "return_reason", "words", "advice"}]}``. Runs whatever ``[assistant]``
    says (it is a tool to try the check). Exit status 0 (findings or not); ConfigError for a negative
    ``--attachments``."""
    from bot.assistant import advice_text
    from bot.domain.precheck import check_draft

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
                    "advice": advice_text(f, CLI_LOCALE),
                }
                for f in findings
            ]
        }
        print(json.dumps(payload, ensure_ascii=False, indent=2))
        return 0
    if not findings:
        print("Замечаний нет.")
        return 0
    print(f"Замечаний: {len(findings)}")
    for f in findings:
        print(advice_text(f, CLI_LOCALE))
    return 0


def _report(settings: Settings, args: argparse.Namespace) -> int:
    from bot.domain.errors import DomainError
    from bot.report import parse_month, previous_month

    try:
        month = parse_month(args.month) if args.month else previous_month(datetime.now(settings.calendar().tz).date())
    except DomainError as exc:
        raise ConfigError(f"--month: {exc}") from None
    if args.format == "xlsx" and not args.output:
        raise ConfigError("--format xlsx needs --output FILE")
    locale = args.locale or settings.bot.default_locale
    try:
        payload = asyncio.run(_report_payload(settings, month, args.department, args.format, locale))
    except DomainError as exc:
        raise ConfigError(str(exc)) from None
    if args.output:
        with open(args.output, "wb") as out:
            out.write(payload)
    else:
        sys.stdout.write(payload.decode("utf-8") + "\n")
    return 0


async def _report_payload(settings: Settings, month: object, department: int | None, fmt: str, locale: str) -> bytes:
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
        report = await build_report(services.sessions, services.workflow, month, department, datetime.now(UTC))  # type: ignore[arg-type]
    finally:
        await engine.dispose()
    if fmt == "json":
        return report.to_json().encode()
    if fmt == "xlsx":
        from bot.report_files import workbook_xlsx

        return workbook_xlsx(report, locale)
    return summary_text(report, locale).encode()


def _import(settings: Settings, args: argparse.Namespace) -> int:
    from pathlib import Path

    from bot.i18n import translate_plural  # here, not at the top: aiogram's import costs every command seconds
    from bot.importing import UnreadableFile, import_rows, read_table, rows_to_skip
    from bot.intake_rules import Context, IntakeLimits, check

    path = Path(args.file)
    if not path.is_file():
        raise ConfigError(f"{path}: no such file")
    try:
        table = read_table(path)
    except UnreadableFile as exc:
        raise ConfigError(str(exc)) from None

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
                raise ConfigError(f"--curator {curator_id}: not a curator of this bot (curators register incidents)")
            context = Context(
                services.workflow, person, await services.directory(), services.clock.now(), IntakeLimits.of(settings)
            )
            if table.ignored_columns:
                print(f"Columns not used: {', '.join(table.ignored_columns)}")
            total = len(table.rows)
            print(translate_plural(IMPORT_LOCALE, "Checking {n} row…", "Checking {n} rows…", total), flush=True)
            checked = check(context, table.rows)
            if checked.errors:
                _print_problems(total, checked.errors)
                return 2
            if args.dry_run:
                skipped = await rows_to_skip(services, checked.rows)
                n = len(checked.rows) - len(skipped)
                print(
                    translate_plural(
                        IMPORT_LOCALE,
                        "{n} row can be registered (dry run: nothing was).",
                        "{n} rows can be registered (dry run: nothing was).",
                        n,
                    )
                )
                if skipped:
                    rows = _numbers(skipped)
                    print(
                        translate_plural(
                            IMPORT_LOCALE,
                            "Already registered, would be skipped: {n}: row {rows}.",
                            "Already registered, would be skipped: {n}: rows {rows}.",
                            len(skipped),
                            rows=rows,
                        )
                    )
                return 0
            progress = _Progress(len(checked.rows), sys.stdout)
            done = await import_rows(services, person, checked.rows, progress)
            progress.finish()
        finally:
            await engine.dispose()
        _print_imported(done)
        return 0

    return asyncio.run(go())


SHOWN_PROBLEMS = 100  # rows with problems printed one by one; the rest are counted by kind


def _print_problems(rows: int, errors: Sequence[tuple[int, Sequence[Any]]]) -> None:
    from bot.i18n import translate_plural

    print(
        translate_plural(
            IMPORT_LOCALE,
            "Nothing was registered: {bad} of {n} row cannot be.",
            "Nothing was registered: {bad} of {n} rows cannot be.",
            rows,
            bad=len(errors),
        )
    )
    for line, problems in errors[:SHOWN_PROBLEMS]:
        print(f"  row {line}: {'; '.join(p.message for p in problems)}")
    rest = errors[SHOWN_PROBLEMS:]
    if rest:
        kinds = Counter(f"{p.field}: {p.code}" for _, problems in rest for p in problems)
        summary = ", ".join(f"{kind} ×{count}" for kind, count in kinds.most_common())
        print(
            translate_plural(
                IMPORT_LOCALE,
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
                IMPORT_LOCALE,
                "Registered {n} incident: No. {numbers}.",
                "Registered {n} incidents: No. {numbers}.",
                registered,
                numbers=numbers,
            )
        )
    else:
        print(translate_plural(IMPORT_LOCALE, "Registered {n} incident.", "Registered {n} incidents.", registered))
    if done.skipped:
        rows = _numbers(line for line, _ in done.skipped)
        print(
            translate_plural(
                IMPORT_LOCALE,
                "Already registered, skipped: {n}: row {rows}.",
                "Already registered, skipped: {n}: rows {rows}.",
                len(done.skipped),
                rows=rows,
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
                self.out.write(f"\rRegistering [{bar:<25}] {done}/{self.total}")
                self.out.flush()
        else:
            tenth = done * 10 // self.total
            if tenth != self.shown and (tenth > 0 or done == self.total):
                self.shown = tenth
                from bot.i18n import translate_plural

                line = translate_plural(
                    IMPORT_LOCALE,
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
        raise ConfigError("--incidents must be 1..2000000 and --months 1..60")
    from datetime import UTC

    from bot.app import make_services
    from bot.demo import fill
    from storage.db import make_engine, upgrade_async

    async def go() -> tuple[object, object]:
        engine = make_engine(settings.database.url)
        try:
            await upgrade_async(engine)
            services = make_services(settings, engine)
            return await fill(
                services.sessions,
                services.workflow,
                incidents=args.incidents,
                months=args.months,
                seed=args.seed,
                now=datetime.now(UTC),
            )
        finally:
            await engine.dispose()

    first, last = asyncio.run(go())
    from bot.i18n import translate_plural

    where = _safe_url(settings.database.url)
    print(
        translate_plural(
            IMPORT_LOCALE,
            "Demo data: {n} incident in {url}",
            "Demo data: {n} incidents in {url}",
            args.incidents,
            url=where,
        )
    )
    print(f"Months: {first:%Y-%m} … {last:%Y-%m}")  # type: ignore[str-format]
    return 0
