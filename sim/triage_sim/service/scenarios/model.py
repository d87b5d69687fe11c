"""What a scenario is: a misbehaving service, its alert, its telemetry, and what the walk
should conclude from it.

Every scenario plays one catalog service (``catalog_entry``), raises one Alertmanager alert
(``alertmanager_payload``) and, from ``start`` on, misbehaves in the way one playbook
describes. ``expect`` records what a correct walk finds: the numbers the metrics step should
see (as ranges), decisive log text, the slowest span category, the frame a profile puts on
top. Tests of the stand-in check the telemetry delivers those; tests of the walk check the
walk finds them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from bot.config import ServiceConfig
from triage_sim.service.scenarios.clock import ScenarioClock
from triage_sim.service.scenarios.curves import Fn, mix64
from triage_sim.service.scenarios.logs import LogModel
from triage_sim.service.scenarios.metrics import Family
from triage_sim.service.scenarios.profiles import ProfileModel
from triage_sim.service.scenarios.traces import TraceModel

__all__ = ["AlertSpec", "Expectation", "Scenario", "ServiceSpec"]

HISTORY_S = 3 * 3600.0
ANOMALY_START_S = 90 * 60.0
ALERT_DELAY_S = 10 * 60.0
_NEVER = "0001-01-01T00:00:00Z"


def _frozen(raw: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType(dict(raw))


@dataclass(frozen=True)
class AlertSpec:
    """The Alertmanager alert the scenario fires (``service`` and ``job`` are added)."""

    alertname: str
    severity: str
    summary: str
    description: str = ""
    expr: str = ""


@dataclass(frozen=True)
class ServiceSpec:
    """The catalog service a scenario plays, and where it runs."""

    name: str
    pod: str
    ip: str
    namespace: str = "shop"
    port: int = 9000
    memory_limit: int | None = None

    @property
    def prometheus(self) -> Mapping[str, str]:
        """The catalog's Prometheus label matchers."""
        return _frozen({"job": self.name})

    @property
    def loki(self) -> Mapping[str, str]:
        """The catalog's Loki label matchers."""
        return _frozen({"app": self.name})

    @property
    def traces(self) -> str:
        """The service name in the tracing backend."""
        return self.name

    def target_labels(self) -> dict[str, str]:
        """``job`` and ``instance`` as a scrape of this service would attach them."""
        return {"job": self.name, "instance": f"{self.ip}:{self.port}"}

    def log_labels(self) -> dict[str, str]:
        """Labels of the service's Loki streams (``stream`` is added per stream)."""
        return {"app": self.name, "namespace": self.namespace, "pod": self.pod,
                "container": self.name}


@dataclass(frozen=True)
class Expectation:
    """What the walk should find (ranges are inclusive; None leaves a side open).

    ``numbers`` are signal names of ``bot.triage.signal_names.NUMBERS``; ``log_lines`` are
    texts present in the anomaly's logs and absent before it; ``span_category`` is the
    category with the largest self-time share in slow traces; ``cpu_frame`` the function with
    the largest flat share of a CPU profile in the anomaly (``under_worker`` whether it runs on
    a Tokio worker); ``heap_frame`` the first non-allocator frame of the stack that grows most
    between two heap profiles.
    """

    numbers: Mapping[str, tuple[float | None, float | None]]
    log_lines: tuple[str, ...] = ()
    span_category: str | None = None
    cpu_frame: str | None = None
    under_worker: bool = False
    heap_frame: str | None = None
    #: The service's own frame the profile findings should name (attribution past libraries).
    own_frame: str | None = None
    #: Numbers (as ``numbers``) the walk finds only by discovering series under names no
    #: known exporter uses; checks with fixed metric names cannot compute them.
    discovered: Mapping[str, tuple[float | None, float | None]] = field(
        default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True)
class Scenario:
    """One failure pattern played by one service over a few hours of history."""

    name: str
    playbook: str
    title: str
    description: str
    alert: AlertSpec
    service: ServiceSpec
    families: tuple[Family, ...]
    logs: LogModel
    traces: TraceModel
    profiles: ProfileModel
    cpu: Fn
    expect: Expectation
    #: When the process (re)started within the history (a deploy, crashes): in-process
    #: counters restart from zero at these times.
    restarts: tuple[float, ...] = ()
    #: The cause (within ``playbook``'s family) the walk should name first, if it has causes.
    cause: str | None = None
    history_s: float = HISTORY_S
    start: float = ANOMALY_START_S
    alert_at: float = ANOMALY_START_S + ALERT_DELAY_S
    channel: str = "C0SHOPOPS"

    def in_anomaly(self, t: float) -> bool:
        """Whether scenario time ``t`` is at or after the anomaly's start."""
        return t >= self.start

    @property
    def metric_names(self) -> frozenset[str]:
        """Every metric (sample) name the scenario exports."""
        return frozenset(name for family in self.families for name in family.sample_names)

    def clock(self, anchor: float | None = None) -> ScenarioClock:
        """A clock for this scenario's history, ending at ``anchor`` (default: now)."""
        if anchor is None:
            return ScenarioClock.ending_now(self.history_s)
        return ScenarioClock(anchor, self.history_s)

    def catalog_entry(self, pprof_base_url: str | None, channel: str | None = None
                      ) -> ServiceConfig:
        """The catalog entry for the service this scenario plays.

        ``pprof_base_url`` is the stand-in's base URL (it serves ``/debug/pprof/*``).
        """
        spec = self.service
        return ServiceConfig(
            name=spec.name, channel=channel or self.channel, owners=["@oncall-shop"],
            prometheus=dict(spec.prometheus), loki=dict(spec.loki), traces=spec.traces,
            pprof=pprof_base_url, memory_limit=spec.memory_limit,
        )

    def alert_labels(self) -> dict[str, str]:
        """The alert's labels: name, service, job, namespace, severity."""
        return {"alertname": self.alert.alertname, "service": self.service.name,
                "job": self.service.name, "namespace": self.service.namespace,
                "severity": self.alert.severity}

    def alertmanager_payload(self, clock: ScenarioClock) -> dict[str, Any]:
        """A webhook body (version 4) for the alert firing at ``alert_at`` on ``clock``."""
        labels = self.alert_labels()
        annotations = {"summary": self.alert.summary, "description": self.alert.description}
        fingerprint = f"{mix64(*map(ord, json.dumps(labels, sort_keys=True))):016x}"
        expr = self.alert.expr or f'up{{job="{self.service.name}"}}'
        alert = {
            "status": "firing", "labels": labels, "annotations": annotations,
            "startsAt": clock.at(self.alert_at).isoformat().replace("+00:00", "Z"),
            "endsAt": _NEVER, "fingerprint": fingerprint,
            "generatorURL": "http://prometheus:9090/graph?g0.expr=" + expr.replace(" ", "+"),
        }
        return {
            "version": "4", "status": "firing", "receiver": "triage-bot", "truncatedAlerts": 0,
            "groupKey": f'{{}}:{{alertname="{self.alert.alertname}"}}',
            "groupLabels": {"alertname": self.alert.alertname},
            "commonLabels": labels, "commonAnnotations": annotations,
            "externalURL": "http://alertmanager:9093", "alerts": [alert],
        }
