"""Which metric names mean what, across the exporters Rust services commonly use.

The metrics step asks Prometheus which of these names exist for a service's selector and uses
the first found for each role; a catalog entry may name a role's metric explicitly. Listed in
order of preference.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True)
class Candidate:
    """One metric name that can fill a role, and how to read it."""

    name: str
    exporter: str
    status_label: str | None = None
    scale: float = 1.0


ROLES: MappingProxyType[str, tuple[Candidate, ...]] = MappingProxyType({
    # Latency histograms (seconds). Their _count series give request and error rates.
    "request_duration_bucket": (
        Candidate("http_server_request_duration_seconds_bucket", "opentelemetry",
                  "http_response_status_code"),
        Candidate("axum_http_requests_duration_seconds_bucket", "axum-prometheus", "status"),
        Candidate("http_requests_duration_seconds_bucket", "actix-web-prom", "status"),
    ),
    "requests_total": (
        Candidate("http_server_request_duration_seconds_count", "opentelemetry",
                  "http_response_status_code"),
        Candidate("axum_http_requests_total", "axum-prometheus", "status"),
        Candidate("http_requests_total", "actix-web-prom", "status"),
    ),
    "cpu_seconds": (
        Candidate("process_cpu_seconds_total", "prometheus process collector"),
        Candidate("container_cpu_usage_seconds_total", "cadvisor"),
    ),
    "rss": (
        Candidate("process_resident_memory_bytes", "prometheus process collector"),
        Candidate("container_memory_working_set_bytes", "cadvisor"),
    ),
    "memory_limit": (
        Candidate("kube_pod_container_resource_limits", "kube-state-metrics"),
        Candidate("container_spec_memory_limit_bytes", "cadvisor"),
    ),
    "restarts": (
        Candidate("kube_pod_container_status_restarts_total", "kube-state-metrics"),
    ),
    "start_time": (
        Candidate("process_start_time_seconds", "prometheus process collector"),
    ),
    "tokio_busy_ratio": (Candidate("tokio_busy_ratio", "tokio-metrics"),),
    "tokio_busy_duration": (
        Candidate("tokio_total_busy_duration", "tokio-metrics", scale=1e-6),
    ),
    "tokio_workers": (Candidate("tokio_workers_count", "tokio-metrics"),),
    "tokio_mean_poll": (Candidate("tokio_mean_poll_duration", "tokio-metrics", scale=1e-6),),
    "tokio_global_queue": (Candidate("tokio_global_queue_depth", "tokio-metrics"),),
    "tokio_blocking_queue": (Candidate("tokio_blocking_queue_depth", "tokio-metrics"),),
    "tokio_live_tasks": (
        Candidate("tokio_live_tasks_count", "tokio-metrics"),
        Candidate("tokio_num_alive_tasks", "tokio-metrics"),
    ),
    # OpenTelemetry database client connection-pool conventions.
    "pool_wait_bucket": (
        Candidate("db_client_connection_wait_time_seconds_bucket", "opentelemetry"),
    ),
    "pool_connections": (Candidate("db_client_connection_count", "opentelemetry"),),
    "pool_max": (Candidate("db_client_connection_max", "opentelemetry"),),
    "build_info": (Candidate("app_build_info", "build info gauge"),),
})


def all_names() -> frozenset[str]:
    """Every metric name the detector asks about."""
    return frozenset(c.name for candidates in ROLES.values() for c in candidates)
