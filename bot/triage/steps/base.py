"""What every step runner gets and gives back.

A runner is ``async def run(ctx: StepContext, deps: StepDeps) -> StepOutput``. It reads only
catalog data and earlier steps' results from the context, talks to backends only through
``deps``, and raises ``SourceError`` when its backend fails; the walk turns that into a failed
step that says so, and goes on.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from bot.config import ServiceConfig
from bot.models import Diagnosis, Finding, FrameShare, Signals, Window
from bot.sources.pprof.client import PprofClient
from bot.sources.registry import Sources
from bot.sources.window import TimeWindow

if TYPE_CHECKING:
    from bot.triage.playbook import Playbook
    from bot.triage.playbook_loader import PlaybookSet


@dataclass(frozen=True)
class StepContext:
    """Everything a step may know about the incident when it starts."""

    incident_id: str
    service: ServiceConfig
    now: datetime
    window: TimeWindow
    playbooks: PlaybookSet
    alertname: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    anomaly_start: datetime | None = None
    signals: Signals = field(default_factory=Signals)
    leader: Playbook | None = None
    roles: Mapping[str, str] = field(default_factory=dict)
    #: The ranking when the step started (the walk compares it with the one after).
    diagnosis: Diagnosis | None = None
    #: The service's calm-period CPU frame shares (None: the diagnosis's rules of thumb).
    baseline: Sequence[FrameShare] | None = None


@dataclass(frozen=True)
class StepDeps:
    """The backends a step may call, and the executor for CPU work.

    ``executor`` should be a process pool in production (CPU-bound Python in threads holds
    the GIL against the event loop); every function sent to it takes and returns picklable
    values.
    """

    sources: Sources
    pprof: PprofClient
    executor: Executor
    #: Overrides the playbook's profile length (CPU seconds, or the heap snapshots' interval);
    #: for tests and the demo, where the stand-in answers at once.
    profile_seconds: int | None = None
    #: No profile (CPU length or heap interval) runs longer than this (access.max_profile_seconds).
    max_profile_seconds: int = 60


@dataclass(frozen=True)
class StepOutput:
    """Findings and signals; the metrics step also sets the window and detected metric roles."""

    findings: list[Finding]
    signals: Signals
    window: TimeWindow | None = None
    anomaly_start: datetime | None = None
    roles: Mapping[str, str] = field(default_factory=dict)


Runner = Callable[[StepContext, StepDeps], Awaitable[StepOutput]]


def stored_window(window: TimeWindow) -> Window:
    """The window as stored with evidence."""
    return Window(start=window.start, end=window.end)
