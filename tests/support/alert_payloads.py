"""Alertmanager webhook bodies of the real shape (see tests/fixtures/real/alertmanager)."""

from __future__ import annotations

import json
from typing import Any

from tests.conftest import FIXTURES

ZERO = "0001-01-01T00:00:00Z"


def real(name: str) -> dict[str, Any]:
    """A published payload from tests/fixtures/real/alertmanager."""
    data: dict[str, Any] = json.loads((FIXTURES / "real" / "alertmanager" / name).read_text())
    return data


def alert(name: str, *, status: str = "firing", starts_at: str = "2026-11-27T10:00:00Z",
          ends_at: str = ZERO, **labels: str) -> dict[str, Any]:
    return {
        "status": status,
        "labels": {"alertname": name, **labels},
        "annotations": {"summary": f"{name} on {labels.get('instance', 'all')}"},
        "startsAt": starts_at, "endsAt": ends_at,
        "generatorURL": "http://prometheus:9090/graph?g0.expr=up",
        "fingerprint": f"{abs(hash((name, tuple(sorted(labels.items()))))):016x}"[:16],
    }


def notification(group_key: str, alerts: list[dict[str, Any]], **common: str) -> dict[str, Any]:
    firing = any(a["status"] == "firing" for a in alerts)
    shared = {k: v for k, v in alerts[0]["labels"].items()
              if all(a["labels"].get(k) == v for a in alerts)}
    return {
        "version": "4", "groupKey": group_key, "truncatedAlerts": 0,
        "status": "firing" if firing else "resolved", "receiver": "triage-bot",
        "groupLabels": {"alertname": alerts[0]["labels"]["alertname"]},
        "commonLabels": {**shared, **common}, "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093", "alerts": alerts,
    }
