"""Remind a critical incident's assignee to post a status update for stakeholders.

The clock is the incident's timeline: its last ``/triage update`` (or its declaration). The
reminder itself is not an update and does not restart the clock; a Redis marker living
``schedule.status_every`` keeps it to one reminder per interval however often the sweep runs.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from functools import partial

from bot.jobs import run_each
from bot.jobs.context import JobContext
from bot.models import EventKind, Severity, TimelineEvent

__all__ = ["last_update", "remind", "sweep"]

log = logging.getLogger(__name__)
MARKER_SCOPE = "status-reminder"
ITEM_TIMEOUT_S = 20.0


def last_update(events: Iterable[TimelineEvent]) -> datetime | None:
    """When the last status update was posted, by the timeline."""
    times = [e.at for e in events if e.kind is EventKind.STATUS_UPDATE]
    return max(times) if times else None


async def remind(ctx: JobContext, incident_id: str) -> bool:
    """Ask for a status update if one is due; True when the reminder was posted."""
    incident = await ctx.triage.get(incident_id)
    if incident is None or not incident.is_open or incident.severity is not Severity.CRITICAL:
        return False
    every = ctx.schedule.status_every
    events = await ctx.triage.timeline(incident)
    idle_s = (ctx.clock() - (last_update(events) or incident.created_at)).total_seconds()
    if idle_s < every:
        return False
    if not await ctx.leases.mark(MARKER_SCOPE, incident_id, ttl_ms=max(1, int(every * 1000))):
        return False
    try:
        await ctx.triage.remind_status(incident, idle_s)
    except Exception:
        await ctx.leases.unmark(MARKER_SCOPE, incident_id)  # try again on the next tick
        raise
    log.info("status reminder posted", extra={"incident": incident_id, "idle_s": round(idle_s)})
    return True


async def sweep(ctx: JobContext) -> int:
    """Check every open critical incident; returns how many were checked without error."""
    incidents = [i for i in await ctx.triage.list_open() if i.severity is Severity.CRITICAL]
    return await run_each("status-updates", [i.id for i in incidents], partial(remind, ctx),
                          timeout_s=ITEM_TIMEOUT_S)
