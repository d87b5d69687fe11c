"""A scenario's traces: one request every ``period`` seconds, slow ones during the anomaly.

Nothing is stored. Trace number ``k`` (its *slot*) starts at about ``k * period`` scenario
seconds; whether it is a normal or an anomalous request, its shape and its duration are hashes
of ``k``. The trace id encodes the slot (reversibly scrambled, so ids still look random), which
is how ``/api/traces/<id>`` finds any trace ever searched for or shown as an exemplar, in the
live stand-in and in the demo replaying recordings made days earlier.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from triage_sim.service.scenarios.curves import Fn, mix64, unit_float

__all__ = [
    "AttrValue",
    "SimSpan",
    "SimTrace",
    "SpanShape",
    "TraceModel",
    "TraceRef",
    "TraceShape",
]

AttrValue = str | int | float | bool
_MASK = (1 << 64) - 1
_SCRAMBLE = 0x9E3779B97F4A7C15
_UNSCRAMBLE = pow(_SCRAMBLE, -1, 1 << 64)
_OFFSET = 0x2545F4914F6CDD1D


@dataclass(frozen=True)
class SpanShape:
    """A child span: its parent (0 is the root), when it starts and how long it lasts, as
    shares of the whole request, its kind and attributes, and an error message if it failed."""

    name: str
    parent: int = 0
    offset: float = 0.0
    share: float = 0.1
    kind: str = "internal"
    attributes: Mapping[str, AttrValue] = field(default_factory=dict)
    error: str | None = None


@dataclass(frozen=True)
class TraceShape:
    """A kind of request: its route and status, its duration range, and its child spans."""

    method: str
    route: str
    duration: tuple[float, float]
    spans: tuple[SpanShape, ...] = ()
    status: int = 200
    weight: float = 1.0
    error: str | None = None

    @property
    def operation(self) -> str:
        """The root span's name, as OpenTelemetry HTTP servers name it."""
        return f"{self.method} {self.route}"


@dataclass(frozen=True)
class TraceRef:
    """A trace without its spans: enough to search, list and pick exemplars."""

    trace_id: str
    slot: int
    start: float
    duration: float
    shape: TraceShape

    @property
    def end(self) -> float:
        """When the request finished (scenario seconds)."""
        return self.start + self.duration


@dataclass(frozen=True)
class SimSpan:
    """One span with Unix-second times, ready for any backend's wire format."""

    span_id: str
    parent_id: str | None
    name: str
    kind: str
    start: float
    end: float
    attributes: Mapping[str, AttrValue]
    error: str | None = None


@dataclass(frozen=True)
class SimTrace:
    """A whole trace (Unix-second times): the service it belongs to and its spans, root first."""

    trace_id: str
    service: str
    version: str
    spans: tuple[SimSpan, ...]

    @property
    def root(self) -> SimSpan:
        """The server span of the request."""
        return self.spans[0]


@dataclass(frozen=True)
class TraceModel:
    """Which requests a service serves, and how the anomaly changes them."""

    service: str
    normal: tuple[TraceShape, ...]
    anomaly: tuple[TraceShape, ...]
    anomaly_share: Fn
    seed: int
    period: float = 2.0
    version: str = "1.0.0"

    def trace_id(self, slot: int) -> str:
        """The 32-hex-digit id of trace ``slot``."""
        low = (slot * _SCRAMBLE + _OFFSET) & _MASK
        return f"{self._prefix:016x}{low:016x}"

    def slot_of(self, trace_id: str) -> int | None:
        """The slot a trace id stands for, or None when it is not one of this model's ids."""
        text = trace_id.strip().lower().zfill(32)
        if len(text) != 32 or text[:16] != f"{self._prefix:016x}":
            return None
        try:
            low = int(text[16:], 16)
        except ValueError:
            return None
        slot = ((low - _OFFSET) * _UNSCRAMBLE) & _MASK
        return slot if slot < 1 << 40 else None

    @property
    def _prefix(self) -> int:
        return mix64(self.seed, 0x7ACE) | (1 << 63)

    def ref(self, slot: int) -> TraceRef:
        """Slot ``slot``'s start, duration and shape (cheap: no spans built)."""
        start = (slot + 0.8 * unit_float(self.seed, slot, 1)) * self.period
        anomalous = bool(self.anomaly) and unit_float(self.seed, slot, 2) < self.anomaly_share(
            start)
        shapes = self.anomaly if anomalous else self.normal
        shape = _pick(shapes, unit_float(self.seed, slot, 3))
        low, high = shape.duration
        duration = low * (high / low) ** unit_float(self.seed, slot, 4)
        return TraceRef(self.trace_id(slot), slot, start, duration, shape)

    def finished(self, t0: float, t1: float, now: float) -> Iterator[TraceRef]:
        """Traces that started in ``[t0, t1)`` and ended by ``now``, newest first."""
        last = math.floor(min(t1, now) / self.period)
        first = max(0, math.floor(t0 / self.period) - 1)
        for slot in range(last, first - 1, -1):
            ref = self.ref(slot)
            if t0 <= ref.start < t1 and ref.end <= now:
                yield ref

    def build(self, ref: TraceRef, epoch: float) -> SimTrace:
        """The trace's spans, at Unix times (``epoch`` is the Unix time of scenario t=0)."""
        shape, slot = ref.shape, ref.slot
        begin, length = epoch + ref.start, ref.duration
        root = SimSpan(self._span_id(slot, 0), None, shape.operation, "server", begin,
                       begin + length, _root_attributes(shape), shape.error)
        spans = [root]
        for index, child in enumerate(shape.spans, start=1):
            parent = spans[child.parent]
            jitter = 0.9 + 0.2 * unit_float(self.seed, slot, 10 + index)
            start = parent.start + child.offset * length
            end = min(root.end, start + child.share * length * jitter)
            spans.append(SimSpan(self._span_id(slot, index), parent.span_id, child.name,
                                 child.kind, start, max(start, end),
                                 MappingProxyType(dict(child.attributes)), child.error))
        return SimTrace(ref.trace_id, self.service, self.version, tuple(spans))

    def _span_id(self, slot: int, index: int) -> str:
        return f"{mix64(self.seed, slot, index, 0x5A) | 1:016x}"


def _pick(shapes: tuple[TraceShape, ...], u: float) -> TraceShape:
    total = sum(s.weight for s in shapes)
    point = u * total
    for shape in shapes:
        point -= shape.weight
        if point < 0:
            return shape
    return shapes[-1]


def _root_attributes(shape: TraceShape) -> Mapping[str, AttrValue]:
    return MappingProxyType({
        "http.request.method": shape.method,
        "http.route": shape.route,
        "url.path": shape.route.replace("{id}", "8812"),
        "http.response.status_code": shape.status,
        "url.scheme": "http",
        "network.protocol.version": "1.1",
    })
