"""Decode profile.proto bytes, gzipped or not, into the typed :class:`Profile`, within limits.

The protobuf runtime (upb) parses the message in C; everything after it is arranged so that
per-sample Python work stays small: each location is turned into its tuple of function names
once, and a sample's stack is then one C-level ``chain`` over those tuples.

Nothing is built before it is paid for. The gunzip inflates in 1 MiB steps and
:class:`~bot.sources.pprof.scan.WireScan` counts the fields of each step as it arrives, so a
gzip bomb or a file of millions of empty samples is refused after a few megabytes
(:class:`ProfileTooLarge`, "profile too large: decodes past 512 MiB"); the stacks, whose size
only shows once locations are expanded into frames, are charged to the same
:class:`~bot.sources.pprof.scan.Budget` sample by sample, before each is built. These limits make
the common case fail early and plainly; the hard stop is the worker process the bot decodes in
(:mod:`bot.sources.pprof.workers`: an address-space limit and a deadline).

Decoding follows what ``go tool pprof`` does before any report, so totals agree with it:
frames are functions (addresses and lines folded away), inlined frames are kept (innermost
first), unsymbolized frames are named ``[binary]`` or ``<unknown>``, and the profile's
``drop_frames``/``keep_frames`` regexps prune stacks the way pprof's ``RemoveUninteresting``
does. Those regexps come from the profile, so they run on RE2 (``google-re2``, linear time, as
Go's regexp is), never on Python's backtracking ``re``: ``(a+)+$`` against ``"a"*34 + "!"``
takes microseconds. A pattern RE2 rejects means no pruning, as in pprof.
"""

from __future__ import annotations

import posixpath
import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain

from google.protobuf.message import DecodeError

from bot.sources.pprof.frames_rx import FullMatch, compile_profile_regex
from bot.sources.pprof.model import Profile, Sample, ValueType
from bot.sources.pprof.scan import (
    MIB,
    Budget,
    DecodeLimits,
    ProfileDecodeError,
    ProfileTooLarge,
    WireScan,
)
from bot.sources.pprof.wire import (
    LocationMsg,
    ProfileMsg,
    RepeatedMessages,
    new_profile_message,
)

__all__ = ["DEFAULT_LIMITS", "MAX_DECODED_BYTES", "DecodeLimits", "ProfileDecodeError",
           "ProfileTooLarge", "decode"]

GZIP_MAGIC = b"\x1f\x8b"
DEFAULT_LIMITS = DecodeLimits()
MAX_DECODED_BYTES = DEFAULT_LIMITS.budget_bytes
"""Most memory a decode may need (wire bytes, upb's message, the Python objects made of it)."""
_INFLATE_STEP = MIB
# A sample as Python objects beyond its frames: the Sample tuple, the stack and values tuples,
# the list slot; each frame a pointer, each value (usually a large int) a pointer and an int.
_SAMPLE_COST, _FRAME_COST, _VALUE_COST = 200, 8, 40
_SMALL_STACK = 4096  # frames: built before it is charged (32 KB at most)

_RESERVED_WITH_PAREN = ("(anonymous namespace)", "operator()")
_PAREN_RX = re.compile(r"\(anonymous namespace\)|operator\(\)|\(")


def decode(data: bytes, *, limits: DecodeLimits = DEFAULT_LIMITS) -> Profile:
    """Decode a profile; raise :class:`ProfileDecodeError` (or :class:`ProfileTooLarge`)."""
    budget = Budget(limits)
    scan = WireScan(budget)
    if data[:2] == GZIP_MAGIC:
        raw: bytes | bytearray = _gunzip(data, scan)
    else:
        raw = data
        scan.finish(raw, len(raw))
    if not raw:
        raise ProfileDecodeError("the profile is empty")
    message = new_profile_message()
    try:
        message.ParseFromString(raw)
    except DecodeError as exc:
        raise ProfileDecodeError(f"not a profile.proto message ({exc})") from None
    del raw
    return _convert(message, budget)


def _gunzip(data: bytes, scan: WireScan) -> bytearray:
    """Inflate one or more concatenated gzip members (as Go's gzip reader does), step by step,
    scanning each step, so the limits stop a bomb a step after it passes them."""
    out = bytearray()
    rest = data
    while rest:
        if rest[:2] != GZIP_MAGIC:
            raise ProfileDecodeError("unexpected bytes after the gzip stream")
        inflater = zlib.decompressobj(wbits=31)
        pending = rest
        while not inflater.eof:
            try:
                out += inflater.decompress(pending, _INFLATE_STEP)
            except zlib.error as exc:
                raise ProfileDecodeError(f"corrupt gzip data ({exc})") from None
            scan.feed(out, len(out))
            pending = inflater.unconsumed_tail
            if not pending and not inflater.eof:
                raise ProfileDecodeError("truncated gzip data")
        rest = inflater.unused_data
    scan.finish(out, len(out))
    return out


class _Strings:
    """The string table, with pprof's range check on every index."""

    def __init__(self, table: Sequence[str]) -> None:
        if not table or table[0] != "":
            raise ProfileDecodeError("malformed profile: string_table[0] must be ''")
        self._table = table

    def __call__(self, index: int) -> str:
        if not 0 <= index < len(self._table):
            raise ProfileDecodeError(f"malformed profile: string index {index} out of range")
        return self._table[index]


def _convert(message: ProfileMsg, budget: Budget) -> Profile:
    string = _Strings(list(message.string_table))
    sample_types = tuple(ValueType(string(v.type), string(v.unit)) for v in message.sample_type)
    if not sample_types:
        raise ProfileDecodeError("not a profile: it has no sample types")
    mapping_files = {m.id: string(m.filename) for m in message.mapping}
    function_names = {f.id: string(f.name) for f in message.function}
    pruner = _Pruner.compile(string(message.drop_frames), string(message.keep_frames))
    table = _LocationTable.build(message.location, function_names, mapping_files, pruner)
    main = next(iter(message.mapping), None)
    period_type = None
    if message.HasField("period_type"):
        period_type = ValueType(string(message.period_type.type), string(message.period_type.unit))
    return Profile(
        sample_types=sample_types,
        samples=_samples(message, table, len(sample_types), budget),
        period=message.period,
        period_type=period_type,
        duration_nanos=message.duration_nanos,
        time_nanos=message.time_nanos,
        default_sample_type=string(message.default_sample_type),
        comments=tuple(string(c) for c in message.comment),
        main_binary=string(main.filename) if main else "",
        build_id=string(main.build_id) if main else "",
    )


@dataclass(frozen=True)
class _Pruner:
    """pprof's drop_frames/keep_frames: which functions cut a stack (with their callees)."""

    drop: FullMatch
    keep: FullMatch | None

    @classmethod
    def compile(cls, drop: str, keep: str) -> _Pruner | None:
        # Like pprof, an invalid regexp means no pruning rather than an unreadable profile.
        drop_rx = compile_profile_regex(drop) if drop else None
        if drop_rx is None:
            return None
        keep_rx = compile_profile_regex(keep) if keep else None
        if keep and keep_rx is None:
            return None
        return cls(drop_rx, keep_rx)

    def drops(self, name: str) -> bool:
        """Whether a frame of function ``name`` is dropped."""
        simple = _simplify_function(name)
        return bool(self.drop(simple)) and not (self.keep and self.keep(simple))


def _simplify_function(name: str) -> str:
    """Strip an argument list (``f(int)`` -> ``f``), as pprof does before matching."""
    name = name.removeprefix(".")
    for match in _PAREN_RX.finditer(name):
        if match.group() not in _RESERVED_WITH_PAREN:
            return name[: match.start()]
    return name


@dataclass
class _LocationTable:
    """Per location id: its frames (innermost first), which are inlined, what to prune."""

    frames: dict[int, tuple[str, ...]]
    depth: dict[int, int]
    outermost: dict[int, str]
    inline_flags: dict[int, tuple[bool, ...]]
    inlined_locations: set[int]
    prune: set[int]
    prune_beneath: set[int]

    @classmethod
    def build(
        cls, locations: RepeatedMessages[LocationMsg], function_names: dict[int, str],
        mapping_files: dict[int, str], pruner: _Pruner | None,
    ) -> _LocationTable:
        """Intern every location of the profile."""
        table = cls({}, {}, {}, {}, set(), set(), set())
        for location in locations:
            table._add(location, function_names, mapping_files, pruner)
        return table

    def _add(
        self, location: LocationMsg, function_names: dict[int, str],
        mapping_files: dict[int, str], pruner: _Pruner | None,
    ) -> None:
        names = [function_names.get(line.function_id, "") for line in location.line]
        if pruner is not None:
            names = self._pruned(location.id, names, pruner)
        if not names or not all(names):
            unsymbolized = _unsymbolized_name(mapping_files.get(location.mapping_id, ""))
            names = [name or unsymbolized for name in names] or [unsymbolized]
        self.frames[location.id] = tuple(names)
        self.depth[location.id] = len(names)
        self.outermost[location.id] = names[-1]
        self.inline_flags[location.id] = (True,) * (len(names) - 1) + (False,)
        if len(names) > 1:
            self.inlined_locations.add(location.id)

    def _pruned(self, location_id: int, names: list[str], pruner: _Pruner) -> list[str]:
        # Scan from the outermost caller inwards; the first dropped function cuts there. A
        # location whose outermost function is dropped keeps its frames: samples drop it whole.
        for index in range(len(names) - 1, -1, -1):
            if names[index] and pruner.drops(names[index]):
                self.prune_beneath.add(location_id)
                if index == len(names) - 1:
                    self.prune.add(location_id)
                    return names
                return names[index + 1 :]
        return names


def _unsymbolized_name(mapping_file: str) -> str:
    return f"[{posixpath.basename(mapping_file)}]" if mapping_file else "<unknown>"


def _samples(
    message: ProfileMsg, table: _LocationTable, n_types: int, budget: Budget,
) -> tuple[Sample, ...]:
    stacks = _Stacks(table)
    pruning = bool(table.prune_beneath)
    per_sample = _SAMPLE_COST + _VALUE_COST * n_types
    samples = []
    for sample in message.sample:
        # One conversion of the upb container; every pass below runs over a plain tuple.
        ids: tuple[int, ...] | list[int] = tuple(sample.location_id)
        if pruning:
            ids = _prune_stack(list(ids), table)
        try:
            stack, inlined = stacks.expand(ids, budget, per_sample)
        except KeyError as exc:
            raise ProfileDecodeError(
                f"malformed profile: a sample refers to undefined location {exc.args[0]}"
            ) from None
        values = tuple(sample.value)
        if len(values) != n_types:
            raise ProfileDecodeError(
                f"malformed profile: a sample has {len(values)} values for {n_types} sample types"
            )
        samples.append(Sample(stack, values, inlined))
    budget.charge(8 * len(samples))  # the final tuple, while the list still exists
    return tuple(samples)


class _Stacks:
    """Location ids to frames, each stack paid for in the budget before it is built."""

    def __init__(self, table: _LocationTable) -> None:
        self._frames = table.frames.__getitem__
        self._flags = table.inline_flags.__getitem__
        self._outermost = table.outermost.__getitem__
        self._depth = table.depth.__getitem__
        self._deepest = max(table.depth.values(), default=1)
        self._inline_ids = table.inlined_locations

    def expand(
        self, ids: Sequence[int], budget: Budget, base_cost: int,
    ) -> tuple[tuple[str, ...], tuple[bool, ...]]:
        """The stack of ``ids`` (leaf first) and its inline flags; KeyError on an unknown id."""
        if self._inline_ids and not self._inline_ids.isdisjoint(ids):
            # Inlined locations hold several frames: 1 wire byte may become thousands. A stack
            # that could be large is counted before it is built; a small one after (cheaper).
            if len(ids) * self._deepest > _SMALL_STACK:
                budget.charge(base_cost + 2 * _FRAME_COST * sum(map(self._depth, ids)))
                base_cost = 0
            stack = tuple(chain.from_iterable(map(self._frames, ids)))
            if base_cost:
                budget.charge(base_cost + 2 * _FRAME_COST * len(stack))
            return stack, tuple(chain.from_iterable(map(self._flags, ids)))
        budget.charge(base_cost + _FRAME_COST * len(ids))
        return tuple(map(self._outermost, ids)), ()


def _prune_stack(ids: list[int], table: _LocationTable) -> list[int]:
    """pprof's per-sample prune: from the root, cut at the first dropped frame past user code."""
    found_user = False
    for index in range(len(ids) - 1, -1, -1):
        location_id = ids[index]
        if location_id not in table.prune and location_id not in table.prune_beneath:
            found_user = True
        elif found_user:
            return ids[index + 1 :] if location_id in table.prune else ids[index:]
    return ids
