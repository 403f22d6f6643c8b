"""Use cases: one transaction each — load the incident, apply a workflow transition, save it with
its events. Handlers call these; they never touch the domain objects' storage themselves."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.incident import Event, Incident, Source
from bot.workflow import Actor, Transition, Workflow
from storage.repositories import IncidentRepository


class IncidentService:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], workflow: Workflow, clock: Clock) -> None:
        self.sessions = sessions
        self.workflow = workflow
        self.clock = clock

    async def register(self, actor: Actor, sources: Sequence[Source], **options: Any) -> Incident:
        now = self.clock.now()
        incident, events = self.workflow.register(actor, now, sources, **options)
        async with self.sessions() as session, session.begin():
            return await IncidentRepository(session).add(incident, events)

    async def get(self, incident_id: int) -> Incident:
        async with self.sessions() as session:
            return await IncidentRepository(session).get(incident_id)

    async def history(self, incident_id: int) -> list[Event]:
        async with self.sessions() as session:
            return await IncidentRepository(session).events(incident_id)

    async def apply(self, incident_id: int, transition: Callable[[Incident, Any], Any]) -> Incident:
        """Run `transition(incident, now)` and save it; a concurrent change makes this one lose.

        The transition returns its events, (draft, events) as submit_draft does, or a Transition.
        The incident row is written first so that a lost race fails before any other write.
        """
        now = self.clock.now()
        async with self.sessions() as session, session.begin():
            repo = IncidentRepository(session)
            incident = await repo.get(incident_id)
            result = transition(incident, now)
            if isinstance(result, Transition):  # split: the new incidents are saved with the parent
                await repo.save(incident, result.events)
                for child in result.children:
                    await repo.add(
                        child,
                        [
                            Event(
                                "split_from",
                                now,
                                result.events[0].actor_id,
                                None,
                                child.state,
                                data={"parent": incident_id},
                            )
                        ],
                    )
                return incident
            await repo.save(incident, result[1] if isinstance(result, tuple) else result)
            return incident

    async def route(self, incident_id: int, actor: Actor, department_ids: Sequence[int], **kw: Any) -> Incident:
        return await self.apply(incident_id, lambda i, now: self.workflow.route(i, actor, now, department_ids, **kw))

    async def accept(self, incident_id: int, actor: Actor, **kw: Any) -> Incident:
        return await self.apply(incident_id, lambda i, now: self.workflow.accept(i, actor, now, **kw))

    async def submit_draft(self, incident_id: int, actor: Actor, kind: Any, text: str, **kw: Any) -> Incident:
        return await self.apply(incident_id, lambda i, now: self.workflow.submit_draft(i, actor, now, kind, text, **kw))

    async def approve(self, incident_id: int, actor: Actor, **kw: Any) -> Incident:
        return await self.apply(incident_id, lambda i, now: self.workflow.approve(i, actor, now, **kw))

    async def return_draft(self, incident_id: int, actor: Actor, reasons: Sequence[Any], **kw: Any) -> Incident:
        return await self.apply(incident_id, lambda i, now: self.workflow.return_draft(i, actor, now, reasons, **kw))

    async def publish(self, incident_id: int, actor: Actor, url: str, **kw: Any) -> Incident:
        return await self.apply(incident_id, lambda i, now: self.workflow.publish(i, actor, now, url, **kw))
