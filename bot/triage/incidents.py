"""Working an incident: declare, find by reference, note, assign, resolve.

Used by the Slack handlers, the alert intake and the CLI alike; it speaks in models and raises
InputError with messages fit to show the person who asked.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.config import Catalog, ServiceConfig
from bot.errors import InputError
from bot.models import (
    EventKind,
    Incident,
    IncidentStatus,
    Severity,
    TimelineEvent,
    parse_incident_ref,
    utcnow,
)
from bot.models.outbox import OutboxItem
from bot.store.incidents import Created, IncidentStore, Updated

MAX_SUMMARY = 300


@dataclass(frozen=True)
class Declaration:
    """What is known when an incident is declared."""

    service: ServiceConfig | None
    summary: str
    severity: Severity
    actor: str | None
    source: str = "slack"
    dedupe_key: str | None = None
    labels: dict[str, str] | None = None
    channel: str | None = None


class IncidentService:
    """Incident operations over the store, with references resolved the way users type them."""

    def __init__(self, store: IncidentStore, catalog: Catalog, default_channel: str | None):
        self.store = store
        self.catalog = catalog
        self.default_channel = default_channel

    def is_ref(self, word: str) -> bool:
        """Whether ``word`` names an incident (INC-12) or a catalog service."""
        return parse_incident_ref(word) is not None or self.catalog.get(word) is not None

    def channel_for(self, service: ServiceConfig | None) -> str:
        """The channel an incident of ``service`` lives in."""
        channel = (service.channel if service else None) or self.default_channel
        if channel is None:
            name = service.name if service else "This incident"
            raise InputError(
                f"{name} has no channel in the catalog and slack.default_channel is not set."
            )
        return channel

    def service(self, name: str) -> ServiceConfig:
        """The catalog service called ``name``; InputError listing the known ones otherwise."""
        service = self.catalog.get(name)
        if service is None:
            known = ", ".join(self.catalog.names()) or "none configured"
            raise InputError(f"Unknown service `{name[:80]}`. Known services: {known}.")
        return service

    async def declare(self, d: Declaration) -> Created:
        """Open an incident (or return the one already open for ``d.dedupe_key``)."""
        channel = d.channel or self.channel_for(d.service)
        summary = (d.summary.strip() or _default_summary(d.service))[:MAX_SUMMARY]

        def build(iid: str, number: int) -> Incident:
            return Incident(
                id=iid, number=number, service=d.service.name if d.service else None,
                summary=summary, severity=d.severity, channel=channel, created_by=d.actor,
                source=d.source, dedupe_key=d.dedupe_key, labels=d.labels or {},
            )

        event = TimelineEvent(kind=EventKind.DECLARED, actor=d.actor, text=summary,
                              data={"source": d.source})
        return await self.store.create(build, event, dedupe_key=d.dedupe_key)

    async def find(self, ref: str | None, channel_id: str) -> Incident:
        """Resolve a user's reference (id, service, or nothing = this channel's incident)."""
        if ref is None:
            candidates = [i for i in await self.store.list_open() if i.channel == channel_id]
            return _exactly_one(candidates, "in this channel")
        iid = parse_incident_ref(ref)
        if iid is not None:
            incident = await self.store.get(iid)
            if incident is None:
                raise InputError(f"There is no incident {iid}.")
            return incident
        service = self.service(ref)
        candidates = [i for i in await self.store.list_open() if i.service == service.name]
        return _exactly_one(candidates, f"for {service.name}")

    async def note(self, incident: Incident, actor: str, text: str,
                   announce: Sequence[OutboxItem] = ()) -> None:
        """Add a note to the timeline (with the outbox items that say it, atomically)."""
        await self.store.add_event(
            incident.id, TimelineEvent(kind=EventKind.NOTE, actor=actor, text=text[:2000]),
            announce,
        )

    async def assign(self, incident: Incident, actor: str, assignee: str,
                     announce: Sequence[OutboxItem] = ()) -> Updated | None:
        """Make ``assignee`` the owner; unchanged when they already are."""

        def mutate(current: Incident) -> Incident | None:
            if current.assignee == assignee:
                return None
            return current.model_copy(update={"assignee": assignee})

        event = TimelineEvent(kind=EventKind.ASSIGNED, actor=actor, data={"assignee": assignee})
        return await self.store.update(incident.id, mutate, event, announce)

    async def resolve(self, incident: Incident, actor: str, note: str,
                      announce: Sequence[OutboxItem] = ()) -> Updated | None:
        """Close the incident; unchanged (``changed=False``) when it was already resolved."""

        def mutate(current: Incident) -> Incident | None:
            if not current.is_open:
                return None
            return current.model_copy(update={
                "status": IncidentStatus.RESOLVED, "resolved_at": utcnow(), "resolved_by": actor,
            })

        event = TimelineEvent(kind=EventKind.RESOLVED, actor=actor, text=note[:2000])
        return await self.store.update(incident.id, mutate, event, announce)

    async def reopen(self, incident: Incident, actor: str, note: str) -> Updated | None:
        """Open a resolved incident again; unchanged (``changed=False``) when it is open."""

        def mutate(current: Incident) -> Incident | None:
            if current.is_open:
                return None
            return current.model_copy(update={
                "status": IncidentStatus.OPEN, "resolved_at": None, "resolved_by": None})

        event = TimelineEvent(kind=EventKind.REOPENED, actor=actor, text=note[:2000])
        return await self.store.update(incident.id, mutate, event)


def _default_summary(service: ServiceConfig | None) -> str:
    return f"Incident on {service.name}" if service else "Incident"


def _exactly_one(candidates: list[Incident], where: str) -> Incident:
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        raise InputError(
            f"There is no open incident {where}. Name one: an incident id like INC-12, "
            "or a service name."
        )
    listed = ", ".join(f"{i.id} ({i.service or 'no service'}: {i.summary[:40]})"
                       for i in candidates[:10])
    raise InputError(f"Several incidents are open {where}: {listed}. Say which one.")
