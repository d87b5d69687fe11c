"""Profiles a responder drops into an incident's thread, analysed as the profile step would.

A pprof file (gzipped or not) or a flamegraph SVG is decoded and ranked in the pprof client's
bounded worker pool (a hostile file fails with a plain message and the worker is replaced);
its top frames become the incident's profile result, every value citing the file as its
source, so they join the ranking and the RCA's evidence like a profile the bot took. It holds
the same run claim as the profile step: an upload and a running profile step never race.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.errors import InputError, SourceError
from bot.models import (
    EventKind,
    Evidence,
    Finding,
    Incident,
    Severity,
    Signals,
    StepName,
    StepResult,
    StepStatus,
    TimelineEvent,
    utcnow,
)
from bot.sources.pprof.client import PprofClient, RawProfile
from bot.sources.pprof.decode import decode
from bot.sources.pprof.flamegraph import read_flamegraph
from bot.triage.diagnosis import rank
from bot.triage.rules import evaluate
from bot.triage.steps.frames import FrameReport, TopFrame, cpu_report
from bot.triage.walk import RULE_CANDIDATES, StepRun, Walk, merge_signals

__all__ = ["PROFILE_SUFFIXES", "ProfileUploads", "UploadedProfile", "is_profile_name",
           "upload_report"]

#: File names taken for profiles; anything else dropped in a thread (screenshots) is ignored.
PROFILE_SUFFIXES = (".pb.gz", ".pprof", ".pprof.gz", ".pb", ".prof", ".svg")
TABLE_ROWS = 15
_CPU_SAMPLE_TYPES = ("samples", "cpu")


def is_profile_name(name: str) -> bool:
    """Whether a shared file's name says it is a profile or a flamegraph."""
    return name.lower().endswith(PROFILE_SUFFIXES)


def upload_report(data: bytes) -> FrameReport:
    """Decode a pprof file or read a flamegraph SVG and rank its frames (runs in a worker)."""
    head = data[:256].lstrip().lower()
    if head.startswith((b"<?xml", b"<svg", b"<!doctype svg")):
        return cpu_report(read_flamegraph(data, unit=None).to_profile())
    return cpu_report(decode(data))


@dataclass(frozen=True)
class UploadedProfile:
    """A file someone shared in an incident's thread, already fetched (and size-capped)."""

    name: str
    data: bytes
    user: str


class ProfileUploads:
    """Analyses uploaded profiles into the incident's profile result."""

    def __init__(self, walk: Walk, pprof: PprofClient) -> None:
        self._walk = walk
        self._pprof = pprof

    async def analyse(self, incident: Incident, upload: UploadedProfile) -> StepRun | None:
        """Analyse and record; None when the profile step (or another upload) is running."""
        stores = self._walk.stores
        key = f"{incident.id}:{StepName.PROFILE.value}"
        if not await stores.claims.claim("step-run", key,
                                         ttl_seconds=int(self._walk.step_timeout_s) + 30):
            return None
        try:
            before = await stores.walk.diagnosis(incident.id)
            result = await self._result(incident, upload)
            await stores.walk.save_result(incident.id, result)
            after = rank(self._walk.playbooks, await self._walk.signals(incident.id),
                         incident.labels.get("alertname"), incident.labels)
            await stores.walk.save_diagnosis(incident.id, after)
            await stores.incidents.add_event(incident.id, TimelineEvent(
                kind=EventKind.STEP_DONE if result.status is StepStatus.DONE
                else EventKind.STEP_FAILED, actor=upload.user, text=StepName.PROFILE.value,
                data={"file": upload.name, "findings": len(result.findings),
                      "error": result.error}))
            return StepRun(result, before, after)
        finally:
            await stores.claims.release("step-run", key)

    async def _result(self, incident: Incident, upload: UploadedProfile) -> StepResult:
        started = utcnow()
        raw = RawProfile(service=upload.name, kind="cpu", data=upload.data)
        try:
            report = await self._pprof.analyze(raw, upload_report)
        except (InputError, SourceError) as exc:
            return StepResult(step=StepName.PROFILE, status=StepStatus.FAILED,
                              started_at=started, finished_at=utcnow(), ran_by=upload.user,
                              error=f"{upload.name} is not a usable profile: "
                                    f"{_plain(exc, upload.name)}")
        source = f"file {upload.name}"
        finding = _finding(report, upload, source)
        cpu = report.sample_type in _CPU_SAMPLE_TYPES
        # A heap file's frames are not a heap diff: left unkinded, the rules guess.
        signals = Signals(numbers={"profile.samples": float(report.total)} if cpu else {},
                          frames=report.shares(), frames_kind="cpu" if cpu else None)
        return StepResult(step=StepName.PROFILE, status=StepStatus.DONE, started_at=started,
                          finished_at=utcnow(), ran_by=upload.user, signals=signals,
                          findings=[finding, *(_cite_file(f, source) for f in
                                               await self._rule_findings(incident, signals))])

    async def _rule_findings(self, incident: Incident, new: Signals) -> list[Finding]:
        signals = merge_signals([await self._walk.signals(incident.id), new])
        ranking = rank(self._walk.playbooks, signals, incident.labels.get("alertname"),
                       incident.labels)
        found: list[Finding] = []
        for candidate in ranking.candidates[:RULE_CANDIDATES]:
            playbook = self._walk.playbooks.get(candidate.playbook)
            if playbook is not None:
                found.extend(evaluate(playbook, signals, StepName.PROFILE))
        return found


def _cite_file(finding: Finding, source: str) -> Finding:
    """A rule finding's frame evidence names the file, not "profile step" (the RCA cites it)."""
    evidence = [e.model_copy(update={"source": source}) if e.source == "profile step" else e
                for e in finding.evidence]
    return finding.model_copy(update={"evidence": evidence})


def _plain(exc: Exception, name: str) -> str:
    """The decoder's words without the "pprof: <file>: " the client puts before them."""
    text = str(exc)
    if isinstance(exc, SourceError):
        text = text.removeprefix(f"{exc.backend}: ").removeprefix(f"{name}: ")
    return text


def _finding(report: FrameReport, upload: UploadedProfile, source: str) -> Finding:
    hot = [f for f in report.frames if f.flat > 0][:10]
    shown = {f.function for f in hot}
    rest = sorted((f for f in report.frames if f.function not in shown),
                  key=lambda f: (-f.cum, f.function))
    rows = hot + rest[: TABLE_ROWS - len(hot)]
    title = ("The uploaded profile is empty" if not report.frames else
             f"Hottest function: {report.frames[0].function} "
             f"({report.frames[0].flat_share:.0%} flat, from {upload.name})")
    return Finding(
        key="profile.top_frames", step=StepName.PROFILE, severity=Severity.INFO, title=title,
        summary=(f"Profile {upload.name}, shared in the thread: {report.total} "
                 f"{report.sample_type} ({report.unit}). flat = in the function itself, "
                 "cum = with its callees; [worker] = mostly on a Tokio worker thread."),
        evidence=[_row(frame, source) for frame in rows])


def _row(frame: TopFrame, source: str) -> Evidence:
    worker = " [worker]" if frame.under_worker else ""
    return Evidence(label=frame.function,
                    value=f"flat {frame.flat_share:.1%}, cum {frame.cum_share:.1%}{worker}",
                    number=frame.flat_share, unit="ratio", source=source)
