"""Backups and restore (issue 12 §2): a copy made while actions write is the database as one commit left it,
a restore puts back every row and refuses to overwrite data without --force, the daily backups keep N files."""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import make_url

from bot import backup as backups
from bot.cli import main
from bot.config import Settings
from bot.domain.clock import ManualClock
from bot.domain.incident import DraftKind, Network, Role, Source
from bot.domain.presets import get_preset
from bot.domain.workflow import Workflow
from bot.domain.worktime import WeeklySchedule, WorkCalendar
from bot.services import Person, Services
from storage.backup import head_revision
from storage.db import make_engine, make_session_factory, upgrade
from storage.directory import DirectoryRepository

MSK = ZoneInfo("Europe/Moscow")
PG_URL_VARIABLE = "OTKLIK_TEST_PG_URL"


def fingerprint(path: Path) -> str:
    """Every row of every table of the SQLite file (alembic_version too), as one digest."""
    connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        names = [n for (n,) in connection.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
        digest = hashlib.sha256()
        for name in names:
            rows = sorted(repr(r) for r in connection.execute(f'SELECT * FROM "{name}"'))
            digest.update(f"{name}:{len(rows)}:{rows}".encode())
        return digest.hexdigest()
    finally:
        connection.close()


def counts(path: Path, *tables: str) -> dict[str, int]:
    connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return {t: connection.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}
    finally:
        connection.close()


def url_of(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


_TEMPLATE: list[Path] = []


def fresh(path: Path) -> str:
    """A new SQLite database at the head revision in ``path``; returns its URL. The migrations run once, into a
    template copied for every test (they take seconds); in a thread, as alembic runs its own event loop."""
    if not _TEMPLATE:
        template = Path(tempfile.mkdtemp(prefix="otklik-template-")) / "head.sqlite3"
        with ThreadPoolExecutor(1) as pool:
            pool.submit(upgrade, url_of(template)).result()
        _TEMPLATE.append(template)
    shutil.copyfile(_TEMPLATE[0], path)
    return url_of(path)


async def people(services: Services) -> tuple[Person, Person, int]:
    async with services.sessions() as session, session.begin():
        repo = DirectoryRepository(session)
        curator = await repo.add_user(1001, "Куратор", roles=[Role.curator])
        executor = await repo.add_user(1002, "Исполнитель", roles=[Role.executor])
        department = (await repo.add_department("ЖКХ")).id
        await repo.add_membership(executor.id, department)
    return (
        Person(curator.id, 1001, "Куратор", "ru", frozenset({Role.curator}), frozenset(), frozenset()),
        Person(
            executor.id, 1002, "Исполнитель", "ru", frozenset({Role.executor}), frozenset({department}), frozenset()
        ),
        department,
    )


def make_services(url: str) -> Services:
    preset = get_preset("otradnaya")
    clock = ManualClock(datetime(2026, 3, 10, 10, 0, tzinfo=MSK))
    workflow = Workflow(preset, WorkCalendar(preset.timezone, WeeklySchedule.standard()))
    return Services(make_session_factory(make_engine(url)), workflow, clock)


async def some_incidents(url: str, n: int) -> None:
    """``n`` incidents registered, routed, accepted and answered: incidents, events, drafts and outbox rows."""
    services = make_services(url)
    try:
        curator, executor, department = await people(services)
        for i in range(n):
            await act(services, curator, executor, department, i)
    finally:
        await services.sessions.kw["bind"].dispose()


async def act(
    services: Services,
    curator: Person,
    executor: Person,
    department: int,
    i: int,
    after: Callable[[], None] | None = None,
) -> None:
    now = services.clock.now()
    post = Source(Network.vk, f"https://vk.com/wall-1_{i + 1}", "Пётр", f"Не вывозят мусор, дом {i}", now)
    incident = await services.register(curator, [post])
    for step in (
        lambda: services.route(curator, incident.id, [department]),
        lambda: services.accept(executor, incident.id),
        lambda: services.submit_draft(executor, incident.id, DraftKind.answer, f"Вывезем сегодня до 18:00, дом {i}."),
    ):
        if after is not None:
            after()
        await step()
    if after is not None:
        after()


async def test_backup_while_actions_write_is_the_database_between_two_of_them(tmp_path: Path) -> None:
    """Three backups taken while a burst of actions writes (each action its own transaction): each backup is
    exactly the database as one action left it — every incident, event, draft and outbox row of it there, none
    half-written — and a restore into a new file gives back that same database."""
    live = tmp_path / "live.sqlite3"
    fresh(live)
    services = make_services(url_of(live))
    curator, executor, department = await people(services)
    states = [fingerprint(live)]  # the database after each commit, in order
    stop = asyncio.Event()

    async def burst() -> None:
        i = 0
        while not stop.is_set():
            await act(services, curator, executor, department, i, after=lambda: states.append(fingerprint(live)))
            i += 1

    writer = asyncio.create_task(burst())
    taken: list[tuple[Path, int, int]] = []
    for k in range(3):
        while len(states) < 8 * (k + 1):  # let the writer get ahead, then back up while it goes on
            await asyncio.sleep(0.01)
        path = tmp_path / f"backup-{k}.sqlite3"
        before = len(states)
        await asyncio.to_thread(backups.backup, url_of(live), path)
        taken.append((path, before, len(states)))
    stop.set()
    await writer
    await services.sessions.kw["bind"].dispose()

    for path, before, after in taken:
        state = fingerprint(path)
        assert state in states, f"{path.name} is no state the database was ever in"
        # The state while the backup ran (the writer notes a commit just after it: one may not be noted yet).
        assert before - 1 <= states.index(state) <= after
        restored = tmp_path / f"restored-{path.stem}.sqlite3"
        outcome = await asyncio.to_thread(backups.restore, url_of(restored), path)
        assert outcome.done and fingerprint(restored) == state
    last = counts(taken[-1][0], "incidents", "events", "drafts", "outbox")
    assert last["incidents"] >= 6 and last["events"] >= 4 * last["incidents"] - 3
    assert last["drafts"] >= last["incidents"] - 1 and last["outbox"] > 0


async def test_restore_refuses_to_overwrite_a_database_with_data_without_force(tmp_path: Path) -> None:
    source, target = tmp_path / "a.sqlite3", tmp_path / "b.sqlite3"
    for path, n in ((source, 3), (target, 1)):
        fresh(path)
        await some_incidents(url_of(path), n)
    saved = tmp_path / "saved.sqlite3"
    await asyncio.to_thread(backups.backup, url_of(source), saved)
    before = fingerprint(target)

    with pytest.raises(backups.BackupError) as refused:
        await asyncio.to_thread(backups.restore, url_of(target), saved)
    assert "already holds an Otklik database with incidents: 1." in str(refused.value)
    assert "--force" in str(refused.value) and "Nothing was changed" in str(refused.value)
    assert fingerprint(target) == before

    outcome = await asyncio.to_thread(backups.restore, url_of(target), saved, True)
    assert outcome.done and fingerprint(target) == fingerprint(saved)
    assert counts(target, "incidents")["incidents"] == 3


def test_restore_of_a_live_database_says_to_stop_the_bot(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bot has the file open (WAL: its -wal and -shm files exist): the refusal says so, exit code 2."""
    live, saved = tmp_path / "live.sqlite3", tmp_path / "saved.sqlite3"
    fresh(live)
    asyncio.run(some_incidents(url_of(live), 1))
    backups.backup(url_of(live), saved)
    holder = sqlite3.connect(live)
    try:
        holder.execute("SELECT count(*) FROM incidents").fetchone()  # WAL: an open connection keeps -shm
        monkeypatch.setenv("OTKLIK_DATABASE_URL", url_of(live))
        assert main(["restore", str(saved)]) == 2
    finally:
        holder.close()
    err = capsys.readouterr().err  # in the CLI's default language, Russian
    assert "Похоже, она сейчас открыта (работает бот?): сначала остановите бот." in err and "--force" in err
    assert err.startswith("ошибка: ") and len(err.splitlines()) == 1


@pytest.mark.parametrize("kind", ["text", "foreign sqlite", "truncated backup", "newer schema"])
def test_restore_refuses_what_is_not_an_otklik_backup(tmp_path: Path, kind: str) -> None:
    bad = tmp_path / "bad.sqlite3"
    if kind == "text":
        bad.write_text("id;name\n1;Пётр\n", encoding="utf-8")
        expected = "not an SQLite database"
    elif kind == "foreign sqlite":
        with sqlite3.connect(bad) as connection:
            connection.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)")
        expected = "not an Otklik one"
    else:
        fresh(tmp_path / "src.sqlite3")
        asyncio.run(some_incidents(url_of(tmp_path / "src.sqlite3"), 2))
        backups.backup(url_of(tmp_path / "src.sqlite3"), bad)
        if kind == "truncated backup":
            data = bad.read_bytes()
            bad.write_bytes(data[: len(data) // 2])
            expected = "not restored"
        else:
            with sqlite3.connect(bad) as connection:
                connection.execute("UPDATE alembic_version SET version_num = '0099'")
            expected = "schema revision 0099, which this version of Otklik does not know"
    target = tmp_path / "new.sqlite3"
    with pytest.raises(backups.BackupError) as refused:
        backups.restore(url_of(target), bad)
    assert expected in str(refused.value)
    assert not target.exists()
    if kind == "text":  # said in Russian too, the storage's reason included
        assert refused.value.text("ru") == f"не восстановлено: {bad}: это не база SQLite"


def test_restore_brings_a_backup_of_an_older_schema_to_the_current_one(tmp_path: Path) -> None:
    old = tmp_path / "old.sqlite3"
    upgrade(url_of(old), "0009")
    saved = tmp_path / "saved.sqlite3"
    backups.backup(url_of(old), saved)
    target = tmp_path / "new.sqlite3"
    outcome = backups.restore(url_of(target), saved)
    assert f"upgraded from schema 0009 to {head_revision()}" in outcome.lines[-1]
    with sqlite3.connect(target) as connection:
        assert connection.execute("SELECT version_num FROM alembic_version").fetchall() == [(head_revision(),)]
        assert "posts" in {n for (n,) in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def test_backup_never_overwrites_a_file(tmp_path: Path) -> None:
    live, saved = tmp_path / "live.sqlite3", tmp_path / "saved.sqlite3"
    fresh(live)
    saved.write_text("keep me", encoding="utf-8")
    with pytest.raises(backups.BackupError, match="exists already"):
        backups.backup(url_of(live), saved)
    assert saved.read_text(encoding="utf-8") == "keep me"


def test_daily_backups_keep_the_newest_n_and_nothing_else_is_touched(tmp_path: Path) -> None:
    live, folder = tmp_path / "live.sqlite3", tmp_path / "backups"
    fresh(live)
    folder.mkdir()
    (folder / "notes.txt").write_text("not a backup", encoding="utf-8")
    (folder / "otklik-manual.sqlite3").write_text("named by hand", encoding="utf-8")
    settings = Settings.model_validate({"database": {"url": url_of(live), "backup_dir": str(folder), "backup_keep": 3}})
    start = datetime(2026, 11, 25, 0, 0, tzinfo=UTC)  # 03:00 in Moscow
    for day in range(5):
        outcome = backups.daily_backup(settings, start + timedelta(days=day))
        assert outcome.done
    kept = sorted(p.name for p in folder.iterdir())
    assert kept == [
        "notes.txt",
        "otklik-20261127T000000Z.sqlite3",
        "otklik-20261128T000000Z.sqlite3",
        "otklik-20261129T000000Z.sqlite3",
        "otklik-manual.sqlite3",
    ]
    assert "Old backup removed" in outcome.lines[-1] and "otklik-20261126T000000Z" in outcome.lines[-1]


def test_the_daily_backup_is_scheduled_at_the_local_time_in_the_config(tmp_path: Path) -> None:
    from apscheduler.schedulers.background import BackgroundScheduler

    settings = Settings.model_validate(
        {"database": {"backup_dir": str(tmp_path), "backup_time": "2:30"}, "organisation": {"preset": "otradnaya"}}
    )
    scheduler = BackgroundScheduler(timezone="UTC")
    backups.schedule_backups(scheduler, settings)
    (job,) = scheduler.get_jobs()
    assert job.id == "daily-backup" and settings.database.backup_time == "02:30"
    moment = job.trigger.get_next_fire_time(None, datetime(2026, 11, 30, 12, 0, tzinfo=UTC))
    assert moment == datetime(2026, 12, 1, 2, 30, tzinfo=ZoneInfo("Europe/Moscow"))
    scheduler.remove_all_jobs()
    backups.schedule_backups(scheduler, Settings())  # no backup_dir: no job
    assert scheduler.get_jobs() == []


def test_backup_command_writes_the_file_and_restore_refuses_the_live_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    live, saved = tmp_path / "live.sqlite3", tmp_path / "saved.sqlite3"
    fresh(live)
    asyncio.run(some_incidents(url_of(live), 2))
    monkeypatch.setenv("OTKLIK_DATABASE_URL", url_of(live))
    assert main(["backup", str(saved)]) == 0
    assert f"Резервная копия записана: {saved} (" in capsys.readouterr().out
    assert counts(saved, "incidents") == {"incidents": 2}
    assert main(["restore", str(saved)]) == 2
    assert "уже содержит базу Отклика (инцидентов: 2)." in capsys.readouterr().err
    assert main(["restore", str(saved), "--locale", "en"]) == 2
    assert "already holds an Otklik database with incidents: 2." in capsys.readouterr().err


def test_backup_and_restore_speak_the_clis_language(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    live, saved, copy = tmp_path / "live.sqlite3", tmp_path / "saved.sqlite3", tmp_path / "copy.sqlite3"
    fresh(live)
    asyncio.run(some_incidents(url_of(live), 2))
    monkeypatch.setenv("OTKLIK_DATABASE_URL", url_of(live))
    assert main(["backup", str(saved), "--locale", "en"]) == 0
    assert capsys.readouterr().out.startswith(f"Database: {url_of(live)}\nBackup written: {saved} (")
    monkeypatch.setenv("OTKLIK_DATABASE_URL", url_of(copy))
    assert main(["restore", str(saved)]) == 0
    out = capsys.readouterr().out
    said = f"База данных: {url_of(copy)}\n{saved} восстановлена в {copy}: инцидентов: 2, событий: "
    assert out.startswith(said) and "Restored" not in out
    assert main(["restore", str(saved), "--force"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"База данных: {url_of(copy)}\nЗаменяю базу Отклика (инцидентов: 2) в {copy} (--force)\n")


def test_restore_of_a_folder_says_it_wants_a_backup_file_in_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "new.sqlite3"
    monkeypatch.setenv("OTKLIK_DATABASE_URL", url_of(target))
    folder = tmp_path / "backups"
    folder.mkdir()
    assert main(["restore", str(folder), "--locale", "en"]) == 2
    assert capsys.readouterr().err == (
        f"error: {folder} is a folder, and it holds no backup file (*.sqlite3): restore takes a file made by "
        "python -m bot backup\n"
    )
    (folder / "notes.txt").write_text("not a backup", encoding="utf-8")
    older, newer = folder / "otklik-20261201T000000Z.sqlite3", folder / "before-upgrade.sqlite3"
    for age, file in ((7200, older), (60, newer)):
        file.write_bytes(b"")
        moment = datetime.now(UTC).timestamp() - age
        os.utime(file, (moment, moment))
    assert main(["restore", str(folder), "--locale", "en"]) == 2
    err = capsys.readouterr().err
    assert err == f"error: {folder} is a folder; restore takes a backup file in it (the newest: {newer})\n"
    assert not target.exists()
    assert main(["restore", str(folder)]) == 2
    said = f"{folder} — это папка; restore принимает файл резервной копии из неё (самый новый: {newer})"
    assert said in capsys.readouterr().err


def test_postgres_backup_without_pg_dump_prints_the_command_without_the_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(backups.shutil, "which", lambda name: None)
    target = tmp_path / "otklik.dump"
    outcome = backups.backup("postgresql+asyncpg://otklik:s3cret@db.local:5433/otklik", target)
    assert not outcome.done and not target.exists()
    assert outcome.command == (
        f"PGPASSWORD=… pg_dump --format=custom --no-owner --file={target} postgresql://otklik@db.local:5433/otklik"
    )
    assert "s3cret" not in "\n".join(outcome.lines)


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_postgres_backup_and_restore_with_the_client_tools(database_url: str, tmp_path: Path) -> None:
    if backups.shutil.which("pg_dump") is None or backups.shutil.which("pg_restore") is None:
        pytest.skip("pg_dump / pg_restore not on PATH")
    upgrade(database_url)
    asyncio.run(some_incidents(database_url, 2))
    dump = tmp_path / "otklik.dump"
    assert backups.backup(database_url, dump).done
    assert dump.read_bytes().startswith(b"PGDMP")
    with pytest.raises(backups.BackupError, match="already holds"):
        backups.restore(database_url, dump)
    outcome = backups.restore(database_url, dump, force=True)
    assert outcome.done and "Restored" in outcome.lines[-1]
    assert make_url(database_url).database in outcome.lines[-1]


def test_backup_into_a_missing_folder_makes_it_and_into_a_folder_names_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """README's example backs up into /var/backups/otklik/…, a folder that is often not there yet: it is made,
    as the daily backup makes its backup_dir; a folder given alone gets the dated name inside it."""
    live = tmp_path / "live.sqlite3"
    fresh(live)
    asyncio.run(some_incidents(url_of(live), 1))
    monkeypatch.setenv("OTKLIK_DATABASE_URL", url_of(live))
    nested = tmp_path / "backups" / "otklik" / "before-upgrade.sqlite3"
    assert main(["backup", str(nested)]) == 0
    assert counts(nested, "incidents") == {"incidents": 1}
    capsys.readouterr()
    folder = tmp_path / "backups"
    assert main(["backup", str(folder)]) == 0
    written = [p for p in folder.iterdir() if p.name.startswith("otklik-") and p.suffix == ".sqlite3"]
    assert len(written) == 1 and f"Резервная копия записана: {written[0]}" in capsys.readouterr().out
    assert counts(written[0], "incidents") == {"incidents": 1}
