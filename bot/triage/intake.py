"""Alert intake: one incident per Alertmanager group, updated as its alerts change.

What a notification changed is stored together with what Slack must be told of it (the card,
its redraw, a thread line: outbox items), in one transaction, before the webhook answers 2xx.

When a human has resolved a group's incident and new alerts of the group fire later, a
successor incident opens under a key derived from the old one, so replicas racing on that
notification still agree on a single incident.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from bot.config import Catalog, ServiceConfig
from bot.models import AlertChange, AlertGroup, Incident, Severity, would_change
from bot.models.outbox import OutboxItem, alerts_item, card_item, redraw_item
from bot.store.alerts import AlertStateStore
from bot.triage.incidents import Declaration, IncidentService

_SEVERITY_RANK = [Severity.UNKNOWN, Severity.INFO, Severity.WARNING, Severity.ERROR,
                  Severity.CRITICAL]


@dataclass(frozen=True)
class IntakeResult:
    """What a notification did: the incident it belongs to (None if it needed none)."""

    incident: Incident | None
    created: bool = False
    changes: list[AlertChange] = field(default_factory=list)


def group_dedupe_key(group_key: str) -> str:
    """The dedupe key of the first incident of an alert group."""
    return f"alertmanager:{group_key}"


def successor_key(group_key: str, previous: Incident) -> str:
    """The dedupe key of the incident that follows a resolved one for the same group."""
    return f"{group_dedupe_key(group_key)}#after:{previous.id}"


def map_service(group: AlertGroup, catalog: Catalog, label_names: Sequence[str]
                ) -> ServiceConfig | None:
    """The catalog service the alerts are about, by label value or by Prometheus matchers."""
    labels = group.common_labels or (group.alerts[0].labels if group.alerts else {})
    for name in label_names:
        value = labels.get(name)
        service = catalog.get(value) if value else None
        if service is not None:
            return service
    for service in catalog.services:
        matchers = service.prometheus
        if matchers and all(labels.get(k) == v for k, v in matchers.items()):
            return service
    return None


def group_severity(group: AlertGroup) -> Severity:
    """The worst severity label among the firing alerts (or all, if none fire)."""
    alerts = group.firing or list(group.alerts)
    found = [Severity.parse(a.labels.get("severity")) for a in alerts]
    found.append(Severity.parse(group.common_labels.get("severity")))
    return max(found, key=_SEVERITY_RANK.index)


def group_summary(group: AlertGroup, service: ServiceConfig | None) -> str:
    """The annotation a rule author wrote for people, else the alert name."""
    first = group.alerts[0] if group.alerts else None
    summary = (group.common_annotations.get("summary")
               or (first.annotations.get("summary") if first else None)
               or (first.name if first else "alert"))
    if service is None:
        seen = ", ".join(f"{k}={v}" for k, v in sorted(group.common_labels.items()))
        summary = f"{summary} (no catalog service matched labels: {seen or 'none'})"
    return summary


def _announcement(incident: Incident, created: bool
                  ) -> Callable[[list[AlertChange]], list[OutboxItem]]:
    """What Slack is told of a notification's changes: a new incident's card (which shows
    them), else the card if it is missing, its redraw and a thread line."""
    def items(changes: list[AlertChange]) -> list[OutboxItem]:
        if created:
            return [card_item(incident.id, run_metrics=True)]
        card = [] if incident.card_ts else [card_item(incident.id)]
        return [*card, redraw_item(incident.id), alerts_item(incident.id, changes)]

    return items


class AlertIntake:
    """Turns notifications into incident state; posting to Slack is the caller's business."""

    def __init__(self, incidents: IncidentService, alerts: AlertStateStore,
                 label_names: Sequence[str]) -> None:
        self._incidents = incidents
        self._alerts = alerts
        self._label_names = tuple(label_names)

    async def receive(self, group: AlertGroup) -> IntakeResult:
        """Record the notification; only what it changed is reported back."""
        incident = await self._current(group.group_key)
        created = False
        if incident is None or (not incident.is_open and await self._brings_news(incident,
                                                                                 group)):
            if not group.firing:
                return IntakeResult(incident)
            key = (group_dedupe_key(group.group_key) if incident is None
                   else successor_key(group.group_key, incident))
            result = await self._incidents.declare(self._declaration(group, key))
            incident, created = result.incident, result.created
        changes = await self._alerts.apply(incident.id, group.alerts,
                                           announce=_announcement(incident, created))
        if not changes and not incident.card_ts:
            await self._alerts.owe([card_item(incident.id)])  # nothing new, but no card yet
        return IntakeResult(incident, created, changes)

    async def _current(self, group_key: str) -> Incident | None:
        store = self._incidents.store
        incident = await store.find_by_dedupe_key(group_dedupe_key(group_key))
        while incident is not None and not incident.is_open:
            successor = await store.find_by_dedupe_key(successor_key(group_key, incident))
            if successor is None:
                break
            incident = successor
        return incident

    async def _brings_news(self, incident: Incident, group: AlertGroup) -> bool:
        known = {s.fingerprint: s for s in await self._alerts.states(incident.id)}
        return any(would_change(known.get(a.fingerprint), a) for a in group.firing)

    def _declaration(self, group: AlertGroup, dedupe_key: str) -> Declaration:
        service = map_service(group, self._incidents.catalog, self._label_names)
        return Declaration(
            service=service, summary=group_summary(group, service),
            severity=group_severity(group), actor="alertmanager", source="alertmanager",
            dedupe_key=dedupe_key, labels=dict(group.common_labels),
        )
