"""The shared vocabulary: incidents, their timeline, severities.

These are pydantic models because they cross a boundary (Redis as JSON); everything is
timezone-aware UTC.
"""

from __future__ import annotations

from contextvars import ContextVar
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


def utcnow() -> datetime:
    """The current time, timezone-aware (UTC)."""
    return datetime.now(UTC)


class Severity(StrEnum):
    """How bad it is; parsed leniently from alert labels and user input."""

    CRITICAL = "critical"
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"
    UNKNOWN = "unknown"

    @classmethod
    def parse(cls, value: str | None) -> Severity:
        """Map common spellings (``page``, ``crit``, ``warn``, ``P1`` ...) to a severity."""
        text = (value or "").strip().lower()
        aliases = {
            "page": cls.CRITICAL, "crit": cls.CRITICAL, "p1": cls.CRITICAL, "high": cls.ERROR,
            "p2": cls.ERROR, "warn": cls.WARNING, "p3": cls.WARNING, "medium": cls.WARNING,
            "low": cls.INFO, "p4": cls.INFO, "none": cls.INFO, "major": cls.ERROR,
            "minor": cls.WARNING, "informational": cls.INFO, "disaster": cls.CRITICAL,
        }
        if text in aliases:
            return aliases[text]
        try:
            return cls(text)
        except ValueError:
            return cls.UNKNOWN


class IncidentStatus(StrEnum):
    """Open until a human resolves it."""

    OPEN = "open"
    RESOLVED = "resolved"


class EventKind(StrEnum):
    """What a timeline entry records."""

    DECLARED = "declared"
    NOTE = "note"
    ASSIGNED = "assigned"
    RESOLVED = "resolved"
    REOPENED = "reopened"
    ALERT_FIRED = "alert_fired"
    ALERT_RESOLVED = "alert_resolved"
    CARD_POSTED = "card_posted"
    STEP_DONE = "step_done"
    STEP_FAILED = "step_failed"
    RCA_EDITED = "rca_edited"
    SILENCED = "silenced"
    SILENCE_EXPIRED = "silence_expired"
    OWNERS_PAGED = "owners_paged"
    STATUS_UPDATE = "status_update"
    CHANNEL_OPENED = "channel_opened"


class Incident(BaseModel):
    """One incident, as stored under ``incident:<id>``.

    ``version`` increases on every write so concurrent editors can detect each other.
    """

    model_config = ConfigDict(extra="ignore")

    id: str
    number: int
    service: str | None
    summary: str
    severity: Severity = Severity.UNKNOWN
    status: IncidentStatus = IncidentStatus.OPEN
    channel: str
    created_at: datetime = Field(default_factory=utcnow)
    created_by: str | None = None
    source: str = "slack"
    dedupe_key: str | None = None
    assignee: str | None = None
    card_ts: str | None = None
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    version: int = 0

    @property
    def is_open(self) -> bool:
        """True until a human resolves the incident."""
        return self.status is IncidentStatus.OPEN


#: Where the work at hand came from (button, command, modal, webhook, job, cli); set once at
#: each entry point, so every timeline event recorded under it says so without threading it
#: through every call.
surface_var: ContextVar[str | None] = ContextVar("surface", default=None)


def _current_surface() -> str | None:
    return surface_var.get()


class TimelineEvent(BaseModel):
    """One line of an incident's timeline: who (``actor``), what, when, and from where."""

    model_config = ConfigDict(extra="ignore")

    at: datetime = Field(default_factory=utcnow)
    kind: EventKind
    actor: str | None = None
    text: str = ""
    data: dict[str, Any] = Field(default_factory=dict)
    surface: str | None = Field(default_factory=_current_surface)


def format_incident_id(number: int) -> str:
    """``INC-42``: short enough to type, shown on the card."""
    return f"INC-{number}"


def parse_incident_ref(text: str) -> str | None:
    """``INC-42``, ``inc-42``, ``#42`` or ``42`` -> ``INC-42``; anything else -> None."""
    word = text.strip().lstrip("#").upper().removeprefix("INC-")
    if word.isdigit() and 0 < len(word) <= 9:
        return format_incident_id(int(word))
    return None
