"""The metrics step's standard queries, built from detected metric names (pure).

Metric names come from ``exporters.ROLES`` or the catalog, never from user text; label values
are escaped by ``bot.sources.selectors``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from bot.sources.selectors import Matcher, prom_selector
from bot.triage.exporters import ROLES

Shape = Literal["level", "growth", "drop"]


@dataclass(frozen=True)
class SeriesQuery:
    """A range query whose single (aggregated) series is one of step 1's signals."""

    key: str
    title: str
    promql: str
    unit: str
    shape: Shape
    symptom: bool = True


def status_label(roles: Mapping[str, str]) -> str | None:
    """The label carrying the HTTP status for the detected request metric."""
    name = roles.get("requests_total")
    for candidate in ROLES["requests_total"]:
        if candidate.name == name:
            return candidate.status_label
    return "status" if name else None


def scale_of(role: str, name: str) -> float:
    """Unit scale of a role's metric (tokio-metrics exports microseconds)."""
    for candidate in ROLES.get(role, ()):
        if candidate.name == name:
            return candidate.scale
    return 1.0


def series_queries(roles: Mapping[str, str], matchers: Mapping[str, str]) -> list[SeriesQuery]:
    """Every standard query the detected metrics allow."""
    sel = prom_selector(matchers)
    queries: list[SeriesQuery] = []
    add = queries.append
    if (requests := roles.get("requests_total")) is not None:
        label = status_label(roles) or "status"
        errors = prom_selector(matchers, more=[Matcher(label, "=~", "5..")])
        add(SeriesQuery("request_rate", "Request rate", f"sum(rate({requests}{sel}[5m]))",
                        "req/s", "drop"))
        add(SeriesQuery("error_ratio", "Error ratio (5xx)",
                        f"(sum(rate({requests}{errors}[5m])) or vector(0))"
                        f" / sum(rate({requests}{sel}[5m]))", "ratio", "level"))
    if (bucket := roles.get("request_duration_bucket")) is not None:
        add(SeriesQuery("p99", "P99 latency",
                        f"histogram_quantile(0.99, sum by (le) (rate({bucket}{sel}[5m])))",
                        "s", "level"))
    if (cpu := roles.get("cpu_seconds")) is not None:
        add(SeriesQuery("cpu", "CPU (cores)", f"sum(rate({cpu}{sel}[5m]))", "cores", "level"))
    if (rss := roles.get("rss")) is not None:
        add(SeriesQuery("rss", "Resident memory", f"sum({rss}{sel})", "bytes", "growth"))
    queries.extend(_tokio_queries(roles, sel))
    queries.extend(_pool_queries(roles, matchers, sel))
    return queries


def _tokio_queries(roles: Mapping[str, str], sel: str) -> list[SeriesQuery]:
    out = []
    if (busy := roles.get("tokio_busy_ratio")) is not None:
        out.append(SeriesQuery("tokio_busy", "Tokio workers busy", f"avg({busy}{sel})",
                               "ratio", "level"))
    elif (busy_us := roles.get("tokio_busy_duration")) and (workers := roles.get("tokio_workers")):
        scale = scale_of("tokio_busy_duration", busy_us)
        out.append(SeriesQuery("tokio_busy", "Tokio workers busy",
                               f"sum(rate({busy_us}{sel}[5m])) * {scale:g} / sum({workers}{sel})",
                               "ratio", "level"))
    if (poll := roles.get("tokio_mean_poll")) is not None:
        scale = scale_of("tokio_mean_poll", poll)
        out.append(SeriesQuery("tokio_poll", "Mean task poll time",
                               f"avg({poll}{sel}) * {scale:g}", "s", "level"))
    if (queue := roles.get("tokio_global_queue")) is not None:
        out.append(SeriesQuery("tokio_global_queue", "Global queue depth", f"sum({queue}{sel})",
                               "tasks", "level"))
    if (blocking := roles.get("tokio_blocking_queue")) is not None:
        out.append(SeriesQuery("tokio_blocking_queue", "Blocking queue depth",
                               f"sum({blocking}{sel})", "tasks", "level", symptom=False))
    if (tasks := roles.get("tokio_live_tasks")) is not None:
        out.append(SeriesQuery("live_tasks", "Alive tasks", f"sum({tasks}{sel})", "tasks",
                               "growth"))
    return out


def _pool_queries(roles: Mapping[str, str], matchers: Mapping[str, str], sel: str
                  ) -> list[SeriesQuery]:
    out = []
    if (wait := roles.get("pool_wait_bucket")) is not None:
        out.append(SeriesQuery("pool_wait", "Pool acquire wait (P99)",
                               f"histogram_quantile(0.99, sum by (le) (rate({wait}{sel}[5m])))",
                               "s", "level"))
    if (conns := roles.get("pool_connections")) and (most := roles.get("pool_max")):
        used = prom_selector(matchers, extra={"state": "used"})
        out.append(SeriesQuery("pool_utilisation", "Pool connections in use",
                               f"sum({conns}{used}) / sum({most}{sel})", "ratio", "level",
                               symptom=False))
    elif (in_use := roles.get("pool_in_use")) and (most := roles.get("pool_max")):
        # A discovered (or pinned) in-use gauge: no OpenTelemetry "state" label to select.
        out.append(SeriesQuery("pool_utilisation", "Pool connections in use",
                               f"sum({in_use}{sel}) / sum({most}{sel})", "ratio", "level",
                               symptom=False))
    return out


def instant_queries(roles: Mapping[str, str], matchers: Mapping[str, str],
                    lookback: str) -> dict[str, str]:
    """Instant queries at the end of the window: slopes, predictions, restarts, limits."""
    sel = prom_selector(matchers)
    out: dict[str, str] = {}
    if (rss := roles.get("rss")) is not None:
        out["rss_slope"] = f"deriv(sum({rss}{sel})[30m:1m])"
        out["rss_in_1h"] = f"predict_linear(sum({rss}{sel})[1h:1m], 3600)"
    if (limit := roles.get("memory_limit")) is not None:
        resource = (limit == "kube_pod_container_resource_limits")
        limit_sel = prom_selector(matchers, extra={"resource": "memory"}) if resource else sel
        out["memory_limit"] = f"max({limit}{limit_sel})"
    if (tasks := roles.get("tokio_live_tasks")) is not None:
        out["live_tasks_slope"] = f"deriv(sum({tasks}{sel})[30m:1m])"
    if (restarts := roles.get("restarts")) is not None:
        out["restarts"] = f"sum(increase({restarts}{sel}[{lookback}]))"
    elif (start := roles.get("start_time")) is not None:
        out["restarts"] = f"sum(changes({start}{sel}[{lookback}]))"
    if (build := roles.get("build_info")) is not None:
        out["deploys"] = f"count(count_over_time({build}{sel}[{lookback}])) - 1"
    return out
