"""Top frames of a CPU profile or a heap diff, and which of them run on a Tokio worker.

The playbooks match frames by regex against ``Signals.frames``; the one fact a per-function
total cannot give is *where* a function ran. ``std::thread::sleep`` on a blocking-pool thread is
fine; the same frame under ``tokio::runtime::scheduler::multi_thread::worker::run`` starves
every task scheduled on that worker. So for each top function this module also measures how
much of its cumulative value comes from stacks where a Tokio worker frame sits closer to the
root than it does.

Pure functions; the profile step runs them in an executor (a worker process when the pprof
client's pool is used), so what they return is small and picklable.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bot.models import FrameShare
from bot.sources.pprof.analysis import (
    FrameTotals,
    FunctionTotal,
    ProfileDiff,
    frame_totals,
)
from bot.sources.pprof.decode import decode
from bot.sources.pprof.model import Profile
from bot.triage.steps.ownership import owners

__all__ = [
    "ALLOCATOR_FRAME",
    "TOP_FRAMES",
    "WORKER_FRAME",
    "FrameReport",
    "TopFrame",
    "cpu_report",
    "cpu_report_from_bytes",
    "diff_report",
    "frame_chain",
    "leaf_frame",
    "worker_values",
]

TOP_FRAMES = 25
#: Frames of a Tokio runtime worker thread (pprof-rs also adds the thread name as a root frame).
WORKER_FRAME = re.compile(
    r"tokio::runtime::scheduler::multi_thread::worker"
    r"|tokio::runtime::scheduler::current_thread"
    r"|tokio-runtime-worker"
)

#: The allocator's own frames at the leaf of heap stacks (jemalloc, the system allocator,
#: Rust's alloc shims); the caller that asked for memory is the interesting frame.
ALLOCATOR_FRAME = re.compile(
    r"^(?:alloc::alloc::|__rust_alloc|__rust_realloc|__rg_alloc|__rdl_alloc|<alloc::alloc::"
    r"|std::alloc::|_?rjem_|je_|prof_|imalloc|jemalloc|tikv_jemalloc|malloc$|calloc$|realloc$"
    r"|<tikv_jemallocator|<jemallocator|alloc::raw_vec::)"
)


@dataclass(frozen=True)
class TopFrame:
    """One function: raw values, shares of the total, and the part of cum under a worker."""

    function: str
    flat: int
    cum: int
    flat_share: float
    cum_share: float
    worker_fraction: float = 0.0
    owner: str | None = None

    @property
    def under_worker(self) -> bool:
        """Most of this function's cumulative value ran below a Tokio worker frame."""
        return self.worker_fraction > 0.5

    def share(self) -> FrameShare:
        """As the signal the playbooks read."""
        return FrameShare(function=self.function, flat=self.flat_share, cum=self.cum_share,
                          under_worker=self.under_worker, owner=self.owner)


@dataclass(frozen=True)
class FrameReport:
    """The top frames of one profile (or of what grew between two), in order."""

    sample_type: str
    unit: str
    total: int
    frames: tuple[TopFrame, ...]

    def shares(self) -> list[FrameShare]:
        """``Signals.frames``."""
        return [frame.share() for frame in self.frames]


def select_top(functions: Sequence[FunctionTotal], n: int) -> list[FunctionTotal]:
    """The ``n`` first by flat, then those of the ``n`` first by cum not already chosen.

    ``functions`` must be in flat order (as ``FrameTotals.functions`` is).
    """
    chosen = list(functions[:n])
    seen = {f.name for f in chosen}
    by_cum = sorted(functions, key=lambda f: (-abs(f.cum), f.name, -abs(f.flat)))
    chosen.extend(f for f in by_cum[:n] if f.name not in seen)
    return chosen


def worker_values(profile: Profile, index: int, names: Iterable[str]) -> dict[str, int]:
    """For each of ``names``: the value of samples where it sits below a Tokio worker frame.

    Stacks are leaf first, so "below" means at a smaller position than the outermost worker
    frame; a function counts once per sample even when it recurses.
    """
    wanted = set(names)
    found = dict.fromkeys(wanted, 0)
    is_worker: dict[str, bool] = {}
    for sample in profile.samples:
        value = sample.values[index]
        if not value:
            continue
        outermost = -1
        for position, name in enumerate(sample.stack):
            worker = is_worker.get(name)
            if worker is None:
                worker = is_worker[name] = WORKER_FRAME.search(name) is not None
            if worker:
                outermost = position
        if outermost > 0:
            for name in wanted.intersection(sample.stack[:outermost]):
                found[name] += value
    return found


def _cpu_sample(profile: Profile) -> str | None:
    # Prefer the sample count (``samples/count``): profile.samples is a count.
    return "samples" if any(t.type == "samples" for t in profile.sample_types) else None


def cpu_report(profile: Profile, n: int = TOP_FRAMES, sample: str | None = None,
               own: str | None = None) -> FrameReport:
    """Top ``n`` functions by flat and by cum, with shares and the under-worker fraction.

    ``own`` (a regex source, see ``ownership``) names the service's own code: each function
    gets the own-code frame above it that carries most of its value.
    """
    index = profile.sample_index(sample if sample is not None else _cpu_sample(profile))
    totals: FrameTotals = frame_totals(profile, index)
    top = select_top(totals.functions, n)
    under = worker_values(profile, index, (f.name for f in top))
    owned = owners(((s.stack, s.values[index]) for s in profile.samples),
                   (f.name for f in top), own)
    denominator = totals.total or 1
    frames = tuple(
        TopFrame(f.name, f.flat, f.cum, f.flat / denominator, f.cum / denominator,
                 under[f.name] / f.cum if f.cum else 0.0, owned.get(f.name))
        for f in top
    )
    return FrameReport(totals.sample_type.type, totals.sample_type.unit, totals.total, frames)


def cpu_report_from_bytes(data: bytes, n: int = TOP_FRAMES, own: str | None = None
                          ) -> FrameReport:
    """Decode and report in one call, so only the small report leaves a worker process."""
    return cpu_report(decode(data), n, own=own)


def diff_report(diff: ProfileDiff, n: int = TOP_FRAMES, own: str | None = None) -> FrameReport:
    """Functions that grew, as shares of the total growth (the sum of the stacks that grew).

    ``total`` is the net change (new total minus base total), which may be smaller than the
    growth when some stacks also shrank.
    """
    growth = sum(stack.delta for stack in diff.grown_stacks()) or 1
    grown = [FunctionTotal(f.name, f.flat_delta, f.cum_delta) for f in diff.grown_functions()]
    grown.sort(key=lambda f: (-f.flat, f.name, -f.cum))
    top = select_top(grown, n)
    owned = owners(((s.stack, s.delta) for s in diff.grown_stacks()), (f.name for f in top), own)
    frames = tuple(
        TopFrame(f.name, f.flat, f.cum, max(0, f.flat) / growth, max(0, f.cum) / growth,
                 owner=owned.get(f.name))
        for f in top
    )
    return FrameReport(diff.sample_type.type, diff.sample_type.unit,
                       diff.new_total - diff.base_total, frames)


def _first_kept(stack: Sequence[str], skip_leaf: re.Pattern[str] | None) -> int:
    start = 0
    while skip_leaf and start < len(stack) - 1 and skip_leaf.search(stack[start]):
        start += 1
    return start


def leaf_frame(stack: Sequence[str], skip_leaf: re.Pattern[str] | None = ALLOCATOR_FRAME
               ) -> str:
    """The frame nearest the leaf that is not the allocator's own (the stack's culprit)."""
    return stack[_first_kept(stack, skip_leaf)] if stack else ""


def frame_chain(stack: Sequence[str], limit: int = 6,
                skip_leaf: re.Pattern[str] | None = ALLOCATOR_FRAME) -> str:
    """A leaf-first stack as ``caller → … → leaf``, keeping the ``limit`` frames nearest the leaf.

    The frames nearest the allocation (or the hot leaf) say what the code was doing; the roots
    (``main``, runtime start-up) are the same for every stack. Leaf frames matching
    ``skip_leaf`` (the allocator's own) are dropped first, keeping at least one frame.
    """
    frames = stack[_first_kept(stack, skip_leaf):]
    kept = list(reversed(frames[:limit]))
    prefix = "… → " if len(frames) > limit else ""
    return prefix + " → ".join(kept)
