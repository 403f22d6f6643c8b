"""The training sandbox (``python -m bot sandbox``, README «Sandbox (training)»): the real bot, unchanged, against
the embedded Bot API server, on its own SQLite file and a scaled clock, and a web page where a person plays every
role of a sandbox organisation.

Everything listens on loopback unless told otherwise, needs no token and talks to no one outside this process.
The page's JSON API (all answers ``application/json``; errors ``{"error": "<text>"}``, in the sandbox's language, with
400/404/409):

- ``GET /api/state?since=KEY`` — the whole picture (chats, clock, scenario); waits up to 25 s for a change when
  ``since`` is the current ``key``;
- ``POST /api/send`` ``{"person", "text", "photo", "image"}``; ``POST /api/forward`` ``{"person", "text", "channel",
  "photo", "image"}`` (``image``: base64 of a JPEG/PNG up to 5 MB; ``photo``: true for a stand-in picture);
- ``GET /api/file/{file_id}`` — an uploaded picture, as the chats show it;
- ``POST /api/press`` ``{"person", "message_id", "data"}`` — an inline button on a message of that person's chat;
- ``POST /api/clock`` ``{"speed"}`` or ``{"advance_minutes"}`` or ``{"jump": "morning"}``;
- ``POST /api/reset`` ``{"preset"}`` (a preset name or "config"): a fresh organisation and database;
- ``POST /api/scenario`` ``{"scenario"}``: start a guided scenario (from the next incident registered).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import tempfile
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.config import Settings
from bot.domain.clock import ScaledClock, SystemClock
from bot.domain.incident import Incident, State
from bot.domain.presets import PRESETS
from bot.i18n import N_, translate
from bot.sandbox.botapi import BotAPIServer, ChatMessage, UserChat
from bot.sandbox.organisation import Person, next_working_morning, people_for, sandbox_settings, set_up_people
from bot.sandbox.page import render_index
from bot.sandbox.scenarios import ORDER, Scenario, View, get_scenario, placeholders

log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"
TOKEN = "4242:SANDBOX"  # the embedded server takes any token; the bot needs one of Telegram's form
MAX_INPUT = 4096  # what a Telegram client lets a person type into one message
MAX_IMAGE = 5 * 1024 * 1024  # a picture the page uploads, bytes
IMAGE_MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n")  # JPEG, PNG
POLL_SECONDS = 25.0
CONFIGURED = "config"  # the preset choice that means "the configured organisation"


@dataclass
class Session:
    """One run of the sandbox organisation: the embedded server, the bot on its fresh database, the clock and
    the people; replaced as a whole by a reset."""

    preset: str  # a preset name or CONFIGURED
    settings: Settings
    api: BotAPIServer
    clock: ScaledClock
    people: list[Person]
    users: dict[str, UserChat]
    app: Any  # bot.app.Running
    departments: dict[str, int] = field(default_factory=dict)  # person key -> department id
    department_names: list[str] = field(default_factory=list)
    seen: dict[tuple[int, int], datetime] = field(default_factory=dict)  # message -> sandbox time first seen
    scenario: Scenario | None = None
    scenario_after: int = 0  # the scenario looks at incidents with a greater id
    scenario_done: int = 0
    alerts_seen: int = 0


class Sandbox:
    """The sandbox: holds the current ``Session`` and the page's web application.

    ``base`` is the configured settings (None: the built-in defaults), ``configured`` whether a config file was
    given (then "config" is offered among the presets and is the default), ``preset`` the first organisation's
    preset (None: the configured one, else Отрадная), ``speed`` the clock's start speed (× real time),
    ``locale`` the language of the bot's people and of every text of the page (scenarios, roles, errors, and
    the page's own controls: bot.sandbox.page), ``workdir`` where the SQLite files go (default:
    a temporary folder removed at the end).
    """

    def __init__(
        self,
        base: Settings | None = None,
        *,
        configured: bool = False,
        preset: str | None = None,
        speed: float = 60.0,
        locale: str = "ru",
        workdir: Path | None = None,
    ) -> None:
        if preset is not None and preset != CONFIGURED and preset not in PRESETS:
            raise ValueError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
        self.base = base
        self.configured = configured
        self.first_preset = preset or (CONFIGURED if configured else "otradnaya")
        self.speed = speed
        self.locale = locale
        self.workdir = workdir
        self.session: Session | None = None
        self._stack: contextlib.AsyncExitStack | None = None
        self._runs = 0
        self._lock = asyncio.Lock()
        self._generation = 0  # bumped by what the Bot API server does not see: clock, scenario, reset
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._changed = asyncio.Event()

    # ----- lifecycle ------------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the first organisation (see the class)."""
        if self.workdir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="otklik-sandbox-")
            self.workdir = Path(self._tmp.name)
        self.workdir.mkdir(parents=True, exist_ok=True)
        await self.reset(self.first_preset)

    async def close(self) -> None:
        """Stop the bot and the embedded server; remove the temporary folder."""
        async with self._lock:
            await self._stop_session()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    async def reset(self, preset: str) -> Session:
        """A fresh organisation under ``preset`` (a preset name, or "config" for the configured one): a new
        database, people, clock at the next working morning, the bot restarted. Raises ValueError for an unknown
        preset, or "config" when no config was given."""
        if preset != CONFIGURED and preset not in PRESETS:
            raise ValueError(f"unknown preset {preset!r}")
        if preset == CONFIGURED and not self.configured:
            raise ValueError("no configuration given: start with --config")
        async with self._lock:
            await self._stop_session()
            self._runs += 1
            assert self.workdir is not None
            database = self.workdir / f"sandbox-{self._runs}.sqlite3"
            stack = contextlib.AsyncExitStack()
            try:
                self.session = await self._start_session(stack, preset, database)
            except BaseException:
                await stack.aclose()
                raise
            self._stack = stack
            self._bump()
            return self.session

    async def _start_session(self, stack: contextlib.AsyncExitStack, preset: str, database: Path) -> Session:
        from bot.app import running

        api = await stack.enter_async_context(BotAPIServer(bot_username="otklik_sandbox_bot"))
        settings = sandbox_settings(
            self.base, None if preset == CONFIGURED else preset, database, api.base_url, locale=self.locale
        )
        people = people_for(settings)
        await set_up_people(settings, people, self.locale)
        calendar = settings.calendar()
        clock = ScaledClock(next_working_morning(calendar, SystemClock().now()), self.speed)
        app = await stack.enter_async_context(running(settings, TOKEN, clock))
        users = {p.key: api.user(p.telegram_id, p.name, language_code=self.locale) for p in people}
        await stack.enter_async_context(
            api.running(app.dispatcher, app.bot, handle_as_tasks=False, fail_on_handler_errors=False)
        )
        session = Session(preset, settings, api, clock, people, users, app)
        directory = await app.services.directory()
        by_name = {d.name: d.id for d in directory.departments}
        session.department_names = [d.name for d in settings.departments]
        for person in people:
            if person.department is not None:
                session.departments[person.key] = by_name[settings.departments[person.department].name]
        for person in people:  # everybody opens the bot: each chat starts with what their roles may do
            await users[person.key].send("/start")
        with contextlib.suppress(AssertionError):
            await api.idle(timeout=10)
        log.info("Sandbox organisation: %s (%s)", settings.organisation.name, settings.preset().name)
        return session

    async def _stop_session(self) -> None:
        if self._stack is not None:
            stack, self._stack = self._stack, None
            self.session = None
            await stack.aclose()

    def _bump(self) -> None:
        self._generation += 1
        self._changed.set()
        self._changed = asyncio.Event()

    # ----- what the page sees ---------------------------------------------------------------------------------

    def key(self) -> str:
        """A string that changes whenever anything on the page may have changed."""
        session = self.session
        if session is None:
            return f"g{self._generation}"
        api = session.api
        return f"g{self._generation}-s{api._seq}-u{api._next_update_id}-a{len(api.alerts)}"

    async def wait_change(self, since: str, timeout: float = POLL_SECONDS) -> None:
        """Return once ``key()`` differs from ``since``, or after ``timeout`` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.key() == since:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return
            session = self.session
            waiters = [asyncio.ensure_future(self._changed.wait())]
            if session is not None:
                waiters.append(asyncio.ensure_future(session.api._tick.wait()))
            _done, pending = await asyncio.wait(waiters, timeout=remaining, return_when=asyncio.FIRST_COMPLETED)
            for waiter in pending:
                waiter.cancel()

    async def incidents(self) -> list[Incident]:
        """Every incident of the current organisation, oldest id first."""
        from storage.incidents import IncidentRepository

        session = self.session
        if session is None:
            return []
        async with session.app.services.sessions() as db:
            found = await IncidentRepository(db).list_by_state(list(State), limit=10_000)
        return sorted(found, key=lambda i: i.id or 0)

    def names(self, session: Session) -> dict[str, str]:
        """The placeholders of scenario texts for this organisation (scenarios.placeholders)."""
        approver = next((p for p in session.people if p.key == "approver"), None)
        return placeholders(
            session.settings.preset(),
            self.locale,
            {p.key: p.name for p in session.people},
            session.department_names,
            translate(self.locale, approver.role) if approver is not None else "",
        )

    async def state(self) -> dict[str, Any]:
        """The whole picture for the page (see the module's docstring)."""
        key = self.key()
        session = self.session
        if session is None:
            return {"key": key, "ready": False}
        preset = session.settings.preset()
        now = session.clock.now()
        scenario: dict[str, Any] | None = None
        if session.scenario is not None:
            incidents = [i for i in await self.incidents() if (i.id or 0) > session.scenario_after]
            view = View(
                incidents,
                preset.publisher.value,
                preset.multi_mode.value,
                preset.approval_levels.value,
                dict(session.departments),
            )
            session.scenario_done = session.scenario.progress(view, session.scenario_done)
            names = self.names(session)
            scenario = {
                "key": session.scenario.key,
                "title": translate(self.locale, session.scenario.title),
                "about": translate(self.locale, session.scenario.about, **names),
                "steps": session.scenario.texts(self.locale, names),
                "done": session.scenario_done,
                "incident": view.focus.id if view.focus is not None else None,
            }
        people = []
        for person in session.people:
            user = session.users[person.key]
            people.append(
                {
                    "key": person.key,
                    "name": person.name,
                    "role": translate(self.locale, person.role),
                    "department": (
                        session.department_names[person.department] if person.department is not None else None
                    ),
                    "messages": [self._message(session, m, now) for m in user.history],
                }
            )
        by_user = {p.telegram_id: p.key for p in session.people}
        alerts = [
            {
                "id": f"{self._runs}-{query_id}",  # unique across resets: the page shows each once
                "person": by_user.get(session.api._presses.get(query_id, 0)),
                "text": alert.text,
                "show_alert": alert.show_alert,
            }
            for query_id, alert in session.api.alerts.items()
            if alert.text
        ][-20:]
        return {
            "key": key,
            "ready": True,
            "organisation": session.settings.organisation.name,
            "preset": session.preset,
            "preset_title": preset.title,
            "document": preset.document,
            "presets": [{"name": p.name, "title": p.title} for p in PRESETS.values()]
            + (
                [{"name": CONFIGURED, "title": translate(self.locale, N_("From the configuration"))}]
                if self.configured
                else []
            ),
            "clock": {
                "now": now.isoformat(),
                "epoch_ms": int(now.timestamp() * 1000),
                "speed": session.clock.speed,
                "tz": session.settings.calendar().tz.key,
                "working": session.settings.calendar().is_working(now),
            },
            "people": people,
            "alerts": alerts,
            "scenarios": [{"key": s.key, "title": translate(self.locale, s.title)} for s in ORDER],
            "scenario": scenario,
        }

    def _message(self, session: Session, message: ChatMessage, now: datetime) -> dict[str, Any]:
        seen = session.seen.setdefault((message.chat_id, message.message_id), now)
        local = seen.astimezone(session.clock.now().tzinfo)
        buttons = [
            [{"text": b.get("text", ""), "data": b.get("callback_data"), "url": b.get("url")} for b in row]
            for row in message.inline_keyboard
        ]
        forward = None
        if message.forward_origin:
            origin = message.forward_origin
            forward = (
                (origin.get("chat") or {}).get("title")
                or (origin.get("sender_user") or {}).get("first_name")
                or origin.get("sender_user_name")
                or "?"
            )
        return {
            "id": message.message_id,
            "mine": not message.from_bot,
            "text": message.content,
            "edits": message.edits,
            "deleted": message.deleted,
            "media": message.media.kind if message.media else None,
            "file_name": message.media.file_name if message.media else None,
            "file_id": message.media.file_id if message.media else None,
            "forward": forward,
            "buttons": buttons,
            "time": local.strftime("%H:%M"),
            "date": local.strftime("%d.%m"),
        }

    # ----- what the page does ---------------------------------------------------------------------------------

    def _user(self, person: Any) -> UserChat:
        session = self._session()
        if not isinstance(person, str) or person not in session.users:
            raise _Refused(404, N_("no such participant"))
        return session.users[person]

    def _session(self) -> Session:
        if self.session is None:
            raise _Refused(409, N_("the sandbox is restarting, try again in a second"))
        return self.session

    @staticmethod
    def _text(value: Any, *, required: bool) -> str | None:
        if value is None or value == "":
            if required:
                raise _Refused(400, N_("empty message"))
            return None
        if not isinstance(value, str):
            raise _Refused(400, N_("the text must be a string"))
        if len(value.encode("utf-16-le")) // 2 > MAX_INPUT:
            raise _Refused(
                400, N_("the message is longer than {limit} characters: Telegram would not send it"), limit=MAX_INPUT
            )
        return value

    @staticmethod
    def _photo(body: dict[str, Any]) -> bool | bytes:
        """``image`` (base64 of a JPEG or PNG the person chose) or ``photo`` (true: a stand-in picture)."""
        image = body.get("image")
        if image in (None, ""):
            return bool(body.get("photo"))
        if not isinstance(image, str) or len(image) > MAX_IMAGE * 4 // 3 + 4:
            raise _Refused(400, N_("the picture is larger than {mb} MB"), mb=MAX_IMAGE // 1024 // 1024)
        try:
            data = base64.b64decode(image, validate=True)
        except ValueError:
            raise _Refused(400, N_("the picture is damaged")) from None
        if not data.startswith(IMAGE_MAGIC):
            raise _Refused(400, N_("a JPEG or PNG picture is needed"))
        return data

    async def send(self, body: dict[str, Any]) -> None:
        """A person writes to the bot: text, or a photo with the text as its caption."""
        user = self._user(body.get("person"))
        photo = self._photo(body)
        text = self._text(body.get("text"), required=not photo)
        await user.send(text, photo=photo)

    async def forward(self, body: dict[str, Any]) -> None:
        """A person forwards a post from a channel (its title ``channel``) with its text (and photo)."""
        user = self._user(body.get("person"))
        text = self._text(body.get("text"), required=True)
        channel = body.get("channel") or "Подслушано в районе"
        if not isinstance(channel, str) or len(channel) > 128:
            raise _Refused(400, N_("the channel's title is a string of up to 128 characters"))
        await user.forward(text, from_chat_title=channel, photo=self._photo(body))

    def image(self, file_id: str) -> bytes | None:
        """The bytes of a picture a person uploaded (and the bot may have sent on), None for anything else."""
        session = self.session
        stored = session.api.files.get(file_id) if session is not None else None
        if stored is None or not stored.data.startswith(IMAGE_MAGIC):
            return None
        return stored.data

    async def press(self, body: dict[str, Any]) -> None:
        """A person presses an inline button that their chat shows now on that message."""
        user = self._user(body.get("person"))
        message_id, data = body.get("message_id"), body.get("data")
        if not isinstance(message_id, int) or not isinstance(data, str):
            raise _Refused(400, N_("the button's message_id and data are needed"))
        message = next((m for m in user.history if m.message_id == message_id and m.from_bot), None)
        if message is None or message.deleted:
            raise _Refused(404, N_("this message is gone"))
        if not any(b.get("callback_data") == data for row in message.inline_keyboard for b in row):
            raise _Refused(409, N_("this button is no longer on the message — the screen has been updated"))
        await user.press_data(message, data)

    async def set_clock(self, body: dict[str, Any]) -> None:
        """Change the clock's speed, jump ahead some minutes, or jump to the next working morning; the reminder
        sweep then runs at once so what fell due shows."""
        session = self._session()
        if "speed" in body:
            speed = body["speed"]
            if not isinstance(speed, int | float) or isinstance(speed, bool) or not 0 < speed <= 3600:
                raise _Refused(400, N_("the speed is a number above 0, up to 3600"))
            session.clock.set_speed(float(speed))
        elif "advance_minutes" in body:
            minutes = body["advance_minutes"]
            if not isinstance(minutes, int) or isinstance(minutes, bool) or not 0 < minutes <= 7 * 24 * 60:
                raise _Refused(400, N_("the jump is a whole number of minutes, up to a week"))
            session.clock.advance(timedelta(minutes=minutes))
        elif body.get("jump") == "morning":
            session.clock.set(next_working_morning(session.settings.calendar(), session.clock.now()))
        else:
            raise _Refused(400, N_("give speed, advance_minutes or jump"))
        self._bump()
        await session.app.sweep.run_once()
        session.app.services.outbox_ready.set()

    async def choose_scenario(self, body: dict[str, Any]) -> None:
        """Start a guided scenario; it follows the next incident registered."""
        session = self._session()
        key = body.get("scenario")
        if key in (None, ""):
            session.scenario = None
        else:
            try:
                session.scenario = get_scenario(str(key), session.settings.preset().multi_mode.value)
            except KeyError:
                raise _Refused(404, N_("no such scenario")) from None
            known = await self.incidents()
            session.scenario_after = max((i.id or 0 for i in known), default=0)
            session.scenario_done = 0
        self._bump()


class _Refused(Exception):
    """What the page asked for is refused: the HTTP ``status`` and the reason (a msgid, formatted with ``params``)."""

    def __init__(self, status: int, message: str, **params: object) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.params = params


def make_web_app(sandbox: Sandbox) -> web.Application:
    """The page (static files) and its JSON API (see the module's docstring) over ``sandbox``."""
    app = web.Application(client_max_size=8 * 1024 * 1024)

    async def index(request: web.Request) -> web.Response:
        return web.Response(text=render_index(sandbox.locale), content_type="text/html")

    async def state(request: web.Request) -> web.Response:
        since = request.query.get("since")
        if since:
            await sandbox.wait_change(since)
        return web.json_response(await sandbox.state())

    def refuse(refused: _Refused) -> web.Response:
        text = translate(sandbox.locale, refused.message, **refused.params)
        return web.json_response({"error": text}, status=refused.status)

    def action(method: Any) -> Any:
        async def handle(request: web.Request) -> web.Response:
            try:
                body = await request.json()
            except (json.JSONDecodeError, UnicodeDecodeError):
                return refuse(_Refused(400, N_("the request's body is not JSON")))
            if not isinstance(body, dict):
                return refuse(_Refused(400, N_("the request's body must be a JSON object")))
            try:
                await method(body)
            except _Refused as refused:
                return refuse(refused)
            return web.json_response({"ok": True, "key": sandbox.key()})

        return handle

    async def reset(body: dict[str, Any]) -> None:
        preset = str(body.get("preset") or "")
        if preset != CONFIGURED and preset not in PRESETS:
            raise _Refused(400, N_("unknown regulation {name}"), name=repr(preset))
        if preset == CONFIGURED and not sandbox.configured:
            raise _Refused(400, N_("no configuration given: start the sandbox with --config"))
        await sandbox.reset(preset)

    async def image(request: web.Request) -> web.Response:
        data = sandbox.image(request.match_info["file_id"])
        if data is None:
            return refuse(_Refused(404, N_("no such picture")))
        return web.Response(body=data, content_type="image/png" if data.startswith(b"\x89PNG") else "image/jpeg")

    app.router.add_get("/", index)
    app.router.add_get("/api/file/{file_id}", image)
    app.router.add_static("/static/", STATIC)
    app.router.add_get("/api/state", state)
    app.router.add_post("/api/send", action(sandbox.send))
    app.router.add_post("/api/forward", action(sandbox.forward))
    app.router.add_post("/api/press", action(sandbox.press))
    app.router.add_post("/api/clock", action(sandbox.set_clock))
    app.router.add_post("/api/scenario", action(sandbox.choose_scenario))
    app.router.add_post("/api/reset", action(reset))
    return app


@contextlib.asynccontextmanager
async def serving(sandbox: Sandbox, host: str = "127.0.0.1", port: int = 8080) -> AsyncIterator[str]:
    """Start ``sandbox`` and its page on ``host:port`` (0: a free port); yields the page's address. Everything
    stops when the block ends."""
    await sandbox.start()
    runner = web.AppRunner(make_web_app(sandbox), access_log=None, shutdown_timeout=1.0)
    try:
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound_host, bound_port = runner.addresses[0][:2]
        shown = f"[{bound_host}]" if ":" in str(bound_host) else bound_host
        yield f"http://{shown}:{bound_port}/"
    finally:
        await runner.cleanup()
        await sandbox.close()


async def run(sandbox: Sandbox, host: str, port: int, ready: Callable[[str], None]) -> None:
    """Serve until SIGINT/SIGTERM; ``ready`` gets the page's address once it answers."""
    import signal

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signal_number, stop.set)
    async with serving(sandbox, host, port) as url:
        ready(url)
        await stop.wait()
