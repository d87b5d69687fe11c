"""Step 4, profile: a CPU profile's top frames, or what grew between two heap snapshots.

The leading playbook decides which. Memory patterns (``heap_diff``) take a heap profile, wait
``interval_seconds`` for the process to allocate, take another and diff them on in-use bytes:
the stacks that grew are where the memory goes. Everything else takes one CPU profile and
reports the top functions by flat and cumulative share, each marked when most of its time ran
below a Tokio worker frame (a blocking call on a worker starves every task on it).

Decoding and analysis run in the pprof client's executor, never on the event loop: in the bot
a bounded process pool, so a hostile profile (too large, or one that takes too long) fails this
step with a plain message, and the next profile gets a fresh worker.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Literal

from bot.errors import InputError, SourceUnavailable
from bot.models import Evidence, Finding, Severity, Signals, StepName
from bot.sources.pprof.analysis import ProfileDiff
from bot.sources.pprof.client import BACKEND, CPU_PATH, HEAP_PATH
from bot.sources.pprof.units import auto_label
from bot.triage.steps.base import StepContext, StepDeps, StepOutput, stored_window
from bot.triage.steps.frames import (
    TOP_FRAMES,
    FrameReport,
    TopFrame,
    cpu_report_from_bytes,
    diff_report,
    frame_chain,
    leaf_frame,
)
from bot.triage.steps.ownership import code_prefixes, own_code_pattern

__all__ = ["DEFAULT_CPU_SECONDS", "HEAP_SAMPLE", "cpu_seconds", "format_bytes", "profile_kind",
           "run"]

DEFAULT_CPU_SECONDS = 30
HEAP_SAMPLE = "inuse_space"
TABLE_ROWS = 15
HOT_ROWS = 10
GROWING = 5

ProfileKind = Literal["cpu", "heap_diff"]


def profile_kind(ctx: StepContext) -> ProfileKind:
    """``heap_diff`` when the leading playbook asks for it, else ``cpu``."""
    return ctx.leader.steps.profile.kind if ctx.leader is not None else "cpu"


def cpu_seconds(ctx: StepContext, deps: StepDeps) -> int:
    """How long to record: the override, the leading playbook's choice, else 30 s; never
    longer than ``max_profile_seconds``."""
    leader = ctx.leader.steps.profile.seconds if ctx.leader is not None else None
    return min(deps.profile_seconds or leader or DEFAULT_CPU_SECONDS, deps.max_profile_seconds)


def own_code(ctx: StepContext) -> str | None:
    """The regex of the service's own code frames (catalog prefixes, else its name)."""
    return own_code_pattern(code_prefixes(ctx.service.name, ctx.service.code_prefixes))


async def run(ctx: StepContext, deps: StepDeps) -> StepOutput:
    """Take the profile the leading playbook asks for and report its frames."""
    if profile_kind(ctx) == "heap_diff":
        return await _heap_diff(ctx, deps)
    return await _cpu(ctx, deps)


async def _cpu(ctx: StepContext, deps: StepDeps) -> StepOutput:
    seconds = cpu_seconds(ctx, deps)
    raw = await deps.pprof.fetch_cpu_raw(ctx.service, seconds)
    try:
        report = await deps.pprof.analyze(raw, cpu_report_from_bytes, TOP_FRAMES,
                                          own_code(ctx))
    except InputError as exc:  # not a profile, or one without sample types
        raise SourceUnavailable(
            BACKEND, f"{ctx.service.name}: the cpu profile is not usable: {exc}"
        ) from None
    query = f"{CPU_PATH}?seconds={seconds}"
    finding = Finding(
        key="profile.top_frames", step=StepName.PROFILE, severity=Severity.INFO,
        title=_cpu_title(report),
        summary=(f"CPU profile of {ctx.service.name} over {seconds} s: {report.total} "
                 f"{report.sample_type} ({report.unit}). flat = in the function itself, "
                 "cum = with its callees; [worker] = mostly on a Tokio worker thread."),
        evidence=[_frame_row(ctx, frame, query) for frame in _table(report)],
    )
    signals = Signals(numbers={"profile.samples": float(report.total)},
                      frames=report.shares(), frames_kind="cpu")
    return StepOutput(findings=[finding], signals=signals)


def _table(report: FrameReport) -> list[TopFrame]:
    """The hottest functions by flat share, then the heaviest callers by cum not yet shown."""
    hot = [frame for frame in report.frames if frame.flat > 0][:HOT_ROWS]
    shown = {frame.function for frame in hot}
    callers = sorted((f for f in report.frames if f.function not in shown),
                     key=lambda f: (-f.cum, f.function))
    return hot + callers[: TABLE_ROWS - len(hot)]


def _cpu_title(report: FrameReport) -> str:
    if not report.frames:
        return "The CPU profile is empty"
    top = report.frames[0]
    return f"Hottest function: {top.function} ({top.flat_share:.0%} flat)"


def _frame_row(ctx: StepContext, frame: TopFrame, query: str) -> Evidence:
    worker = " [worker]" if frame.under_worker else ""
    return Evidence(
        label=frame.function,
        value=f"flat {frame.flat_share:.1%}, cum {frame.cum_share:.1%}{worker}",
        number=frame.flat_share, unit="ratio", source=BACKEND, query=query,
        window=stored_window(ctx.window),
    )


async def _snapshots_diff(ctx: StepContext, deps: StepDeps, interval: int) -> ProfileDiff:
    base = await deps.pprof.fetch_heap_raw(ctx.service)
    # Not polling: the process needs this long to allocate what the diff should show.
    await asyncio.sleep(interval)
    new = await deps.pprof.fetch_heap_raw(ctx.service)
    try:
        return await deps.pprof.diff(base, new, HEAP_SAMPLE)
    except InputError as exc:  # e.g. a heap profile without in-use bytes
        raise SourceUnavailable(BACKEND, f"{ctx.service.name}: heap profiles: {exc}") from None


async def _heap_diff(ctx: StepContext, deps: StepDeps) -> StepOutput:
    interval = min(deps.profile_seconds if deps.profile_seconds is not None else (
        ctx.leader.steps.profile.interval_seconds if ctx.leader is not None else 0),
        deps.max_profile_seconds)
    diff = await _snapshots_diff(ctx, deps, interval)
    loop = asyncio.get_running_loop()
    report = await loop.run_in_executor(deps.executor, diff_report, diff, TOP_FRAMES,
                                        own_code(ctx))
    heap = _HeapReport(ctx, f"{HEAP_PATH} twice, {interval} s apart, {HEAP_SAMPLE}", interval)
    signals = Signals(numbers={"heap.growth_bytes": float(report.total)},
                      frames=report.shares(), frames_kind="heap_diff")
    return StepOutput(findings=[heap.stacks(diff, report), heap.functions(diff, report)],
                      signals=signals)


@dataclass(frozen=True)
class _HeapReport:
    """Findings of a heap diff; every value cites the two snapshots it came from."""

    ctx: StepContext
    query: str
    interval: int

    def evidence(self, label: str, value: str, number: float) -> Evidence:
        return Evidence(label=label, value=value, number=number, unit="bytes", source=BACKEND,
                        query=self.query, window=stored_window(self.ctx.window))

    def stacks(self, diff: ProfileDiff, report: FrameReport) -> Finding:
        growth, grown = report.total, diff.grown_stacks(GROWING)
        return Finding(
            key="profile.growing_stacks", step=StepName.PROFILE,
            severity=Severity.WARNING if growth > 0 and grown else Severity.INFO,
            title=(f"In-use heap grew by {format_bytes(growth)} in {self.interval} s"
                   if growth > 0 else f"In-use heap did not grow in {self.interval} s"),
            summary=(f"Two heap profiles of {self.ctx.service.name}, {self.interval} s apart: "
                     f"{format_bytes(diff.base_total)} then {format_bytes(diff.new_total)} in "
                     "use. The stacks that grew most, allocator frames left out:"),
            # Three frames nearest the allocation: long chains get clipped in Slack from the
            # wrong end, and these say what the code was doing.
            evidence=[self.evidence(frame_chain(stack.stack, limit=3),
                                    f"+{format_bytes(stack.delta)}", stack.delta)
                      for stack in grown],
        )

    def functions(self, diff: ProfileDiff, report: FrameReport) -> Finding:
        ranked = sorted(report.frames, key=lambda f: (-f.cum, f.function))
        return Finding(
            key="profile.growing_functions", step=StepName.PROFILE, severity=Severity.INFO,
            title=_culprit(diff, report),
            summary="Functions whose in-use bytes grew, as a share of all growth "
                    "(flat = allocated in the function itself, cum = with its callees).",
            evidence=[self.evidence(frame.function,
                                    f"+{format_bytes(frame.cum)} (flat {frame.flat_share:.0%}, "
                                    f"cum {frame.cum_share:.0%})", frame.cum)
                      for frame in ranked[:TABLE_ROWS]],
        )


def _culprit(diff: ProfileDiff, report: FrameReport) -> str:
    """Name the caller of the allocator on the stack that grew most, with its share."""
    grown = diff.grown_stacks(1)
    if not grown:
        return "No function's in-use memory grew"
    name = leaf_frame(grown[0].stack)
    share = next((f.cum_share for f in report.frames if f.function == name), None)
    return f"Growth is under {name}" + (f" ({share:.0%} of it)" if share is not None else "")


def format_bytes(value: int) -> str:
    """Bytes as pprof prints them (``12MB``, ``1.21kB``; 1024-based like pprof)."""
    return auto_label(value, "bytes")
