"""The signals the walk's steps produce, by name, with their units.

Playbook rules may only name signals listed here (``triage-bot check`` says so otherwise), so a
typo in a playbook is caught at load time rather than silently never matching.
"""

from __future__ import annotations

from types import MappingProxyType

#: name -> (unit, meaning). Units: s, bytes, bytes/s, ratio (0..1), count, count/s, cores, bool.
NUMBERS = MappingProxyType({
    # step 1: metrics
    "http.request_rate": ("count/s", "requests per second at the end of the window"),
    "http.request_rate_change": ("ratio", "request rate in the anomaly over the rate before it"),
    "http.error_ratio": ("ratio", "share of 5xx responses in the anomaly"),
    "http.p99_seconds": ("s", "worst P99 latency in the anomaly"),
    "http.p99_baseline_seconds": ("s", "P99 latency before the anomaly"),
    "http.p99_change": ("ratio", "P99 in the anomaly over P99 before it"),
    "cpu.cores": ("cores", "CPU cores used during the anomaly (median)"),
    "cpu.change": ("ratio", "CPU used in the anomaly over CPU before it"),
    "rss.bytes": ("bytes", "resident memory at the end of the window"),
    "rss.slope_bytes_per_s": ("bytes/s", "RSS growth rate over the window (deriv)"),
    "rss.growth_ratio": ("ratio", "RSS at the end over RSS at the start of the window"),
    "memory.limit_bytes": ("bytes", "memory limit (catalog, else kube-state-metrics)"),
    "memory.time_to_oom_s": ("s", "time until RSS reaches the limit at the current slope"),
    "memory.limit_fraction": ("ratio", "RSS over the memory limit"),
    "tokio.busy_ratio": ("ratio", "share of time Tokio workers were busy"),
    "tokio.workers": ("count", "Tokio worker threads"),
    "tokio.mean_poll_seconds": ("s", "mean task poll duration"),
    "tokio.global_queue_depth": ("count", "tasks waiting in the global queue"),
    "tokio.blocking_queue_depth": ("count", "tasks waiting for a blocking thread"),
    "tokio.live_tasks": ("count", "tasks alive at the end of the window"),
    "tokio.live_tasks_slope_per_s": ("count/s", "growth rate of alive tasks (deriv)"),
    "pool.wait_seconds": ("s", "connection-pool acquire wait (P99 or mean) in the anomaly"),
    "pool.wait_change": ("ratio", "pool wait in the anomaly over pool wait before it"),
    "pool.utilisation": ("ratio", "connections in use over pool size"),
    "process.restarts": ("count", "restarts (or new process start times) in the window"),
    "deploy.changed": ("bool", "1 when a version or start-time change fell in the window"),
    # step 2: logs
    "logs.lines": ("count", "log lines read in the window"),
    "logs.error_lines": ("count", "lines at error level or matching an error pattern"),
    # step 3: traces
    "traces.slow_count": ("count", "slow traces examined"),
    "traces.max_seconds": ("s", "duration of the slowest trace examined"),
    "traces.error_ratio": ("ratio", "share of examined traces with an error span"),
    # step 4: profile
    "profile.samples": ("count", "total of the profile's chosen sample type"),
    "heap.growth_bytes": ("bytes", "in-use bytes added between the two heap snapshots"),
})

#: Span categories the traces step assigns (share of slow-trace self time, 0..1).
SPAN_CATEGORIES = frozenset({"database", "serialization", "external", "lock_wait", "cache",
                             "internal"})


def unit_of(name: str) -> str:
    """The unit of a known number signal (KeyError for an unknown one)."""
    return NUMBERS[name][0]
