"""Step 5 of the seed, "reproduce locally": a targeted plan for the leading cause.

Built from the cause's skeleton in its playbook (a loom model for a lock across .await, a test
with a blocking-call detector for starvation, a heap-diff soak for growth, a criterion bench for
a hot formatting or regex frame) filled with the walk's evidence: the load it happened at, the
service's own frame the profile named, and the slowest requests the traces step found. The
thread gets it as a finding when the profile step has run and a cause leads; the RCA's root
cause section carries the same plan.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.models import Diagnosis, Finding, Severity, Signals, StepName
from bot.triage.playbook import Cause
from bot.triage.playbook_loader import PlaybookSet
from bot.triage.rules import Outcome, Reading, owned_frame, render_text

__all__ = ["plan_lines", "reproduction_finding"]


def plan_lines(cause: Cause | None, signals: Signals, slow_requests: Sequence[str] = ()
               ) -> list[str]:
    """The plan as lines: the skeleton filled in, the code to start from, the request shape."""
    if cause is None or not cause.reproduce:
        return []
    skeleton = render_text(cause.reproduce, Outcome(True), signals, Reading({}))
    lines = [f"Reproduce locally: {skeleton}"]
    heaviest = sorted((f for f in signals.frames if f.owner), key=lambda f: (-f.cum, f.function))
    own = list(dict.fromkeys(owned_frame(f) for f in heaviest))[:2]
    lines += [f"Start from the service's own frame: {frame}" for frame in own]
    lines += [f"Request shape (traces step): {title}" for title in slow_requests[:2]]
    return lines


def reproduction_finding(diagnosis: Diagnosis, playbooks: PlaybookSet, signals: Signals,
                         slow_requests: Sequence[str] = ()) -> Finding | None:
    """The thread's "reproduce locally" finding for a conclusive leader with a skeleton."""
    leader = diagnosis.leader
    if leader is None or diagnosis.verdict != "leading":
        return None
    playbook = playbooks.get(leader.playbook)
    cause = playbook.cause(leader.cause) if playbook is not None else None
    lines = plan_lines(cause, signals, slow_requests)
    if not lines:
        return None
    return Finding(key=f"{leader.id}.reproduce", step=StepName.PROFILE, severity=Severity.INFO,
                   title=f"Reproduce locally: {leader.title}", summary="\n".join(lines[1:]),
                   hints=[lines[0].removeprefix("Reproduce locally: ")])
