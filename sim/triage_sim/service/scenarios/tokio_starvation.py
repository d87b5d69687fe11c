"""tokio-starvation: ``pricing`` reloads its rate table with blocking calls on a Tokio worker.

From the anomaly on, the quote handler finds the exchange-rate table stale and refreshes it
synchronously: ``std::fs::read_to_string`` and a retry loop with ``std::thread::sleep``, right
on a worker thread. Workers are busy ~97% of the time, the mean poll takes ~185 ms, the global
queue backs up and P99 goes from ~40 ms to ~4 s, while the connection pool's wait time stays
flat (so it is not pool exhaustion). The profile shows ``std::thread::sleep`` under
``tokio::runtime::scheduler::multi_thread::worker::run`` (what a wall-clock sampler sees).
Instrumentation: axum-prometheus, process collector, tokio-metrics, OpenTelemetry pool metrics.
"""

from __future__ import annotations

from triage_sim.service.scenarios.common import everyday_cpu, fixed_heap, request_log, window
from triage_sim.service.scenarios.curves import Curve, LogNormal, flat, ramp
from triage_sim.service.scenarios.instrumentation import (
    Pool,
    Route,
    Runtime,
    Traffic,
    axum_http,
    build_info,
    db_pool,
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
from triage_sim.service.scenarios.profiles import ProfileModel, Stack, in_handler
from triage_sim.service.scenarios.traces import SpanShape, TraceModel, TraceShape

START = ANOMALY_START_S
SERVICE = ServiceSpec("pricing", pod="pricing-5f7b9c8d4-qk2vn", ip="10.42.2.31")
CPU = Curve(((0.0, 0.85), (START, 0.85), (START + 180, 1.55)), 0.04, 800)
RSS = flat(188 * 1024 * 1024, 2 * 1024 * 1024, 1100)
STALLED = ramp(0.0, 0.55, START, 180)

TRAFFIC = Traffic(flat(240.0, 15.0, 1000), (
    Route("GET", "/api/quote", 0.6, LogNormal(0.012, 0.5), LogNormal(1.9, 0.35), STALLED,
          ramp(0.0005, 0.02, START, 180)),
    Route("GET", "/api/rates", 0.25, LogNormal(0.006, 0.4), LogNormal(1.6, 0.35),
          ramp(0.0, 0.5, START, 180)),
    Route("GET", "/healthz", 0.15, LogNormal(0.0012, 0.3), LogNormal(1.2, 0.4),
          ramp(0.0, 0.45, START, 180)),
))

FAMILIES = (
    *axum_http(TRAFFIC),
    *process_collector(CPU, RSS, threads=22),
    *tokio_runtime(Runtime(
        4, busy=ramp(0.28, 0.97, START, 180, amplitude=0.015, period=400),
        mean_poll_us=ramp(42.0, 185_000.0, START, 180, amplitude=20.0, period=300),
        global_queue=ramp(1.0, 160.0, START, 180, amplitude=0.8, period=200),
        live_tasks=ramp(380.0, 1450.0, START, 300, amplitude=12.0, period=500))),
    *db_pool(Pool("pricing-pg", 16, flat(3.0, 1.0, 400), flat(150.0), LogNormal(0.0004, 0.5),
                  LogNormal(0.0004, 0.5), flat(0.0))),
    *build_info([(0.0, "4.2.0", "e71f0a3")]),
)


def _lag(t: float, u: float) -> dict[str, object]:
    return {"lag": 1200 + int(1400 * u), "elapsed": 2000 + int(1900 * u)}


LOGS = LogModel((
    request_log(201, [("GET", "/api/quote"), ("GET", "/api/rates"), ("GET", "/healthz")]),
    LogSource(202, window(START, rate=1 / 20), "WARN", "pricing::rates",
              ("exchange-rate table stale, reloading from disk "
               "path=/var/lib/pricing/rates.json age_s=3{n}1",)),
    LogSource(203, window(START + 60, rate=1 / 10), "WARN", "pricing::health",
              ("event loop stalled: tick delayed by {lag} ms (threshold 250 ms)",), fields=_lag),
    LogSource(204, window(START + 60, rate=0.3), "ERROR", "pricing::http",
              ("quote request exceeded deadline deadline_ms=2000 elapsed_ms={elapsed}",),
              fields=_lag, span="request{{method=GET uri=/api/quote version=HTTP/1.1}}"),
    LogSource(205, flat(1 / 60), "INFO", "pricing::rates",
              ("rate table fresh currencies=164 age_s={n}2",)),
), SERVICE.log_labels())

_REDIS = SpanShape("redis GET", parent=1, offset=0.05, share=0.12, kind="client",
                   attributes={"db.system": "redis", "db.operation.name": "GET",
                               "server.address": "redis.pricing"})
TRACES = TraceModel(
    SERVICE.traces,
    normal=(
        TraceShape("GET", "/api/quote", (0.006, 0.03), (
            SpanShape("pricing::quote::compute", offset=0.05, share=0.8), _REDIS,
            SpanShape("serde_json::to_vec", offset=0.9, share=0.04)), weight=6),
        TraceShape("GET", "/api/rates", (0.004, 0.02), (
            SpanShape("pricing::rates::RateTable::snapshot", offset=0.05, share=0.6),), weight=4),
    ),
    anomaly=(
        TraceShape("GET", "/api/quote", (1.2, 3.6), (
            SpanShape("pricing::quote::compute", offset=0.01, share=0.97),
            SpanShape("pricing::rates::RateTable::refresh_blocking", parent=1, offset=0.02,
                      share=0.85, attributes={"code.filepath": "src/rates.rs",
                                              "code.lineno": 88}),
            SpanShape("redis GET", parent=1, offset=0.9, share=0.004, kind="client",
                      attributes={"db.system": "redis", "db.operation.name": "GET",
                                  "server.address": "redis.pricing"})), weight=6),
        TraceShape("GET", "/api/rates", (0.9, 2.8), (
            SpanShape("pricing::rates::RateTable::snapshot", offset=0.97, share=0.02),),
            weight=4),
    ),
    anomaly_share=STALLED, seed=0x9121, version="4.2.0",
)

_REFRESH = ("pricing::rates::RateTable::refresh_blocking", "pricing::quote::compute",
            "pricing::handlers::quote::{{closure}}")
PROFILES = ProfileModel(
    "/usr/local/bin/pricing",
    baseline=everyday_cpu("pricing", "handlers::quote::{{closure}}"),
    anomaly=(
        Stack(in_handler("std::thread::sleep", *_REFRESH), 0.62),
        Stack(in_handler("read", "std::fs::read_to_string::inner", "std::fs::read_to_string",
                         "pricing::rates::RateTable::load_from_disk", *_REFRESH), 0.16),
        Stack(in_handler("serde_json::de::Deserializer<R>::parse_any",
                         "pricing::rates::RateTable::parse", *_REFRESH), 0.12),
        Stack(in_handler("__memmove_avx_unaligned_erms", "pricing::rates::RateTable::parse",
                         *_REFRESH), 0.05),
    ),
    anomaly_share=ramp(0.0, 0.8, START, 180),
    heap_fixed=fixed_heap("pricing"),
)

SCENARIO = Scenario(
    name="tokio-starvation",
    playbook="tokio-starvation",
    title="pricing blocks its Tokio workers with synchronous file reads and sleeps",
    description=__doc__ or "",
    alert=AlertSpec("HighLatencyP99", "critical",
                    "pricing P99 latency above 1 s for 10 minutes (currently ~4 s)",
                    "P99 of pricing's HTTP requests has been above 1 s for 10 minutes.",
                    "histogram_quantile(0.99, sum by (le) (rate("
                    'axum_http_requests_duration_seconds_bucket{job="pricing"}[5m]))) > 1'),
    service=SERVICE, families=FAMILIES, logs=LOGS, traces=TRACES, profiles=PROFILES, cpu=CPU,
    cause="blocking-call",
    expect=Expectation(
        numbers={"tokio.busy_ratio": (0.9, 1.0),
                 "tokio.mean_poll_seconds": (0.05, 0.5),
                 "http.p99_seconds": (2.0, 10.0),
                 "http.p99_change": (20.0, None),
                 "pool.wait_change": (0.5, 2.0),
                 "pool.utilisation": (0.0, 0.5)},
        log_lines=("event loop stalled", "reloading from disk"),
        span_category="internal",
        cpu_frame="std::thread::sleep", under_worker=True,
    ),
)
