"""The HTTP intake API (SPEC §7): a monitoring system posts the incidents it finds, as JSON.

``POST /api/v1/incidents`` with ``Authorization: Bearer <token>`` and a JSON object::

    {"source_id": "im-48213", "url": "https://vk.com/wall-1_5", "text": "…", "author": "…",
     "detected_at": "2026-11-25T10:30:00+03:00", "topics": ["Дороги"], "location": "с. Ключи",
     "importance": "high", "kind": "incident", "network": "vk"}

Every field but a link or a text may be left out; ``detected_at`` without an offset is the
organisation's local time, and missing means now. The row goes through the same checks and the
same domain call as a forwarded post or an imported file. Answers are JSON:

* 201 ``{"number": 12, "created": true}`` — registered; the curators see it as usual;
* 200 ``{"number": 12, "created": false}`` — this post was registered before (the same
  ``source_id``, the same link, or the same text at the same moment): sending again is safe, also
  to several bot instances at once (``source_id`` is unique in the database);
* 400 ``{"error": "invalid", "problems": [...]}`` — what is wrong, nothing registered;
* 401 ``{"error": "unauthorized"}``, 413 (body over 256 KB), 415 (not JSON),
  503 ``{"error": "no_curator"}`` when the configured curator has not been set up.

``GET /api/v1/health`` answers 200 ``{"status": "ok"}`` without a token.
"""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.errors import IllegalTransition
from bot.importing import Table, check
from bot.incident import Role
from bot.services import Services

MAX_BODY = 256 * 1024


class IncidentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source_id: str | None = Field(None, min_length=1, max_length=255)
    url: str | None = Field(None, max_length=2048)
    text: str | None = None
    author: str | None = Field(None, max_length=255)
    network: str | None = Field(None, max_length=32)
    detected_at: str | None = Field(None, max_length=64)
    importance: str | None = Field(None, max_length=32)
    kind: str | None = Field(None, max_length=32)
    topics: list[str] = Field(default_factory=list, max_length=20)
    location: str | None = Field(None, max_length=255)


def make_app(services: Services, tokens: Sequence[str], curator_telegram_id: int | None) -> web.Application:
    secrets = [t.encode() for t in tokens if t.strip()]
    registering = asyncio.Lock()  # check-then-register is one step, so a post sent twice at once is registered once

    def refuse(status: int, error: str, **more: Any) -> web.Response:
        return web.json_response({"error": error, **more}, status=status)

    async def health(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def post_incident(request: web.Request) -> web.Response:
        offered = request.headers.get("Authorization", "").removeprefix("Bearer ").strip().encode()
        if not offered or not any(hmac.compare_digest(offered, secret) for secret in secrets):
            return refuse(401, "unauthorized")
        if request.content_type != "application/json":
            return refuse(415, "unsupported_media_type", problems=["send the incident as application/json"])
        try:
            body = await request.json()
        except ValueError:
            return refuse(400, "invalid", problems=["the body is not valid JSON"])
        try:
            incoming = IncidentIn.model_validate(body)
        except ValidationError as exc:
            problems = [f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in exc.errors()]
            return refuse(400, "invalid", problems=problems)
        person = await services.identify(curator_telegram_id) if curator_telegram_id is not None else None
        if person is None or not person.has(Role.curator):
            return refuse(503, "no_curator", problems=["the curator who registers incidents is not set up"])
        values = {
            "url": incoming.url,
            "text": incoming.text,
            "author": incoming.author,
            "network": incoming.network,
            "detected": incoming.detected_at,
            "importance": incoming.importance,
            "kind": incoming.kind,
            "topic": "; ".join(incoming.topics),
            "location": incoming.location,
        }
        table = Table([(1, values)], [])
        async with registering:
            checked = check(services.workflow, person, await services.directory(), table, services.clock.now())
            if checked.errors:
                return refuse(400, "invalid", problems=checked.errors[0][1])
            row = checked.rows[0]
            source = replace(row.source, external_id=incoming.source_id)
            existing = await services.already_registered(source)
            if existing is not None:
                return web.json_response({"number": existing, "created": False}, status=200)
            try:
                incident = await services.register(person, [source], **row.options, via="api")
            except IllegalTransition as exc:
                existing = await services.already_registered(source) if exc.key == "already_registered" else None
                if existing is None:
                    raise
                return web.json_response({"number": existing, "created": False}, status=200)
        return web.json_response({"number": incident.id, "created": True}, status=201)

    app = web.Application(client_max_size=MAX_BODY)
    app.router.add_get("/api/v1/health", health)
    app.router.add_post("/api/v1/incidents", post_incident)
    return app


async def start(app: web.Application, host: str, port: int) -> web.AppRunner:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner
