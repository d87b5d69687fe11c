"""Incident channels: ``#inc-<n>-<service>`` with the owners and the assignee, and the card.

Opened once per incident (a claim in Redis; a second ask is told where it is). The card in the
channel is a copy of the one in the service's channel: it is recorded as a mirror, and every
redraw of the card redraws the copy too.
"""

from __future__ import annotations

import re

from bot.config import Catalog
from bot.errors import InputError
from bot.models import Incident
from bot.models.card import CardMirror
from bot.store.channels import IncidentChannelStore
from bot.store.claims import ClaimStore
from bot.triage.cards import CardKeeper
from bot.triage.ports import ResponderOut

__all__ = ["IncidentChannels", "channel_name"]

CLAIM_SCOPE = "incident-channel"
#: Slack's longest channel name.
MAX_NAME = 80


def channel_name(incident: Incident) -> str:
    """``inc-12-checkout``: lower case, Slack's letters only, at most 80 characters."""
    raw = f"inc-{incident.number}-{incident.service or 'alert'}".lower()
    return re.sub(r"[^a-z0-9_-]+", "-", raw)[:MAX_NAME].rstrip("-")


class IncidentChannels:
    """Opens an incident's channel and keeps the record of its card's copy."""

    def __init__(self, cards: CardKeeper, claims: ClaimStore, store: IncidentChannelStore,
                 out: ResponderOut, catalog: Catalog) -> None:
        self._cards = cards
        self._claims = claims
        self._store = store
        self._out = out
        self._catalog = catalog

    async def open(self, incident: Incident, actor: str) -> CardMirror | None:
        """Create the channel and post the card in it; None when the incident has one."""
        if await self._store.mirrors(incident.id):
            return None
        if not await self._claims.claim(CLAIM_SCOPE, incident.id):
            return None
        try:
            view = await self._cards.current_view(incident.id)
            if view is None:
                raise InputError(f"{incident.id} does not exist.")
            name = channel_name(view.incident)
            mirror = await self._out.open_incident_channel(view, name, self.members(incident))
            await self._store.add_mirror(incident.id, mirror, actor, name)
        except BaseException:
            await self._claims.release(CLAIM_SCOPE, incident.id)  # the next ask tries again
            raise
        self._cards.request_refresh(incident.id)
        return mirror

    async def mirrors(self, incident: Incident) -> tuple[CardMirror, ...]:
        """Where the incident's card is copied."""
        return await self._store.mirrors(incident.id)

    def members(self, incident: Incident) -> list[str]:
        """The service's owners (people, not groups) and the assignee, once each."""
        service = self._catalog.get(incident.service or "")
        people = [*(service.owners if service else []), *filter(None, [incident.assignee])]
        return list(dict.fromkeys(p for p in people if p[:1] in ("U", "W") and p.isalnum()))
