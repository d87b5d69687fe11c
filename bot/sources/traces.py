"""The one trace model every tracing backend is normalised into.

Jaeger's legacy JSON, OTLP JSON from Jaeger api_v3 and Tempo v2, and Tempo's v1 ``batches``
all become ``Trace``/``Span``; search results become ``TraceSummary``. Ids are lower-case hex
everywhere, whatever the wire used (Tempo writes base64, Jaeger hex; Tempo drops leading zeros).
A trace id typed by a user is checked here before it becomes part of any URL.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Protocol

from bot.errors import InputError
from bot.sources.shape import ShapeError
from bot.sources.window import TimeWindow

__all__ = [
    "AttributeValue",
    "Span",
    "SpanKind",
    "Trace",
    "TraceBackend",
    "TraceSearch",
    "TraceSummary",
    "build_trace",
    "decode_id",
    "parse_trace_id",
]

AttributeValue = str | int | float | bool
_HEX_RE = re.compile(r"^[0-9a-fA-F]+$")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class SpanKind(StrEnum):
    """What side of a call a span is (OpenTelemetry's span kinds)."""

    SERVER = "server"
    CLIENT = "client"
    INTERNAL = "internal"
    PRODUCER = "producer"
    CONSUMER = "consumer"
    UNSPECIFIED = "unspecified"


def from_unix_nanos(nanos: int) -> datetime:
    """Nanoseconds since the epoch as an aware UTC datetime (truncated to microseconds)."""
    return from_unix_micros(nanos // 1000)


def from_unix_micros(micros: int) -> datetime:
    """Microseconds since the epoch (Jaeger's unit) as an aware UTC datetime.

    ShapeError for a time a datetime cannot hold (before year 1 or after 9999).
    """
    try:
        return _EPOCH + timedelta(microseconds=micros)
    except OverflowError:
        raise ShapeError(f"time out of range: {micros} µs since the epoch") from None


def decode_id(raw: str) -> str:
    """A trace or span id from any backend's wire form, as lower-case hex.

    Hex is kept (left-padded to 16 or 32 digits: Tempo drops leading zeros); 12- and 24-char
    base64 (8 and 16 bytes, Go's jsonpb encoding of bytes ids) is decoded. The lengths do not
    overlap, so a hex id is never mistaken for base64. Raises ShapeError (a ValueError)
    otherwise.
    """
    if not isinstance(raw, str):
        raise ShapeError(f"expected a trace or span id as a string, got {type(raw).__name__}")
    text = raw.strip()
    if _HEX_RE.match(text) and len(text) <= 32:
        return text.lower().zfill(16 if len(text) <= 16 else 32)
    if len(text) in (12, 24):
        try:
            decoded = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            decoded = b""
        if len(decoded) in (8, 16):
            return decoded.hex()
    raise ShapeError(f"not a trace or span id: {raw[:40]!r}")


def parse_trace_id(text: str) -> str:
    """A trace id someone typed or pasted, checked: 16 or 32 hex digits, returned lower-case.

    This is the gate before an id becomes part of a backend URL path; anything else is an
    InputError with a message that can be shown to the user.
    """
    candidate = text.strip()
    if len(candidate) in (16, 32) and _HEX_RE.match(candidate):
        return candidate.lower()
    raise InputError(f"{text[:80]!r} is not a trace id (expected 16 or 32 hex digits)")


@dataclass(frozen=True)
class Span:
    """One span: who (service, operation, kind), when, how long, with what, and if it failed."""

    span_id: str
    parent_id: str | None
    service: str
    operation: str
    kind: SpanKind
    start: datetime
    duration: timedelta
    attributes: Mapping[str, AttributeValue]
    error: bool
    status_message: str = ""

    @property
    def end(self) -> datetime:
        """When the span finished."""
        return self.start + self.duration


@dataclass(frozen=True)
class TraceSummary:
    """One search hit: enough to list it and to fetch the whole trace."""

    trace_id: str
    root_service: str
    root_operation: str
    start: datetime
    duration: timedelta


@dataclass(frozen=True)
class Trace:
    """A whole trace: its root (service, operation), extent, and spans sorted by start."""

    trace_id: str
    root_service: str
    root_operation: str
    start: datetime
    duration: timedelta
    spans: tuple[Span, ...]

    @property
    def services(self) -> list[str]:
        """Services taking part, in order of first appearance."""
        return list(dict.fromkeys(span.service for span in self.spans))

    @property
    def error_spans(self) -> list[Span]:
        """Spans marked as failed."""
        return [span for span in self.spans if span.error]

    def children(self, span_id: str) -> list[Span]:
        """Direct children of ``span_id``."""
        return [span for span in self.spans if span.parent_id == span_id]

    def summary(self) -> TraceSummary:
        """This trace as a search hit."""
        return TraceSummary(self.trace_id, self.root_service, self.root_operation,
                            self.start, self.duration)


def _root(spans: tuple[Span, ...]) -> Span:
    ids = {span.span_id for span in spans}
    roots = [span for span in spans if span.parent_id is None or span.parent_id not in ids]
    # A trace missing its root span still has an entry point: the earliest orphan. Between
    # roots starting together, the longest one spans the request.
    return min(roots or spans,
               key=lambda span: (span.parent_id is not None, span.start, -span.duration))


def build_trace(trace_id: str, spans: Iterable[Span]) -> Trace:
    """A Trace from its spans: exact duplicates dropped, sorted by start, root found.

    Duplicates (same id, operation, service, start and duration) appear when a backend stores
    a span twice; they are dropped. Spans sharing an id but differing otherwise are kept (the
    Zipkin shared-span style). Raises ShapeError for a trace without spans.
    """
    unique = tuple(sorted(
        {(s.span_id, s.operation, s.service, s.start, s.duration): s for s in spans}.values(),
        key=lambda span: (span.start, span.span_id),
    ))
    if not unique:
        raise ShapeError(f"trace {trace_id} has no spans")
    root = _root(unique)
    start = min(span.start for span in unique)
    try:
        end = max(span.end for span in unique)
    except OverflowError:
        raise ShapeError(f"trace {trace_id}: a span ends after the year 9999") from None
    return Trace(trace_id, root.service, root.operation, start, end - start, unique)


@dataclass(frozen=True)
class TraceSearch:
    """What to look for: a catalog service's traces in a window, optionally slow ones only."""

    service: str
    window: TimeWindow
    operation: str | None = None
    min_duration: timedelta | None = None
    limit: int = 20

    def __post_init__(self) -> None:
        if not self.service:
            raise ValueError("a trace search needs a service name")
        if not 1 <= self.limit <= 1000:
            raise ValueError("limit must be between 1 and 1000")


def go_duration(value: timedelta) -> str:
    """A duration as Go's time.ParseDuration reads it (Jaeger and Tempo parameters)."""
    return f"{round(value.total_seconds() * 1_000_000)}us"


class TraceBackend(Protocol):
    """What the triage steps need from Jaeger or Tempo alike."""

    name: str

    async def search(self, query: TraceSearch) -> list[TraceSummary]:
        """Traces matching ``query``, slowest first."""
        ...

    async def trace(self, trace_id: str) -> Trace | None:
        """The whole trace, or None when the backend does not know it."""
        ...
