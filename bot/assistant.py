"""The assistant's helps around the workflow (issue 13 §2–§5), each switched by ``[assistant]`` in the config:

- ``screening``: a post flagged as obscene, insulting or threatening on its registration card
  (bot.domain.screening); the curator decides whether it is not to be answered;
- ``similar``: open and recent incidents whose post says the same in other words (bot.domain.similar), their
  lemmas stored at registration (``remember_text``);
- ``routing_hints``: the departments to pre-tick when routing — the one that last answered this topic and
  location without returning it "not ours", else the rubricator's (``topics`` entries naming a department);
- ``templates``: answer templates per topic, kept by administrators and responsible officials, filled in
  for an executor's draft (placeholders ``{номер}``, ``{адрес}``, ``{срок}``).

Functions take the ``Services`` (sessions, clock, settings) and open their own short transactions, except
``remember_text`` and ``record_suggestion``, which write inside the registering or routing transaction.
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain import screening, similar
from bot.domain.errors import InvalidInput, NotAllowed, NotFound
from bot.domain.incident import DeadlineKind, Incident, Role
from storage.assistant import AssistantRepository, RoutingFigures, TemplateRecord

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.services import Person, Services

SIMILAR_WINDOW = timedelta(days=30)  # closed incidents detected this recently are still offered as the same question
MAX_TEMPLATE_TITLE = 100
MAX_TEMPLATE_TEXT = 4000
PLACEHOLDERS = ("{номер}", "{адрес}", "{срок}")


def warm_up_assistant(settings: Settings) -> None:
    """Load what the helps that are on need (pymorphy3's dictionary, the screening's word lists) now, at start,
    so the first registration card is not slowed by it (about 1 s); nothing when both are off."""
    if settings.assistant.screening:
        screening.warm_up()
    if settings.assistant.similar:
        similar.normalise("Проверка связи")


def enabled(services: Services, help_name: str) -> bool:
    """Whether the help ``help_name`` ("screening", "similar", "routing_hints", "templates") is on: the
    config's ``[assistant]`` switch; on when the services run without settings (tests, tools)."""
    settings = services.settings
    return True if settings is None else bool(getattr(settings.assistant, help_name))


# --- §2 not to be answered -------------------------------------------------------------------------------------


def screen(services: Services, text: str) -> list[screening.Flag]:
    """The screening's flags for a post's text (obscenity, insult, threat with the words that triggered them);
    none when ``[assistant] screening = false``."""
    if not enabled(services, "screening") or not text.strip():
        return []
    return list(_screened(text))


def flagged(services: Services, text: str) -> list[dict[str, Any]]:
    """The screening's flags for a post's text as JSON-ready dicts, ``[{"kind": "threat", "words": ["убью"]}]``
    (kinds: bot.domain.screening.Kind): what the registration card keeps, the intake API answers and an import
    counts; ``[]`` for a clean post or when ``[assistant] screening = false``."""
    return [{"kind": f.kind.value, "words": list(f.words)} for f in screen(services, text)]


@functools.lru_cache(maxsize=1024)
def _screened(text: str) -> tuple[screening.Flag, ...]:
    # An incident card is drawn again and again (every press, every reminder) while it waits for the curator.
    return tuple(screening.screen_post(text))


# --- §3 repeats by meaning -------------------------------------------------------------------------------------


async def remember_text(services: Services, session: AsyncSession, incident: Incident) -> None:
    """Store the incident's post as lemmas (bot.domain.similar.normalise) in the registering transaction, so
    later checks compare strings; nothing when ``[assistant] similar = false``."""
    if incident.id is None or not incident.sources or not enabled(services, "similar"):
        return
    await AssistantRepository(session).put_lemmas([(incident.id, similar.normalise(incident.sources[0].text))])


async def similar_incidents(
    services: Services,
    text: str,
    topic_id: int | None = None,
    location_id: int | None = None,
    exclude: Sequence[int] = (),
) -> list[similar.Similar]:
    """The open incidents, and those detected within SIMILAR_WINDOW (30 days), whose post is most like
    ``text`` — on the same topic or at the same location when either is given — best first, up to
    bot.domain.similar.SIMILAR_LIMIT, each at least SIMILAR_CUTOFF per cent alike; ``exclude``: numbers already
    offered. Empty when ``[assistant] similar = false``.

    The candidates' lemmas come from an in-memory pool (_SimilarPool) that re-reads only the incidents changed
    since its last look, so a check against 10,000 open incidents compares strings instead of reading them all."""
    if not enabled(services, "similar") or not text.strip():
        return []
    lemmas = similar.normalise(text)
    if len(lemmas.split()) < similar.MIN_LEMMAS:
        return []
    since = services.clock.now() - SIMILAR_WINDOW
    pool = _POOLS.get(services)
    if pool is None:
        pool = _POOLS[services] = _SimilarPool()
    candidates = await pool.candidates(services, since, topic_id, location_id)
    for number in exclude:
        candidates.pop(number, None)
    return similar.find_similar(lemmas, candidates)


async def preload_similar(services: Services) -> None:
    """Read the repeat-by-meaning pool now (at start), so the first registration card does not wait for it;
    nothing when ``[assistant] similar = false``."""
    if enabled(services, "similar"):
        pool = _POOLS.setdefault(services, _SimilarPool())
        await pool.candidates(services, services.clock.now() - SIMILAR_WINDOW, None, None)


# A transaction commits after it stamped ``updated_at`` (an import holds its rows up to a few minutes): the pool
# re-reads every incident changed this long before the latest change it saw.
POOL_MARGIN = timedelta(minutes=10)


@dataclass(slots=True)
class _PoolEntry:
    lemmas: str
    closed: bool
    detected_at: datetime
    location_id: int | None
    topics: frozenset[int]


@dataclass
class _SimilarPool:
    """The incidents a new post may repeat, with their lemmas, kept in memory per Services and brought up to date
    from the database (``incidents.updated_at``, indexed) before each check; any instance's changes are seen."""

    entries: dict[int, _PoolEntry] = field(default_factory=dict)
    watermark: datetime | None = None  # the latest updated_at seen (the database's clock)

    async def candidates(
        self, services: Services, since: datetime, topic_id: int | None, location_id: int | None
    ) -> dict[int, str]:
        """{incident number: lemmas} of the open ones and those detected since ``since``; with ``topic_id`` or
        ``location_id``, on that topic or at that location."""
        changed_since = self.watermark - POOL_MARGIN if self.watermark is not None else None
        async with services.sessions() as session:
            rows, topics = await AssistantRepository(session).pool_rows(since, changed_since)
        for row in rows:
            self.watermark = row.updated_at if self.watermark is None else max(self.watermark, row.updated_at)
            known = self.entries.get(row.id)
            if row.split or (row.closed and row.detected_at < since):
                self.entries.pop(row.id, None)
                continue
            lemmas = row.lemmas if row.lemmas is not None else (known.lemmas if known else None)
            if lemmas is None:
                lemmas = similar.normalise(row.text or "")
            self.entries[row.id] = _PoolEntry(
                lemmas, row.closed, row.detected_at, row.location_id, frozenset(topics.get(row.id, ()))
            )
        found: dict[int, str] = {}
        stale: list[int] = []
        for number, entry in self.entries.items():
            if entry.closed and entry.detected_at < since:
                stale.append(number)
            elif (topic_id is None and location_id is None) or (
                topic_id in entry.topics or (location_id is not None and entry.location_id == location_id)
            ):
                found[number] = entry.lemmas
        for number in stale:
            del self.entries[number]
        return found


_POOLS: weakref.WeakKeyDictionary[Services, _SimilarPool] = weakref.WeakKeyDictionary()


# --- §4 where to route -------------------------------------------------------------------------------------------


async def suggest_departments(
    services: Services, topic_ids: Sequence[int], location_id: int | None, exclude: Iterable[int] = ()
) -> list[int]:
    """The departments to pre-tick for an incident on ``topic_ids`` at ``location_id`` (directory ids): those
    that last answered an incident on its topic at its location without returning it "not ours" (a curator's
    change of an earlier suggestion is remembered so), else on its topic anywhere, else the rubricator's
    department of each topic (config ``topics`` entries ``{ name, department }``). Active departments only,
    none of ``exclude`` (those that returned this incident "not ours"); empty when nothing is known or
    ``[assistant] routing_hints = false``."""
    if not enabled(services, "routing_hints") or not topic_ids:
        return []
    directory = await services.directory()
    active = {d.id for d in directory.departments} - set(exclude)
    async with services.sessions() as session:
        repo = AssistantRepository(session)
        found = await repo.last_departments(topic_ids, location_id) if location_id is not None else []
        if not found:
            found = await repo.last_departments(topic_ids, None)
    found = [d for d in found if d in active]
    if found or services.settings is None:
        return found
    by_name = {d.name: d.id for d in directory.departments}
    names = {d.code: d.name for d in services.settings.departments}
    routes = services.settings.topic_departments
    suggested = [by_name.get(names.get(routes.get(directory.topics.get(t, ""), ""), ""), 0) for t in topic_ids]
    return list(dict.fromkeys(d for d in suggested if d in active))


def record_suggestion(
    suggested: Sequence[int], chosen: Sequence[int]
) -> Callable[[AsyncSession, Incident, datetime], Awaitable[None]]:
    """The write that remembers, in the routing transaction, which departments were suggested and whether the
    curator routed to exactly those (Services.route's ``suggested``)."""

    async def write(session: AsyncSession, incident: Incident, now: datetime) -> None:
        assert incident.id is not None
        await AssistantRepository(session).record_suggestion(incident.id, suggested, chosen, now)

    return write


async def routing_figures(services: Services, start: datetime, end: datetime) -> RoutingFigures:
    """Routing of the incidents detected in [start, end) (aware): how many were routed with a suggestion and
    how many exactly as suggested, how many routed at all and how many a department returned "not ours"."""
    async with services.sessions() as session:
        return await AssistantRepository(session).routing_figures(start, end)


# --- §5 answer templates -----------------------------------------------------------------------------------------


def template_departments(person: Person) -> list[int] | None:
    """Whose templates ``person`` keeps: None for an administrator (all), else the departments they are
    responsible for. Raises NotAllowed ``templates_role`` for anybody else."""
    if person.has(Role.admin):
        return None
    if person.responsible_for:
        return sorted(person.responsible_for)
    raise NotAllowed("only administrators and responsible officials keep templates", key="templates_role")


async def templates_for(services: Services, person: Person, topic_ids: Sequence[int] = ()) -> list[TemplateRecord]:
    """The templates ``person`` may use or keep: an administrator's all; a responsible official's or an
    executor's, the organisation's and their departments'. With ``topic_ids``, those for one of these
    topics or any topic, the topic's own first."""
    departments = None if person.has(Role.admin) else sorted(person.departments | person.responsible_for)
    async with services.sessions() as session:
        found = await AssistantRepository(session).templates(departments)
    if topic_ids:
        found = [t for t in found if t.topic_id is None or t.topic_id in topic_ids]
        found.sort(key=lambda t: t.topic_id is None)
    return found


async def template_for(services: Services, person: Person, template_id: int, *, keep: bool) -> TemplateRecord:
    """One template ``person`` may use (``keep`` False) or edit and delete (``keep`` True: an administrator
    any, a responsible official their departments'). Raises NotFound ``template_gone`` (param ``id``) when
    there is none or it is not theirs; NotAllowed ``templates_role`` when ``keep`` and they keep no templates."""
    allowed = template_departments(person) if keep else None
    async with services.sessions() as session:
        found = await AssistantRepository(session).template(template_id)
    mine = person.departments | person.responsible_for
    visible = found is not None and (
        person.has(Role.admin) or found.department_id is None or found.department_id in mine
    )
    if found is None or not visible or (allowed is not None and found.department_id not in allowed):
        raise NotFound("no such template", key="template_gone", id=template_id)
    return found


def _check_text(title: str, text: str) -> tuple[str, str]:
    """The title and text stripped; InvalidInput ``empty_template`` / ``long_template`` when they will not do."""
    title, text = title.strip(), text.strip()
    if not title or not text:
        raise InvalidInput("empty template", key="empty_template")
    if len(title) > MAX_TEMPLATE_TITLE or len(text) > MAX_TEMPLATE_TEXT:
        raise InvalidInput("template too long", key="long_template", limit=MAX_TEMPLATE_TEXT)
    return title, text


async def add_template(
    services: Services, person: Person, topic_id: int | None, department_id: int | None, title: str, text: str
) -> int:
    """Store a template for ``topic_id`` (None: any) owned by ``department_id`` (None: the organisation's, for
    an administrator only). Returns its id. Raises NotAllowed ``templates_role`` (not an administrator nor the
    department's responsible official); InvalidInput ``empty_template`` / ``long_template`` (title over
    MAX_TEMPLATE_TITLE or text over MAX_TEMPLATE_TEXT characters)."""
    allowed = template_departments(person)
    if allowed is not None and department_id not in allowed:
        raise NotAllowed("not your department", key="templates_role")
    title, text = _check_text(title, text)
    async with services.sessions() as session, session.begin():
        return await AssistantRepository(session).add_template(
            topic_id, department_id, title, text, person.id, services.clock.now()
        )


async def edit_template(services: Services, person: Person, template_id: int, text: str) -> None:
    """Replace the text of a template ``person`` keeps. Raises as template_for (keep) and _check_text."""
    found = await template_for(services, person, template_id, keep=True)
    _, text = _check_text(found.title, text)
    async with services.sessions() as session, session.begin():
        await AssistantRepository(session).update_template(template_id, text, services.clock.now())


async def delete_template(services: Services, person: Person, template_id: int) -> None:
    """Delete a template ``person`` keeps. Raises as template_for (keep)."""
    await template_for(services, person, template_id, keep=True)
    async with services.sessions() as session, session.begin():
        await AssistantRepository(session).delete_template(template_id)


def fill_template(text: str, incident: Incident, local_deadline: str) -> str:
    """The template's text with its placeholders filled for ``incident``: ``{номер}`` its number, ``{адрес}``
    the post's link (or «—» without one), ``{срок}`` ``local_deadline`` (the answer deadline as the
    organisation's local time, rendered by the caller). Other braces stay as written."""
    url = incident.sources[0].url if incident.sources and incident.sources[0].url else "—"
    return text.replace("{номер}", str(incident.id or "")).replace("{адрес}", url).replace("{срок}", local_deadline)


def answer_deadline(incident: Incident) -> datetime | None:
    """The deadline an answer is due by: the answer's, else the final answer's (aware UTC), or None."""
    return incident.deadlines.get(DeadlineKind.answer) or incident.deadlines.get(DeadlineKind.final)
