"""What a triage step learns, in a form that knows nothing of Slack.

A step produces *signals* (named numbers and named lists the playbooks' rules read) and
*findings* (what a responder reads: a title, a severity, evidence with the query and window it
came from, chart data, hints). Evidence keeps a frozen copy of the values, so an RCA drafted
from it still stands after the backend's retention has dropped the data.

Everything here is stored in Redis as JSON, hence pydantic models.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from bot.models.incident import Severity, utcnow


class StepName(StrEnum):
    """The four steps of the walk, in the order a responder usually takes them."""

    METRICS = "metrics"
    LOGS = "logs"
    TRACES = "traces"
    PROFILE = "profile"


STEP_ORDER = (StepName.METRICS, StepName.LOGS, StepName.TRACES, StepName.PROFILE)


class StepStatus(StrEnum):
    """Where a step stands for one incident."""

    NOT_STARTED = "not_started"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Window(_Model):
    """A time range as stored (both ends aware UTC)."""

    start: datetime
    end: datetime


class Evidence(_Model):
    """One cited value: what it is, its value, and exactly where it came from."""

    label: str
    value: str
    number: float | None = None
    unit: str | None = None
    source: str
    query: str | None = None
    window: Window | None = None


class ChartSeries(_Model):
    """One line of a chart: (unix seconds, value) points."""

    label: str
    points: list[tuple[float, float]]


class Chart(_Model):
    """Data for a PNG the Slack side draws; ``marker`` flags the anomaly's start."""

    title: str
    unit: str = ""
    series: list[ChartSeries]
    threshold: float | None = None
    threshold_label: str | None = None
    marker: datetime | None = None


class Link(_Model):
    """A link a responder may follow (built from catalog URLs only, never user text)."""

    title: str
    url: str


class Finding(_Model):
    """One thing a step found, or could not find (a missing signal is a finding too)."""

    key: str
    step: StepName
    title: str
    severity: Severity = Severity.INFO
    summary: str = ""
    evidence: list[Evidence] = Field(default_factory=list)
    charts: list[Chart] = Field(default_factory=list)
    links: list[Link] = Field(default_factory=list)
    hints: list[str] = Field(default_factory=list)


class FrameShare(_Model):
    """A profile frame and its share of the total (0..1), flat and cumulative."""

    function: str
    flat: float
    cum: float
    under_worker: bool = False
    #: The first frame of the service's own code between this function and the root of its
    #: heaviest stack (``checkout::cache::SessionCache::insert`` above ``Arc::new``), if any.
    owner: str | None = None


class ProfileBaseline(_Model):
    """A service's CPU frame shares in calm periods: what "normal" is for its profile.

    Kept by the profile-baseline job (a moving average over calm-period profiles); the
    diagnosis counts a frame only by how far its share in an incident is above this.
    """

    service: str
    frames: list[FrameShare] = Field(default_factory=list)
    profiles: int = 0
    updated_at: datetime = Field(default_factory=utcnow)


class Signals(_Model):
    """Facts for the playbooks' rules: numbers by name, plus frames, log and span patterns.

    Number names are dotted and documented where they are produced (e.g. ``rss.slope_bytes_per_s``,
    ``tokio.busy_ratio``, ``http.p99_seconds``); an absent name means the signal was not found.
    """

    numbers: dict[str, float] = Field(default_factory=dict)
    frames: list[FrameShare] = Field(default_factory=list)
    frames_kind: Literal["cpu", "heap_diff"] | None = None
    log_patterns: dict[str, int] = Field(default_factory=dict)
    span_categories: dict[str, float] = Field(default_factory=dict)


class StepResult(_Model):
    """The outcome of one run of one step for one incident."""

    step: StepName
    status: StepStatus
    started_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None
    window: Window | None = None
    findings: list[Finding] = Field(default_factory=list)
    signals: Signals = Field(default_factory=Signals)
    error: str | None = None
    ran_by: str | None = None


class Candidate(_Model):
    """A failure cause under consideration, with the evidence for and against it.

    ``playbook`` is the playbook (the family of causes) it comes from; ``cause`` the cause's key
    within it (None for a playbook that names a single cause). ``evidence`` is the score the
    evidence alone gave it, without the alert's seed.
    """

    playbook: str
    title: str
    score: float
    supporting: list[str] = Field(default_factory=list)
    contradicting: list[str] = Field(default_factory=list)
    cause: str | None = None
    family: str | None = None
    evidence: float = 0.0

    @property
    def id(self) -> str:
        """``playbook/cause``, or the playbook's id for a single-cause playbook."""
        return f"{self.playbook}/{self.cause}" if self.cause else self.playbook


Verdict = Literal["pending", "leading", "inconclusive"]


class Diagnosis(_Model):
    """The ranking after the latest step; ``candidates[0]`` is the leader.

    ``verdict`` says whether the leader is a conclusion (``leading``), whether the evidence does
    not single one out (``inconclusive``: ``reasons`` say why, ``checked_normal`` what was looked
    at and found normal, ``next_checks`` what to look at next), or nothing has run yet.
    """

    candidates: list[Candidate]
    updated_at: datetime = Field(default_factory=utcnow)
    verdict: Verdict = "leading"
    reasons: list[str] = Field(default_factory=list)
    checked_normal: list[str] = Field(default_factory=list)
    next_checks: list[str] = Field(default_factory=list)

    @property
    def inconclusive(self) -> bool:
        """Whether the evidence does not single out a cause."""
        return self.verdict == "inconclusive"

    @property
    def leader(self) -> Candidate | None:
        """The most likely pattern, if any."""
        return self.candidates[0] if self.candidates else None
