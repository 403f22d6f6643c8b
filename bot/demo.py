"""Synthetic incidents for trying the bot and for benchmarks, made through the domain so they obey the rules.

Every incident is registered, routed, answered, returned, clarified and published by ``Workflow``
transitions on a moving clock and stored with ``IncidentRepository`` — the same calls the bot makes —
so deadlines, on-time marks, working-time clocks and the audit trail are what real use would leave.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain.errors import DomainError
from bot.domain.incident import (
    DraftKind,
    Importance,
    Incident,
    Kind,
    MultiMode,
    Network,
    ReturnReason,
    Role,
    Source,
    State,
)
from bot.domain.workflow import Actor, Workflow
from storage.directory import DirectoryRepository
from storage.incidents import IncidentRepository

DEPARTMENTS = ("Управление ЖКХ", "Комитет по дорогам", "Отдел образования", "Отдел благоустройства", "Отдел транспорта")
TOPICS = ("ЖКХ", "Дороги", "Образование", "Благоустройство", "Транспорт", "Здравоохранение", "Мусор")
LOCATIONS = ("ст. Отрадная", "ст. Передовая", "ст. Надёжная", "с. Красное", "х. Солёный")
NETWORKS = {
    Network.vk: 45,
    Network.telegram: 25,
    Network.ok: 15,
    Network.site: 7,
    Network.messenger: 5,
    Network.other: 3,
}
POSTS = (
    "Третью неделю не вывозят мусор, контейнеры переполнены",
    "Огромная яма на дороге, вчера пробил колесо",
    "В школе холодно, батареи еле тёплые",
    "Не горят фонари на всей улице",
    "Автобус не пришёл по расписанию уже второй день",
    "Во дворе сломаны качели, дети могут пораниться",
)
DEMO_TELEGRAM_BASE = 9_100_000_000  # far above real user ids of today; names say "Демо"


@dataclass
class Cast:
    """Who acts in the synthetic organisation."""

    curator: Actor
    approver: Actor
    executors: dict[int, Actor]  # department id -> its executor
    topics: list[int]
    locations: list[int]


async def ensure_directory(
    sessions: async_sessionmaker[AsyncSession],
    departments: Sequence[str] = DEPARTMENTS,
    topics: Sequence[str] = TOPICS,
    locations: Sequence[str] = LOCATIONS,
) -> Cast:
    """Departments, topics, locations and demo people, created only where missing."""
    async with sessions() as session, session.begin():
        repo = DirectoryRepository(session)
        known = {d.name: d.id for d in await repo.list_departments(active_only=False)}
        for name in departments:
            if name not in known:
                known[name] = (await repo.add_department(name)).id
        dep_ids = [known[name] for name in departments]
        known_topics = {t.name: t.id for t in await repo.list_topics(active_only=False)}
        for name in topics:
            if name not in known_topics:
                known_topics[name] = (await repo.add_topic(name)).id
        known_locations = {loc.name: loc.id for loc in await repo.list_locations(active_only=False)}
        for name in locations:
            if name not in known_locations:
                known_locations[name] = (await repo.add_location(name)).id

        async def person(offset: int, name: str, roles: list[Role]) -> int:
            user = await repo.get_by_telegram_id(DEMO_TELEGRAM_BASE + offset)
            if user is None:
                user = await repo.add_user(DEMO_TELEGRAM_BASE + offset, name, roles=roles)
            return user.id

        curator = await person(0, "Демо: куратор", [Role.curator])
        approver = await person(1, "Демо: региональный ЦУР", [Role.external_approver])
        executors: dict[int, Actor] = {}
        for i, dep in enumerate(dep_ids):
            user_id = await person(10 + i, f"Демо: исполнитель {i + 1}", [Role.executor])
            await repo.add_membership(user_id, dep)
            executors[dep] = Actor(user_id, frozenset({Role.executor}), frozenset({dep}))
    return Cast(
        Actor(curator, frozenset({Role.curator})),
        Actor(approver, frozenset({Role.external_approver})),
        executors,
        [known_topics[name] for name in topics],
        [known_locations[name] for name in locations],
    )


class Story:
    """One incident's life on its own clock; every step is a workflow transition, recorded."""

    def __init__(self, workflow: Workflow, cast: Cast, rng: random.Random, until: datetime) -> None:
        self.flow, self.cast, self.rng, self.until = workflow, cast, rng, until
        self.records: list[tuple[Incident, list[Any]]] = []

    def minutes(self, mean: float, tail: float = 0.0) -> timedelta:
        """A working-time delay: mostly around ``mean`` minutes, sometimes ``tail`` times longer (the overdue)."""
        value = self.rng.expovariate(1 / mean)
        if tail and self.rng.random() < 0.08:
            value *= tail
        return timedelta(minutes=max(1.0, value))

    def play(self, detected: datetime) -> Incident | None:
        """Live the incident detected at ``detected`` (aware) up to ``until``: registered a few working minutes
        later, then routed, answered… on the workflow's own rules. Returns it as it stands (``records`` holds
        every step's events), or None when even its registration would fall after ``until``. A DomainError
        means the story broke a rule: the generator's fault."""
        rng, flow, cast = self.rng, self.flow, self.cast
        cal = flow.calendar
        network = rng.choices(list(NETWORKS), weights=list(NETWORKS.values()))[0]
        source = Source(network, None, f"Автор {rng.randint(1, 5000)}", rng.choice(POSTS), detected)
        topics = rng.sample(cast.topics, 2 if rng.random() < 0.1 else 1)
        now = cal.add(detected, self.minutes(5))
        if now > self.until:
            return None
        incident, events = flow.register(
            cast.curator,
            now,
            [source],
            detected_at=detected,
            importance=Importance.high if rng.random() < 0.15 else Importance.normal,
            kind=Kind.publication if rng.random() < 0.1 else Kind.incident,
            topic_ids=topics,
            location_id=rng.choice([*cast.locations, None]),
        )
        self.records = [(incident, events)]
        with contextlib.suppress(_Stop):
            self._live(incident, now)
        return incident

    def step(self, incident: Incident, now: datetime, delay: timedelta, action: Callable[[datetime], Any]) -> datetime:
        """Run ``action(t)`` at ``t`` = ``now`` + ``delay`` of working time and record its events; returns ``t``.
        Past ``until`` nothing runs and the story ends there (the incident stays open)."""
        now = self.flow.calendar.add(now, delay)
        if now > self.until:
            raise _Stop
        result = action(now)
        events = result[1] if isinstance(result, tuple) else result
        self.records.append((incident, events))
        return now

    def _live(self, incident: Incident, now: datetime) -> None:
        rng, flow, cast = self.rng, self.flow, self.cast
        if rng.random() < 0.04:
            self.step(
                incident,
                now,
                self.minutes(10),
                lambda t: flow.mark_not_processable(incident, cast.curator, t, "угрозы"),
            )
            return
        deps = list(cast.executors)
        first, second = rng.sample(deps, 2)
        joint = flow.preset.multi_mode.value is MultiMode.joint_parallel and rng.random() < 0.07
        if joint:
            now = self.step(
                incident, now, self.minutes(15, 4), lambda t: flow.route(incident, cast.curator, t, [first, second])
            )
            helper = cast.executors[second]
            now = self.step(
                incident,
                now,
                self.minutes(60),
                lambda t: flow.submit_draft(incident, helper, t, DraftKind.contribution, "Наша часть"),
            )
            now = self.step(
                incident, now, self.minutes(10), lambda t: flow.designate_consolidator(incident, cast.curator, t, first)
            )
        else:
            if rng.random() < 0.05:  # first sent to the wrong department, which returns it
                now = self.step(
                    incident, now, self.minutes(15), lambda t: flow.route(incident, cast.curator, t, [second])
                )
                wrong = cast.executors[second]
                now = self.step(
                    incident,
                    now,
                    self.minutes(20),
                    lambda t: flow.return_not_ours(incident, wrong, t, "Не наша компетенция"),
                )
            now = self.step(
                incident, now, self.minutes(15, 4), lambda t: flow.route(incident, cast.curator, t, [first])
            )
        executor = cast.executors[first]
        now = self.step(incident, now, self.minutes(25, 5), lambda t: flow.accept(incident, executor, t))
        if rng.random() < 0.06:  # a question to the author first; the clock pauses until the reply
            now = self.step(
                incident,
                now,
                self.minutes(30),
                lambda t: flow.submit_draft(incident, executor, t, DraftKind.clarification, "Уточните адрес"),
            )
            now = self.step(incident, now, self.minutes(15), lambda t: flow.approve(incident, cast.curator, t))
            now = self.step(
                incident,
                now,
                self.minutes(240),
                lambda t: flow.record_author_reply(incident, cast.curator, t, "ул. Ленина, 5"),
            )
        kind = DraftKind.intermediate if rng.random() < 0.1 else DraftKind.answer
        now = self._answer(incident, now, executor, kind)
        if kind is DraftKind.intermediate:
            now = self.step(incident, now, self.minutes(60 * 24, 2), lambda t: [])  # the work itself takes days
            self._answer(incident, now, executor, DraftKind.answer)

    def _answer(self, incident: Incident, now: datetime, executor: Actor, kind: DraftKind) -> datetime:
        rng, flow, cast = self.rng, self.flow, self.cast
        now = self.step(
            incident, now, self.minutes(120, 4), lambda t: flow.submit_draft(incident, executor, t, kind, "Ответ")
        )
        while rng.random() < 0.25:  # returned with one or two reasons, revised
            reasons = rng.sample([r for r in ReturnReason if r is not ReturnReason.other], rng.choice((1, 1, 2)))
            now = self.step(
                incident,
                now,
                self.minutes(20),
                lambda t, reasons=reasons: flow.return_draft(incident, cast.curator, t, reasons),
            )
            now = self.step(
                incident,
                now,
                self.minutes(40, 3),
                lambda t: flow.submit_draft(incident, executor, t, kind, "Ответ, исправленный"),
            )
        now = self.step(incident, now, self.minutes(20, 3), lambda t: flow.approve(incident, cast.curator, t))
        if incident.state is State.on_external_approval:
            now = self.step(incident, now, self.minutes(40), lambda t: flow.approve(incident, cast.approver, t))
        publisher = cast.curator if flow.preset.publisher.value is Role.curator else executor
        url = f"https://vk.com/wall-1_{rng.randint(1, 10**6)}?reply={rng.randint(1, 10**6)}"
        return self.step(incident, now, self.minutes(20, 3), lambda t: flow.publish(incident, publisher, t, url))


class _Stop(Exception):
    """The story reached the present: the incident stays open where it is."""


def detection_moments(
    workflow: Workflow, rng: random.Random, count: int, start: datetime, end: datetime
) -> list[datetime]:
    """Mostly in working hours, some in the evening and at weekends, as posts come."""
    span = (end - start).total_seconds()
    moments = []
    for _ in range(count):
        moment = start + timedelta(seconds=rng.random() * span)
        if rng.random() < 0.8 and not workflow.calendar.is_working(moment):
            moment = workflow.calendar.next_working_moment(moment) + timedelta(minutes=rng.randint(0, 120))
        moments.append(min(moment, end - timedelta(seconds=1)))
    return sorted(moments)


async def real_incidents(sessions: async_sessionmaker[AsyncSession]) -> int:
    """How many incidents in the database were not made by ``fill``: registered by anyone but the demo people
    (Telegram ids from DEMO_TELEGRAM_BASE), imported, or from the intake API."""
    async with sessions() as session:
        return await IncidentRepository(session).count_created_below(DEMO_TELEGRAM_BASE)


async def fill(
    sessions: async_sessionmaker[AsyncSession],
    workflow: Workflow,
    *,
    incidents: int,
    months: int,
    seed: int,
    now: datetime,
    progress: Callable[[int], None] | None = None,
    directory: tuple[Sequence[str], Sequence[str], Sequence[str]] | None = None,
) -> tuple[date, date, int]:
    """Make up to ``incidents`` incidents detected over the ``months`` months up to ``now`` (aware); returns the
    first days of the first and the last month and how many incidents were made.

    The months are local calendar months of the organisation's zone, the current one last. An incident whose
    registration would come after ``now`` is not made (it has no past to show): near the start of a month, with
    ``months=1``, that may be all of them — the caller says so. ``seed`` makes the data repeatable;
    ``progress(n)`` is called after the n-th incident stored, each in its own transaction. ``directory``: the names
    of the departments (at least two), topics (at least one) and locations to use — the configured ones, already
    in the database — instead of the demo organisation's own (DEPARTMENTS, TOPICS, LOCATIONS), which are added
    where missing. Raises RuntimeError when a story breaks a rule (a bug here).
    """
    rng = random.Random(seed)
    cast = await ensure_directory(sessions, *(directory or ()))
    tz = workflow.calendar.tz
    local = now.astimezone(tz)
    last = date(local.year, local.month, 1)
    first = last
    for _ in range(months - 1):
        first = (first - timedelta(days=1)).replace(day=1)
    start = datetime(first.year, first.month, 1, tzinfo=tz)
    made = 0
    for detected in detection_moments(workflow, rng, incidents, start, now):
        story = Story(workflow, cast, rng, now)
        try:
            if story.play(detected) is None:
                continue
        except DomainError as exc:  # a rule refused a step: the generator is wrong, not the data
            raise RuntimeError(f"demo data broke a rule at {detected}: {exc}") from exc
        async with sessions() as session, session.begin():
            # The story mutated one Incident; its final state is stored once with the whole trail.
            incident = story.records[0][0]
            await IncidentRepository(session).add(incident, [e for _, events in story.records for e in events])
        made += 1
        if progress is not None:
            progress(made)
    return first, last, made
