"""memory-growth: ``checkout`` leaks sessions through an ``Arc`` cycle in its session cache.

From the anomaly on, expired sessions are no longer evicted (each entry holds an ``Arc`` to
itself through its cart), so RSS grows ~90 KiB/s towards the 1 GiB container limit (reached
about 45 minutes after the anchor). The heap diff shows ``alloc::sync::Arc<T>::new`` under
``checkout::cache::SessionCache::insert`` growing; the logs say the cache is above its soft
limit and evictions dropped to zero. Latency, errors and Tokio tasks stay ordinary.
Instrumentation: OpenTelemetry HTTP (with exemplars), process collector, kube-state-metrics
(memory limit, restarts), tokio-metrics.
"""

from __future__ import annotations

from triage_sim.service.scenarios.common import everyday_cpu, fixed_heap, request_log, window
from triage_sim.service.scenarios.curves import Curve, LogNormal, flat, ramp
from triage_sim.service.scenarios.instrumentation import (
    Pod,
    Route,
    Runtime,
    Traffic,
    build_info,
    kube_state,
    otel_http,
    process_collector,
    tokio_runtime,
)
from triage_sim.service.scenarios.logs import LogModel, LogSource
from triage_sim.service.scenarios.model import (
    ANOMALY_START_S,
    AlertSpec,
    Expectation,
    Scenario,
    ServiceSpec,
)
from triage_sim.service.scenarios.profiles import HANDLER, WORKER, ProfileModel, Stack, in_handler
from triage_sim.service.scenarios.traces import SpanShape, TraceModel, TraceShape

START = ANOMALY_START_S
LIMIT = 1024 * 1024 * 1024
BASE_RSS = 310 * 1024 * 1024
SLOPE = 90 * 1024  # bytes per second once the leak starts
CEILING = 0.985 * LIMIT

SERVICE = ServiceSpec("checkout", pod="checkout-7c9d8f6b5-x2lqp", ip="10.42.1.17")
POD = Pod(SERVICE.namespace, SERVICE.pod, SERVICE.name)


def _rss() -> Curve:
    # Linear growth until just below the limit (the stand-in may run on past the anchor).
    full = START + (CEILING - BASE_RSS) / SLOPE
    return Curve(((0.0, BASE_RSS), (START, BASE_RSS), (full, CEILING)), 3 * 1024 * 1024, 1300)


RSS = _rss()
CPU = Curve(((0.0, 0.32), (START, 0.32), (START + 5400, 0.41)), 0.02, 700)

TRAFFIC = Traffic(flat(110.0, 8.0, 1200), (
    Route("POST", "/api/cart/items", 0.5, LogNormal(0.018, 0.45), LogNormal(0.45, 0.3),
          ramp(0.0, 0.006, START, 5400), flat(0.001)),
    Route("GET", "/api/cart", 0.35, LogNormal(0.009, 0.4), LogNormal(0.2, 0.3),
          ramp(0.0, 0.002, START, 5400), flat(0.0005)),
    Route("POST", "/api/checkout", 0.15, LogNormal(0.06, 0.4), LogNormal(0.6, 0.3),
          ramp(0.0, 0.004, START, 5400), flat(0.002)),
))

FAMILIES = (
    *otel_http(TRAFFIC),
    *process_collector(CPU, RSS),
    *kube_state(POD, memory_limit=LIMIT, cpu_limit=2.0),
    *tokio_runtime(Runtime(4, flat(0.12, 0.02, 600), flat(38.0, 4.0, 500), flat(0.6, 0.5, 300),
                           flat(420.0, 15.0, 800))),
    *build_info([(0.0, "2.31.4", "5d1c9e2")]),
)


def _cache_fields(t: float, u: float) -> dict[str, object]:
    grown = max(0.0, t - START)
    return {"entries": 41_000 + int(grown * 9.3), "bytes": 268_435_456 + int(grown * SLOPE * 0.8)}


def _eviction_fields(t: float, u: float) -> dict[str, object]:
    return {"evicted": 0 if t >= START else 80 + int(u * 60)}


def _rss_fields(t: float, u: float) -> dict[str, object]:
    rss = RSS(t)
    return {"rss_mib": int(rss / 1048576), "pct": int(100 * rss / LIMIT)}


LOGS = LogModel((
    request_log(101, [("POST", "/api/cart/items"), ("GET", "/api/cart"),
                      ("POST", "/api/checkout")]),
    LogSource(102, flat(1 / 60), "INFO", "checkout::sessions",
              ("evicted {evicted} expired sessions",), fields=_eviction_fields),
    LogSource(103, window(START + 300, rate=1 / 60), "WARN", "checkout::cache",
              ("session cache above soft limit entries={entries} approx_bytes={bytes} "
               "soft_limit_bytes=268435456",), fields=_cache_fields),
    LogSource(104, window(START + 1800, rate=1 / 300), "WARN", "checkout::memory",
              ("resident memory {rss_mib} MiB is {pct}% of the container limit (1024 MiB)",),
              fields=_rss_fields),
    LogSource(105, flat(1 / 30), "INFO", "checkout::health", ("health check ok db=up cache=up",)),
), SERVICE.log_labels())

_CACHE_GET = SpanShape("session_cache.get", offset=0.02, share=0.05)
_JSON = SpanShape("serde_json::to_vec", offset=0.9, share=0.05)
_ADD = (
    _CACHE_GET,
    SpanShape("SELECT products", offset=0.1, share=0.3, kind="client",
              attributes={"db.system": "postgresql", "db.operation.name": "SELECT",
                          "db.collection.name": "products", "server.address": "pg-checkout"}),
    SpanShape("checkout::cache::SessionCache::insert", offset=0.45, share=0.1),
    _JSON,
)
_SLOW_ADD = (
    _CACHE_GET,
    SpanShape("SELECT products", offset=0.06, share=0.08, kind="client",
              attributes={"db.system": "postgresql", "db.operation.name": "SELECT",
                          "db.collection.name": "products", "server.address": "pg-checkout"}),
    SpanShape("checkout::cache::SessionCache::insert", offset=0.15, share=0.75,
              attributes={"cache.entries": 81_000}),
    _JSON,
)
TRACES = TraceModel(
    SERVICE.traces,
    normal=(
        TraceShape("POST", "/api/cart/items", (0.012, 0.06), _ADD, weight=5),
        TraceShape("GET", "/api/cart", (0.005, 0.03), (_CACHE_GET, _JSON), weight=3.5),
        TraceShape("POST", "/api/checkout", (0.05, 0.2), (
            SpanShape("POST https://payments.internal/api/charges", offset=0.2, share=0.6,
                      kind="client", attributes={"http.request.method": "POST",
                                                 "server.address": "payments.internal",
                                                 "peer.service": "payments"}),
        ), weight=1.5),
    ),
    anomaly=(TraceShape("POST", "/api/cart/items", (0.3, 0.9), _SLOW_ADD),),
    anomaly_share=ramp(0.0, 0.12, START, 5400), seed=0xC4EC, version="2.31.4",
)

_INSERT = ("checkout::cache::SessionCache::insert", "checkout::cart::add_item::{{closure}}",
           "checkout::handlers::cart::add_item::{{closure}}", *HANDLER, *WORKER)
PROFILES = ProfileModel(
    "/usr/local/bin/checkout",
    baseline=everyday_cpu("checkout", "handlers::cart::add_item::{{closure}}"),
    anomaly=(
        Stack(("hashbrown::raw::RawTable<T,A>::reserve_rehash", *_INSERT), 0.5),
        Stack(in_handler("_rjem_je_malloc_default", "alloc::alloc::exchange_malloc",
                         "alloc::sync::Arc<T>::new", *_INSERT[:3]), 0.5),
    ),
    anomaly_share=ramp(0.0, 0.22, START, 5400),
    heap_fixed=fixed_heap("checkout"),
    heap_growth=(
        Stack(("_rjem_je_malloc_default", "alloc::alloc::exchange_malloc",
               "alloc::sync::Arc<T>::new", *_INSERT), 0.8 * SLOPE),
        Stack(("_rjem_je_malloc_default", "hashbrown::raw::RawTable<T,A>::reserve_rehash",
               *_INSERT), 0.12 * SLOPE),
    ),
    growth_start=START,
)

SCENARIO = Scenario(
    name="memory-growth",
    playbook="memory-growth",
    title="checkout leaks sessions: RSS grows towards the memory limit",
    description=__doc__ or "",
    alert=AlertSpec("MemoryGrowth", "warning",
                    "checkout resident memory growing ~90 KiB/s; at this rate it reaches its "
                    "1 GiB limit in about 45 minutes",
                    "RSS of checkout has grown steadily for over an hour.",
                    'deriv(process_resident_memory_bytes{job="checkout"}[30m]) > 50000'),
    service=SERVICE, families=FAMILIES, logs=LOGS, traces=TRACES, profiles=PROFILES, cpu=CPU,
    cause="unbounded-cache",
    expect=Expectation(
        numbers={"rss.slope_bytes_per_s": (75_000, 110_000),
                 "memory.limit_bytes": (LIMIT, LIMIT),
                 "memory.time_to_oom_s": (1_500, 4_500),
                 "rss.bytes": (7.4e8, 8.8e8),
                 "tokio.live_tasks_slope_per_s": (-1.0, 1.0),
                 "process.restarts": (0, 0)},
        log_lines=("session cache above soft limit", "evicted 0 expired sessions"),
        span_category="cache",
        heap_frame="alloc::sync::Arc<T>::new",
        own_frame="checkout::cache::SessionCache::insert",
    ),
)
