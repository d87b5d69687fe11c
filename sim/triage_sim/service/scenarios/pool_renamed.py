"""pool-renamed: ``ledger`` exhausts its connection pool, exported under its own names.

The same failure as p99-latency (a long report query holds connections, the 20-connection pool
is fully used, requests queue and time out), played by a service whose metrics follow other
conventions: axum-prometheus for HTTP and the ``metrics`` crate for its sqlx pool, with
hand-picked names (``sqlx_pool_connections_in_use``, ``sqlx_pool_connections_max``,
``sqlx_pool_acquire_duration_seconds``) and no OpenTelemetry ``db_client_connection_*``
series, no Tokio runtime metrics. The walk must discover the pool series by name and type to
see the exhaustion in step 1. Logs, traces and profile are p99-latency's, relabelled.
Instrumentation: axum-prometheus, process collector, sqlx pool through metrics-rs.
"""

from __future__ import annotations

from dataclasses import replace

from triage_sim.service.scenarios import p99_latency as base
from triage_sim.service.scenarios.common import everyday_cpu
from triage_sim.service.scenarios.curves import LogNormal, flat, ramp
from triage_sim.service.scenarios.instrumentation import (
    Pool,
    axum_http,
    build_info,
    process_collector,
    sqlx_pool_metrics_rs,
)
from triage_sim.service.scenarios.model import AlertSpec, Expectation, Scenario, ServiceSpec

START = base.START
SERVICE = ServiceSpec("ledger", pod="ledger-6c8f9d7b5-w2mzt", ip="10.42.2.71")
FAMILIES = (
    *axum_http(base.TRAFFIC),
    *process_collector(base.CPU, base.RSS, threads=16),
    *sqlx_pool_metrics_rs(Pool("ledger-pg", 20, ramp(5.0, 21.0, START, 240, amplitude=1.0,
                                                      period=300),
                               flat(190.0, 10.0), LogNormal(0.0006, 0.5), LogNormal(1.4, 0.6),
                               ramp(0.0, 0.55, START, 240))),
    *build_info([(0.0, "1.12.0", "9e1d3a7")]),
)

SCENARIO = Scenario(
    name="pool-renamed",
    playbook="p99-latency",
    cause="pool-exhaustion",
    title="ledger exhausts a connection pool exported under its own metric names",
    description=__doc__ or "",
    alert=AlertSpec("HighLatencyP99", "critical",
                    "ledger P99 latency above 1 s for 10 minutes",
                    "P99 of ledger's HTTP requests has been above 1 s for 10 minutes.",
                    "histogram_quantile(0.99, sum by (le) (rate("
                    'axum_http_requests_duration_seconds_bucket{job="ledger"}[5m]))) > 1'),
    service=SERVICE, families=FAMILIES,
    logs=replace(base.LOGS, labels=SERVICE.log_labels()),
    traces=replace(base.TRACES, service=SERVICE.traces, seed=0x1ED6),
    profiles=replace(base.PROFILES, binary="/usr/local/bin/ledger",
                     baseline=everyday_cpu("ledger", "handlers::entries::post::{{closure}}")),
    cpu=base.CPU,
    expect=Expectation(
        numbers={"http.p99_seconds": (2.0, 10.0), "deploy.changed": (0, 0)},
        discovered={"pool.utilisation": (0.95, 1.0), "pool.wait_seconds": (1.0, 10.0),
                    "pool.wait_change": (50.0, None)},
        log_lines=("timed out waiting for connection from pool",),
        span_category="database",
    ),
)
