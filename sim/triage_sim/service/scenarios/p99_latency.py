"""p99-latency: ``orders`` exhausts its Postgres connection pool.

The daily-report endpoint starts holding connections for seconds (a long query inside a
transaction), so the 20-connection pool is fully used, requests queue for a connection
(``pool.acquire`` spans, P99 of the pool wait ~2-5 s), some time out after 5 s (HTTP 500) and
P99 goes from ~60 ms to ~5 s. Tokio workers stay mostly idle and CPU flat, which rules out
starvation. Logs: ``timed out waiting for connection from pool`` and sqlx's slow-acquire
warning. Instrumentation: OpenTelemetry HTTP (with exemplars) and pool metrics, process
collector, tokio-metrics.
"""

from __future__ import annotations

from triage_sim.service.scenarios.common import everyday_cpu, fixed_heap, request_log, window
from triage_sim.service.scenarios.curves import Curve, LogNormal, flat, ramp
from triage_sim.service.scenarios.instrumentation import (
    Pool,
    Route,
    Runtime,
    Traffic,
    build_info,
    db_pool,
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
from triage_sim.service.scenarios.profiles import ProfileModel, Stack, in_handler
from triage_sim.service.scenarios.traces import SpanShape, TraceModel, TraceShape

START = ANOMALY_START_S
SERVICE = ServiceSpec("orders", pod="orders-84d9f7c6b-tq5wz", ip="10.42.1.44")
CPU = Curve(((0.0, 0.42), (START, 0.42), (START + 300, 0.36)), 0.02, 700)
RSS = flat(236 * 1024 * 1024, 3 * 1024 * 1024, 1000)
QUEUED = ramp(0.0, 0.45, START, 300)
TIMEOUT = LogNormal(5.02, 0.004)
ERRORS = ramp(0.001, 0.035, START, 300)

TRAFFIC = Traffic(flat(95.0, 6.0, 1200), (
    Route("POST", "/api/orders", 0.5, LogNormal(0.035, 0.45), LogNormal(2.2, 0.45), QUEUED,
          ERRORS, error_latency=TIMEOUT),
    Route("GET", "/api/orders/{id}", 0.495, LogNormal(0.012, 0.4), LogNormal(1.6, 0.5),
          ramp(0.0, 0.35, START, 300), ramp(0.0005, 0.02, START, 300), error_latency=TIMEOUT),
    Route("GET", "/api/reports/daily", 0.005, LogNormal(0.6, 0.3), LogNormal(8.0, 0.3),
          ramp(0.0, 0.6, START, 300)),
))

FAMILIES = (
    *otel_http(TRAFFIC),
    *process_collector(CPU, RSS, threads=18),
    *tokio_runtime(Runtime(4, busy=flat(0.14, 0.02, 500), mean_poll_us=flat(55.0, 6.0, 450),
                           global_queue=flat(0.5, 0.5, 300),
                           live_tasks=ramp(300.0, 820.0, START, 300, amplitude=10.0, period=600))),
    *db_pool(Pool("orders-pg", 20, ramp(5.0, 21.0, START, 240, amplitude=1.0, period=300),
                  flat(190.0, 10.0),
                  LogNormal(0.0006, 0.5), LogNormal(1.4, 0.6), ramp(0.0, 0.55, START, 240),
                  timeouts=ramp(0.0, 2.2, START, 240))),
    *build_info([(0.0, "3.7.1", "b2f9c61")]),
)


def _waits(t: float, u: float) -> dict[str, object]:
    return {"waited": f"{1.0 + 3.9 * u:.3f}", "held": 6 + int(40 * u),
            "rows": 180_000 + int(90_000 * u)}


LOGS = LogModel((
    request_log(401, [("POST", "/api/orders"), ("GET", "/api/orders/{id}")]),
    LogSource(402, window(START + 60, rate=0.8), "ERROR", "orders::db",
              ("timed out waiting for connection from pool pool=orders-pg waited_ms=5000",
               "pool timed out while waiting for an open connection pool=orders-pg"),
              span="request{{method=POST uri=/api/orders version=HTTP/1.1}}"),
    LogSource(403, window(START, rate=0.5), "WARN", "sqlx::pool::acquire",
              ("acquired connection, but time to acquire exceeded slow threshold "
               "aquired_after_secs={waited} slow_acquire_threshold_secs=1",), fields=_waits),
    LogSource(404, window(START, rate=1 / 30), "WARN", "orders::reports",
              ("daily report query holding a connection for {held}s rows={rows}",),
              fields=_waits),
    LogSource(405, flat(1 / 60), "INFO", "orders::outbox", ("published {n} order events",)),
), SERVICE.log_labels())

_ACQUIRE_ATTRS = {"db.system": "postgresql", "db.client.connection.pool.name": "orders-pg"}


def _db(name: str, offset: float, share: float, table: str) -> SpanShape:
    return SpanShape(name, offset=offset, share=share, kind="client", attributes={
        "db.system": "postgresql", "db.operation.name": name.split(maxsplit=1)[0],
        "db.collection.name": table, "server.address": "pg-orders", "db.namespace": "orders"})


_JSON = SpanShape("serde_json::to_vec", offset=0.95, share=0.03)
TRACES = TraceModel(
    SERVICE.traces,
    normal=(
        TraceShape("POST", "/api/orders", (0.02, 0.09), (
            SpanShape("pool.acquire", offset=0.01, share=0.02, attributes=_ACQUIRE_ATTRS),
            _db("INSERT orders", 0.05, 0.35, "orders"),
            _db("SELECT inventory_levels", 0.45, 0.2, "inventory_levels"), _JSON), weight=5),
        TraceShape("GET", "/api/orders/{id}", (0.006, 0.03), (
            SpanShape("pool.acquire", offset=0.01, share=0.03, attributes=_ACQUIRE_ATTRS),
            _db("SELECT orders", 0.06, 0.6, "orders"), _JSON), weight=5),
    ),
    anomaly=(
        TraceShape("POST", "/api/orders", (1.5, 4.9), (
            SpanShape("pool.acquire", offset=0.005, share=0.86, attributes=_ACQUIRE_ATTRS),
            _db("INSERT orders", 0.87, 0.06, "orders"),
            _db("SELECT inventory_levels", 0.93, 0.03, "inventory_levels"), _JSON), weight=5),
        TraceShape("GET", "/api/orders/{id}", (1.0, 4.0), (
            SpanShape("pool.acquire", offset=0.005, share=0.9, attributes=_ACQUIRE_ATTRS),
            _db("SELECT orders", 0.91, 0.06, "orders"), _JSON), weight=4),
        TraceShape("POST", "/api/orders", (5.0, 5.05), (
            SpanShape("pool.acquire", offset=0.002, share=0.995, attributes=_ACQUIRE_ATTRS,
                      error="pool timed out while waiting for an open connection"),),
            status=500, weight=1, error="pool timed out while waiting for an open connection"),
    ),
    anomaly_share=QUEUED, seed=0x0BDE, version="3.7.1",
)

PROFILES = ProfileModel(
    "/usr/local/bin/orders",
    baseline=everyday_cpu("orders", "handlers::orders::create::{{closure}}"),
    anomaly=(
        Stack(in_handler("sqlx_core::pool::inner::PoolInner<DB>::acquire::{{closure}}",
                         "orders::db::Db::begin", "orders::handlers::orders::create::{{closure}}"),
              0.5),
        Stack(in_handler("tokio::sync::batch_semaphore::Semaphore::add_permits_locked",
                         "sqlx_core::pool::inner::PoolInner<DB>::release",
                         "orders::reports::daily::{{closure}}"), 0.5),
    ),
    anomaly_share=ramp(0.0, 0.08, START, 300),
    heap_fixed=fixed_heap("orders"),
)

SCENARIO = Scenario(
    name="p99-latency",
    playbook="p99-latency",
    title="orders exhausts its database connection pool",
    description=__doc__ or "",
    alert=AlertSpec("HighLatencyP99", "critical",
                    "orders P99 latency above 1 s for 10 minutes (currently ~5 s)",
                    "P99 of orders' HTTP requests has been above 1 s for 10 minutes.",
                    "histogram_quantile(0.99, sum by (le) (rate("
                    'http_server_request_duration_seconds_bucket{job="orders"}[5m]))) > 1'),
    service=SERVICE, families=FAMILIES, logs=LOGS, traces=TRACES, profiles=PROFILES, cpu=CPU,
    cause="pool-exhaustion",
    expect=Expectation(
        numbers={"pool.utilisation": (0.95, 1.0),
                 "pool.wait_seconds": (1.0, 10.0),
                 "pool.wait_change": (50.0, None),
                 "http.p99_seconds": (2.0, 10.0),
                 "tokio.busy_ratio": (0.0, 0.3),
                 "http.error_ratio": (0.01, 0.06)},
        log_lines=("timed out waiting for connection from pool",),
        span_category="database",
    ),
)
