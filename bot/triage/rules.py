"""Playbook conditions evaluated on the walk's signals: findings with hints, and outcomes.

A condition on a signal the walk has not produced (yet) simply does not hold: a rule never
guesses, it waits for its evidence. Each finding is tagged with the step its evidence comes
from (the latest of them, for a combination), so a caller evaluating after the logs step can
ask for the logs findings only.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

from bot.models import STEP_ORDER, Evidence, Finding, FrameShare, Signals, StepName
from bot.models.units import human, times
from bot.triage.playbook import (
    AllOf,
    AnyOf,
    Condition,
    FrameCondition,
    FrameHint,
    LogCondition,
    Playbook,
    SignalCondition,
    SpanCondition,
    leaves,
)
from bot.triage.playbook_values import TEXT_FIELD_RE
from bot.triage.signal_names import NUMBERS

__all__ = [
    "SIGNAL_STEPS",
    "Outcome",
    "Reading",
    "check",
    "condition_step",
    "evaluate",
    "format_value",
    "frame_outcome",
    "render_text",
    "signal_step",
    "subjects",
]

#: Which step produces the number signals of each prefix (``x.*`` come from playbook queries,
#: which the metrics step runs).
SIGNAL_STEPS: Mapping[str, StepName] = MappingProxyType({
    "http": StepName.METRICS, "cpu": StepName.METRICS, "rss": StepName.METRICS,
    "memory": StepName.METRICS, "tokio": StepName.METRICS, "pool": StepName.METRICS,
    "process": StepName.METRICS, "deploy": StepName.METRICS, "x": StepName.METRICS,
    "logs": StepName.LOGS, "traces": StepName.TRACES,
    "profile": StepName.PROFILE, "heap": StepName.PROFILE,
})
_OPS: Mapping[str, Callable[[float, float], bool]] = MappingProxyType({
    ">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le,
    "==": lambda a, b: math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12),
})
#: Signals that measure one fact in different ways: a rate, a ratio over the window, a
#: projection. A playbook may weigh each, but a candidate must not list the fact both for and
#: against itself ("RSS grows at 78.5 KiB/s" and "RSS is flat (1x)"). Others: their own name.
FACTS: Mapping[str, str] = MappingProxyType({
    "rss.slope_bytes_per_s": "rss-growth", "rss.growth_ratio": "rss-growth",
    "memory.time_to_oom_s": "rss-growth",
    "tokio.live_tasks": "live-tasks", "tokio.live_tasks_slope_per_s": "live-tasks",
    "pool.wait_seconds": "pool-wait", "pool.wait_change": "pool-wait",
    "http.p99_seconds": "p99", "http.p99_change": "p99",
    "cpu.cores": "cpu", "cpu.change": "cpu",
    "http.request_rate": "request-rate", "http.request_rate_change": "request-rate",
})
_MULTIPLIERS = frozenset(n for n in NUMBERS if n.endswith("change") or n == "rss.growth_ratio")
_EVIDENCE_FRAMES = 3
_TITLE_FRAME_CHARS = 90

Leaf = SignalCondition | FrameCondition | LogCondition | SpanCondition
ProfileKind = Literal["cpu", "heap_diff"]


@dataclass(frozen=True)
class Outcome:
    """Whether a condition holds, and what it saw (for ``{value}``/``{frame}`` and evidence)."""

    holds: bool
    name: str = ""
    value: float | None = None
    unit: str | None = None
    frame: str | None = None
    evidence: tuple[Evidence, ...] = ()


@dataclass(frozen=True)
class Reading:
    """How one playbook reads signals: units of its ``x.*`` signals, and which profile its
    frame patterns describe (CPU frames and heap-growth frames mean different things: the
    allocator at the leaf of every heap stack is not CPU spent in the allocator).
    """

    units: Mapping[str, str]
    profile_kind: ProfileKind = "cpu"

    @classmethod
    def of(cls, playbook: Playbook) -> Reading:
        """The reading of ``playbook``'s conditions."""
        return cls(playbook.signal_units(), playbook.steps.profile.kind)

    def unit(self, name: str) -> str | None:
        """The unit of a signal: the playbook's query unit, else signal_names'."""
        return self.units.get(name) or (NUMBERS[name][0] if name in NUMBERS else None)

    def frames(self, signals: Signals) -> list[FrameShare]:
        """``signals.frames`` when they come from this playbook's kind of profile.

        The profile step says which kind its frames are (``frames_kind``). Without that, the
        kind is guessed: ``profile.samples`` comes with CPU frames and ``heap.growth_bytes``
        with heap-diff frames; when both are present the frames are used as they are.
        """
        if signals.frames_kind is not None:
            return list(signals.frames) if signals.frames_kind == self.profile_kind else []
        cpu = "profile.samples" in signals.numbers
        heap = "heap.growth_bytes" in signals.numbers
        if cpu == heap:  # no profile step yet (frames given directly), or both kinds ran
            return list(signals.frames)
        kind = "heap_diff" if heap else "cpu"
        return list(signals.frames) if kind == self.profile_kind else []


def signal_step(name: str) -> StepName:
    """The step that produces a number signal (metrics for an unknown prefix)."""
    return SIGNAL_STEPS.get(name.split(".", 1)[0], StepName.METRICS)


def _leaf_step(leaf: Leaf) -> StepName:
    if isinstance(leaf, SignalCondition):
        return signal_step(leaf.signal)
    if isinstance(leaf, FrameCondition):
        return StepName.PROFILE
    if isinstance(leaf, LogCondition):
        return StepName.LOGS
    return StepName.TRACES


def _leaf_subject(leaf: Leaf) -> str:
    if isinstance(leaf, SignalCondition):
        return FACTS.get(leaf.signal, leaf.signal)
    if isinstance(leaf, FrameCondition):
        return f"frame:{leaf.frame.pattern}"
    if isinstance(leaf, LogCondition):
        return f"log:{leaf.log}"
    return f"span:{leaf.span}"


def subjects(condition: Condition) -> frozenset[str]:
    """The facts a condition reads (see FACTS): two conditions sharing one weigh one fact."""
    return frozenset(_leaf_subject(leaf) for leaf in leaves(condition))


def condition_step(condition: Condition) -> StepName:
    """The latest step (in walk order) whose evidence the condition needs."""
    return max((_leaf_step(leaf) for leaf in leaves(condition)), key=STEP_ORDER.index)


def format_value(value: float, unit: str | None, name: str = "") -> str:
    """A number as a responder reads it: ``512 MiB``, ``850 ms``, ``97%``, ``8×``.

    Ratios comparing two periods (``*_change``, ``rss.growth_ratio``) read as multipliers.
    """
    if unit == "ratio" and name in _MULTIPLIERS:
        return times(value)
    if unit in (None, "count"):
        return _number(value)
    return human(value, unit)


def _number(value: float) -> str:
    if math.isfinite(value) and value == int(value) and abs(value) < 1e15:
        return f"{int(value):,}"
    return human(value, "count")


def _check_signal(leaf: SignalCondition, signals: Signals, reading: Reading) -> Outcome:
    observed = signals.numbers.get(leaf.signal)
    if observed is None:
        return Outcome(False, leaf.signal)
    unit = reading.unit(leaf.signal)
    shown = format_value(observed, unit, leaf.signal)
    evidence = Evidence(label=leaf.signal, value=shown, number=observed, unit=unit,
                        source=f"{signal_step(leaf.signal)} step")
    return Outcome(_OPS[leaf.op](observed, leaf.value), leaf.signal, observed, unit,
                   evidence=(evidence,))


def frame_outcome(
    frames: Sequence[FrameShare], pattern: re.Pattern[str], min_share: float,
    share: Literal["flat", "cum"], under_worker: bool | None,
) -> Outcome:
    """Frames matching ``pattern``: the largest cum share, or the sum of flat shares."""
    matched = [f for f in frames if pattern.search(f.function)
               and (under_worker is None or f.under_worker == under_worker)]
    if not matched:
        return Outcome(False, pattern.pattern)

    def of(frame: FrameShare) -> float:
        return frame.cum if share == "cum" else frame.flat

    matched.sort(key=lambda f: (-of(f), f.function))
    total = of(matched[0]) if share == "cum" else sum(of(f) for f in matched)
    evidence = tuple(
        Evidence(label=frame_label(f) + (" (on a Tokio worker)" if f.under_worker else ""),
                 value=f"{of(f):.1%} {share}", number=of(f), unit="ratio", source="profile step")
        for f in matched[:_EVIDENCE_FRAMES]
    )
    return Outcome(total >= min_share, pattern.pattern, total, "ratio", frame_label(matched[0]),
                   evidence)


def owned_frame(frame: FrameShare) -> str:
    """The frame a responder should look at: the first frame of the service's own code above
    ``frame`` when the profile step found one (not the allocator or a library), else itself.
    """
    return frame.owner or frame.function


def frame_label(frame: FrameShare) -> str:
    """``owner (via function)`` when the frame has an own-code owner, else the function."""
    if frame.owner and frame.owner != frame.function:
        return f"{frame.owner} (via {frame.function})"
    return frame.function


def _check_leaf(leaf: Leaf, signals: Signals, reading: Reading) -> Outcome:
    if isinstance(leaf, SignalCondition):
        return _check_signal(leaf, signals, reading)
    if isinstance(leaf, FrameCondition):
        return frame_outcome(reading.frames(signals), leaf.frame, leaf.min_share, leaf.share,
                             leaf.under_worker)
    if isinstance(leaf, LogCondition):
        count = signals.log_patterns.get(leaf.log, 0)
        evidence = Evidence(label=f"log lines: {leaf.log}", value=_number(count), number=count,
                            unit="count", source="logs step")
        return Outcome(count >= leaf.min_count, leaf.log, count, "count", evidence=(evidence,))
    observed = signals.span_categories.get(leaf.span)
    if observed is None:
        return Outcome(False, leaf.span)
    evidence = Evidence(label=f"{leaf.span} spans (share of slow-trace time)",
                        value=f"{observed:.0%}", number=observed, unit="ratio",
                        source="traces step")
    return Outcome(observed >= leaf.min_share, leaf.span, observed, "ratio",
                   evidence=(evidence,))


def check(condition: Condition, signals: Signals, reading: Reading) -> Outcome:
    """Evaluate one of a playbook's conditions (``reading = Reading.of(playbook)``).

    For ``all``/``any`` the outcome's value is that of the first condition that holds, its
    frame that of the first frame condition that holds; the evidence is that of all that hold.
    """
    if not isinstance(condition, AllOf | AnyOf):
        return _check_leaf(condition, signals, reading)
    outcomes = [_check_leaf(leaf, signals, reading) for leaf in leaves(condition)]
    held = [o for o in outcomes if o.holds]
    holds = len(held) == len(outcomes) if isinstance(condition, AllOf) else bool(held)
    if not held:
        return Outcome(holds)
    first = held[0]
    frame = next((o.frame for o in held if o.frame is not None), None)
    return Outcome(holds, first.name, first.value, first.unit, frame,
                   tuple(e for o in held for e in o.evidence))


def render_text(template: str, outcome: Outcome, signals: Signals, reading: Reading) -> str:
    """Fill ``{value}``, ``{frame}`` and ``{signal:NAME}`` with human units."""

    def fill(match: re.Match[str]) -> str:
        name, arg = match.group(1), match.group(2)
        if name == "value" and arg is None:
            if outcome.value is None:
                return "n/a"
            return format_value(outcome.value, outcome.unit, outcome.name)
        if name == "frame" and arg is None:
            return outcome.frame or "n/a"
        if name == "signal" and arg:
            observed = signals.numbers.get(arg)
            return "n/a" if observed is None else format_value(observed, reading.unit(arg), arg)
        return match.group(0)

    return TEXT_FIELD_RE.sub(fill, template)


def evaluate(playbook: Playbook, signals: Signals, step: StepName | None) -> list[Finding]:
    """The playbook's findings whose conditions hold (only ``step``'s, unless None).

    Rule findings come first, in playbook order, keyed ``<playbook id>.<rule key>``; then one
    finding per matched profile frame hint, keyed ``<playbook id>.frame.<hint key>``.
    """
    reading = Reading.of(playbook)
    found: list[Finding] = []
    for rule in playbook.findings:
        rule_step = condition_step(rule.when)
        if step is not None and rule_step != step:
            continue
        outcome = check(rule.when, signals, reading)
        if outcome.holds:
            found.append(Finding(
                key=f"{playbook.id}.{rule.key}", step=rule_step,
                title=render_text(rule.title, outcome, signals, reading),
                severity=rule.severity,
                summary=render_text(rule.summary, outcome, signals, reading),
                evidence=list(outcome.evidence), hints=list(rule.hints),
            ))
    if step in (None, StepName.PROFILE):
        frames = reading.frames(signals)
        for hint in playbook.steps.profile.frames:
            outcome = frame_outcome([f for f in frames if hint.counts(f)], hint.pattern,
                                    hint.min_share, hint.share, hint.under_worker)
            if outcome.holds:
                found.append(_frame_finding(playbook, hint, outcome))
    return found


def _frame_finding(playbook: Playbook, hint: FrameHint, outcome: Outcome) -> Finding:
    frame = outcome.frame or hint.pattern.pattern
    if len(frame) > _TITLE_FRAME_CHARS:
        frame = frame[: _TITLE_FRAME_CHARS - 1] + "…"
    of_what = "of heap growth" if playbook.steps.profile.kind == "heap_diff" else "of CPU time"
    where = " on a Tokio worker" if hint.under_worker else ""
    return Finding(
        key=f"{playbook.id}.frame.{hint.key}", step=StepName.PROFILE,
        title=f"{frame}{where}: {outcome.value or 0.0:.0%} {of_what}",
        severity=hint.severity, summary=hint.hint,
        evidence=list(outcome.evidence), hints=[hint.hint],
    )
