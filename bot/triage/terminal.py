"""The walk and the RCA outside Slack, printed: the use case behind ``triage-bot triage``.

The same Walk the bot runs, over the configured backends; the caller composes it (over a
Redis under a throwaway key prefix, so the terminal walk never touches the bot's incidents).
"""

from __future__ import annotations

from datetime import timedelta

from bot.config import ServiceConfig
from bot.models import (
    STEP_ORDER,
    EventKind,
    Incident,
    Severity,
    TimelineEvent,
    WalkContextState,
    utcnow,
)
from bot.triage.rca_service import RcaService
from bot.triage.report_text import diagnosis_report, step_report
from bot.triage.walk import Walk

__all__ = ["terminal_walk"]


async def terminal_walk(walk: Walk, rca: RcaService, service: ServiceConfig,
                        since: timedelta) -> None:
    """Walk every step for the service, printing findings, the ranking and the RCA draft."""
    created = await walk.stores.incidents.create(
        lambda iid, n: Incident(id=iid, number=n, service=service.name,
                                summary=f"terminal triage of {service.name}",
                                severity=Severity.UNKNOWN, channel="terminal", source="cli"),
        TimelineEvent(kind=EventKind.DECLARED, actor="cli"))
    incident = created.incident
    await walk.stores.walk.save_context(incident.id, WalkContextState(
        anomaly_start=utcnow() - since))
    last = None
    for step in STEP_ORDER:
        print(f"… {step.value}", flush=True)
        run = await walk.run_step(incident, step, "cli")
        if run is not None:
            print(step_report(run.result), flush=True)
            last = run.after
    if last is not None:
        print(diagnosis_report(last))
    print("\n" + await rca.markdown(incident))
