"""Nudge an idle incident: no step, note, assignment or declaration for ``reminder_after``.

The clock is the incident's own timeline (its last responder activity), so a reminder is not
activity itself: it is not recorded and does not restart the clock. A Redis marker living
``reminder_after`` keeps it to one reminder per interval however often the sweep runs, and a
resolved (or deleted) incident gets none.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import datetime
from functools import partial

from bot.jobs import run_each
from bot.jobs.context import JobContext
from bot.models import EventKind, Incident, StepName, StepStatus, TimelineEvent
from bot.models.units import human_seconds
from bot.slack.findings_blocks import STEP_TITLES
from bot.slack.walk_blocks import suggest_next

__all__ = ["ACTIVITY", "last_activity", "remind", "reminder_text", "sweep"]

log = logging.getLogger(__name__)

#: Timeline events that show someone working the incident (and restart the reminder clock).
ACTIVITY = frozenset({EventKind.DECLARED, EventKind.NOTE, EventKind.ASSIGNED,
                      EventKind.STEP_DONE, EventKind.STEP_FAILED, EventKind.RCA_EDITED})
MARKER_SCOPE = "reminder"
ITEM_TIMEOUT_S = 20.0


def last_activity(events: Iterable[TimelineEvent]) -> datetime | None:
    """When someone last worked the incident, by its timeline."""
    times = [e.at for e in events if e.kind in ACTIVITY]
    return max(times) if times else None


def reminder_text(incident: Incident, idle_s: float, steps: Mapping[StepName, StepStatus], *,
                  command: str, walkable: bool) -> str:
    """``:alarm_clock: No step or note on INC-3 for 30 min. Suggested next: Logs (...)``."""
    head = (f":alarm_clock: No step or note on {incident.id} for "
            f"{human_seconds(round(idle_s))}.")
    if not walkable:
        return (f"{head} Add what you know (`{command} note {incident.id} …`) or resolve it "
                f"(`{command} resolve {incident.id}`).")
    step = suggest_next(steps)
    if step is None:
        return (f"{head} Every step is done: draft the RCA (`{command} rca {incident.id}`) or "
                f"resolve it (`{command} resolve {incident.id}`).")
    return (f"{head} Suggested next: {STEP_TITLES[step]} "
            f"(`{command} {step.value} {incident.id}`)")


async def remind(ctx: JobContext, incident_id: str) -> bool:
    """Post a reminder in the incident's thread if it is due; True when one was posted."""
    incident = await ctx.triage.get(incident_id)
    if incident is None or not incident.is_open:
        return False
    after = ctx.schedule.reminder_after
    events = await ctx.triage.timeline(incident)
    idle_s = (ctx.clock() - (last_activity(events) or incident.created_at)).total_seconds()
    if idle_s < after:
        return False
    steps = await ctx.triage.statuses(incident_id)
    if await _step_running(ctx, incident_id, steps):
        return False  # a step under way is activity, even before it writes its result
    if not await ctx.leases.mark(MARKER_SCOPE, incident_id, ttl_ms=max(1, int(after * 1000))):
        return False
    latest = await ctx.triage.get(incident_id)
    if latest is None or not latest.is_open:
        return False
    text = reminder_text(latest, idle_s, steps, command=ctx.settings.file.slack.command,
                         walkable=ctx.triage.is_walkable(latest))
    try:
        await ctx.triage.say(latest, text)
    except Exception:
        await ctx.leases.unmark(MARKER_SCOPE, incident_id)  # try again on the next tick
        raise
    log.info("reminder posted", extra={"incident": incident_id, "idle_s": round(idle_s)})
    return True


async def _step_running(ctx: JobContext, incident_id: str,
                        steps: Mapping[StepName, StepStatus]) -> bool:
    """A step marked running whose run claim is still held (a crashed run's mark is stale)."""
    for step, status in steps.items():
        if status is StepStatus.RUNNING and await ctx.triage.is_step_running(incident_id, step):
            return True
    return False


async def sweep(ctx: JobContext) -> int:
    """Remind every open incident that is due; returns how many were checked without error."""
    incidents = await ctx.triage.list_open()
    return await run_each("reminders", [i.id for i in incidents], partial(remind, ctx),
                          timeout_s=ITEM_TIMEOUT_S)
