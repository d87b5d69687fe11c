"""Finding when things changed: a single change point per series, pure and cheap.

The metrics step needs one moment to call "the anomaly's start" so the later steps look at the
right logs, traces and profile. A mean-shift test (the split that maximises the difference of
means over its standard error) finds level changes (P99, error rate, CPU); applied to first
differences it finds the start of a growth (RSS, live tasks).
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

MIN_SEGMENT = 4


@dataclass(frozen=True)
class Shift:
    """A change at ``index``: mean before, mean after, and how clear it is (a t-like score)."""

    index: int
    before: float
    after: float
    score: float

    @property
    def ratio(self) -> float:
        """after / before (inf when before is ~0 and after is not)."""
        if abs(self.before) < 1e-12:
            return math.inf if abs(self.after) > 1e-12 else 1.0
        return self.after / self.before


def finite(values: Sequence[float]) -> list[float]:
    """Values without NaN and infinities."""
    return [v for v in values if math.isfinite(v)]


def mean_shift(values: Sequence[float], min_segment: int = MIN_SEGMENT) -> Shift | None:
    """The most significant single change in mean, or None for too short a series."""
    xs = finite(values)
    n = len(xs)
    if n < 2 * min_segment:
        return None
    prefix = [0.0]
    squares = [0.0]
    for x in xs:
        prefix.append(prefix[-1] + x)
        squares.append(squares[-1] + x * x)
    best: Shift | None = None
    for k in range(min_segment, n - min_segment + 1):
        left, right = prefix[k] / k, (prefix[n] - prefix[k]) / (n - k)
        ss = (squares[n] - prefix[k] ** 2 / k - (prefix[n] - prefix[k]) ** 2 / (n - k))
        variance = max(ss / max(n - 2, 1), 1e-18 + 1e-6 * (left * left + right * right))
        score = abs(right - left) / math.sqrt(variance / k + variance / (n - k))
        if best is None or score > best.score:
            best = Shift(k, left, right, score)
    return best


def growth_start(values: Sequence[float], min_segment: int = MIN_SEGMENT) -> Shift | None:
    """Where a series starts growing (or growing faster): a mean shift of its differences.

    The index refers to ``values`` (the difference at i is values[i] - values[i-1]).
    """
    xs = finite(values)
    diffs = [b - a for a, b in itertools.pairwise(xs)]
    shift = mean_shift(diffs, min_segment)
    if shift is None:
        return None
    return Shift(shift.index + 1, shift.before, shift.after, shift.score)


def median_or_nan(values: Sequence[float]) -> float:
    """Median of the finite values, NaN when there are none."""
    xs = finite(values)
    return statistics.median(xs) if xs else math.nan


def least_squares_slope(points: Sequence[tuple[float, float]]) -> float:
    """Slope (per second) of the best-fit line through (t, v) points; 0 for fewer than 2."""
    pts = [(t, v) for t, v in points if math.isfinite(v)]
    if len(pts) < 2:
        return 0.0
    mean_t = sum(t for t, _ in pts) / len(pts)
    mean_v = sum(v for _, v in pts) / len(pts)
    den = sum((t - mean_t) ** 2 for t, _ in pts)
    return sum((t - mean_t) * (v - mean_v) for t, v in pts) / den if den else 0.0
