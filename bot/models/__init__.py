"""The shared vocabulary: every type that is stored or crosses a layer.

Incidents and their timeline, alerts, the walk's findings and diagnosis, the RCA, vitals.
Pydantic models where they cross a boundary (Redis as JSON, webhook payloads); everything is
timezone-aware UTC. This package imports nothing of the bot but ``bot.errors``.
"""

from __future__ import annotations

from bot.models.alerts import (
    Alert,
    AlertChange,
    AlertGroup,
    AlertState,
    AlertStatus,
    alert_change,
    alert_event,
    alert_state,
    label_fingerprint,
    parse_alertmanager,
    would_change,
)
from bot.models.card import CardView, Change, ChangeKind
from bot.models.findings import (
    STEP_ORDER,
    Candidate,
    Chart,
    ChartSeries,
    Diagnosis,
    Evidence,
    Finding,
    FrameShare,
    Link,
    ProfileBaseline,
    Signals,
    StepName,
    StepResult,
    StepStatus,
    Window,
)
from bot.models.incident import (
    EventKind,
    Incident,
    IncidentStatus,
    Severity,
    TimelineEvent,
    format_incident_id,
    parse_incident_ref,
    utcnow,
)
from bot.models.rca import (
    MAX_SECTION,
    SECTION_TITLES,
    Citation,
    Rca,
    Section,
    SectionText,
    clip_section,
    fingerprint,
)
from bot.models.vitals import (
    Vital,
    Vitals,
)
from bot.models.walk import (
    WalkContextState,
)

__all__ = [
    "MAX_SECTION",
    "SECTION_TITLES",
    "STEP_ORDER",
    "Alert",
    "AlertChange",
    "AlertGroup",
    "AlertState",
    "AlertStatus",
    "Candidate",
    "CardView",
    "Change",
    "ChangeKind",
    "Chart",
    "ChartSeries",
    "Citation",
    "Diagnosis",
    "EventKind",
    "Evidence",
    "Finding",
    "FrameShare",
    "Incident",
    "IncidentStatus",
    "Link",
    "ProfileBaseline",
    "Rca",
    "Section",
    "SectionText",
    "Severity",
    "Signals",
    "StepName",
    "StepResult",
    "StepStatus",
    "TimelineEvent",
    "Vital",
    "Vitals",
    "WalkContextState",
    "Window",
    "alert_change",
    "alert_event",
    "alert_state",
    "clip_section",
    "fingerprint",
    "format_incident_id",
    "label_fingerprint",
    "parse_alertmanager",
    "parse_incident_ref",
    "utcnow",
    "would_change",
]
