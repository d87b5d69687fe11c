"""Value formatting with pprof's unit rules, so our numbers print exactly like ``go tool pprof``.

pprof recognises memory units (bytes, scaled by 1024 into kB/MB/GB/TB/PB), time units
(nanoseconds to hours, printed ns/us/ms/s/hrs) and Google Compute Units; any other unit
("count", "samples") prints as a bare number. A value is printed with two decimals, and a
trailing ".00" dropped: ``1.28s``, ``47781.96kB``, ``32MB``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class _Unit:
    name: str
    aliases: tuple[str, ...]
    factor: float


@dataclass(frozen=True)
class _UnitType:
    default: _Unit
    units: tuple[_Unit, ...]

    def sniff(self, unit: str) -> _Unit | None:
        unit = unit.lower()
        # pprof measures the length in bytes: "μs" (3 bytes) loses its "s" and matches nothing.
        if len(unit.encode()) > 2:
            unit = unit.removesuffix("s")
        return next((u for u in self.units if unit in u.aliases), None)

    def auto_scale(self, value: float) -> tuple[float, str] | None:
        factor, name = 0.0, ""
        for unit in self.units:
            if unit.factor >= factor and value / unit.factor >= 1.0:
                factor, name = unit.factor, unit.name
        return None if factor == 0 else (value / factor, name)

    def convert(self, value: int, from_unit: str, to_unit: str) -> tuple[float, str] | None:
        source = self.sniff(from_unit)
        if source is None:
            return None
        scaled = float(value) * source.factor
        if to_unit in ("minimum", "auto"):
            auto = self.auto_scale(scaled)
            if auto is not None:
                return auto
            return scaled / self.default.factor, self.default.name
        target = self.sniff(to_unit) or self.default
        return scaled / target.factor, target.name


_BYTE = _Unit("B", ("b", "byte"), 1.0)
_UNIT_TYPES = (
    _UnitType(_BYTE, (
        _BYTE,
        _Unit("kB", ("kb", "kbyte", "kilobyte"), float(1 << 10)),
        _Unit("MB", ("mb", "mbyte", "megabyte"), float(1 << 20)),
        _Unit("GB", ("gb", "gbyte", "gigabyte"), float(1 << 30)),
        _Unit("TB", ("tb", "tbyte", "terabyte"), float(1 << 40)),
        _Unit("PB", ("pb", "pbyte", "petabyte"), float(1 << 50)),
    )),
    _UnitType(_Unit("s", (), 1e9), (
        _Unit("ns", ("ns", "nanosecond"), 1.0),
        _Unit("us", ("μs", "us", "microsecond"), 1e3),
        _Unit("ms", ("ms", "millisecond"), 1e6),
        _Unit("s", ("s", "sec", "second"), 1e9),
        _Unit("hrs", ("hour", "hr"), 3.6e12),
    )),
    _UnitType(_Unit("GCU", (), 1.0), (
        _Unit("n*GCU", ("nanogcu",), 1e-9),
        _Unit("u*GCU", ("microgcu",), 1e-6),
        _Unit("m*GCU", ("milligcu",), 1e-3),
        _Unit("GCU", ("gcu",), 1.0),
        _Unit("k*GCU", ("kilogcu",), 1e3),
        _Unit("M*GCU", ("megagcu",), 1e6),
        _Unit("G*GCU", ("gigagcu",), 1e9),
        _Unit("T*GCU", ("teragcu",), 1e12),
        _Unit("P*GCU", ("petagcu",), 1e15),
    )),
)


def scale(value: int, from_unit: str, to_unit: str) -> tuple[float, str]:
    """``value`` in ``from_unit`` expressed in ``to_unit`` ("minimum"/"auto": the best fit).

    The returned unit is "" for plain counts, which print without a unit.
    """
    if value < 0:
        scaled, unit = scale(-value, from_unit, to_unit)
        return -scaled, unit
    for unit_type in _UNIT_TYPES:
        converted = unit_type.convert(value, from_unit, to_unit)
        if converted is not None:
            return converted
    if to_unit in ("count", "sample", "unit", "minimum", "auto"):
        return float(value), ""
    return float(value), to_unit


def scaled_label(value: int, from_unit: str, to_unit: str) -> str:
    """``value`` printed in ``to_unit``: ``1.28s``, ``512.20kB``, ``0``."""
    scaled, unit = scale(value, from_unit, to_unit)
    text = f"{scaled:.2f}".removesuffix(".00")
    if text in ("0", "-0"):
        return "0"
    return text + unit


def auto_label(value: int, unit: str) -> str:
    """``value`` printed in the unit that fits it best (``2s``, ``30.16s``, ``83.20MB``)."""
    return scaled_label(value, unit, "auto")


def percentage(value: int, total: int) -> str:
    """pprof's percentage column: ``72.73%``, ``  100%``, `` 0.067%`` (at least 2 digits)."""
    ratio = abs(value / total) * 100 if total else 0.0
    if 99.95 <= ratio <= 100.05:
        return "  100%"
    if ratio >= 1.0:
        return f"{ratio:5.2f}%"
    return f"{ratio:5.2g}%"
