"""Synthetic CPU profiles: large, realistic-looking and reproducible.

The event-loop lag test, the decode benchmark and the local stand-in service need profiles of a
chosen size without shipping megabytes of fixtures. Stacks come from a random call graph with
Go-style names: a few hot paths, a long tail, deep stacks and some inlined frames, so decoding
and ranking do the same work as on a real profile of that size.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from bot.sources.pprof.model import Profile, Sample, ValueType

CPU_PERIOD_NANOS = 10_000_000
_ROOTS = ("runtime.goexit", "runtime.main", "runtime.mcall")


@dataclass(frozen=True)
class SyntheticShape:
    """How big a synthetic profile is."""

    samples: int = 2_000
    functions: int = 2_000
    min_depth: int = 6
    max_depth: int = 48
    fanout: int = 4
    inline_ratio: float = 0.15
    seed: int = 1


def _function_names(count: int, rng: random.Random) -> list[str]:
    names = []
    for index in range(count):
        package = f"github.com/acme/service{index % 17}/internal/pkg{index % 53}"
        kind = rng.random()
        if kind < 0.4:
            names.append(f"{package}.(*Handler{index % 31}).Serve{index}")
        elif kind < 0.7:
            names.append(f"{package}.process{index}")
        else:
            names.append(f"{package}.encode{index}.func{index % 7 + 1}")
    return names


def synthetic_cpu_profile(shape: SyntheticShape = SyntheticShape()) -> Profile:
    """A CPU profile (``samples/count``, ``cpu/nanoseconds``) with ``shape.samples`` stacks."""
    rng = random.Random(shape.seed)
    names = _function_names(shape.functions, rng)
    callees = [rng.sample(range(shape.functions), shape.fanout) for _ in names]
    samples = []
    for _ in range(shape.samples):
        path = [rng.choice(_ROOTS)]
        # A few entry points (request handlers, workers) take most of the time.
        current = min(int(rng.expovariate(1 / 40)), shape.functions - 1)
        for _ in range(rng.randint(shape.min_depth, shape.max_depth)):
            path.append(names[current])
            # Callee 0 is the hot path: most stacks share long prefixes, as in real programs.
            current = callees[current][0 if rng.random() < 0.6 else rng.randrange(shape.fanout)]
        stack = tuple(reversed(path))
        inlined = tuple(
            position + 1 < len(stack) and rng.random() < shape.inline_ratio
            for position in range(len(stack))
        )
        ticks = 1 + int(rng.expovariate(0.5))
        samples.append(Sample(stack, (ticks, ticks * CPU_PERIOD_NANOS),
                              inlined if any(inlined) else ()))
    total_ticks = sum(s.values[0] for s in samples)
    return Profile(
        sample_types=(ValueType("samples", "count"), ValueType("cpu", "nanoseconds")),
        samples=tuple(samples),
        period=CPU_PERIOD_NANOS,
        period_type=ValueType("cpu", "nanoseconds"),
        duration_nanos=total_ticks * CPU_PERIOD_NANOS // 4,
        time_nanos=1_700_000_000_000_000_000,
        main_binary="/usr/local/bin/synthetic-service",
    )
