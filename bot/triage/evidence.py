"""How strongly a piece of evidence speaks, measured against what is normal.

A condition that holds is not all-or-nothing evidence: P99 wait at 50x its earlier level says
more than at 3x, three hundred "pool timed out" lines more than one. ``grade`` turns a
condition that holds into a factor between 1 and ``MAX_FACTOR`` by how far the observation
exceeds the condition's threshold (on a log scale, so no single signal runs away with the
ranking), and the diagnosis multiplies the condition's weight by it.

Profile frames are judged against a baseline: a frame at its usual share is no evidence,
whatever that share is (serde_json takes a tenth of any JSON API's CPU). The baseline is the
service's own profile from calm periods when the caller has one, else ``TYPICAL_CPU_FRAMES``,
rules of thumb for a Rust HTTP service. A frame condition holds when the share *above normal*
reaches its ``min_share``. Heap-diff frames have no baseline: growth is abnormal by itself.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from bot.models import FrameShare, Signals
from bot.triage.playbook import (
    AllOf,
    AnyOf,
    Condition,
    FrameCondition,
    LogCondition,
    SignalCondition,
    leaves,
)
from bot.triage.rules import Leaf, Outcome, Reading, check, frame_outcome

__all__ = ["MAX_FACTOR", "TYPICAL_CPU_FRAMES", "Graded", "grade", "normal_share"]

MAX_FACTOR = 2.0


def _frame(function: str, flat: float, cum: float) -> FrameShare:
    return FrameShare(function=function, flat=flat, cum=cum)


#: Rules of thumb: the share of CPU these frames take in a healthy Rust JSON-over-HTTP service.
TYPICAL_CPU_FRAMES: tuple[FrameShare, ...] = (
    _frame("serde_json::ser::to_writer", 0.04, 0.12),
    _frame("<T as serde::ser::Serialize>::serialize", 0.02, 0.08),
    _frame("__rust_alloc", 0.03, 0.03),
    _frame("__rust_dealloc", 0.02, 0.02),
    _frame("malloc", 0.02, 0.02),
    _frame("free", 0.01, 0.01),
    _frame("core::fmt::write", 0.01, 0.03),
    _frame("alloc::fmt::format", 0.005, 0.02),
    _frame("__memcpy_avx_unaligned_erms", 0.03, 0.03),
    _frame("<core::hash::sip::Hasher<S> as core::hash::Hasher>::write", 0.02, 0.03),
)


@dataclass(frozen=True)
class Graded:
    """A condition's outcome and its strength: 0 when it does not hold, else 1..MAX_FACTOR."""

    outcome: Outcome
    factor: float
    normal: float | None = None


def _scaled(ratio: float, per_doubling: float = 0.5) -> float:
    if not math.isfinite(ratio) or ratio <= 0:
        return MAX_FACTOR if ratio == math.inf else 1.0
    return max(1.0, min(MAX_FACTOR, 1.0 + per_doubling * math.log2(ratio)))


def _signal_factor(leaf: SignalCondition, observed: float) -> float:
    if leaf.op == "==":
        return 1.0
    above = leaf.op in (">", ">=")
    numerator, denominator = (observed, leaf.value) if above else (leaf.value, observed)
    if denominator <= 0:
        return MAX_FACTOR if numerator > 0 else 1.0
    return _scaled(numerator / denominator)


def normal_share(leaf: FrameCondition, baseline: Sequence[FrameShare]) -> float:
    """What the frames ``leaf`` looks for take in the baseline (0 when absent)."""
    outcome = frame_outcome(_owned(baseline, leaf), leaf.frame, 0.0, leaf.share,
                            leaf.under_worker)
    return outcome.value or 0.0


def _owned(frames: Sequence[FrameShare], leaf: FrameCondition) -> list[FrameShare]:
    """The frames whose own-code owner the condition accepts."""
    return [f for f in frames if _owner_ok(f.owner, leaf.owner, leaf.owner_excludes)]


def _owner_ok(owner: str | None, wanted: re.Pattern[str] | None,
              excluded: re.Pattern[str] | None) -> bool:
    if wanted is not None and not (owner and wanted.search(owner)):
        return False
    return not (excluded is not None and owner and excluded.search(owner))


def _grade_frame(leaf: FrameCondition, signals: Signals, reading: Reading,
                 baseline: Sequence[FrameShare]) -> Graded:
    frames = _owned(reading.frames(signals), leaf)
    outcome = frame_outcome(frames, leaf.frame, leaf.min_share, leaf.share, leaf.under_worker)
    if outcome.value is None:
        return Graded(outcome, 0.0)
    normal = normal_share(leaf, baseline) if reading.profile_kind == "cpu" else 0.0
    excess = outcome.value - normal
    holds = excess >= leaf.min_share and excess > 0
    factor = _scaled(excess / leaf.min_share) if holds and leaf.min_share > 0 else float(holds)
    return Graded(replace(outcome, holds=holds), factor, normal)


def _grade_leaf(leaf: Leaf, signals: Signals, reading: Reading,
                baseline: Sequence[FrameShare]) -> Graded:
    if isinstance(leaf, FrameCondition):
        return _grade_frame(leaf, signals, reading, baseline)
    outcome = check(leaf, signals, reading)
    if not outcome.holds or outcome.value is None:
        return Graded(outcome, 1.0 if outcome.holds else 0.0)
    if isinstance(leaf, SignalCondition):
        return Graded(outcome, _signal_factor(leaf, outcome.value))
    if isinstance(leaf, LogCondition):
        # Log lines are counted, often in hundreds: a decade of lines is one step up.
        return Graded(outcome, _scaled(outcome.value / leaf.min_count, per_doubling=0.15))
    return Graded(outcome, _scaled(outcome.value / max(leaf.min_share, 1e-9)))


def grade(condition: Condition, signals: Signals, reading: Reading,
          baseline: Sequence[FrameShare] | None = None) -> Graded:
    """The outcome of ``condition`` and its strength (see the module docstring).

    ``all``: the weakest of its conditions; ``any``: the strongest that holds. ``baseline`` is
    the service's calm-period CPU frames; None uses ``TYPICAL_CPU_FRAMES``.
    """
    normal_frames = TYPICAL_CPU_FRAMES if baseline is None else baseline
    if not isinstance(condition, AllOf | AnyOf):
        return _grade_leaf(condition, signals, reading, normal_frames)
    graded = [_grade_leaf(leaf, signals, reading, normal_frames) for leaf in leaves(condition)]
    held = [g for g in graded if g.outcome.holds]
    if isinstance(condition, AllOf):
        holds = len(held) == len(graded)
        factor = min(g.factor for g in graded) if holds else 0.0
    else:
        holds = bool(held)
        factor = max((g.factor for g in held), default=0.0)
    if not held:
        return Graded(Outcome(holds), 0.0)
    strongest = max(held, key=lambda g: g.factor)
    first = strongest.outcome
    frame = next((g.outcome.frame for g in held if g.outcome.frame is not None), None)
    evidence = tuple(e for g in held for e in g.outcome.evidence)
    return Graded(Outcome(holds, first.name, first.value, first.unit, frame, evidence),
                  factor, strongest.normal)
