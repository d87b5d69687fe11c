"""Alerts: Alertmanager's webhook payload (version 4), validated at the boundary, and what
the bot remembers of each alert.

Parsing is pure: bytes in, an ``AlertGroup`` out, or ``InputError`` saying what was wrong.
Older Alertmanagers omit ``fingerprint`` and per-alert ``status``; newer ones add fields
(``truncatedAlerts``, ``notification_reason``...). Both are accepted. A time without a zone
is read as UTC (a group mixing zoned and zoneless times could not be compared otherwise), and
a ``startsAt`` outside 1970-9998 is refused: the walk does window arithmetic from it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from bot.errors import InputError
from bot.models.incident import EventKind, TimelineEvent

AlertStatus = Literal["firing", "resolved"]
_ZERO_TIME_YEAR = 1
#: ``startsAt`` must lie in this range (aware); year 1 or 9999 would overflow the walk's window.
_EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
_LATEST = datetime(9999, 1, 1, tzinfo=UTC)


def _zoned(value: datetime) -> datetime:
    """A time without a zone is UTC (Alertmanager always sends one; hand-written bodies not)."""
    return value if value.utcoffset() is not None else value.replace(tzinfo=UTC)


def _plausible_start(value: datetime) -> datetime:
    if not _EARLIEST <= value < _LATEST:
        raise ValueError(f"{value.isoformat()} is not between 1970 and 9998")
    return value


ZonedTime = Annotated[datetime, AfterValidator(_zoned)]
StartTime = Annotated[datetime, AfterValidator(_zoned), AfterValidator(_plausible_start)]


class _AlertIn(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    status: AlertStatus | None = None
    labels: dict[str, str]
    annotations: dict[str, str] = Field(default_factory=dict)
    starts_at: StartTime = Field(alias="startsAt")
    ends_at: ZonedTime | None = Field(default=None, alias="endsAt")
    generator_url: str = Field(default="", alias="generatorURL")
    fingerprint: str | None = None


class _PayloadIn(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    version: Literal["4"] | None = None
    group_key: str = Field(alias="groupKey", min_length=1, max_length=16384)
    truncated_alerts: int = Field(default=0, alias="truncatedAlerts", ge=0)
    status: AlertStatus
    receiver: str = ""
    group_labels: dict[str, str] = Field(default_factory=dict, alias="groupLabels")
    common_labels: dict[str, str] = Field(default_factory=dict, alias="commonLabels")
    common_annotations: dict[str, str] = Field(default_factory=dict, alias="commonAnnotations")
    external_url: str = Field(default="", alias="externalURL")
    alerts: list[_AlertIn] = Field(max_length=10000)


@dataclass(frozen=True)
class Alert:
    """One alert of a notification, its status resolved and its identity fixed."""

    fingerprint: str
    status: AlertStatus
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: datetime
    ends_at: datetime | None
    generator_url: str

    @property
    def name(self) -> str:
        """The alertname label (or a placeholder when a rule forgot it)."""
        return self.labels.get("alertname", "(unnamed alert)")


@dataclass(frozen=True)
class AlertGroup:
    """One Alertmanager notification: a group of alerts sharing a route and group labels."""

    group_key: str
    status: AlertStatus
    receiver: str
    group_labels: dict[str, str]
    common_labels: dict[str, str]
    common_annotations: dict[str, str]
    external_url: str
    alerts: tuple[Alert, ...]
    truncated_alerts: int

    @property
    def firing(self) -> list[Alert]:
        """Alerts of this notification still firing."""
        return [a for a in self.alerts if a.status == "firing"]


def label_fingerprint(labels: dict[str, str]) -> str:
    """A stable identity for alerts from Alertmanagers that send no fingerprint."""
    canonical = json.dumps(sorted(labels.items()), separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def parse_alertmanager(body: bytes) -> AlertGroup:
    """Validate a webhook body; InputError names the first problems found."""
    try:
        payload = _PayloadIn.model_validate_json(body)
    except ValidationError as exc:
        raise InputError(_describe(exc)) from None
    alerts = tuple(_alert(a, payload.status) for a in payload.alerts)
    return AlertGroup(
        group_key=payload.group_key, status=payload.status, receiver=payload.receiver,
        group_labels=payload.group_labels, common_labels=payload.common_labels,
        common_annotations=payload.common_annotations, external_url=payload.external_url,
        alerts=alerts, truncated_alerts=payload.truncated_alerts,
    )


def _utc(moment: datetime) -> datetime:
    """A time without a zone is read as UTC (Alertmanager always sends one; hand-written
    payloads often do not), so zoned and zoneless times of one group can be compared."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _alert(raw: _AlertIn, group_status: AlertStatus) -> Alert:
    ends_at = raw.ends_at if raw.ends_at and raw.ends_at.year > _ZERO_TIME_YEAR else None
    return Alert(
        fingerprint=raw.fingerprint or label_fingerprint(raw.labels),
        status=raw.status or group_status, labels=raw.labels, annotations=raw.annotations,
        starts_at=_utc(raw.starts_at), ends_at=_utc(ends_at) if ends_at else None,
        generator_url=raw.generator_url,
    )


def _describe(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors()[:5]:
        where = ".".join(str(p) for p in error["loc"]) or "body"
        problems.append(f"{where}: {error['msg']}")
    more = f" (and {exc.error_count() - 5} more)" if exc.error_count() > 5 else ""
    return "not an Alertmanager v4 webhook payload: " + "; ".join(problems) + more


class AlertState(BaseModel):
    """What the bot last knew of one alert (by fingerprint)."""

    fingerprint: str
    name: str
    status: Literal["firing", "resolved"]
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: datetime
    ends_at: datetime | None = None
    #: The rule's page in Prometheus (the card links it).
    generator_url: str = ""


@dataclass(frozen=True)
class AlertChange:
    """An alert that started firing (again) or resolved since the last notification."""

    kind: Literal["fired", "resolved"]
    alert: Alert


def alert_change(previous: AlertState | None, alert: Alert) -> AlertChange | None:
    if alert.status == "firing":
        same = (previous is not None and previous.status == "firing"
                and previous.starts_at == alert.starts_at)
        return None if same else AlertChange("fired", alert)
    if previous is not None and previous.status == "resolved":
        return None
    return AlertChange("resolved", alert)


def would_change(previous: AlertState | None, alert: Alert) -> bool:
    """Whether ``alert`` differs from what was last recorded for it."""
    return alert_change(previous, alert) is not None


def alert_state(alert: Alert) -> AlertState:
    return AlertState(fingerprint=alert.fingerprint, name=alert.name, status=alert.status,
                      labels=alert.labels, annotations=alert.annotations,
                      starts_at=alert.starts_at, ends_at=alert.ends_at,
                      generator_url=alert.generator_url)


def alert_event(change: AlertChange) -> TimelineEvent:
    alert = change.alert
    kind = EventKind.ALERT_FIRED if change.kind == "fired" else EventKind.ALERT_RESOLVED
    return TimelineEvent(kind=kind, actor="alertmanager", text=alert.name, data={
        "fingerprint": alert.fingerprint, "labels": alert.labels,
        "startsAt": alert.starts_at.isoformat(),
        "endsAt": alert.ends_at.isoformat() if alert.ends_at else None,
    })
