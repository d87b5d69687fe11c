"""async-deadlock: ``inventory`` holds a ``std::sync::Mutex`` guard across an ``.await``.

The upstream sync task locks the stock table and then awaits a slow warehouse call while
holding the guard; reservation handlers block on the same mutex inside their poll, two of the
four workers wedge, and requests stall until the 30 s timeout answers 503. CPU drops to almost
nothing (threads wait on a futex) while Tokio reports those workers busy, throughput halves,
P99 sits at the histogram's top bucket. Traces show ``mutex.lock StockTable`` spans of ~30 s;
the watchdog logs ``deadlock watchdog: lock StockTable held for more than 30s``.
Instrumentation: axum-prometheus, process collector, tokio-metrics.
"""

from __future__ import annotations

from triage_sim.service.scenarios.common import everyday_cpu, fixed_heap, request_log, window
from triage_sim.service.scenarios.curves import Curve, LogNormal, flat, ramp
from triage_sim.service.scenarios.instrumentation import (
    Route,
    Runtime,
    Traffic,
    axum_http,
    build_info,
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
from triage_sim.service.scenarios.traces import AttrValue, SpanShape, TraceModel, TraceShape

START = ANOMALY_START_S
SERVICE = ServiceSpec("inventory", pod="inventory-59b8d7c4f-8hnlk", ip="10.42.2.9")
CPU = Curve(((0.0, 0.55), (START, 0.55), (START + 60, 0.06)), 0.02, 500)
RSS = flat(152 * 1024 * 1024, 2 * 1024 * 1024, 900)
TIMEOUT = LogNormal(30.02, 0.002)
STUCK = ramp(0.0, 0.7, START, 60)

TRAFFIC = Traffic(ramp(140.0, 72.0, START, 60, amplitude=6.0, period=900), (
    Route("POST", "/api/reserve", 0.5, LogNormal(0.015, 0.4), TIMEOUT, flat(0.0),
          ramp(0.001, 0.62, START, 60), error_status=503, error_latency=TIMEOUT),
    Route("GET", "/api/stock/{sku}", 0.5, LogNormal(0.004, 0.4), LogNormal(12.0, 0.5),
          ramp(0.0, 0.12, START, 60), ramp(0.0, 0.25, START, 60), error_status=503,
          error_latency=TIMEOUT),
))

FAMILIES = (
    *axum_http(TRAFFIC),
    *process_collector(CPU, RSS, threads=12),
    *tokio_runtime(Runtime(
        4, busy=ramp(0.22, 0.51, START, 60, amplitude=0.01, period=300),
        mean_poll_us=ramp(35.0, 2400.0, START, 60, amplitude=3.0, period=300),
        global_queue=ramp(0.0, 35.0, START, 60, amplitude=0.5, period=200),
        live_tasks=ramp(260.0, 2300.0, START, 90, amplitude=8.0, period=700))),
    *build_info([(0.0, "5.0.2", "77ac0de")]),
)


def _held(t: float, u: float) -> dict[str, object]:
    return {"task": f"0x7f3a{int(u * 0xFFFF):04x}"}


LOGS = LogModel((
    request_log(501, [("POST", "/api/reserve"), ("GET", "/api/stock/{sku}")],
                rate=ramp(0.5, 0.25, START, 60)),
    LogSource(502, window(START + 30, rate=1 / 30), "WARN", "inventory::sync::watchdog",
              ("deadlock watchdog: lock StockTable held for more than 30s by task {task} "
               "(acquired at src/stock.rs:142:29)",), fields=_held),
    LogSource(503, window(START + 30, rate=0.8), "ERROR", "inventory::http",
              ("request timed out after 30s method=POST uri=/api/reserve",
               "request timed out after 30s method=GET uri=/api/stock/SKU-1177"),
              span="request{{method=POST uri=/api/reserve version=HTTP/1.1}}"),
    LogSource(504, window(START, rate=1 / 120), "WARN", "inventory::sync",
              ("upstream sync slow: warehouse call pending for {n}2s",)),
    LogSource(505, flat(1 / 60), "INFO", "inventory::sync", ("stock levels synced skus={n}412",)),
), SERVICE.log_labels())

_LOCK_ATTRS: dict[str, AttrValue] = {
    "lock.name": "StockTable", "code.function": "inventory::stock::reserve",
    "code.filepath": "src/stock.rs", "code.lineno": 142, "thread.name": "tokio-runtime-worker"}
_UPDATE = SpanShape("UPDATE stock", parent=1, offset=0.4, share=0.45, kind="client",
                    attributes={"db.system": "postgresql", "db.operation.name": "UPDATE",
                                "db.collection.name": "stock", "server.address": "pg-inventory"})
TRACES = TraceModel(
    SERVICE.traces,
    normal=(
        TraceShape("POST", "/api/reserve", (0.006, 0.04), (
            SpanShape("inventory::stock::reserve", offset=0.05, share=0.85),
            SpanShape("mutex.lock StockTable", parent=1, offset=0.06, share=0.02,
                      attributes=_LOCK_ATTRS), _UPDATE), weight=5),
        TraceShape("GET", "/api/stock/{sku}", (0.002, 0.01), (
            SpanShape("inventory::stock::get", offset=0.05, share=0.8),), weight=5),
    ),
    anomaly=(
        TraceShape("POST", "/api/reserve", (30.0, 30.1), (
            SpanShape("inventory::stock::reserve", offset=0.0005, share=0.9993,
                      error="request timed out"),
            SpanShape("mutex.lock StockTable", parent=1, offset=0.001, share=0.998,
                      attributes=_LOCK_ATTRS, error="lock not acquired before the deadline"),
        ), status=503, weight=6, error="request timed out after 30s"),
        TraceShape("GET", "/api/stock/{sku}", (30.0, 30.1), (
            SpanShape("mutex.lock StockTable", offset=0.001, share=0.998,
                      attributes=_LOCK_ATTRS),), status=503, weight=3,
            error="request timed out after 30s"),
        TraceShape("POST", "/internal/sync", (25.0, 30.0), (
            SpanShape("inventory::stock::sync_upstream", offset=0.001, share=0.998),
            SpanShape("GET https://warehouse.internal/api/levels", parent=1, offset=0.002,
                      share=0.99, kind="client",
                      attributes={"http.request.method": "GET",
                                  "server.address": "warehouse.internal",
                                  "peer.service": "warehouse"}),
        ), weight=1),
    ),
    anomaly_share=STUCK, seed=0xDEAD, version="5.0.2",
)

_RESERVE = ("std::sync::mutex::Mutex<T>::lock", "inventory::stock::StockTable::reserve",
            "inventory::handlers::reserve::{{closure}}")
PROFILES = ProfileModel(
    "/usr/local/bin/inventory",
    baseline=everyday_cpu("inventory", "handlers::reserve::{{closure}}"),
    anomaly=(
        Stack(in_handler("std::sys::sync::mutex::futex::Mutex::lock_contended", *_RESERVE),
              0.7),
        Stack(in_handler("syscall", "std::sys::pal::unix::futex::futex_wait",
                         "std::sys::sync::mutex::futex::Mutex::lock_contended", *_RESERVE), 0.3),
    ),
    anomaly_share=ramp(0.0, 0.75, START, 60),
    heap_fixed=fixed_heap("inventory"),
)

SCENARIO = Scenario(
    name="async-deadlock",
    playbook="async-deadlock",
    title="inventory deadlocks on a std Mutex held across an await",
    description=__doc__ or "",
    alert=AlertSpec("HighLatencyP99", "critical",
                    "inventory P99 latency at the 10 s histogram ceiling; requests time out",
                    "P99 of inventory's HTTP requests has been above 1 s for 10 minutes.",
                    "histogram_quantile(0.99, sum by (le) (rate("
                    'axum_http_requests_duration_seconds_bucket{job="inventory"}[5m]))) > 1'),
    service=SERVICE, families=FAMILIES, logs=LOGS, traces=TRACES, profiles=PROFILES, cpu=CPU,
    cause="mutex-across-await",
    expect=Expectation(
        numbers={"cpu.cores": (0.0, 0.15),
                 "cpu.change": (0.0, 0.3),
                 "http.error_ratio": (0.25, 0.7),
                 "http.request_rate_change": (0.3, 0.7),
                 "http.p99_seconds": (5.0, 10.0)},
        log_lines=("deadlock watchdog", "held for more than 30s"),
        span_category="lock_wait",
        cpu_frame="std::sys::sync::mutex::futex::Mutex::lock_contended", under_worker=True,
    ),
)
