"""The HTTP intake API (SPEC §7): a monitoring system posts the incidents it finds, as JSON.

``POST /api/v1/incidents`` with ``Authorization: Bearer <token>`` and a JSON object::

    {"source_id": "im-48213", "url": "https://vk.com/wall-1_5", "text": "…", "author": "…",
     "detected_at": "2026-11-25T10:30:00+03:00", "topics": ["Дороги"], "location": "с. Ключи",
     "importance": "high", "kind": "incident", "network": "vk"}

The contract is published as OpenAPI 3.1 (``bot/intake_openapi.json``, served at
``GET /api/v1/openapi.json``); tests check the server's answers against it. Every field but a link
or a text may be left out; ``detected_at`` without an offset is the organisation's local time, and
missing means now. The post goes through the same validator as an imported file
(bot.intake_rules) and the same domain call as a forwarded post. Every answer is JSON:

* 201 ``{"number": 12, "created": true}`` — registered; the curators see it as usual. A post the screening
  flags as possibly not to be answered (issue 13 §2: obscene, insulting, threatening) adds
  ``"flags": [{"kind": "obscenity"|"insult"|"threat", "words": [...]}]``; the curator's card shows the flag
  and «Не подлежит рассмотрению» offers the reason filled in — a person decides;
* 200 ``{"number": 12, "created": false}`` — this post is registered already: the same
  ``source_id`` with the same post, or the same post (bot.domain.links: its link in any form; without a
  link, the same text at the same moment) under any ``source_id``. Sending again is safe, also to
  several bot instances at once (the database's unique keys decide); the screening's ``flags`` come again,
  so a sender that lost the 201 (a timeout) learns all it would have;
* 409 ``{"error": "conflict", "number": 12, "problems": [...]}`` — the ``source_id`` belongs to
  incident 12, registered for another post;
* 400 ``{"error": "invalid", "problems": [...]}`` — nothing registered; each problem is
  ``{"field", "code", "message"}`` with a stable code;
* 401 (with ``WWW-Authenticate: Bearer``), 404, 405, 413 (body over 256 KB), 415 (not JSON),
  503 (``no_curator``: the configured curator has not been set up), 500: ``{"error", "problems"}``.

``GET /api/v1/health`` answers 200 ``{"status": "ok"}`` without a token.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from aiohttp import web

from bot import assistant
from bot.domain.errors import IllegalTransition
from bot.domain.incident import Role
from bot.intake_rules import FIELDS, Context, IntakeLimits, Problem, check
from bot.services import Registered, Services

log = logging.getLogger(__name__)

MAX_BODY = 256 * 1024
OPENAPI = Path(__file__).with_name("intake_openapi.json")
REALM = 'Bearer realm="otklik intake"'

# Answers aiohttp gives by itself (no route, wrong method, body too large), as the API's own codes.
HTTP_ERRORS = {
    404: ("not_found", "path", "no such address; the API is POST /api/v1/incidents (see /api/v1/openapi.json)"),
    405: ("method_not_allowed", "method", "this address does not take this method"),
    413: ("too_large", "body", f"the body is over {MAX_BODY // 1024} KB"),
}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def refusal(status: int, error: str, problems: Sequence[Problem], **more: Any) -> web.Response:
    """An error answer: ``{"error": <code>, "problems": [{"field", "code", "message"}], …more}``."""
    body = {"error": error, **more, "problems": [p.as_json() for p in problems]}
    return web.json_response(body, status=status)


def make_app(
    services: Services,
    tokens: Sequence[str],
    curator_telegram_id: int | None,
    limits: IntakeLimits | None = None,
    health: Handler | None = None,
) -> web.Application:
    """The API as an aiohttp application; ``tokens``: the accepted bearer tokens; incidents are
    registered in the name of the curator with this Telegram id; ``limits``: bounds on the moment of
    detection (default: the config's ``[intake]``); ``health``: the handler of ``GET /api/v1/health``
    (``bot.metrics.health_handler``; default: 200 ``{"status": "ok"}`` whenever the API answers)."""
    secrets = [t.encode() for t in tokens if t.strip()]
    bounds = limits or IntakeLimits.of(services.settings)
    registering = asyncio.Lock()  # check-then-register is one step, so a post sent twice at once is registered once

    @web.middleware
    async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
        """404, 405, 413 and unexpected failures answer JSON like everything else."""
        try:
            return await handler(request)
        except web.HTTPException as exc:
            error, field, message = HTTP_ERRORS.get(exc.status, ("http_error", "body", exc.reason))
            answer = refusal(exc.status, error, [Problem(field, error, message)])
            if "Allow" in exc.headers:
                answer.headers["Allow"] = exc.headers["Allow"]
            return answer
        except Exception:
            log.exception("intake API: %s %s failed", request.method, request.path)
            problem = Problem("body", "internal", "the bot failed to handle this request; nothing was registered")
            return refusal(500, "internal", [problem])

    async def up(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def openapi(_: web.Request) -> web.Response:
        return web.Response(body=OPENAPI.read_bytes(), content_type="application/json")

    def authorized(request: web.Request) -> bool:
        # RFC 7235: the scheme is case-insensitive ("bearer", "Bearer", "BEARER").
        scheme, _, offered = request.headers.get("Authorization", "").strip().partition(" ")
        token = offered.strip().encode()
        return scheme.lower() == "bearer" and bool(token) and any(hmac.compare_digest(token, s) for s in secrets)

    async def post_incident(request: web.Request) -> web.Response:
        if not authorized(request):
            problem = Problem("Authorization", "unauthorized", "send the header «Authorization: Bearer <token>»")
            answer = refusal(401, "unauthorized", [problem])
            invalid = ', error="invalid_token"' if request.headers.get("Authorization") else ""
            answer.headers["WWW-Authenticate"] = REALM + invalid  # RFC 6750 §3
            return answer
        if request.content_type != "application/json":
            problem = Problem("Content-Type", "unsupported_media_type", "send the incident as application/json")
            return refusal(415, "unsupported_media_type", [problem])
        body, problems = parse_body(await request.read())
        if problems:
            return refusal(400, "invalid", problems)
        person = await services.identify(curator_telegram_id) if curator_telegram_id is not None else None
        if person is None or not person.has(Role.curator):
            problem = Problem("body", "no_curator", "the curator who registers incidents is not set up in the bot")
            return refusal(503, "no_curator", [problem])
        async with registering:
            context = Context(
                services.workflow, person, await services.directory(), services.clock.now(), bounds, iso_only=True
            )
            checked = check(context, [(1, body)])
            if checked.errors:
                return refusal(400, "invalid", checked.errors[0][1])
            source, options = checked.rows[0].source, checked.rows[0].options
            found = await services.find_registered(source)
            if found is None:
                try:
                    incident = await services.register(person, [source], **options, via="api")
                    answer = {"number": incident.id, "created": True, **_flags(services, source.text)}
                    return web.json_response(answer, status=201)
                except IllegalTransition as exc:  # another instance registered it a moment ago
                    found = await services.find_registered(source) if exc.key == "already_registered" else None
                    if found is None:
                        raise
        return registered(found, source.external_id, _flags(services, source.text))

    app = web.Application(client_max_size=MAX_BODY, middlewares=[json_errors])
    app.router.add_get("/api/v1/health", health or up)
    app.router.add_get("/api/v1/openapi.json", openapi)
    app.router.add_post("/api/v1/incidents", post_incident)
    return app


def _flags(services: Services, text: str | None) -> dict[str, Any]:
    """``{"flags": [...]}`` when the screening flags the post's text (bot.assistant.flagged), else ``{}``: the
    201 and the 200 answers carry it alike."""
    flags = assistant.flagged(services, text or "")
    return {"flags": flags} if flags else {}


def registered(found: Registered, source_id: str | None, flags: dict[str, Any] | None = None) -> web.Response:
    """The answer for a post registered already: 200 (with the screening's ``flags``, ``{"flags": [...]}`` or
    empty, as the 201 had them), or 409 when its source id names another post."""
    if found.conflict:
        message = f"source_id «{source_id}» belongs to incident No. {found.number}, registered for another post"
        return refusal(409, "conflict", [Problem("source_id", "source_id_taken", message)], number=found.number)
    return web.json_response({"number": found.number, "created": False, **(flags or {})}, status=200)


def parse_body(raw: bytes) -> tuple[dict[str, Any], list[Problem]]:
    """The request body as {field: value}, or what is wrong with its shape: not UTF-8 JSON (a UTF-8
    byte order mark is allowed), nested too deeply for the parser (``invalid_json``: a post's fields are
    flat, so nothing usable is refused), not an object, unknown fields, values of the wrong JSON type.
    Characters no database can store are the validator's (bot.intake_rules: ``bad_character``)."""
    try:
        body = json.loads(raw.removeprefix(b"\xef\xbb\xbf").decode("utf-8"))
    except UnicodeDecodeError:
        return {}, [Problem("body", "invalid_json", "the body is not UTF-8 text")]
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}"
        return {}, [Problem("body", "invalid_json", f"the body is not valid JSON: {exc.msg} ({where})")]
    except RecursionError:  # [[[[…]]]] deeper than Python's parser goes: a body no retry can make right
        return {}, [Problem("body", "invalid_json", "the body is nested too deeply to be read as a post")]
    if not isinstance(body, dict):
        message = f"the body must be a JSON object with the post's fields (url, text, …), not {_json_type(body)}"
        return {}, [Problem("body", "not_an_object", message)]
    problems = []
    for name, value in body.items():
        if name not in FIELDS:
            known = ", ".join(FIELDS)
            problems.append(Problem(name, "unknown_field", f"unknown field «{name}»; the fields are: {known}"))
        elif value is None:
            continue
        elif name == "topics":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                shown = _json_type(value) if not isinstance(value, list) else "a list with other values"
                problems.append(Problem(name, "wrong_type", f"must be a list of topic names (strings), not {shown}"))
        elif not isinstance(value, str):
            problems.append(Problem(name, "wrong_type", f"must be a string, not {_json_type(value)}"))
    return body, problems


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    return {dict: "an object", list: "an array", str: "a string"}.get(type(value), "null")


async def start(app: web.Application, host: str, port: int) -> web.AppRunner:
    """Serve ``app`` on ``host``:``port`` (plain HTTP: a TLS proxy goes in front) until the returned runner's
    ``cleanup()``. Raises OSError when the address cannot be bound (in use, not this machine's)."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner
