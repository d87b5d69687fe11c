"""A scenario's profiles: weighted stacks (leaf first) turned into real profile.proto.

CPU profiles look like pprof-rs's (``samples/count`` and ``cpu/nanoseconds`` at 100 Hz): the
number of samples follows the CPU the service burns at that moment, shared among the normal
stacks and, during the anomaly, the anomaly's stacks. Heap profiles look like jemalloc_pprof's
(``inuse_space/bytes``): fixed allocations plus stacks that keep growing from the anomaly's
start, so two snapshots taken one after the other differ exactly where the leak is.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bot.sources.pprof.model import Profile, Sample, ValueType
from triage_sim.service.scenarios.curves import Fn, unit_float

__all__ = [
    "ProfileModel",
    "Stack",
    "in_handler",
    "on_worker",
]

HZ = 100
PERIOD_NANOS = 1_000_000_000 // HZ
HEAP_PERIOD = 524_288  # jemalloc's default lg_prof_sample:19

#: The bottom of every stack a Tokio multi-thread worker runs (root last).
WORKER = (
    "tokio::runtime::task::core::Core<T,S>::poll",
    "tokio::runtime::task::harness::Harness<T,S>::poll",
    "tokio::runtime::scheduler::multi_thread::worker::Context::run_task",
    "tokio::runtime::scheduler::multi_thread::worker::Context::run",
    "tokio::runtime::context::scoped::Scoped<T>::set",
    "tokio::runtime::scheduler::multi_thread::worker::run",
    "tokio::runtime::blocking::task::BlockingTask<T>::poll",
    "tokio::runtime::blocking::pool::Inner::run",
    "std::sys::pal::unix::thread::Thread::new::thread_start",
    "start_thread",
    "clone3",
)
#: What an HTTP request handler runs under (hyper's connection task), above the worker.
HANDLER = (
    "<tower::util::map_response::MapResponseFuture<F,N> as core::future::future::Future>::poll",
    "<axum::routing::route::RouteFuture<E> as core::future::future::Future>::poll",
    "hyper::proto::h1::dispatch::Dispatcher<D,Bs,I,T>::poll_catch",
    "<hyper::server::conn::http1::Connection<I,S> as core::future::future::Future>::poll",
)


def on_worker(*frames: str) -> tuple[str, ...]:
    """A leaf-first stack running directly on a Tokio worker thread."""
    return (*frames, *WORKER)


def in_handler(*frames: str) -> tuple[str, ...]:
    """A leaf-first stack inside an HTTP handler on a Tokio worker thread."""
    return (*frames, *HANDLER, *WORKER)


@dataclass(frozen=True)
class Stack:
    """A leaf-first stack and its weight (a share of CPU, or bytes / bytes per second)."""

    frames: tuple[str, ...]
    weight: float


@dataclass(frozen=True)
class ProfileModel:
    """The stacks of a service: normal and anomalous CPU, fixed and growing heap."""

    binary: str
    baseline: tuple[Stack, ...]
    anomaly: tuple[Stack, ...] = ()
    anomaly_share: Fn = lambda t: 0.0
    heap_fixed: tuple[Stack, ...] = ()
    heap_growth: tuple[Stack, ...] = ()
    growth_start: float = 0.0

    def cpu(self, t: float, seconds: float, cores: float, epoch: float) -> Profile:
        """A CPU profile of ``seconds`` ending at scenario time ``t``, for ``cores`` in use."""
        total = max(1, round(seconds * HZ * max(cores, 0.0)))
        share = min(1.0, max(0.0, self.anomaly_share(t)))
        weighted = [(s.frames, s.weight * (1 - share)) for s in self.baseline]
        weighted += [(s.frames, s.weight * share) for s in self.anomaly]
        counts = _apportion(weighted, total, salt=round(t))
        samples = tuple(Sample(stack, (n, n * PERIOD_NANOS)) for stack, n in counts if n > 0)
        return Profile(
            sample_types=(ValueType("samples", "count"), ValueType("cpu", "nanoseconds")),
            samples=samples, period=PERIOD_NANOS, period_type=ValueType("cpu", "nanoseconds"),
            duration_nanos=round(seconds * 1e9), time_nanos=round((epoch + t - seconds) * 1e9),
            main_binary=self.binary,
        )

    def heap(self, t: float, epoch: float) -> Profile:
        """The in-use heap at scenario time ``t``."""
        grown = max(0.0, t - self.growth_start)
        values = [(s.frames, s.weight) for s in self.heap_fixed]
        values += [(s.frames, s.weight * grown) for s in self.heap_growth]
        samples = tuple(Sample(stack, (round(v),)) for stack, v in values if v >= 1)
        return Profile(
            sample_types=(ValueType("inuse_space", "bytes"),), samples=samples,
            period=HEAP_PERIOD, period_type=ValueType("space", "bytes"),
            time_nanos=round((epoch + t) * 1e9), main_binary=self.binary,
        )

    @property
    def frames(self) -> frozenset[str]:
        """Every function name the model can put in a profile."""
        stacks: Iterable[Stack] = (*self.baseline, *self.anomaly, *self.heap_fixed,
                                   *self.heap_growth)
        return frozenset(f for s in stacks for f in s.frames)


def _apportion(weighted: Sequence[tuple[tuple[str, ...], float]], total: int, salt: int
               ) -> list[tuple[tuple[str, ...], int]]:
    """Split ``total`` samples by weight, with a little deterministic jitter per profile."""
    jittered = [(stack, w * (0.92 + 0.16 * unit_float(salt, index)))
                for index, (stack, w) in enumerate(weighted) if w > 0]
    mass = sum(w for _, w in jittered) or 1.0
    return [(stack, math.floor(total * w / mass + 0.5)) for stack, w in jittered]
