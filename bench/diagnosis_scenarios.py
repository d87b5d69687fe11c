"""The scenarios the diagnosis accuracy bench ranks, and where their signals come from.

Base signals are those the real step code produced over the simulator's scenarios: the walk
test (tests/test_walk_scenarios.py) writes the merged signals of every full HTTP walk to
bench/data/walk_signals/ when TRIAGE_DUMP_SIGNALS is set. Every other
scenario is derived from those by a documented edit, so the numbers keep the shapes the steps
produce:

- conventions: ``otel`` sees everything the walk saw; ``prom-client`` loses the pool series
  (exported under names neither the catalog nor discovery know); ``cadvisor`` loses pool and
  Tokio runtime series (no runtime metrics exporter, container CPU only);
- ``variant``: one cause of a family replaced by another (frames, spans, logs swapped);
- ``healthy``: the walk's numbers with every change at its earlier level, a normal profile;
- ``noisy``: healthy plus two weak, unrelated signals;
- ``mixed``: two causes at once (both must be in the top 2);
- ``perturbed``: each walk's signals with every number, frame share, log count and span share
  jittered (seeded; numbers by a log-normal factor of sigma 0.3, counts by 0.3-1.5x), added
  after the weights were last tuned and all held out.

``HELD_OUT`` scenarios were fixed before any weight was tuned and are never looked at while
tuning; the bench reports their accuracy separately.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from bot.models import FrameShare, Signals

__all__ = ["HELD_OUT", "INCONCLUSIVE", "SIGNALS_DIR", "BenchScenario", "scenarios"]

SIGNALS_DIR = Path(__file__).parent / "data" / "walk_signals"
INCONCLUSIVE = "inconclusive"
_POOL = ("pool.",)
_RUNTIME = ("pool.", "tokio.")
#: Fixed before any weight was tuned (every third scenario of the first list): the cadvisor
#: convention of every walk, and every third of the derived ones.
HELD_OUT = frozenset({
    "memory-growth@cadvisor", "tokio-starvation@cadvisor", "cpu-spike@cadvisor",
    "p99-latency@cadvisor", "async-deadlock@cadvisor", "task-leak@cadvisor", "generic@cadvisor",
    "pool-renamed@cadvisor", "arc-cycle@otel", "traffic-growth", "buffer-growth",
    "healthy-memory", "noisy-memory-and-polls", "mixed-formatting-and-regex",
})


@dataclass(frozen=True)
class BenchScenario:
    """One case: the alert, the signals, and the cause ids a correct ranking names first."""

    name: str
    kind: str
    convention: str
    alert: str
    signals: Signals
    expected: tuple[str, ...]
    origin: str = "walk"
    held_out: bool = field(default=False)


def _load(name: str) -> Signals:
    return Signals.model_validate(json.loads((SIGNALS_DIR / f"{name}.json").read_text()))


def _without(signals: Signals, prefixes: tuple[str, ...]) -> Signals:
    numbers = {k: v for k, v in signals.numbers.items() if not k.startswith(prefixes)}
    return signals.model_copy(update={"numbers": numbers})


def _edit(signals: Signals, **update: object) -> Signals:
    merged = dict(update)
    if "numbers" in update:
        merged["numbers"] = {**signals.numbers, **update["numbers"]}  # type: ignore[dict-item]
    return signals.model_copy(update=merged)


_BASES: Mapping[str, tuple[str, str]] = {
    "memory-growth": ("MemoryGrowth", "memory-growth/unbounded-cache"),
    "tokio-starvation": ("HighLatencyP99", "tokio-starvation/blocking-call"),
    "cpu-spike": ("HighCPUUsage", "cpu-spike/debug-formatting"),
    "p99-latency": ("HighLatencyP99", "p99-latency/pool-exhaustion"),
    "async-deadlock": ("HighLatencyP99", "async-deadlock/mutex-across-await"),
    "task-leak": ("MemoryGrowth", "task-leak"),
    "generic": ("HighErrorRate", "generic/bad-deploy"),
    "pool-renamed": ("HighLatencyP99", "p99-latency/pool-exhaustion"),
}
_CALM = {"http.p99_change": 1.05, "cpu.change": 1.02, "http.request_rate_change": 1.0,
         "rss.growth_ratio": 1.01, "rss.slope_bytes_per_s": 200.0, "pool.wait_change": 1.0,
         "pool.utilisation": 0.3, "tokio.busy_ratio": 0.2, "tokio.live_tasks_slope_per_s": 0.0,
         "http.error_ratio": 0.001, "deploy.changed": 0.0, "process.restarts": 0.0,
         "tokio.mean_poll_seconds": 0.00005}
_NORMAL_CPU = [
    FrameShare(function="serde_json::ser::to_writer", flat=0.04, cum=0.13),
    FrameShare(function="__rust_alloc", flat=0.03, cum=0.03),
    FrameShare(function="core::fmt::write", flat=0.01, cum=0.03),
    FrameShare(function="hyper::proto::h1::role::Server::encode", flat=0.05, cum=0.12),
    FrameShare(function="tokio::runtime::scheduler::multi_thread::worker::run", flat=0.02,
               cum=0.9),
]


def _healthy(base: str) -> Signals:
    signals = _load(base)
    numbers = {k: v for k, v in signals.numbers.items() if not k.startswith("memory.")}
    numbers.update({k: v for k, v in _CALM.items() if k in numbers})
    return Signals(numbers=numbers, frames=_NORMAL_CPU, frames_kind="cpu",
                   log_patterns={"timeout": 2}, span_categories={"database": 0.35,
                                                                 "internal": 0.4})


def _serialization() -> Signals:
    pool = _load("p99-latency")
    numbers = {**pool.numbers, "pool.wait_change": 1.1, "pool.utilisation": 0.35,
               "pool.wait_seconds": 0.002}
    return Signals(numbers=numbers, frames=[
        FrameShare(function="serde_json::ser::to_writer", flat=0.12, cum=0.46),
        FrameShare(function="__rust_alloc", flat=0.05, cum=0.05)], frames_kind="cpu",
        log_patterns={}, span_categories={"serialization": 0.58, "database": 0.2})


def _slow_downstream() -> Signals:
    pool = _load("p99-latency")
    numbers = {**pool.numbers, "pool.wait_change": 1.0, "pool.utilisation": 0.4}
    return Signals(numbers=numbers, frames=_NORMAL_CPU, frames_kind="cpu",
                   log_patterns={"timeout": 140, "connection_error": 12},
                   span_categories={"external": 0.72, "database": 0.1})


def _arc_cycle() -> Signals:
    memory = _load("memory-growth")
    frames = [FrameShare(function="alloc::sync::Arc<T>::new", flat=0.0, cum=0.81,
                         owner="checkout::cart::Cart::attach_listener"),
              FrameShare(function="_rjem_je_malloc_default", flat=0.9, cum=0.9)]
    return memory.model_copy(update={"frames": frames, "log_patterns": {}})


def _allocation_churn() -> Signals:
    cpu = _load("cpu-spike")
    return cpu.model_copy(update={"frames": [
        FrameShare(function="__rust_alloc", flat=0.16, cum=0.16),
        FrameShare(function="_rjem_sdallocx", flat=0.12, cum=0.12),
        FrameShare(function="__memmove_avx_unaligned_erms", flat=0.1, cum=0.1),
        FrameShare(function="<alloc::vec::Vec<T> as core::clone::Clone>::clone", flat=0.05,
                   cum=0.3),
        FrameShare(function="core::fmt::write", flat=0.01, cum=0.04)]})


def _regex() -> Signals:
    cpu = _load("cpu-spike")
    return cpu.model_copy(update={"frames": [
        FrameShare(function="regex_automata::nfa::thompson::compiler::Compiler::c", flat=0.2,
                   cum=0.45),
        FrameShare(function="regex::regex::string::Regex::new", flat=0.0, cum=0.52),
        FrameShare(function="__rust_alloc", flat=0.08, cum=0.08)]})


def _traffic() -> Signals:
    cpu = _load("cpu-spike")
    numbers = {**cpu.numbers, "http.request_rate_change": 3.2, "cpu.change": 2.9}
    return cpu.model_copy(update={"numbers": numbers, "frames": _NORMAL_CPU})


def _cpu_bound() -> Signals:
    tokio = _load("tokio-starvation")
    numbers = {**tokio.numbers, "cpu.change": 3.0}
    return tokio.model_copy(update={"numbers": numbers, "log_patterns": {}, "frames": [
        FrameShare(function="argon2::Argon2::hash_password_into", flat=0.55, cum=0.62,
                   under_worker=True)]})


def _lock_contention() -> Signals:
    dead = _load("async-deadlock")
    numbers = {**dead.numbers, "http.request_rate_change": 0.95, "cpu.change": 1.1,
               "http.p99_change": 6.0}
    return dead.model_copy(update={"numbers": numbers, "log_patterns": {}, "frames": [],
                                   "span_categories": {"lock_wait": 0.7, "internal": 0.2}})


def _buffer_growth() -> Signals:
    memory = _load("memory-growth")
    frames = [FrameShare(function="alloc::raw_vec::RawVec<T,A>::grow_one", flat=0.0, cum=0.7,
                         owner="checkout::events::Outbox::push"),
              FrameShare(function="alloc::vec::Vec<T,A>::push", flat=0.0, cum=0.7,
                         owner="checkout::events::Outbox::push")]
    return memory.model_copy(update={"frames": frames, "log_patterns": {}})


def _noisy(base: str, numbers: Mapping[str, float], logs: Mapping[str, int]) -> Signals:
    healthy = _healthy(base)
    return _edit(healthy, numbers=dict(numbers),
                 log_patterns={**healthy.log_patterns, **logs})


def _mixed(first: Signals, second: Signals) -> Signals:
    """Two causes at once: numbers at their worse, frames of one kind, logs added."""
    numbers = dict(first.numbers)
    for key, value in second.numbers.items():
        numbers[key] = max(value, numbers.get(key, value))
    frames = first.frames
    if first.frames_kind == second.frames_kind:
        frames = [f.model_copy(update={"flat": f.flat * 0.6, "cum": f.cum * 0.6})
                  for f in (*first.frames, *second.frames)]
    logs = dict(first.log_patterns)
    for key, count in second.log_patterns.items():
        logs[key] = logs.get(key, 0) + count
    spans = {k: max(first.span_categories.get(k, 0.0), second.span_categories.get(k, 0.0))
             for k in {*first.span_categories, *second.span_categories}}
    return Signals(numbers=numbers, frames=frames, frames_kind=first.frames_kind,
                   log_patterns=logs, span_categories=spans)


_DERIVED: tuple[tuple[str, str, str, Callable[[], Signals], tuple[str, ...]], ...] = (
    ("serialization", "variant", "HighLatencyP99", _serialization, ("p99-latency/serialization",)),
    ("slow-downstream", "variant", "HighLatencyP99", _slow_downstream,
     ("p99-latency/slow-downstream",)),
    ("arc-cycle", "variant", "MemoryGrowth", _arc_cycle, ("memory-growth/arc-cycle",)),
    ("allocation-churn", "variant", "HighCPUUsage", _allocation_churn,
     ("cpu-spike/allocation-churn",)),
    ("regex-per-request", "variant", "HighCPUUsage", _regex, ("cpu-spike/regex-per-request",)),
    ("traffic-growth", "variant", "HighCPUUsage", _traffic, ("generic/traffic-growth",)),
    ("cpu-bound-on-worker", "variant", "HighLatencyP99", _cpu_bound,
     ("tokio-starvation/cpu-bound-on-worker",)),
    ("lock-contention", "variant", "HighLatencyP99", _lock_contention,
     ("async-deadlock/lock-contention",)),
    ("buffer-growth", "variant", "MemoryGrowth", _buffer_growth, ("memory-growth/buffer-growth",)),
)


def _controls() -> list[BenchScenario]:
    cases = [
        ("healthy-latency-blip", "healthy", "HighLatencyP99", _healthy("p99-latency")),
        ("healthy-cpu", "healthy", "HighCPUUsage", _healthy("cpu-spike")),
        ("healthy-memory", "healthy", "MemoryGrowth", _healthy("memory-growth")),
        ("noisy-latency-and-timeouts", "noisy", "HighLatencyP99",
         _noisy("p99-latency", {"http.p99_change": 1.7}, {"timeout": 6})),
        ("noisy-errors-and-gc", "noisy", "HighErrorRate",
         _noisy("generic", {"http.error_ratio": 0.015, "cpu.change": 1.3}, {"panic": 1})),
        ("noisy-memory-and-polls", "noisy", "MemoryGrowth",
         _noisy("memory-growth", {"rss.growth_ratio": 1.08, "tokio.mean_poll_seconds": 0.0004},
                {"cache_over_limit": 1})),
    ]
    return [BenchScenario(name, kind, "otel", alert, signals, (INCONCLUSIVE,), "walk, edited")
            for name, kind, alert, signals in cases]


def _mixes() -> list[BenchScenario]:
    cases = [
        ("mixed-pool-and-serialization", "HighLatencyP99",
         _mixed(_load("p99-latency"), _serialization()),
         ("p99-latency/pool-exhaustion", "p99-latency/serialization")),
        ("mixed-pool-and-blocking", "HighLatencyP99",
         _mixed(_load("p99-latency"), _load("tokio-starvation")),
         ("p99-latency/pool-exhaustion", "tokio-starvation/blocking-call")),
        ("mixed-formatting-and-regex", "HighCPUUsage", _load("cpu-spike"),
         ("cpu-spike/debug-formatting", "cpu-spike/regex-per-request")),
        ("mixed-deploy-and-cache", "MemoryGrowth",
         _mixed(_load("memory-growth"), _load("generic")),
         ("memory-growth/unbounded-cache", "generic/bad-deploy")),
    ]
    return [BenchScenario(name, "mixed", "otel", alert, signals, expected, "walk, merged")
            for name, alert, signals, expected in cases]


def _conventions() -> list[BenchScenario]:
    out = []
    for base, (alert, expected) in _BASES.items():
        signals = _load(base)
        out.append(BenchScenario(f"{base}@otel", "single", "otel", alert, signals, (expected,)))
        out.append(BenchScenario(f"{base}@prom-client", "single", "prom-client", alert,
                                 _without(signals, _POOL), (expected,)))
        out.append(BenchScenario(f"{base}@cadvisor", "single", "cadvisor", alert,
                                 _without(signals, _RUNTIME), (expected,)))
    return out


PERTURBATIONS = 3


def _jitter(signals: Signals, seed: int) -> Signals:
    rng = random.Random(seed)

    def factor(sigma: float = 0.3) -> float:
        return math.exp(rng.gauss(0.0, sigma))

    numbers = {k: (v if k == "deploy.changed" else v * factor())
               for k, v in signals.numbers.items()}
    frames = [f.model_copy(update={"flat": min(1.0, f.flat * factor(0.2)),
                                   "cum": min(1.0, f.cum * factor(0.2))})
              for f in signals.frames]
    logs = {k: max(1, round(v * rng.uniform(0.3, 1.5))) for k, v in signals.log_patterns.items()}
    spans = {k: min(1.0, v * factor(0.15)) for k, v in signals.span_categories.items()}
    return signals.model_copy(update={"numbers": numbers, "frames": frames,
                                      "log_patterns": logs, "span_categories": spans})


def _perturbed() -> list[BenchScenario]:
    out = []
    for base, (alert, expected) in _BASES.items():
        signals = _load(base)
        for index in range(PERTURBATIONS):
            seed = sum(map(ord, base)) * 31 + index
            out.append(BenchScenario(f"{base}~{index + 1}", "perturbed", "otel", alert,
                                     _jitter(signals, seed), (expected,), "walk, jittered",
                                     held_out=True))
    return out


def scenarios() -> list[BenchScenario]:
    """Every bench scenario, ``held_out`` set from ``HELD_OUT``."""
    cases = _conventions()
    cases += [BenchScenario(f"{name}@otel" if name in ("serialization", "arc-cycle") else name,
                            kind, "otel", alert, build(), expected, "walk, edited")
              for name, kind, alert, build, expected in _DERIVED]
    cases += _controls() + _mixes()
    tuned = [BenchScenario(c.name, c.kind, c.convention, c.alert, c.signals, c.expected,
                           c.origin, c.name in HELD_OUT) for c in cases]
    return tuned + _perturbed()
