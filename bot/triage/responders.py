"""What responders do around the walk: silence the alert group in Alertmanager, expire it.

Alertmanager is the source of truth for a silence; the bot creates it there first and only
then remembers it beside the incident (with its timeline event), so a refusal from
Alertmanager changes nothing and is shown in Alertmanager's own words.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.errors import InputError
from bot.models import Incident, utcnow
from bot.models.silence import Matcher, SilenceRecord
from bot.sources.registry import Sources
from bot.store.silences import SilenceStore

__all__ = ["SilenceRequest", "Silencer"]


@dataclass(frozen=True)
class SilenceRequest:
    """A responder's ask: mute these matchers for this long, with a reason.

    ``actor`` is the Slack user id (timeline, thread); ``actor_name`` what Alertmanager shows
    as ``createdBy``.
    """

    matchers: tuple[Matcher, ...]
    duration: timedelta
    comment: str
    actor: str
    actor_name: str


class Silencer:
    """Creates and expires silences for incidents."""

    def __init__(self, sources: Sources, store: SilenceStore,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self._sources = sources
        self.store = store
        self._clock = clock

    async def create(self, incident: Incident, request: SilenceRequest) -> SilenceRecord:
        """Create the silence in Alertmanager, then remember it; Alertmanager's errors raise."""
        if not incident.is_open:
            raise InputError(f"{incident.id} is resolved: there is nothing left to silence.")
        if not request.matchers:
            raise InputError("A silence needs at least one matcher.")
        client = self._sources.alertmanager
        starts = self._clock()
        ends = starts + request.duration
        comment = request.comment.strip() or f"Silenced from Slack for {incident.id}"
        silence_id = await client.create_silence(list(request.matchers), starts, ends,
                                                 request.actor_name, comment)
        record = SilenceRecord(id=silence_id, matchers=list(request.matchers), starts_at=starts,
                               ends_at=ends, created_by=request.actor, comment=comment)
        await self.store.add(incident.id, record, request.actor)
        return record

    async def expire(self, incident: Incident, silence_id: str,
                     actor: str) -> SilenceRecord | None:
        """Expire a silence created from this incident; None when it was expired already."""
        record = await self.store.get(incident.id, silence_id)
        if record is None:
            raise InputError(f"{incident.id} has no silence {silence_id}.")
        if record.expired_at is not None:
            return None
        await self._sources.alertmanager.expire_silence(silence_id)
        return await self.store.mark_expired(incident.id, silence_id, actor, self._clock())
