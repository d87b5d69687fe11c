"""Shared measuring helpers for the benchmarks: percentiles and a fixed-width table."""

from __future__ import annotations

import statistics
from collections.abc import Sequence


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) by nearest rank."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def summary(values: Sequence[float]) -> dict[str, float]:
    """Median, P99 and max of a list of seconds, in milliseconds."""
    return {"median_ms": statistics.median(values) * 1000,
            "p99_ms": percentile(values, 99) * 1000,
            "max_ms": max(values) * 1000}


def table(rows: list[dict[str, object]]) -> str:
    """A plain-text table of dict rows with the same keys."""
    headers = list(rows[0])
    cells = [[f"{r[h]:.2f}" if isinstance(r[h], float) else str(r[h]) for h in headers]
             for r in rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(headers)]
    lines = ["  ".join(h.rjust(w) for h, w in zip(headers, widths, strict=True))]
    lines += ["  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    return "\n".join(lines)
