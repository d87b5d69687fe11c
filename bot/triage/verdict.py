"""Whether the ranking's leader is a conclusion, or the honest answer is "inconclusive".

A ranking always has a leader, even when nothing is wrong: a latency alert that fired on a blip
seeds the latency pattern, and nothing contradicts it. The leader is a conclusion only when
(1) some metric actually moved near the alert, (2) the evidence for the leader (without the
alert's seed) is strong enough, and (3) it is clearly ahead of the best candidate of another
family. Causes of one family share its evidence; two of them being level is no reason to call
the ranking inconclusive (the family is established, both are shown with their own evidence).

When it is inconclusive the diagnosis says why, lists what was checked and found normal, and
suggests what to look at next.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from bot.models import STEP_ORDER, Candidate, Diagnosis, Signals, StepName
from bot.triage.playbook_loader import PlaybookSet
from bot.triage.rules import format_value, signal_step
from bot.triage.signal_names import NUMBERS

__all__ = ["ANOMALY_TESTS", "MIN_EVIDENCE", "MIN_MARGIN", "judge", "steps_seen"]

#: The evidence (score without the alert's seed) a leader needs to be a conclusion.
MIN_EVIDENCE = 2.0
#: How far ahead of the runner-up the leader must be.
MIN_MARGIN = 1.0
_SHOWN = 8


@dataclass(frozen=True)
class AnomalyTest:
    """A metric that, past ``value``, means something moved; else it reads as normal."""

    signal: str
    op: str
    value: float
    label: str


_OPS: Mapping[str, Callable[[float, float], bool]] = MappingProxyType({
    ">=": operator.ge, "<=": operator.le})

#: Metrics that show an anomaly near the alert (change points compare with the window before).
ANOMALY_TESTS: tuple[AnomalyTest, ...] = (
    AnomalyTest("http.p99_change", ">=", 2.0, "P99 latency against its earlier level"),
    AnomalyTest("http.error_ratio", ">=", 0.02, "share of failing requests"),
    AnomalyTest("cpu.change", ">=", 1.5, "CPU against its earlier level"),
    AnomalyTest("http.request_rate_change", ">=", 1.5, "request rate against its earlier level"),
    AnomalyTest("http.request_rate_change", "<=", 0.6, "request rate against its earlier level"),
    AnomalyTest("rss.growth_ratio", ">=", 1.15, "RSS over the window"),
    AnomalyTest("pool.wait_change", ">=", 3.0, "connection-pool wait against its earlier level"),
    AnomalyTest("pool.utilisation", ">=", 0.9, "connection-pool use"),
    AnomalyTest("tokio.busy_ratio", ">=", 0.85, "Tokio worker busy ratio"),
    AnomalyTest("tokio.live_tasks_slope_per_s", ">=", 0.5, "growth of alive Tokio tasks"),
    AnomalyTest("process.restarts", ">=", 1.0, "restarts"),
    AnomalyTest("deploy.changed", ">=", 1.0, "deploys in the window"),
)
_NEXT_STEP = {
    StepName.METRICS: "Run the metrics step: nothing is measured yet.",
    StepName.LOGS: "Run the logs step: error patterns may name the cause.",
    StepName.TRACES: "Run the traces step: the slowest spans show where requests wait.",
    StepName.PROFILE: "Run the profile step: frames tell the causes of one family apart.",
}
_LAST_RESORT = ("Compare with the last deploy and the dependencies' dashboards, and widen the "
                "window: the cause may have started before it.")


def steps_seen(signals: Signals) -> set[StepName]:
    """The steps whose signals are present."""
    seen = {signal_step(name) for name in signals.numbers}
    if signals.log_patterns:
        seen.add(StepName.LOGS)
    if signals.span_categories:
        seen.add(StepName.TRACES)
    if signals.frames:
        seen.add(StepName.PROFILE)
    return seen


def _anomalies(signals: Signals) -> tuple[list[str], list[str]]:
    """(what moved, what was checked and is normal) among ``ANOMALY_TESTS``."""
    moved: list[str] = []
    normal: list[str] = []
    for test in ANOMALY_TESTS:
        observed = signals.numbers.get(test.signal)
        if observed is None:
            continue
        shown = f"{test.label}: {format_value(observed, NUMBERS[test.signal][0], test.signal)}"
        (moved if _OPS[test.op](observed, test.value) else normal).append(shown)
    return moved, sorted(set(normal), key=normal.index)


def _runner_up(diagnosis: Diagnosis) -> Candidate | None:
    """The best candidate of another family.

    Causes of the leading family share its evidence; when two of them are level, the family is
    still established and both are shown with their own evidence (two causes at once happen),
    so only a rival family makes the ranking inconclusive.
    """
    leader = diagnosis.candidates[0]
    return next((c for c in diagnosis.candidates[1:] if c.playbook != leader.playbook), None)


def _reasons(diagnosis: Diagnosis, moved: list[str], seen: set[StepName]) -> list[str]:
    leader = diagnosis.candidates[0]
    reasons = []
    if StepName.METRICS in seen and not moved:
        reasons.append("no metric moved away from its earlier level near the alert")
    if leader.evidence < MIN_EVIDENCE:
        reasons.append(f"the evidence for the leader ({leader.title}) is weak "
                       f"({leader.evidence:.1f}, a conclusion needs {MIN_EVIDENCE:.1f})")
    runner = _runner_up(diagnosis)
    if runner is not None and leader.score - runner.score < MIN_MARGIN:
        reasons.append(f"{leader.title} ({leader.score:.1f}) and {runner.title} "
                       f"({runner.score:.1f}) are too close to tell apart")
    return reasons


def _next_checks(diagnosis: Diagnosis, seen: set[StepName], playbooks: PlaybookSet
                 ) -> list[str]:
    checks = [_NEXT_STEP[step] for step in STEP_ORDER if step not in seen]
    for candidate in diagnosis.candidates[:2]:
        playbook = playbooks.get(candidate.playbook)
        cause = playbook.cause(candidate.cause) if playbook is not None else None
        if cause is not None and cause.next_check:
            checks.append(cause.next_check)
    checks.append(_LAST_RESORT)
    return list(dict.fromkeys(checks))


def judge(diagnosis: Diagnosis, signals: Signals, playbooks: PlaybookSet) -> Diagnosis:
    """``diagnosis`` with its verdict, reasons, what was normal and what to check next."""
    seen = steps_seen(signals)
    if not diagnosis.candidates or not seen:
        return diagnosis.model_copy(update={"verdict": "pending"})
    moved, normal = _anomalies(signals)
    reasons = _reasons(diagnosis, moved, seen)
    if not reasons:
        return diagnosis.model_copy(update={"verdict": "leading"})
    contradicted = [text for c in diagnosis.candidates[:3] for text in c.contradicting]
    checked = list(dict.fromkeys([*normal, *contradicted]))[:_SHOWN]
    return diagnosis.model_copy(update={
        "verdict": "inconclusive", "reasons": reasons, "checked_normal": checked,
        "next_checks": _next_checks(diagnosis, seen, playbooks)[:_SHOWN]})
