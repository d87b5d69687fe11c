"""Span categories and self time: pure functions over hand-built traces and a real one."""

from __future__ import annotations

import json
import pickle
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.sources.jaeger import parse_jaeger_trace
from bot.sources.traces import AttributeValue, Span, SpanKind, Trace, build_trace
from bot.triage.signal_names import SPAN_CATEGORIES
from bot.triage.steps.span_categories import (
    analyse,
    below_root,
    categorize,
    category_shares,
    covered_micros,
    span_times,
)

REAL = Path(__file__).resolve().parents[2] / "fixtures" / "real"
T0 = datetime(2025, 11, 27, 10, 30, tzinfo=UTC)


def span(span_id: str, parent: str | None, start_ms: float, duration_ms: float,
         name: str = "work", *, kind: SpanKind = SpanKind.INTERNAL,
         attributes: dict[str, AttributeValue] | None = None, service: str = "checkout",
         error: bool = False) -> Span:
    return Span(span_id=span_id, parent_id=parent, service=service, operation=name, kind=kind,
                start=T0 + timedelta(milliseconds=start_ms),
                duration=timedelta(milliseconds=duration_ms),
                attributes=attributes or {}, error=error)


def self_ms(trace: Trace) -> dict[str, float]:
    return {t.span.span_id: t.self_time / timedelta(milliseconds=1) for t in span_times(trace)}


@pytest.mark.parametrize(("start", "end", "intervals", "expected"), [
    (0, 100, [], 0),
    (0, 100, [(10, 30), (20, 50)], 40),            # overlapping children counted once
    (0, 100, [(10, 20), (30, 40)], 20),            # disjoint
    (0, 100, [(-50, 10), (90, 300)], 20),          # clipped to the parent
    (0, 100, [(0, 100), (10, 20)], 100),           # one child covers everything
    (0, 100, [(40, 60), (10, 45), (55, 70)], 60),  # unsorted, chained overlaps
    (0, 100, [(200, 300), (50, 50)], 0),           # outside, and empty
    (10, 20, [(0, 5), (12, 15), (14, 30)], 8),     # parent not starting at 0
])
def test_covered_micros(start: int, end: int, intervals: list[tuple[int, int]],
                        expected: int) -> None:
    assert covered_micros(start, end, intervals) == expected


def test_self_time_subtracts_the_union_of_overlapping_children() -> None:
    trace = build_trace("a" * 32, [
        span("01", None, 0, 1000, "POST /checkout", kind=SpanKind.SERVER),
        # Two concurrent queries overlapping for 100 ms: the root loses 500 ms, not 600.
        span("02", "01", 100, 300, "SELECT orders", kind=SpanKind.CLIENT,
             attributes={"db.system": "postgresql"}),
        span("03", "01", 300, 300, "SELECT items", kind=SpanKind.CLIENT,
             attributes={"db.system": "postgresql"}),
        # A spawned task outliving the request: only its part inside the root counts.
        span("04", "01", 900, 400, "serde_json::to_vec"),
        span("05", "04", 950, 50, "encode chunk"),
    ])
    assert self_ms(trace) == {"01": 1000 - 500 - 100, "02": 300, "03": 300, "04": 350,
                              "05": 50}


def test_self_time_never_negative_and_shared_ids_are_not_their_own_children() -> None:
    trace = build_trace("b" * 32, [
        span("01", None, 0, 100, "GET /", kind=SpanKind.SERVER),
        # Zipkin style: client and server halves share an id (the server claims itself).
        span("02", "01", 10, 80, "GET /stock", kind=SpanKind.CLIENT,
             attributes={"http.method": "GET"}),
        span("02", "02", 15, 70, "GET /stock", kind=SpanKind.SERVER, service="stock"),
        span("03", "02", 20, 200, "SELECT stock", kind=SpanKind.CLIENT,
             attributes={"db.system": "mysql"}),
    ])
    times = {(t.span.span_id, t.span.kind): t.self_time for t in span_times(trace)}
    assert times[("01", SpanKind.SERVER)] == timedelta(milliseconds=20)
    # The server half is the client half's child; the query (clipped) covers the rest.
    assert times[("02", SpanKind.CLIENT)] == timedelta(milliseconds=80 - 75)
    assert times[("02", SpanKind.SERVER)] == timedelta(milliseconds=70 - 65)
    assert all(value >= timedelta(0) for value in times.values())


@pytest.mark.parametrize(("name", "kind", "attributes", "expected"), [
    ("SELECT orders", SpanKind.CLIENT, {}, "database"),
    ("query", SpanKind.CLIENT, {"db.system": "postgresql"}, "database"),
    ("sqlx::query", SpanKind.INTERNAL, {}, "database"),
    ("pool.acquire", SpanKind.INTERNAL, {}, "database"),
    ("acquire connection", SpanKind.INTERNAL, {}, "database"),
    ("LOCK TABLE orders", SpanKind.CLIENT, {"db.system": "postgresql"}, "database"),
    ("GET", SpanKind.CLIENT, {"db.system": "redis"}, "cache"),
    ("cache.lookup", SpanKind.INTERNAL, {}, "cache"),
    ("memcached get", SpanKind.CLIENT, {}, "cache"),
    ("serde_json::to_vec", SpanKind.INTERNAL, {}, "serialization"),
    ("deserialize body", SpanKind.INTERNAL, {}, "serialization"),
    ("encode_response", SpanKind.INTERNAL, {}, "serialization"),
    ("POST", SpanKind.CLIENT, {"http.request.method": "POST"}, "external"),
    ("Payments/Charge", SpanKind.CLIENT, {"rpc.system": "grpc"}, "external"),
    ("call", SpanKind.INTERNAL, {"peer.service": "payments"}, "external"),
    ("acquire_lock", SpanKind.INTERNAL, {}, "lock_wait"),
    ("Mutex::lock", SpanKind.INTERNAL, {}, "lock_wait"),
    ("RwLock::write", SpanKind.INTERNAL, {}, "lock_wait"),
    ("semaphore wait", SpanKind.INTERNAL, {}, "lock_wait"),
    ("lock_wait", SpanKind.INTERNAL, {}, "lock_wait"),
    ("spawn_blocking", SpanKind.INTERNAL, {}, "internal"),   # "block" is not a lock
    ("POST /locks.json", SpanKind.SERVER, {"http.route": "/locks"}, "internal"),
    ("compute_totals", SpanKind.INTERNAL, {}, "internal"),
    ("POST", SpanKind.INTERNAL, {"http.method": "POST"}, "internal"),  # not a client span
])
def test_categorize(name: str, kind: SpanKind, attributes: dict[str, AttributeValue],
                    expected: str) -> None:
    assert categorize(span("01", None, 0, 1, name, kind=kind, attributes=attributes)) == expected
    assert expected in SPAN_CATEGORIES


def test_category_shares_across_traces() -> None:
    first = build_trace("c" * 32, [
        span("01", None, 0, 1000, "POST /checkout", kind=SpanKind.SERVER),
        span("02", "01", 0, 600, "pool.acquire"),
        span("03", "01", 600, 200, "SELECT orders", kind=SpanKind.CLIENT,
             attributes={"db.system": "postgresql"}),
    ])
    second = build_trace("d" * 32, [
        span("01", None, 0, 1000, "GET /cart", kind=SpanKind.SERVER),
        span("02", "01", 0, 200, "serde_json::to_writer"),
    ])
    shares = category_shares([first, second])
    assert list(shares) == ["internal", "database", "serialization"]
    assert shares["database"] == pytest.approx(800 / 2000)
    assert shares["internal"] == pytest.approx(1000 / 2000)
    assert shares["serialization"] == pytest.approx(200 / 2000)
    assert sum(shares.values()) == pytest.approx(1.0)
    assert category_shares([]) == {}


def test_real_jaeger_trace() -> None:
    raw = json.loads((REAL / "jaeger" / "jaeger-ui_trace_testTraceNormal.json").read_text())
    trace = parse_jaeger_trace(raw)
    categories = {t.span.span_id: t.category for t in span_times(trace)}
    # HikariCP spans carry "sql"/"database" tags (OpenTracing JDBC), not db.system.
    assert categories["622a5079b565623e"] == "database"
    assert categories["4085dddb47429851"] == "database"
    assert categories["150c193cf155b46b"] == "internal"
    times = self_ms(trace)
    assert times["150c193cf155b46b"] == pytest.approx(4.902 - 2.499)
    assert times["e821b549888cbc3b"] == pytest.approx(1.739 - 0.052 - 0.021)
    assert sum(times.values()) == pytest.approx(4.902)  # a tree without overlap: no double count


def test_analyse_once_shares_and_slowest_inner_spans() -> None:
    first = build_trace("e" * 32, [
        span("01", None, 0, 3000, "POST /checkout", kind=SpanKind.SERVER),
        span("02", "01", 0, 2000, "pool.acquire"),
        span("03", "01", 2000, 500, "SELECT orders", kind=SpanKind.CLIENT,
             attributes={"db.system": "postgresql"}),
    ])
    lonely = build_trace("f" * 32, [span("01", None, 0, 100, "cron tick")])
    analysis = analyse([first, lonely], top=2)
    assert analysis.shares == category_shares([first, lonely])
    # Roots are left out (they are always the slowest), except a trace's only span.
    assert [(row.item.span.operation, row.traces) for row in analysis.slowest_spans] == [
        ("pool.acquire", 1), ("SELECT orders", 1)]
    assert [item.span.operation for item in below_root(lonely)] == ["cron tick"]
    # What a worker process would receive and send back.
    assert pickle.loads(pickle.dumps([first, lonely])) == [first, lonely]
    assert pickle.loads(pickle.dumps(analysis)) == analysis
