"""The traces step against local fake Prometheus, Jaeger and Tempo, through the real Sources."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.config import BackendsConfig, ServiceConfig
from bot.errors import SourceTimeout, SourceUnavailable
from bot.models import Severity
from bot.sources.http import new_session
from bot.sources.pprof.client import PprofClient
from bot.sources.registry import Sources
from bot.sources.window import TimeWindow
from bot.triage.steps import traces
from bot.triage.steps.base import StepContext, StepDeps
from tests.sources.conftest import FakeBackend, Reply, ours_bytes, real_json

SHARED_REAL = Path(__file__).resolve().parents[3].parent / "shared" / "fixtures" / "real"
T0 = datetime(2025, 11, 27, 10, 30, tzinfo=UTC)
WINDOW = TimeWindow(T0, T0 + timedelta(minutes=30))
SERVICE = ServiceConfig(name="checkout", prometheus={"job": "checkout"})
BUCKET = "http_server_request_duration_seconds_bucket"
ROLES = {"request_duration_bucket": BUCKET}
EXEMPLARS = "/api/v1/query_exemplars"
REAL_TID = "4766f1209f70a5e2e55417fc296fd101"  # jaeger-ui testTraceNormal


@dataclass
class FakeTracesStep:
    min_duration: float = 0.5


@dataclass
class FakeSteps:
    traces: FakeTracesStep = field(default_factory=FakeTracesStep)


@dataclass
class FakePlaybook:
    id: str
    steps: FakeSteps = field(default_factory=FakeSteps)


def context(roles: dict[str, str] | None = None, leader: FakePlaybook | None = None,
            service: ServiceConfig = SERVICE, window: TimeWindow = WINDOW) -> StepContext:
    return StepContext(incident_id="inc-1", service=service, now=window.end, window=window,
                       playbooks=None, leader=leader,  # type: ignore[arg-type]
                       roles=ROLES if roles is None else roles)


def tid(n: int) -> str:
    return f"{n:032x}"


def us(moment: datetime) -> int:
    return int(moment.timestamp() * 1_000_000)


def jspan(span_id: str, parent: str | None, trace_id: str, start_ms: float, ms: float, *,
          name: str, tags: dict[str, Any] | None = None, process: str = "p1") -> dict[str, Any]:
    tag_list = [{"key": k, "type": "bool" if isinstance(v, bool) else "string", "value": v}
                for k, v in (tags or {}).items()]
    refs = ([{"refType": "CHILD_OF", "traceID": trace_id, "spanID": parent}]
            if parent else [])
    return {"traceID": trace_id, "spanID": span_id, "operationName": name, "references": refs,
            "startTime": us(T0) + int(start_ms * 1000), "duration": int(ms * 1000),
            "tags": tag_list, "processID": process}


def slow_checkout(trace_id: str, offset_s: float, total_ms: float,
                  error: bool = False) -> dict[str, Any]:
    """A pool-exhaustion-like request: most of its time waiting for a connection."""
    at = offset_s * 1000
    wait = total_ms * 0.6
    query = total_ms * 0.25
    spans = [
        jspan("0000000000000001", None, trace_id, at, total_ms, name="POST /checkout",
              tags={"span.kind": "server", "error": error} if error else {"span.kind": "server"}),
        jspan("0000000000000002", "0000000000000001", trace_id, at + 1, wait,
              name="pool.acquire"),
        jspan("0000000000000003", "0000000000000001", trace_id, at + 1 + wait, query,
              name="SELECT orders", tags={"span.kind": "client", "db.system": "postgresql"},
              process="p2"),
        jspan("0000000000000004", "0000000000000001", trace_id, at + 2 + wait + query,
              total_ms * 0.05, name="serde_json::to_vec"),
    ]
    return {"traceID": trace_id, "spans": spans,
            "processes": {"p1": {"serviceName": "checkout"},
                          "p2": {"serviceName": "checkout-db"}}}


def envelope(*items: dict[str, Any]) -> str:
    return json.dumps({"data": list(items), "total": 0, "limit": 0, "offset": 0,
                       "errors": None})


def exemplar_answer(*items: tuple[str, float]) -> str:
    exemplars = [{"labels": {"trace_id": trace_id}, "value": str(value),
                  "timestamp": T0.timestamp() + 60 + i} for i, (trace_id, value) in
                 enumerate(items)]
    return json.dumps({"status": "success", "data": [
        {"seriesLabels": {"__name__": BUCKET, "job": "checkout", "le": "+Inf"},
         "exemplars": exemplars}]})


@pytest.fixture
async def prom() -> AsyncIterator[FakeBackend]:
    async with FakeBackend() as backend:
        yield backend


@pytest.fixture
async def tracing() -> AsyncIterator[FakeBackend]:
    async with FakeBackend() as backend:
        yield backend


async def open_deps(backends: BackendsConfig) -> StepDeps:
    executor = ThreadPoolExecutor(4)
    sources = await Sources.open(backends, executor)
    return StepDeps(sources=sources, pprof=PprofClient(new_session(1), executor),
                    executor=executor)


async def close_deps(deps: StepDeps) -> None:
    await deps.sources.close()
    await deps.pprof._session.close()
    deps.executor.shutdown(wait=True)


@pytest.fixture
async def jaeger_deps(prom: FakeBackend, tracing: FakeBackend) -> AsyncIterator[StepDeps]:
    deps = await open_deps(BackendsConfig(prometheus=prom.url, jaeger=tracing.url,
                                          timeout_seconds=0.8, max_concurrency=8))
    try:
        yield deps
    finally:
        await close_deps(deps)


@pytest.fixture
async def tempo_deps(tracing: FakeBackend) -> AsyncIterator[StepDeps]:
    deps = await open_deps(BackendsConfig(tempo=tracing.url, timeout_seconds=2))
    try:
        yield deps
    finally:
        await close_deps(deps)


def test_top_exemplar_ids() -> None:
    b64 = base64.b64encode(bytes.fromhex(tid(7))).decode()
    values = [(0.1, tid(1)), (2.5, tid(2)), (2.5, tid(2)), (9.0, "not-a-trace"), (1.0, None),
              (3.0, b64), (0.7, "ABCDEF0123456789")]
    assert traces.top_exemplar_ids(values) == [tid(7), tid(2), "abcdef0123456789", tid(1)]
    many = [(float(i), tid(i)) for i in range(1, 30)]
    assert traces.top_exemplar_ids(many) == [tid(i) for i in range(29, 19, -1)]


async def test_exemplar_path(prom: FakeBackend, tracing: FakeBackend,
                             jaeger_deps: StepDeps) -> None:
    prom.answer(EXEMPLARS, Reply(exemplar_answer(
        (tid(1), 2.4), (tid(2), 1.8), (REAL_TID, 0.9), (tid(99), 3.0), ("garbage", 5.0),
        (tid(3), 1.2))))
    tracing.answer(f"/api/traces/{tid(1)}", Reply(envelope(slow_checkout(tid(1), 0, 2400))))
    tracing.answer(f"/api/traces/{tid(2)}", Reply(envelope(slow_checkout(tid(2), 5, 1800,
                                                                         error=True))))
    tracing.answer(f"/api/traces/{tid(3)}", Reply(envelope(slow_checkout(tid(3), 9, 1200))))
    tracing.answer(f"/api/traces/{REAL_TID}", Reply(envelope(
        real_json("jaeger/jaeger-ui_trace_testTraceNormal.json"))))

    out = await traces.run(context(), jaeger_deps)

    [asked] = prom.hits(EXEMPLARS)
    assert asked.query["query"] == [BUCKET + '{job="checkout"}']
    assert asked.query["start"] == [f"{T0.timestamp():.3f}"]
    assert not tracing.hits("/api/traces")  # no search: the exemplars were enough
    assert tracing.hits(f"/api/traces/{tid(99)}")  # asked, unknown, skipped

    numbers = out.signals.numbers
    assert numbers["traces.slow_count"] == 4
    assert numbers["traces.max_seconds"] == pytest.approx(2.4)
    assert numbers["traces.error_ratio"] == pytest.approx(0.25)
    shares = out.signals.span_categories
    assert next(iter(shares)) == "database"
    assert shares["database"] == pytest.approx(0.85, abs=0.01)
    assert sum(shares.values()) == pytest.approx(1.0)

    slowest, dominant, spans = out.findings
    assert slowest.key == "traces.slowest"
    assert slowest.title == "Slowest trace 2.40 s: POST /checkout"
    assert "4 traces from the P99 histogram's exemplars" in slowest.summary
    assert [e.label for e in slowest.evidence][:3] == ["checkout: POST /checkout"] * 3
    assert slowest.evidence[1].value == f"1.80 s · trace {tid(2)} · error"
    assert slowest.evidence[3].value == f"5 ms · trace {REAL_TID}"
    assert all(e.source == "jaeger" and e.query == 'exemplars of ' + BUCKET + '{job="checkout"}'
               for e in slowest.evidence)
    assert [link.url for link in slowest.links][:2] == [f"{tracing.url}/trace/{tid(1)}",
                                                        f"{tracing.url}/trace/{tid(2)}"]
    assert dominant.title == "85% of slow-trace time is in database spans"
    assert dominant.severity is Severity.WARNING
    assert spans.title == "Slowest span: pool.acquire (checkout) 1.44 s"
    assert spans.evidence[0].value == "1.44 s, self 1.44 s, database; in 3 of 4 traces"
    assert [e.label for e in spans.evidence] == [
        "pool.acquire (checkout)", "SELECT orders (checkout-db)",
        "serde_json::to_vec (checkout)", "GET /owners/8/pets/10 (api-gateway)",
        "GET /owners/8/pets/10 (customers-service)"]


async def test_search_fallback_without_exemplar_role(prom: FakeBackend, tracing: FakeBackend,
                                                     jaeger_deps: StepDeps) -> None:
    found = [slow_checkout(tid(i), i, 500 + 100 * i) for i in range(1, 13)]
    tracing.answer("/api/traces", Reply(envelope(*found)))
    leader = FakePlaybook("pool-exhaustion", FakeSteps(FakeTracesStep(min_duration=2.0)))
    out = await traces.run(context(roles={}, leader=leader), jaeger_deps)
    assert not prom.seen
    [search] = tracing.hits("/api/traces")
    assert search.query["service"] == ["checkout"]
    assert search.query["minDuration"] == ["2000000us"]
    assert search.query["limit"] == ["20"]
    assert out.signals.numbers["traces.slow_count"] == 10
    assert out.signals.numbers["traces.max_seconds"] == pytest.approx(1.7)
    assert out.signals.numbers["traces.error_ratio"] == 0
    slowest = out.findings[0]
    assert [e.number for e in slowest.evidence] == pytest.approx(
        [(500 + 100 * i) / 1000 for i in range(12, 2, -1)])
    assert "a search for slow traces" in slowest.summary
    assert slowest.evidence[0].source == "jaeger"
    assert slowest.evidence[0].query == (
        "service=checkout minDuration=2000000us limit=20 (slowest 10)")
    assert not any(tracing.hits(f"/api/traces/{tid(i)}") for i in range(1, 13))


async def test_default_min_duration_and_trace_service_name(
        prom: FakeBackend, tracing: FakeBackend, jaeger_deps: StepDeps) -> None:
    tracing.answer("/api/traces", Reply(envelope()))
    service = ServiceConfig(name="checkout", traces="checkout-api")
    out = await traces.run(context(roles={}, service=service), jaeger_deps)
    [search] = tracing.hits("/api/traces")
    assert search.query["service"] == ["checkout-api"]
    assert search.query["minDuration"] == ["500000us"]
    [none] = out.findings
    assert none.key == "traces.none" and none.title == "No slow traces found in the window"
    assert out.signals.numbers == {"traces.slow_count": 0.0}
    assert out.signals.span_categories == {}


async def test_exemplars_unknown_to_jaeger_fall_back_to_search(
        prom: FakeBackend, tracing: FakeBackend, jaeger_deps: StepDeps) -> None:
    prom.answer(EXEMPLARS, Reply(exemplar_answer((tid(41), 3.0), (tid(42), 2.0))))
    tracing.answer("/api/traces", Reply(envelope(slow_checkout(tid(5), 0, 900))))
    out = await traces.run(context(), jaeger_deps)
    assert out.signals.numbers["traces.slow_count"] == 1
    assert "none of the 2 exemplar traces were found in jaeger" in out.findings[0].summary


async def test_failing_prometheus_only_costs_the_exemplars(
        prom: FakeBackend, tracing: FakeBackend, jaeger_deps: StepDeps) -> None:
    prom.answer(EXEMPLARS, Reply("upstream connect error", 502, "text/plain"))
    tracing.answer("/api/traces", Reply(envelope(slow_checkout(tid(5), 0, 900))))
    out = await traces.run(context(), jaeger_deps)
    assert out.signals.numbers["traces.slow_count"] == 1
    assert "exemplars unavailable (prometheus: HTTP 502" in out.findings[0].summary


async def test_fetches_are_bounded_to_four_at_a_time(
        prom: FakeBackend, tracing: FakeBackend, jaeger_deps: StepDeps) -> None:
    ids = [tid(i) for i in range(1, 11)]
    prom.answer(EXEMPLARS, Reply(exemplar_answer(*[(t, float(i)) for i, t in enumerate(ids)])))
    for i, trace_id in enumerate(ids):
        tracing.answer(f"/api/traces/{trace_id}", Reply(envelope(
            slow_checkout(trace_id, i, 600)), delay=0.1))
    out = await traces.run(context(), jaeger_deps)
    assert out.signals.numbers["traces.slow_count"] == 10
    assert tracing.max_inflight == 4


async def test_failing_and_slow_trace_backend_raise(
        prom: FakeBackend, tracing: FakeBackend, jaeger_deps: StepDeps) -> None:
    prom.answer(EXEMPLARS, Reply(exemplar_answer((tid(1), 2.0), (tid(2), 1.0))))
    tracing.answer(f"/api/traces/{tid(1)}", Reply(envelope(slow_checkout(tid(1), 0, 900))))
    tracing.answer(f"/api/traces/{tid(2)}", Reply("internal error", 500, "text/plain"))
    with pytest.raises(SourceUnavailable, match="jaeger"):
        await traces.run(context(), jaeger_deps)
    tracing.answer(f"/api/traces/{tid(2)}", Reply(envelope(), delay=5))
    with pytest.raises(SourceTimeout, match="jaeger"):
        await traces.run(context(), jaeger_deps)


async def test_no_trace_backend_configured() -> None:
    deps = await open_deps(BackendsConfig())
    try:
        with pytest.raises(SourceUnavailable, match="no tracing backend configured"):
            await traces.run(context(roles={}), deps)
    finally:
        await close_deps(deps)


def tempo_search(*hits: tuple[str, int]) -> str:
    return json.dumps({"traces": [
        {"traceID": trace_id, "rootServiceName": "checkout", "rootTraceName": "POST /checkout",
         "startTimeUnixNano": str(int(T0.timestamp()) * 10**9), "durationMs": ms}
        for trace_id, ms in hits], "metrics": {"inspectedTraces": len(hits)}})


async def test_tempo_search_then_fetch_without_links(tracing: FakeBackend,
                                                     tempo_deps: StepDeps) -> None:
    ours = "0af7651916cd43dd8448eb211c80319c"
    tracing.answer("/api/search", Reply(tempo_search((ours, 1840), (tid(77), 900))))
    tracing.answer(f"/api/v2/traces/{ours}", Reply(ours_bytes("ours_tempo_trace_v2.json")))
    window = TimeWindow(datetime(2025, 11, 27, 10, 50, tzinfo=UTC),
                        datetime(2025, 11, 27, 11, 20, tzinfo=UTC))
    out = await traces.run(context(window=window), tempo_deps)  # no Prometheus: search
    [search] = tracing.hits("/api/search")
    assert search.query["q"] == [
        '{ resource.service.name = "checkout" && traceDuration >= 500000us }']
    assert out.signals.numbers == {"traces.slow_count": 1.0, "traces.max_seconds": 1.84,
                                   "traces.error_ratio": 1.0}
    assert set(out.signals.span_categories) <= {"database", "serialization", "internal"}
    assert out.signals.span_categories["database"] > 0.7
    slowest = out.findings[0]
    assert not slowest.links  # Tempo has no UI of its own to link to
    assert slowest.evidence[0].query == search.query["q"][0]
    assert slowest.evidence[0].source == "tempo"


async def test_real_tempo_trace(tracing: FakeBackend, tempo_deps: StepDeps) -> None:
    path = SHARED_REAL / "tempo" / "tempo_servicegraphs_trace-with-failed-requests_otlp.json"
    if not path.exists():
        pytest.skip(f"AGPL fixture read from {SHARED_REAL}, which is absent")
    real = "e8b6dff9f8d44b28f1b22bc3bd2f6768"
    tracing.answer("/api/search", Reply(tempo_search((real, 26))))
    tracing.answer(f"/api/v2/traces/{real}", Reply(path.read_bytes()))
    window = TimeWindow(datetime(2022, 7, 20, 14, 0, tzinfo=UTC),
                        datetime(2022, 7, 20, 14, 30, tzinfo=UTC))
    out = await traces.run(context(roles={}, window=window), tempo_deps)
    assert out.signals.numbers["traces.slow_count"] == 1
    assert out.signals.numbers["traces.error_ratio"] == 1.0
    assert sum(out.signals.span_categories.values()) == pytest.approx(1.0)
    assert out.findings[2].evidence  # spans below the root, with their categories
