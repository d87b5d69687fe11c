"""Turning step 1's query results into signals and findings (pure, no I/O)."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from bot.config import ServiceConfig
from bot.models import Chart, ChartSeries, Evidence, Finding, Severity, Signals, StepName, Window
from bot.models.units import human, times
from bot.sources.series import Series
from bot.sources.window import TimeWindow
from bot.triage.anomaly import finite, median_or_nan
from bot.triage.exporters import all_names
from bot.triage.steps.metric_queries import SeriesQuery

MAX_POINTS = 300
_GROUPS = {
    "traffic": ("request_rate", "error_ratio"), "latency": ("p99",), "cpu": ("cpu",),
    "memory": ("rss",), "tokio": ("tokio_busy", "tokio_poll", "tokio_global_queue",
                                  "tokio_blocking_queue", "live_tasks"),
    "pool": ("pool_wait", "pool_utilisation"),
}
_MISSING = {
    "traffic": "request and error rates (no HTTP request counter)",
    "latency": "latency (no HTTP duration histogram)",
    "cpu": "CPU (no process_cpu_seconds_total or cAdvisor CPU)",
    "memory": "memory (no process_resident_memory_bytes or cAdvisor working set)",
    "tokio": "Tokio runtime metrics (no tokio_* series from tokio-metrics)",
    "pool": "connection-pool metrics (no db_client_connection_* series, and none found by "
            "name or metadata)",
}


@dataclass(frozen=True)
class MetricsReport:
    """Everything step 1 fetched, for the pure derivation below."""

    service: ServiceConfig
    full: TimeWindow
    window: TimeWindow
    start: datetime
    roles: Mapping[str, str]
    queries: list[SeriesQuery]
    series: Mapping[str, Series]
    instants: Mapping[str, float]
    instant_queries: Mapping[str, str]
    failed: Mapping[str, str]


@dataclass(frozen=True)
class Split:
    """A series cut at the anomaly's start."""

    before: list[float]
    during: list[float]
    last: float


def split(series: Series, start: datetime) -> Split:
    """Values before and from the anomaly's start."""
    cut = start.timestamp()
    before = finite([s.value for s in series.samples if s.timestamp < cut])
    during = finite([s.value for s in series.samples if s.timestamp >= cut])
    values = finite(series.values)
    return Split(before, during, values[-1] if values else math.nan)


def _ratio(after: float, before: float) -> float:
    if not (math.isfinite(after) and math.isfinite(before)) or before <= 0:
        return math.nan
    return after / before


def _set(numbers: dict[str, float], name: str, value: float) -> None:
    if math.isfinite(value):
        numbers[name] = value


def signal_numbers(r: MetricsReport) -> dict[str, float]:
    """The number signals of signal_names that step 1 produces."""
    n: dict[str, float] = {}
    parts = {key: split(s, r.start) for key, s in r.series.items()}
    peak = {k: max(p.during) if p.during else math.nan for k, p in parts.items()}
    base = {k: median_or_nan(p.before) for k, p in parts.items()}
    mid = {k: median_or_nan(p.during) for k, p in parts.items()}
    _http_numbers(parts, peak, base, mid, n)
    if "cpu" in parts:
        _set(n, "cpu.cores", mid["cpu"])
        _set(n, "cpu.change", _ratio(mid["cpu"], base["cpu"]))
    _memory_numbers(r, parts, n)
    for key, name in (("tokio_busy", "tokio.busy_ratio"), ("tokio_poll", "tokio.mean_poll_seconds"),
                      ("tokio_global_queue", "tokio.global_queue_depth"),
                      ("tokio_blocking_queue", "tokio.blocking_queue_depth"),
                      ("pool_wait", "pool.wait_seconds"), ("pool_utilisation", "pool.utilisation")):
        if key in parts:
            _set(n, name, peak[key])
    if "pool_wait" in parts:
        _set(n, "pool.wait_change", _ratio(peak["pool_wait"], base["pool_wait"]))
    if "live_tasks" in parts:
        _set(n, "tokio.live_tasks", parts["live_tasks"].last)
    _set(n, "tokio.live_tasks_slope_per_s", r.instants.get("live_tasks_slope", math.nan))
    _set(n, "process.restarts", r.instants.get("restarts", math.nan))
    if "deploys" in r.instants:
        n["deploy.changed"] = 1.0 if r.instants["deploys"] > 0 else 0.0
    for name, value in r.instants.items():
        if "." in name:  # playbook queries are keyed by the signal they set
            _set(n, name, value)
    return n


def _http_numbers(parts: Mapping[str, Split], peak: Mapping[str, float],
                  base: Mapping[str, float], mid: Mapping[str, float], n: dict[str, float]
                  ) -> None:
    if "request_rate" in parts:
        _set(n, "http.request_rate", parts["request_rate"].last)
        _set(n, "http.request_rate_change", _ratio(mid["request_rate"], base["request_rate"]))
    if "error_ratio" in parts:
        _set(n, "http.error_ratio", peak["error_ratio"])
    if "p99" in parts:
        _set(n, "http.p99_seconds", peak["p99"])
        _set(n, "http.p99_baseline_seconds", base["p99"])
        _set(n, "http.p99_change", _ratio(peak["p99"], base["p99"]))


def _memory_numbers(r: MetricsReport, parts: Mapping[str, Split], n: dict[str, float]) -> None:
    if "rss" not in parts:
        return
    rss = parts["rss"]
    values = rss.before + rss.during
    _set(n, "rss.bytes", rss.last)
    _set(n, "rss.growth_ratio", _ratio(rss.last, values[0] if values else math.nan))
    slope = r.instants.get("rss_slope", math.nan)
    _set(n, "rss.slope_bytes_per_s", slope)
    limit = float(r.service.memory_limit) if r.service.memory_limit else \
        r.instants.get("memory_limit", math.nan)
    _set(n, "memory.limit_bytes", limit)
    _set(n, "memory.limit_fraction", _ratio(rss.last, limit))
    if math.isfinite(slope) and slope > 0 and math.isfinite(limit):
        _set(n, "memory.time_to_oom_s", max(0.0, (limit - rss.last) / slope))


def chart_of(query: SeriesQuery, series: Series, start: datetime,
             threshold: tuple[float, str] | None = None) -> Chart:
    """A chart of one series, thinned to at most MAX_POINTS points."""
    points = [(s.timestamp, s.value) for s in series.samples if math.isfinite(s.value)]
    stride = max(1, math.ceil(len(points) / MAX_POINTS))
    return Chart(title=query.title, unit=query.unit,
                 series=[ChartSeries(label=query.title, points=points[::stride])],
                 threshold=threshold[0] if threshold else None,
                 threshold_label=threshold[1] if threshold else None, marker=start)


class _Builder:
    """Collects findings for one report."""

    def __init__(self, r: MetricsReport, numbers: Mapping[str, float]) -> None:
        self.r = r
        self.n = numbers
        self.findings: list[Finding] = []
        self.window = Window(start=r.full.start, end=r.full.end)
        self.by_key = {q.key: q for q in r.queries}

    def evidence(self, label: str, signal: str, unit: str, key: str | None = None) -> Evidence:
        value = self.n.get(signal, math.nan)
        query = self.by_key[key].promql if key in self.by_key else \
            self.r.instant_queries.get(key or "")
        return Evidence(label=label, value=human(value, unit),
                        number=value if math.isfinite(value) else None, unit=unit,
                        source="prometheus", query=query, window=self.window)

    def add(self, key: str, title: str, severity: Severity, summary: str, *,
            evidence: list[Evidence], charts: tuple[str, ...] = (),
            threshold: tuple[float, str] | None = None) -> None:
        drawn = [chart_of(self.by_key[k], self.r.series[k], self.r.start, threshold)
                  for k in charts if k in self.r.series]
        self.findings.append(Finding(
            key=f"metrics.{key}", step=StepName.METRICS, title=title, severity=severity,
            summary=summary, evidence=[e for e in evidence if e.number is not None],
            charts=drawn))


def _level(change: float, warn: float = 1.5, crit: float = 4.0) -> Severity:
    if not math.isfinite(change):
        return Severity.INFO
    if change >= crit:
        return Severity.CRITICAL
    return Severity.WARNING if change >= warn else Severity.INFO


def build_findings(r: MetricsReport) -> tuple[Signals, list[Finding]]:
    """Signals and the findings a responder reads, one per signal group found."""
    numbers = signal_numbers(r)
    b = _Builder(r, numbers)
    since = r.start.strftime("%H:%M UTC")
    for add in _SECTIONS:
        add(b, since)
    missing = [text for group, text in _MISSING.items()
               if not any(k in r.series for k in _GROUPS[group])]
    if missing:
        selector = ", ".join(f'{k}="{v}"' for k, v in r.service.prometheus.items())
        b.findings.append(Finding(
            key="metrics.not_found", step=StepName.METRICS, title="Signals not found",
            summary=f"For {{{selector}}} there is no " + "; no ".join(missing) + ".",
            severity=Severity.INFO))
    if r.failed:
        b.findings.append(Finding(
            key="metrics.failed_queries", step=StepName.METRICS, severity=Severity.WARNING,
            title=f"{len(r.failed)} queries were rejected by Prometheus",
            summary="; ".join(f"{k}: {v}" for k, v in sorted(r.failed.items()))))
    return Signals(numbers=numbers), b.findings


def series_used(roles: Mapping[str, str], pinned: Mapping[str, str]) -> Finding:
    """Which metric fills each role, and how it was chosen, so a responder can check it."""
    known = all_names()

    def origin(role: str, name: str) -> str:
        if pinned.get(role) == name:
            return "pinned in the catalog"
        return "known exporter name" if name in known else "discovered (name and metadata)"

    evidence = [Evidence(label=role, value=name, source=f"metrics step: {origin(role, name)}")
                for role, name in sorted(roles.items())]
    found = sum(1 for e in evidence if e.source.endswith("(name and metadata)"))
    return Finding(key="metrics.series_used", step=StepName.METRICS, severity=Severity.INFO,
                   title=f"Series used: {len(evidence)} metrics"
                         + (f", {found} found by discovery" if found else ""),
                   summary="The metric behind each measurement; pin another one with the "
                           "service's `metrics:` in the catalog.",
                   evidence=evidence)


def _latency(b: _Builder, since: str) -> None:
    if "http.p99_seconds" not in b.n:
        return
    change = b.n.get("http.p99_change", math.nan)
    b.add("latency", f"P99 latency {human(b.n['http.p99_seconds'], 's')} "
          f"({times(change)} its level before {since})", _level(change),
          "The 99th percentile of request duration, from the service's latency histogram.",
          evidence=[b.evidence("P99 in the anomaly", "http.p99_seconds", "s", "p99"),
           b.evidence("P99 before", "http.p99_baseline_seconds", "s", "p99")], charts=("p99",))


def _traffic(b: _Builder, since: str) -> None:
    if "http.request_rate" not in b.n:
        return
    change = b.n.get("http.request_rate_change", math.nan)
    errors = b.n.get("http.error_ratio", math.nan)
    severity = Severity.CRITICAL if errors > 0.05 else (
        Severity.WARNING if errors > 0.01 or change < 0.6 else Severity.INFO)
    b.add("traffic", f"{human(b.n['http.request_rate'], 'req/s')} requests, "
          f"{human(errors, 'ratio')} errors (rate {times(change)} since {since})", severity,
          "Request rate and share of 5xx responses.",
          evidence=[b.evidence("Request rate", "http.request_rate", "req/s", "request_rate"),
           b.evidence("Rate change", "http.request_rate_change", "ratio", "request_rate"),
           b.evidence("5xx ratio (peak)", "http.error_ratio", "ratio", "error_ratio")],
          charts=("request_rate", "error_ratio"))


def _cpu(b: _Builder, since: str) -> None:
    if "cpu.cores" not in b.n:
        return
    change = b.n.get("cpu.change", math.nan)
    b.add("cpu", f"CPU {human(b.n['cpu.cores'], 'cores')} at peak ({times(change)} since "
          f"{since})", _level(change, 1.5, 3.0), "CPU time used per second, in cores.",
          evidence=[b.evidence("CPU at peak", "cpu.cores", "cores", "cpu"),
           b.evidence("Change", "cpu.change", "ratio", "cpu")], charts=("cpu",))


def _memory(b: _Builder, since: str) -> None:
    if "rss.bytes" not in b.n:
        return
    slope = b.n.get("rss.slope_bytes_per_s", math.nan)
    oom = b.n.get("memory.time_to_oom_s", math.nan)
    limit = b.n.get("memory.limit_bytes", math.nan)
    title = f"RSS {human(b.n['rss.bytes'], 'bytes')}, growing {human(slope * 3600, 'bytes')}/h"
    if math.isfinite(oom):
        title += f"; limit reached in {human(oom, 's')}"
    severity = Severity.CRITICAL if oom < 3600 else (
        Severity.WARNING if slope > 0 and b.n.get("rss.growth_ratio", 1) > 1.2 else Severity.INFO)
    threshold = (limit, "memory limit") if math.isfinite(limit) else None
    b.add("memory", title, severity,
          "Resident memory, its slope (deriv over 30 min) and the time until it meets the limit "
          "at that slope (predict_linear shows where it is heading).",
          evidence=[b.evidence("RSS", "rss.bytes", "bytes", "rss"),
           b.evidence("RSS slope", "rss.slope_bytes_per_s", "bytes/s", "rss_slope"),
           b.evidence("Memory limit", "memory.limit_bytes", "bytes", "memory_limit"),
           b.evidence("Time to OOM", "memory.time_to_oom_s", "s", "rss_in_1h")],
          charts=("rss",), threshold=threshold)


def _tokio(b: _Builder, since: str) -> None:
    keys = [k for k in ("tokio.busy_ratio", "tokio.mean_poll_seconds", "tokio.live_tasks")
            if k in b.n]
    if not keys:
        return
    busy = b.n.get("tokio.busy_ratio", math.nan)
    slope = b.n.get("tokio.live_tasks_slope_per_s", math.nan)
    parts = [f"workers busy {human(busy, 'ratio')}"] if math.isfinite(busy) else []
    if math.isfinite(slope):
        parts.append(f"alive tasks {slope * 3600:+.0f}/h")
    severity = Severity.CRITICAL if busy > 0.9 else (
        Severity.WARNING if busy > 0.75 or slope * 3600 > 1000 else Severity.INFO)
    b.add("tokio", "Tokio runtime: " + ", ".join(parts or ["metrics present"]), severity,
          "tokio-metrics: share of time workers were busy, mean poll time, queue depths and "
          "alive tasks.",
          evidence=[b.evidence("Busy ratio (peak)", "tokio.busy_ratio", "ratio", "tokio_busy"),
           b.evidence("Mean poll time", "tokio.mean_poll_seconds", "s", "tokio_poll"),
           b.evidence("Global queue (peak)", "tokio.global_queue_depth", "count",
                      "tokio_global_queue"),
           b.evidence("Alive tasks", "tokio.live_tasks", "count", "live_tasks"),
           b.evidence("Alive tasks slope", "tokio.live_tasks_slope_per_s", "count/s",
                      "live_tasks_slope")],
          charts=("tokio_busy", "tokio_poll", "live_tasks"))


def _pool(b: _Builder, since: str) -> None:
    if "pool.wait_seconds" not in b.n and "pool.utilisation" not in b.n:
        return
    change = b.n.get("pool.wait_change", math.nan)
    b.add("pool", f"Pool acquire P99 {human(b.n.get('pool.wait_seconds', math.nan), 's')} "
          f"({times(change)}), {human(b.n.get('pool.utilisation', math.nan), 'ratio')} in use",
          _level(change), "Connection-pool acquire wait and connections in use.",
          evidence=[b.evidence("Acquire wait P99", "pool.wait_seconds", "s", "pool_wait"),
           b.evidence("Wait change", "pool.wait_change", "ratio", "pool_wait"),
           b.evidence("In use (peak)", "pool.utilisation", "ratio", "pool_utilisation")],
          charts=("pool_wait", "pool_utilisation"))


def _changes(b: _Builder, since: str) -> None:
    restarts = b.n.get("process.restarts", math.nan)
    deployed = b.n.get("deploy.changed", 0.0)
    if not (restarts > 0 or deployed):
        return
    b.add("changes", f"{restarts:.0f} restarts" + (" and a deploy" if deployed else "") +
          " in the last 3 h", Severity.WARNING, "Restarts and version changes in the window.",
          evidence=[b.evidence("Restarts", "process.restarts", "count", "restarts"),
           b.evidence("Deploy", "deploy.changed", "bool", "deploys")])


_SECTIONS: tuple[Callable[[_Builder, str], None], ...] = (
    _latency, _traffic, _cpu, _memory, _tokio, _pool, _changes)
