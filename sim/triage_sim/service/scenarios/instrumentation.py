"""The exporters a Rust service is commonly instrumented with, as metric-family builders.

Names and labels follow each exporter (see ``bot.triage.exporters.ROLES`` for the names the
walk looks for): OpenTelemetry HTTP semantic conventions, axum-prometheus, actix-web-prom, the
prometheus crate's process collector, cAdvisor, kube-state-metrics, tokio-metrics (through
metrics-rs: microseconds, counters without ``_total``) and OpenTelemetry's database connection
pool metrics. Label sets exclude ``job`` and ``instance``: Prometheus adds those to a scrape,
and the backfill adds the same ones (``ServiceSpec.target_labels``).

Two liberties, both so the walk finds every series through the catalog's one selector
(``{job="<service>"}``): the cAdvisor and kube-state-metrics series carry the service's
``job`` rather than ``kubelet``/``kube-state-metrics``, as if relabelled; and the pool metrics
use ``state``/``pool_name`` labels (the semantic conventions before 1.26) with the current
metric names.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from triage_sim.service.scenarios.curves import ZERO, Fn, LogNormal, flat
from triage_sim.service.scenarios.metrics import (
    OTEL_BUCKETS,
    PROMETHEUS_BUCKETS,
    Family,
    HistogramStream,
    Series,
    counter,
    event_counter,
    gauges,
    histogram,
    info,
    untyped_counter,
)

__all__ = [
    "Pod",
    "Pool",
    "Route",
    "Runtime",
    "Traffic",
    "actix_http",
    "axum_http",
    "build_info",
    "cadvisor",
    "db_pool",
    "kube_state",
    "otel_http",
    "process_collector",
    "sqlx_pool_metrics_rs",
    "tokio_runtime",
]

POOL_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
LONG_AGO = -2 * 86_400.0  # the process was started two days before the history begins
OPEN_FDS = flat(64.0, 6.0)


@dataclass(frozen=True)
class Route:
    """One endpoint: its share of traffic, latencies, and errors over time.

    Errors answer with ``error_status`` after ``error_latency`` when given (a timeout), else
    with the route's own latencies.
    """

    method: str
    path: str
    weight: float
    fast: LogNormal
    slow: LogNormal
    slow_share: Fn = ZERO
    error_share: Fn = ZERO
    error_status: int = 500
    error_latency: LogNormal | None = None


@dataclass(frozen=True)
class Traffic:
    """The service's requests: total rate, its routes, and when the process restarted."""

    rate: Fn
    routes: tuple[Route, ...]
    resets: tuple[float, ...] = ()


def _scaled(rate: Fn, weight: float, share: Fn, errors: bool) -> Fn:
    if errors:
        return lambda t: rate(t) * weight * share(t)
    return lambda t: rate(t) * weight * (1.0 - share(t))


def _streams(traffic: Traffic, labels: Callable[[Route, int], Mapping[str, str]], *,
             exemplars: bool) -> list[HistogramStream]:
    """Two streams per route (success, error); ``exemplars`` ties them to the traces."""
    streams = []
    for route in traffic.routes:
        ok = _scaled(traffic.rate, route.weight, route.error_share, False)
        bad = _scaled(traffic.rate, route.weight, route.error_share, True)
        streams.append(HistogramStream(
            labels(route, 200), ok, route.fast, route.slow, route.slow_share,
            (route.method, route.path, 200) if exemplars else None))
        failed = route.error_latency
        streams.append(HistogramStream(
            labels(route, route.error_status), bad, failed or route.fast, failed or route.slow,
            flat(0.0) if failed else route.slow_share,
            (route.method, route.path, route.error_status) if exemplars else None))
    return streams


def otel_http(traffic: Traffic) -> list[Family]:
    """``http_server_request_duration_seconds`` (OpenTelemetry HTTP server semantics)."""
    def labels(route: Route, status: int) -> Mapping[str, str]:
        return {"http_request_method": route.method, "http_route": route.path,
                "http_response_status_code": str(status)}

    return [histogram("http_server_request_duration_seconds",
                      "Duration of HTTP server requests.", OTEL_BUCKETS,
                      _streams(traffic, labels, exemplars=True),
                      resets=traffic.resets)]


def _framework_http(prefix: str, traffic: Traffic, pending: bool) -> list[Family]:
    def labels(route: Route, status: int) -> Mapping[str, str]:
        return {"method": route.method, "endpoint": route.path, "status": str(status)}

    streams = _streams(traffic, labels, exemplars=False)
    families = [
        histogram(f"{prefix}_duration_seconds", "HTTP request latencies in seconds.",
                  PROMETHEUS_BUCKETS, streams, resets=traffic.resets),
        counter(prefix, "Total number of HTTP requests.",
                [(s.labels, s.rate) for s in streams], resets=traffic.resets, integer=True),
    ]
    if pending:
        families.append(gauges(f"{prefix}_pending", "Number of pending HTTP requests.", [
            ({"method": r.method, "endpoint": r.path}, _in_flight(traffic.rate, r))
            for r in traffic.routes], integer=True))
    return families


def _in_flight(rate: Fn, route: Route) -> Fn:
    # Little's law: requests in flight = arrival rate x mean time in the system.
    def level(t: float) -> float:
        share = route.slow_share(t)
        mean = (1 - share) * route.fast.mean + share * route.slow.mean
        return rate(t) * route.weight * mean
    return level


def axum_http(traffic: Traffic) -> list[Family]:
    """axum-prometheus: ``axum_http_requests_duration_seconds``, ``_total``, ``_pending``."""
    return _framework_http("axum_http_requests", traffic, pending=True)


def actix_http(traffic: Traffic) -> list[Family]:
    """actix-web-prom (no namespace): ``http_requests_duration_seconds`` and ``_total``."""
    return _framework_http("http_requests", traffic, pending=False)


def process_collector(cpu: Fn, rss: Fn, *, starts: Sequence[float] = (LONG_AGO,),
                      threads: int = 14, open_fds: Fn = OPEN_FDS) -> list[Family]:
    """The prometheus crate's process collector; counters restart at each later start."""
    ordered = sorted(starts)
    resets = ordered[1:]

    def started(t: float) -> float:
        return ordered[max(0, bisect.bisect_right(ordered, t) - 1)]

    start_series = Series("process_start_time_seconds", MappingProxyType({}), started,
                          since_epoch=True)
    return [
        counter("process_cpu_seconds", "Total user and system CPU time spent in seconds.",
                [({}, cpu)], resets=resets),
        gauges("process_resident_memory_bytes", "Resident memory size in bytes.",
               [({}, rss)], integer=True),
        gauges("process_virtual_memory_bytes", "Virtual memory size in bytes.",
               [({}, lambda t: 1.6 * rss(t) + 1.1e9)], integer=True),
        Family("process_start_time_seconds",
               "gauge", "Start time of the process since unix epoch in seconds.",
               (start_series,)),
        gauges("process_open_fds", "Number of open file descriptors.", [({}, open_fds)],
               integer=True),
        gauges("process_max_fds", "Maximum number of open file descriptors.",
               [({}, flat(1_048_576.0))], integer=True),
        gauges("process_threads", "Number of OS threads in the process.",
               [({}, flat(float(threads)))], integer=True),
    ]


@dataclass(frozen=True)
class Pod:
    """Where the service runs in Kubernetes (labels of cAdvisor and kube-state-metrics)."""

    namespace: str
    pod: str
    container: str

    def labels(self) -> dict[str, str]:
        """``namespace``, ``pod``, ``container``."""
        return {"namespace": self.namespace, "pod": self.pod, "container": self.container}


def cadvisor(pod: Pod, cpu: Fn, working_set: Fn, limit: int) -> list[Family]:
    """cAdvisor's container CPU, working set and memory limit."""
    labels = {**pod.labels(), "image": f"registry.local/shop/{pod.container}:stable"}
    return [
        counter("container_cpu_usage_seconds", "Cumulative cpu time consumed in seconds.",
                [(labels, cpu)]),
        gauges("container_memory_working_set_bytes", "Current working set in bytes.",
               [(labels, working_set)], integer=True),
        gauges("container_spec_memory_limit_bytes", "Memory limit for the container.",
               [(labels, flat(float(limit)))], integer=True),
    ]


def kube_state(pod: Pod, *, memory_limit: int | None, cpu_limit: float | None = None,
               restarts: Sequence[float] = ()) -> list[Family]:
    """kube-state-metrics: container resource limits and restart count."""
    limits: list[tuple[Mapping[str, str], Fn]] = []
    if memory_limit is not None:
        limits.append(({**pod.labels(), "resource": "memory", "unit": "byte"},
                       flat(float(memory_limit))))
    if cpu_limit is not None:
        limits.append(({**pod.labels(), "resource": "cpu", "unit": "core"}, flat(cpu_limit)))
    families = [event_counter("kube_pod_container_status_restarts",
                              "The number of container restarts per container.",
                              pod.labels(), restarts)]
    if limits:
        families.append(gauges("kube_pod_container_resource_limits",
                               "The number of requested limit resource by a container.", limits))
    return families


@dataclass(frozen=True)
class Runtime:
    """A Tokio runtime as tokio-metrics' RuntimeMonitor reports it (durations in µs)."""

    workers: int
    busy: Fn
    mean_poll_us: Fn
    global_queue: Fn
    live_tasks: Fn
    blocking_queue: Fn = ZERO
    live_name: str = "tokio_live_tasks_count"
    resets: tuple[float, ...] = ()


def tokio_runtime(rt: Runtime) -> list[Family]:
    """tokio-metrics through metrics-rs: gauges, and counters without ``_total``."""
    workers = float(rt.workers)
    return [
        gauges("tokio_workers_count", "The number of worker threads.", [({}, flat(workers))],
               integer=True),
        untyped_counter("tokio_total_busy_duration",
                        "Time workers spent busy, in microseconds.",
                        [({}, lambda t: workers * min(1.0, rt.busy(t)) * 1e6)],
                        resets=rt.resets),
        untyped_counter("tokio_total_park_count", "Times workers parked.",
                        [({}, lambda t: workers * max(0.0, 1.0 - rt.busy(t)) * 150.0)],
                        resets=rt.resets),
        gauges("tokio_busy_ratio", "Share of time workers were busy.",
               [({}, lambda t: min(1.0, max(0.0, rt.busy(t))))]),
        gauges("tokio_mean_poll_duration", "Mean task poll duration, in microseconds.",
               [({}, rt.mean_poll_us)]),
        gauges("tokio_global_queue_depth", "Tasks in the global queue.", [({}, rt.global_queue)],
               integer=True),
        gauges("tokio_blocking_queue_depth", "Tasks waiting for a blocking thread.",
               [({}, rt.blocking_queue)], integer=True),
        gauges(rt.live_name, "Tasks alive in the runtime.", [({}, rt.live_tasks)], integer=True),
    ]


@dataclass(frozen=True)
class Pool:
    """A database connection pool (sqlx, deadpool, bb8) through OpenTelemetry metrics."""

    name: str
    max: int
    used: Fn
    acquire_rate: Fn
    fast: LogNormal
    slow: LogNormal
    slow_share: Fn
    timeouts: Fn = ZERO


def db_pool(pool: Pool, resets: Sequence[float] = ()) -> list[Family]:
    """``db_client_connection_*``: count by state, max, wait-time histogram, timeouts."""
    size = float(pool.max)
    labels = {"pool_name": pool.name}

    def used(t: float) -> float:
        return min(size, max(0.0, pool.used(t)))

    return [
        gauges("db_client_connection_count", "Connections currently in each state.", [
            ({**labels, "state": "used"}, used),
            ({**labels, "state": "idle"}, lambda t: size - used(t)),
        ], integer=True),
        gauges("db_client_connection_max", "The maximum number of open connections allowed.",
               [(labels, flat(size))], integer=True),
        histogram("db_client_connection_wait_time_seconds",
                  "The time it took to obtain an open connection from the pool.", POOL_BUCKETS,
                  [HistogramStream(labels, pool.acquire_rate, pool.fast, pool.slow,
                                   pool.slow_share)], resets=resets),
        counter("db_client_connection_timeouts",
                "Connection attempts that timed out waiting for a connection.",
                [(labels, pool.timeouts)], resets=resets, integer=True),
    ]


def sqlx_pool_metrics_rs(pool: Pool, resets: Sequence[float] = ()) -> list[Family]:
    """The same pool through the ``metrics`` crate's Prometheus exporter with hand-picked
    names, as many services export it: ``sqlx_pool_connections_in_use``,
    ``sqlx_pool_connections_max``, ``sqlx_pool_acquire_duration_seconds`` (no OpenTelemetry
    names, no ``state`` label), so the bot must discover them.
    """
    size = float(pool.max)
    labels = {"pool": pool.name}

    def used(t: float) -> float:
        return min(size, max(0.0, pool.used(t)))

    return [
        gauges("sqlx_pool_connections_in_use", "Connections checked out of the pool.",
               [(labels, used)], integer=True),
        gauges("sqlx_pool_connections_max", "Configured maximum pool size.",
               [(labels, flat(size))], integer=True),
        histogram("sqlx_pool_acquire_duration_seconds",
                  "Time spent acquiring a connection from the pool.", POOL_BUCKETS,
                  [HistogramStream(labels, pool.acquire_rate, pool.fast, pool.slow,
                                   pool.slow_share)], resets=resets),
    ]


def build_info(versions: Sequence[tuple[float, str, str]]) -> list[Family]:
    """``app_build_info{version, git_sha}``: one series per version, from when it ran."""
    ordered = sorted(versions)
    spans = []
    for index, (begin, version, sha) in enumerate(ordered):
        end = ordered[index + 1][0] if index + 1 < len(ordered) else math.inf
        spans.append((begin if index else -math.inf, end,
                      {"version": version, "git_sha": sha, "rustc": "1.83.0"}))
    return [info("app_build_info", "Build information of the running binary.", spans)]
