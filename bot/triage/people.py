"""People in: owners paged when an incident opens, the assignee told, status updates posted.

Paging is once per incident whatever the deliveries (a claim in Redis, so a retried webhook or
a second replica does not page twice), and only for the severities the team chose
(``notify.mention_on``). A failed direct message never undoes an assignment: it is logged.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from bot.config import Catalog
from bot.errors import InputError
from bot.models import EventKind, Incident, Severity, TimelineEvent
from bot.store.claims import ClaimStore
from bot.store.incidents import IncidentStore
from bot.triage.ports import ResponderOut

__all__ = ["MAX_STATUS", "People"]

log = logging.getLogger(__name__)
PAGED_SCOPE = "owners-paged"
#: A status update is a short message for stakeholders, not an essay.
MAX_STATUS = 1500


class People:
    """Who gets told what, over the claims, the incident store and the responder port."""

    def __init__(self, catalog: Catalog, claims: ClaimStore, incidents: IncidentStore,
                 out: ResponderOut, *, mention_on: Iterable[str] = (),
                 status_channel: str | None = None) -> None:
        self._catalog = catalog
        self._claims = claims
        self._incidents = incidents
        self._out = out
        self._mention_on = frozenset(Severity(s) for s in mention_on)
        self._status_channel = status_channel

    async def incident_opened(self, incident: Incident) -> bool:
        """Mention the service's owners in the thread, once; True when this call did."""
        service = self._catalog.get(incident.service or "")
        if service is None or not service.owners or incident.severity not in self._mention_on:
            return False
        if not await self._claims.claim(PAGED_SCOPE, incident.id):
            return False
        await self._out.mention_owners(incident, service.owners)
        await self._incidents.add_event(incident.id, TimelineEvent(
            kind=EventKind.OWNERS_PAGED, actor="triage-bot",
            data={"owners": list(service.owners)}))
        return True

    async def assigned(self, incident: Incident, actor: str, assignee: str) -> None:
        """DM the new assignee (not someone who took it themselves)."""
        if assignee == actor:
            return
        try:
            await self._out.tell_assignee(incident, assignee, actor)
        except Exception:
            log.warning("could not tell the assignee", exc_info=True,
                        extra={"incident_id": incident.id})

    async def post_status(self, incident: Incident, actor: str, text: str) -> None:
        """Record a status update and post it to the thread and the status channel."""
        text = text.strip()
        if not text:
            raise InputError("A status update needs some text.")
        if len(text) > MAX_STATUS:
            raise InputError(f"A status update is at most {MAX_STATUS} characters "
                             f"(this one has {len(text)}); put details in a note.")
        await self._incidents.add_event(incident.id, TimelineEvent(
            kind=EventKind.STATUS_UPDATE, actor=actor, text=text))
        await self._out.post_status(incident, actor, text, self._status_channel)

    async def remind_status(self, incident: Incident, idle_s: float) -> None:
        """Ask for a status update (the scheduled job decides when)."""
        await self._out.remind_status(incident, idle_s)
