"""The bot's own Prometheus metrics and the event-loop lag probe.

Each app gets its own registry so tests can run several bots in one process.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

_ACK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0)


@dataclass
class BotMetrics:
    """Counters, gauges and histograms served on ``/metrics``."""

    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.ack_latency = Histogram(
            "triage_slack_ack_seconds", "Time from a Slack request's arrival to its ack",
            ["kind"], buckets=_ACK_BUCKETS, registry=r)
        self.loop_lag = Gauge(
            "triage_event_loop_lag_seconds", "Latest measured event-loop scheduling lag",
            registry=r)
        self.loop_lag_max = Gauge(
            "triage_event_loop_lag_max_seconds", "Worst event-loop lag since start", registry=r)
        self.slack_calls = Counter(
            "triage_slack_api_calls_total", "Slack Web API calls made", ["method"], registry=r)
        self.slack_errors = Counter(
            "triage_slack_api_errors_total", "Slack Web API calls that failed",
            ["method", "error"], registry=r)
        self.slack_rejected = Counter(
            "triage_slack_rejected_total",
            "Slack HTTP requests refused at the door (unsigned, stale, bad_signature, replayed, "
            "malformed)", ["reason"], registry=r)
        self.duplicates = Counter(
            "triage_slack_duplicates_total", "Slack deliveries ignored as duplicates",
            ["kind"], registry=r)
        self.tasks_in_flight = Gauge(
            "triage_tasks_in_flight", "Background tasks running or queued", registry=r)
        self.alerts_received = Counter(
            "triage_alert_notifications_total", "Alertmanager notifications by outcome",
            ["outcome"], registry=r)
        self.backend_latency = Histogram(
            "triage_backend_request_seconds", "Telemetry backend call latency",
            ["backend"], registry=r)
        self.backend_errors = Counter(
            "triage_backend_errors_total", "Telemetry backend call failures",
            ["backend", "kind"], registry=r)
        self.outbox_depth = Gauge(
            "triage_outbox_depth", "Cards, redraws and thread lines not yet delivered to Slack "
            "(the outbox, as this replica's drainer last saw it)", registry=r)
        self.steps = Counter(
            "triage_steps_total", "Walk steps run, by step and outcome (done, failed, "
            "interrupted)", ["step", "outcome"], registry=r)


async def watch_loop_lag(metrics: BotMetrics, interval: float = 0.25) -> None:
    """Measure how late the loop wakes a sleeper; runs until cancelled."""
    loop = asyncio.get_running_loop()
    worst = 0.0
    while True:
        started = loop.time()
        await asyncio.sleep(interval)
        lag = max(0.0, loop.time() - started - interval)
        worst = max(worst, lag)
        metrics.loop_lag.set(lag)
        metrics.loop_lag_max.set(worst)


def monotonic() -> float:
    """A clock for latency measurements (not wall time)."""
    return time.perf_counter()
