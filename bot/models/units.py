"""Numbers as a responder reads them: 1.4 GiB, 230 ms, 12.5%, 3.2 cores."""

from __future__ import annotations

import math
from collections.abc import Callable

_BYTES = (("TiB", 1024**4), ("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024))


def human_bytes(value: float) -> str:
    """1536 -> '1.5 KiB'."""
    for name, size in _BYTES:
        if abs(value) >= size:
            return f"{value / size:.3g} {name}"
    return f"{value:.0f} B"


def human_seconds(value: float) -> str:
    """0.23 -> '230 ms'; 5400 -> '1.5 h'."""
    size = abs(value)
    if size < 1e-3:
        return f"{value * 1e6:.3g} µs"
    if size < 1:
        return f"{value * 1e3:.3g} ms"
    if size < 120:
        return f"{value:.3g} s"
    if size < 7200:
        return f"{value / 60:.3g} min"
    if size < 172800:
        return f"{value / 3600:.3g} h"
    return f"{value / 86400:.3g} d"


_FORMATS: dict[str, Callable[[float], str]] = {
    "bytes": human_bytes,
    "bytes/s": lambda v: f"{human_bytes(v)}/s",
    "s": human_seconds,
    "ratio": lambda v: f"{v * 100:.3g}%",
    "cores": lambda v: f"{v:.3g} cores",
    "count/s": lambda v: f"{v:.3g}/s",
    "req/s": lambda v: f"{v:.3g}/s",
    "bool": lambda v: "yes" if v else "no",
}


def human(value: float, unit: str) -> str:
    """Format ``value`` in ``unit`` (a signal_names unit or a chart unit)."""
    if not math.isfinite(value):
        return "n/a"
    formatter = _FORMATS.get(unit)
    if formatter is not None:
        return formatter(value)
    return f"{value:.4g}{' ' + unit if unit and unit != 'count' else ''}"


def times(ratio: float) -> str:
    """A change factor: '11×', '0.4×'."""
    return "n/a" if not math.isfinite(ratio) else f"{ratio:.2g}×"
