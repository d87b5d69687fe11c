"""Which kind of work a span is, and how much of its time was its own.

A slow request is slow *somewhere*: in the database, serialising, calling another service,
waiting for a lock. The traces step answers "where" by giving every span a category and
summing each span's *self time* (its duration minus the time covered by its children), so a
parent wrapping a slow query does not count the query twice. Shares of self time across the
slow traces become ``Signals.span_categories``, which the playbooks' span conditions read.

Pure functions over the trace model; no I/O. Categories are ``signal_names.SPAN_CATEGORIES``.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache

from bot.sources.traces import AttributeValue, Span, SpanKind, Trace

__all__ = [
    "DATABASE",
    "SlowSpan",
    "SpanTime",
    "TraceAnalysis",
    "analyse",
    "below_root",
    "categorize",
    "category_shares",
    "covered_micros",
    "shares_of",
    "span_times",
]

DATABASE = "database"
SERIALIZATION = "serialization"
EXTERNAL = "external"
LOCK_WAIT = "lock_wait"
CACHE = "cache"
INTERNAL = "internal"

_CACHE_SYSTEMS = frozenset({"redis", "memcached", "valkey", "keydb"})
# OpenTelemetry (old and new), OpenTracing and a few hand-rolled attribute names.
_DB_ATTRIBUTES = ("db.system", "db.system.name", "db.statement", "db.query.text", "db.type",
                  "db.instance", "sql")
# A pool acquire is waiting for a database connection: database time, not a lock wait.
_POOL_NAME = re.compile(r"pool\.acquire|acquire[ _]connection|connection[ _]acquire|"
                        r"pool\.get|get[ _]connection", re.I)
_SQL_NAME = re.compile(r"^(?:SELECT|INSERT|UPDATE|DELETE|UPSERT|BEGIN|COMMIT|ROLLBACK)\b")
_DB_NAME = re.compile(r"sqlx|postgres|mysql|sqlite|diesel|sea_orm|executequery|db\.query", re.I)
_CACHE_NAME = re.compile(r"redis|memcache|cache", re.I)
# "lock" only at a word start (lock_wait, Mutex::lock, RwLock) so spawn_blocking is not a lock.
_LOCK_NAME = re.compile(r"(?:^|[^a-z])(?:rw)?lock|mutex|semaphore|acquire_lock|wait_lock", re.I)
_SERIALIZATION_NAME = re.compile(r"serde|seriali[sz]|json|encode", re.I)
_EXTERNAL_PREFIXES = ("http.", "rpc.", "url.", "server.address", "net.peer.", "grpc.")


def _has_external_attribute(attributes: Mapping[str, AttributeValue]) -> bool:
    return any(key.startswith(_EXTERNAL_PREFIXES) for key in attributes)


def _db_system(attributes: Mapping[str, AttributeValue]) -> str:
    return str(attributes.get("db.system") or attributes.get("db.system.name") or "").lower()


def _by_name(span: Span) -> str:
    """The operation name, or "" for server spans: their names are routes, and a route like
    ``POST /locks.json`` says nothing about where the time went."""
    return "" if span.kind is SpanKind.SERVER else span.operation


@lru_cache(maxsize=4096)
def _name_category(name: str) -> str | None:
    """The category an operation name alone implies, if any (names repeat: cached)."""
    if _CACHE_NAME.search(name):
        return CACHE
    if _POOL_NAME.search(name) or _SQL_NAME.search(name) or _DB_NAME.search(name):
        return DATABASE
    if _LOCK_NAME.search(name):
        return LOCK_WAIT
    if _SERIALIZATION_NAME.search(name):
        return SERIALIZATION
    return None


def _is_external(span: Span) -> bool:
    if span.attributes.get("peer.service"):
        return True
    return span.kind in (SpanKind.CLIENT, SpanKind.PRODUCER) and _has_external_attribute(
        span.attributes)


def categorize(span: Span) -> str:
    """The category of one span, from its attributes first and its name second.

    Order matters: a Redis span carries ``db.system`` but is cache; a connection-pool acquire
    is database time even though it waits; a ``LOCK TABLE`` statement is a query. Server
    spans are judged by attributes only. Anything unrecognised is ``internal``.
    """
    by_name = _name_category(_by_name(span))
    if by_name == CACHE or _db_system(span.attributes) in _CACHE_SYSTEMS:
        return CACHE
    if by_name == DATABASE or any(span.attributes.get(key) not in (None, "")
                                  for key in _DB_ATTRIBUTES):
        return DATABASE
    if by_name is not None:
        return by_name
    if _is_external(span):
        return EXTERNAL
    return INTERNAL


def covered_micros(start: int, end: int, intervals: Iterable[tuple[int, int]]) -> int:
    """Length of the union of ``intervals`` clipped to ``[start, end]`` (same unit as given).

    Children may overlap (concurrent calls) or outlive their parent (a spawned task); the
    overlap is counted once and the part outside the parent not at all.
    """
    clipped = sorted((max(a, start), min(b, end)) for a, b in intervals)
    total = 0
    run_start = run_end = start
    for a, b in clipped:
        if b <= a:
            continue
        if a > run_end:
            total += run_end - run_start
            run_start, run_end = a, b
        else:
            run_end = max(run_end, b)
    return total + (run_end - run_start)


@dataclass(frozen=True)
class SpanTime:
    """A span with its category and self time (duration minus its children's coverage)."""

    span: Span
    category: str
    self_time: timedelta


_ONE_US = timedelta(microseconds=1)


def span_times(trace: Trace) -> list[SpanTime]:
    """Every span of ``trace`` with its category and self time, in the trace's order."""
    origin = trace.start
    bounds = []
    for span in trace.spans:
        begin = (span.start - origin) // _ONE_US
        bounds.append((begin, begin + span.duration // _ONE_US))
    children: defaultdict[str, list[int]] = defaultdict(list)
    for index, span in enumerate(trace.spans):
        if span.parent_id is not None:
            children[span.parent_id].append(index)
    times = []
    for index, span in enumerate(trace.spans):
        begin, end = bounds[index]
        kids = children.get(span.span_id)
        # Zipkin-style shared ids: a span whose parent id is its own id is not its own child.
        covered = covered_micros(begin, end, [bounds[k] for k in kids if k != index]) \
            if kids else 0
        times.append(SpanTime(span, categorize(span),
                              timedelta(microseconds=max(0, end - begin - covered))))
    return times


def shares_of(times: Iterable[SpanTime]) -> dict[str, float]:
    """Category -> share (0..1) of the total self time of ``times``, largest first.

    Categories with no self time are left out; nothing gives an empty mapping.
    """
    totals: defaultdict[str, int] = defaultdict(int)
    for item in times:
        totals[item.category] += item.self_time // _ONE_US
    grand = sum(totals.values())
    if grand <= 0:
        return {}
    ordered = sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))
    return {name: value / grand for name, value in ordered if value > 0}


def category_shares(traces: Iterable[Trace]) -> dict[str, float]:
    """Category -> share (0..1) of the total self time across ``traces``, largest first."""
    return shares_of(item for trace in traces for item in span_times(trace))


def below_root(trace: Trace, times: list[SpanTime] | None = None) -> list[SpanTime]:
    """Spans with a parent in the trace (a root is always the slowest and says nothing new).

    A single-span trace keeps its one span. ``times`` is ``span_times(trace)`` if known.
    """
    times = span_times(trace) if times is None else times
    if len(times) == 1:
        return times
    ids = {span.span_id for span in trace.spans}
    return [item for item in times if item.span.parent_id in ids
            and item.span.parent_id != item.span.span_id]


@dataclass(frozen=True)
class SlowSpan:
    """The slowest instance of one (service, operation), and in how many traces it appears."""

    item: SpanTime
    traces: int


@dataclass(frozen=True)
class TraceAnalysis:
    """What the traces step reports: shares of self time, and the slowest inner operations."""

    shares: dict[str, float]
    slowest_spans: list[SlowSpan]


def analyse(traces: Sequence[Trace], top: int = 5) -> TraceAnalysis:
    """Categorise and time every span once; CPU work, so the step runs it in an executor.

    The slowest spans are one per (service, operation): ten slow requests stuck in the same
    ``pool.acquire`` are one row saying "in 10 traces", not ten rows.
    """
    every: list[SpanTime] = []
    slowest: dict[tuple[str, str], SpanTime] = {}
    seen: defaultdict[tuple[str, str], set[str]] = defaultdict(set)
    for trace in traces:
        times = span_times(trace)
        every.extend(times)
        for item in below_root(trace, times):
            key = (item.span.service, item.span.operation)
            seen[key].add(trace.trace_id)
            if key not in slowest or item.span.duration > slowest[key].span.duration:
                slowest[key] = item
    ranked = sorted(slowest.items(), key=lambda kv: (-kv[1].span.duration, kv[0]))
    return TraceAnalysis(shares_of(every),
                         [SlowSpan(item, len(seen[key])) for key, item in ranked[:top]])
