"""The walk and the RCA outside Slack, printed: the use case behind ``triage-bot triage``.

The same Walk the bot runs, over the configured backends; the caller composes it (over a
Redis under a throwaway key prefix, so the terminal walk never touches the bot's incidents).
When no step produced evidence (every backend down or missing), it prints no ranking (there
is nothing to rank on) and says so; the caller turns that into a non-zero exit code.
"""

from __future__ import annotations

from datetime import timedelta

from bot.config import ServiceConfig
from bot.models import (
    STEP_ORDER,
    EventKind,
    Incident,
    Severity,
    StepResult,
    StepStatus,
    TimelineEvent,
    WalkContextState,
    utcnow,
)
from bot.triage.rca_service import RcaService
from bot.triage.report_text import diagnosis_report, step_report
from bot.triage.walk import Walk

__all__ = ["has_evidence", "terminal_walk"]


def has_evidence(result: StepResult) -> bool:
    """Whether a step gave the ranking something: it finished and measured anything at all."""
    if result.status is not StepStatus.DONE:
        return False
    signals = result.signals
    return bool(signals.numbers or signals.frames or signals.log_patterns
                or signals.span_categories or any(f.evidence for f in result.findings))


async def terminal_walk(walk: Walk, rca: RcaService, service: ServiceConfig,
                        since: timedelta) -> bool:
    """Walk every step for the service, printing findings, the ranking and the RCA draft.

    Returns whether any step produced evidence.
    """
    created = await walk.stores.incidents.create(
        lambda iid, n: Incident(id=iid, number=n, service=service.name,
                                summary=f"terminal triage of {service.name}",
                                severity=Severity.UNKNOWN, channel="terminal", source="cli"),
        TimelineEvent(kind=EventKind.DECLARED, actor="cli"))
    incident = created.incident
    await walk.stores.walk.save_context(incident.id, WalkContextState(
        anomaly_start=utcnow() - since))
    last = None
    evidence = False
    for step in STEP_ORDER:
        print(f"… {step.value}", flush=True)
        run = await walk.run_step(incident, step, "cli")
        if run is not None:
            print(step_report(run.result), flush=True)
            last = run.after
            evidence = evidence or has_evidence(run.result)
    if not evidence:
        print("== no step produced evidence: nothing to rank (see each step's failure above)")
    elif last is not None:
        print(diagnosis_report(last))
    print("\n" + await rca.markdown(incident))
    return evidence
