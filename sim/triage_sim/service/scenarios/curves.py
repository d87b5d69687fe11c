"""Shapes over scenario time: piecewise-linear curves, their integrals, latency distributions.

A scenario describes *rates* and *levels* as functions of scenario time ``t`` (seconds since its
history starts). Counters are integrals of rates, so they are monotonic by construction and a
scrape of the live stand-in continues exactly where the backfilled history stopped: both read the
same integral. Integrals are tabulated once on a fixed grid (Simpson's rule per cell, exact for
the piecewise-linear curves used here up to the wobble) and read by linear interpolation, which
keeps them monotonic between grid points too.

Randomness is a hash of integers (splitmix64), never a seeded global generator: the same line,
trace or sample comes out whichever window asks for it, in whatever order.
"""

from __future__ import annotations

import bisect
import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

__all__ = [
    "ZERO",
    "Cumulative",
    "Curve",
    "LogNormal",
    "flat",
    "mix64",
    "ramp",
    "since_reset",
    "unit_float",
]

Fn = Callable[[float], float]
_MASK = (1 << 64) - 1
GRID_S = 10.0


def mix64(*values: int) -> int:
    """A 64-bit hash of integers (splitmix64 rounds): deterministic, fast, well spread."""
    state = 0x9E3779B97F4A7C15
    for value in values:
        state = (state ^ (value & _MASK)) & _MASK
        state = (state + 0x9E3779B97F4A7C15) & _MASK
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
        state = z ^ (z >> 31)
    return state


def unit_float(*values: int) -> float:
    """A float in [0, 1) derived from ``values`` (the same inputs give the same float)."""
    return (mix64(*values) >> 11) / float(1 << 53)


@dataclass(frozen=True)
class Curve:
    """A level through ``knots`` (t, value), flat beyond both ends, plus a gentle wobble.

    The wobble (``amplitude`` * sin) keeps charts from looking ruled; it is absolute, so a
    curve that must stay positive needs an amplitude below its smallest knot.
    """

    knots: tuple[tuple[float, float], ...]
    amplitude: float = 0.0
    period: float = 900.0
    phase: float = 0.0

    def __post_init__(self) -> None:
        times = [t for t, _ in self.knots]
        if not self.knots or times != sorted(times):
            raise ValueError("a curve needs knots in time order")

    def __call__(self, t: float) -> float:
        return self.base(t) + self.amplitude * math.sin(2 * math.pi * t / self.period + self.phase)

    def base(self, t: float) -> float:
        """The piecewise-linear part, without the wobble."""
        knots = self.knots
        if t <= knots[0][0]:
            return knots[0][1]
        if t >= knots[-1][0]:
            return knots[-1][1]
        index = bisect.bisect_right([k[0] for k in knots], t)
        (t0, v0), (t1, v1) = knots[index - 1], knots[index]
        return v0 + (v1 - v0) * (t - t0) / (t1 - t0)


def flat(value: float, amplitude: float = 0.0, period: float = 900.0) -> Curve:
    """A constant level (with an optional wobble)."""
    return Curve(((0.0, value),), amplitude, period)


#: Zero, always (a default for optional shares and rates).
ZERO = flat(0.0)


def ramp(before: float, after: float, start: float, over: float = 240.0, *,
         amplitude: float = 0.0, period: float = 900.0) -> Curve:
    """``before`` until ``start``, then a straight change to ``after`` over ``over`` seconds."""
    return Curve(((start, before), (start + over, after)), amplitude, period)


@dataclass(frozen=True)
class Cumulative:
    """``∫_0^t rate``, tabulated on a grid and extended on demand (thread-safe).

    Values between grid points are interpolated linearly, so the integral of a non-negative
    rate never decreases, at any resolution a reader asks for.
    """

    rate: Fn
    grid: float = GRID_S
    _table: list[float] = field(default_factory=lambda: [0.0], compare=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, compare=False, repr=False)

    def __call__(self, t: float) -> float:
        if t <= 0:
            return 0.0
        position = t / self.grid
        index = int(position)
        table = self._table
        if index + 1 >= len(table):
            self._extend(index + 1)
        low, high = table[index], table[index + 1]
        return low + (high - low) * (position - index)

    def _extend(self, index: int) -> None:
        if index < len(self._table):
            return
        with self._lock:
            table, rate, h = self._table, self.rate, self.grid
            while len(table) <= index:
                a = (len(table) - 1) * h
                cell = h / 6 * (rate(a) + 4 * rate(a + h / 2) + rate(a + h))
                table.append(table[-1] + max(0.0, cell))


def since_reset(values: Fn, resets: Sequence[float]) -> Fn:
    """A counter that starts again from zero at each time in ``resets`` (process restarts)."""
    ordered = sorted(resets)
    if not ordered:
        return values

    def counter(t: float) -> float:
        index = bisect.bisect_right(ordered, t)
        return values(t) - (values(ordered[index - 1]) if index else 0.0)

    return counter


@dataclass(frozen=True)
class LogNormal:
    """A latency distribution (seconds) by its median and log-space spread."""

    median: float
    sigma: float

    def cdf(self, x: float) -> float:
        """P(latency <= x)."""
        if x == math.inf:
            return 1.0
        if x <= 0:
            return 0.0
        z = (math.log(x) - math.log(self.median)) / (self.sigma * math.sqrt(2))
        return 0.5 * (1 + math.erf(z))

    @property
    def mean(self) -> float:
        """The expected latency (for ``_sum``)."""
        return self.median * math.exp(self.sigma**2 / 2)

    def quantile(self, q: float) -> float:
        """The ``q`` quantile (0 < q < 1), by bisection on the CDF."""
        low, high = 1e-9, 1e6
        for _ in range(200):
            mid = math.sqrt(low * high)
            if self.cdf(mid) < q:
                low = mid
            else:
                high = mid
        return high
