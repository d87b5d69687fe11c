"""What a profile says: top functions by flat and cumulative value, and what grew between two.

Pure functions over :class:`Profile`, with pprof's semantics so numbers agree with
``go tool pprof``: *flat* is the value of samples whose leaf frame is the function, *cum* the
value of samples with the function anywhere on the stack, counted once per sample even when it
recurses; samples whose value is zero are skipped; the total is the sum of absolute values.
Orderings are deterministic: flat (or cum) descending by absolute value, then name, then the
other value, exactly pprof's tie-breaks.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import chain
from operator import itemgetter
from typing import Literal

from bot.errors import InputError
from bot.sources.pprof.model import Profile, ValueType

Stack = tuple[str, ...]
Order = Literal["flat", "cum"]
_SLICE = 2048


@dataclass(frozen=True)
class FunctionTotal:
    """One function's flat (leaf) and cumulative (anywhere on the stack) value."""

    name: str
    flat: int
    cum: int


def _flat_key(f: FunctionTotal) -> tuple[int, str, int]:
    return (-abs(f.flat), f.name, -abs(f.cum))


def _cum_key(f: FunctionTotal) -> tuple[int, str, int]:
    return (-abs(f.cum), f.name, -abs(f.flat))


@dataclass(frozen=True)
class FrameTotals:
    """Per-function totals for one sample type; ``functions`` is in pprof's flat order."""

    sample_type: ValueType
    total: int
    functions: tuple[FunctionTotal, ...]

    def top(self, n: int | None = None, *, by: Order = "flat") -> tuple[FunctionTotal, ...]:
        """The ``n`` first functions (all if ``None``) by flat or cumulative value."""
        ordered = self.functions if by == "flat" else tuple(sorted(self.functions, key=_cum_key))
        return ordered if n is None else ordered[:n]

    def get(self, name: str) -> FunctionTotal | None:
        """The totals of the function called ``name``, if it has any."""
        return next((f for f in self.functions if f.name == name), None)


def frame_totals(profile: Profile, sample: str | int | None = None) -> FrameTotals:
    """Flat and cumulative totals per function for one sample type (pprof's default if None)."""
    index = profile.sample_index(sample)
    getter = itemgetter(index)
    weighted = [(s.stack, v) for s in profile.samples if (v := getter(s.values))]
    total = sum(abs(getter(s.values)) for s in profile.samples)
    return totals_from_stacks(weighted, profile.sample_types[index], total=total)


def totals_from_stacks(
    stacks: Sequence[tuple[Stack, int]], sample_type: ValueType, *, total: int | None = None,
) -> FrameTotals:
    """Totals from (leaf-first stack, value) pairs: the model shared by pprof and flamegraphs."""
    flat: Counter[str] = Counter()
    cum: Counter[str] = Counter()
    groups: defaultdict[int, list[Stack]] = defaultdict(list)
    for stack, value in stacks:
        if value and stack:
            groups[value].append(stack)
    if len(groups) * 4 <= len(stacks):
        _add_grouped(groups, flat, cum)
    else:
        _add_each(stacks, flat, cum)
    functions = [FunctionTotal(name, flat.get(name, 0), value) for name, value in cum.items()]
    kept = (f for f in functions if f.flat or f.cum)
    if total is None:
        total = sum(abs(value) for _, value in stacks)
    return FrameTotals(sample_type, total, tuple(sorted(kept, key=_flat_key)))


def _add_grouped(
    groups: dict[int, list[Stack]], flat: Counter[str], cum: Counter[str],
) -> None:
    # CPU profiles repeat a handful of values (ticks x period): count names per value in C,
    # then multiply, instead of one Python-level addition per frame of every sample. Slices
    # keep each C call short, so a thread running this lets the event loop's thread in often.
    for value, group in groups.items():
        leaves: Counter[str] = Counter()
        anywhere: Counter[str] = Counter()
        for start in range(0, len(group), _SLICE):
            chunk = group[start : start + _SLICE]
            leaves.update(map(itemgetter(0), chunk))
            anywhere.update(chain.from_iterable(map(set, chunk)))
        for name, count in leaves.items():
            flat[name] += count * value
        for name, count in anywhere.items():
            cum[name] += count * value


def _add_each(stacks: Iterable[tuple[Stack, int]], flat: Counter[str], cum: Counter[str]) -> None:
    for stack, value in stacks:
        if value and stack:
            flat[stack[0]] += value
            for name in set(stack):
                cum[name] += value


@dataclass(frozen=True)
class FunctionDelta:
    """How a function's flat and cumulative values changed from base to new."""

    name: str
    base_flat: int
    new_flat: int
    base_cum: int
    new_cum: int

    @property
    def flat_delta(self) -> int:
        """new flat - base flat."""
        return self.new_flat - self.base_flat

    @property
    def cum_delta(self) -> int:
        """new cum - base cum."""
        return self.new_cum - self.base_cum


@dataclass(frozen=True)
class StackDelta:
    """How the value of one exact stack (leaf first) changed from base to new."""

    stack: Stack
    base: int
    new: int

    @property
    def delta(self) -> int:
        """new - base."""
        return self.new - self.base


@dataclass(frozen=True)
class ProfileDiff:
    """What changed between two profiles for one sample type, biggest growth first."""

    sample_type: ValueType
    base_total: int
    new_total: int
    functions: tuple[FunctionDelta, ...]
    stacks: tuple[StackDelta, ...]

    def grown_functions(self, n: int | None = None) -> tuple[FunctionDelta, ...]:
        """Functions whose flat (or, at equal flat, cum) value grew, most first."""
        grown = tuple(f for f in self.functions if f.flat_delta > 0 or f.cum_delta > 0)
        return grown if n is None else grown[:n]

    def grown_stacks(self, n: int | None = None) -> tuple[StackDelta, ...]:
        """Stacks whose value grew, most first."""
        grown = tuple(s for s in self.stacks if s.delta > 0)
        return grown if n is None else grown[:n]


def diff_profiles(base: Profile, new: Profile, sample: str | int | None = None) -> ProfileDiff:
    """Compare two profiles of the same kind (e.g. two heap snapshots; inuse_space by default).

    ``sample`` is resolved on ``new`` as pprof would; ``base`` must have the same type and unit.
    """
    sample_type = new.sample_type(sample)
    base_index = base.sample_index(sample_type.type)
    if base.sample_types[base_index] != sample_type:
        raise InputError(
            f"cannot compare {sample_type.type} in {sample_type.unit} with "
            f"{base.sample_types[base_index].unit}"
        )
    before = frame_totals(base, base_index)
    after = frame_totals(new, new.sample_index(sample_type.type))
    return ProfileDiff(
        sample_type=sample_type,
        base_total=before.total,
        new_total=after.total,
        functions=_function_deltas(before, after),
        stacks=_stack_deltas(_stack_values(base, base_index),
                             _stack_values(new, new.sample_index(sample_type.type))),
    )


def _function_deltas(before: FrameTotals, after: FrameTotals) -> tuple[FunctionDelta, ...]:
    zero = FunctionTotal("", 0, 0)
    old = {f.name: f for f in before.functions}
    now = {f.name: f for f in after.functions}
    deltas = [
        FunctionDelta(name, old.get(name, zero).flat, now.get(name, zero).flat,
                      old.get(name, zero).cum, now.get(name, zero).cum)
        for name in old.keys() | now.keys()
    ]
    deltas.sort(key=lambda d: (-d.flat_delta, -d.cum_delta, d.name))
    return tuple(deltas)


def _stack_values(profile: Profile, index: int) -> dict[Stack, int]:
    values: defaultdict[Stack, int] = defaultdict(int)
    for sample in profile.samples:
        if sample.values[index]:
            values[sample.stack] += sample.values[index]
    return values


def _stack_deltas(before: dict[Stack, int], after: dict[Stack, int]) -> tuple[StackDelta, ...]:
    deltas = [
        StackDelta(stack, before.get(stack, 0), after.get(stack, 0))
        for stack in before.keys() | after.keys()
    ]
    deltas = [d for d in deltas if d.delta]
    deltas.sort(key=lambda d: (-d.delta, d.stack))
    return tuple(deltas)
