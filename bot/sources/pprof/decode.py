"""Decode profile.proto bytes, gzipped or not, into the typed :class:`Profile`.

The protobuf runtime (upb) parses the message in C; everything after it is arranged so that
per-sample Python work stays small: each location is turned into its tuple of function names
once, and a sample's stack is then one C-level ``chain`` over those tuples.

Decoding follows what ``go tool pprof`` does before any report, so totals agree with it:
frames are functions (addresses and lines folded away), inlined frames are kept (innermost
first), unsymbolized frames are named ``[binary]`` or ``<unknown>``, and the profile's
``drop_frames``/``keep_frames`` regexps prune stacks the way pprof's ``RemoveUninteresting``
does.
"""

from __future__ import annotations

import posixpath
import re
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import chain

from google.protobuf.message import DecodeError

from bot.errors import InputError
from bot.sources.pprof.model import Profile, Sample, ValueType
from bot.sources.pprof.wire import (
    LocationMsg,
    ProfileMsg,
    RepeatedMessages,
    new_profile_message,
)

GZIP_MAGIC = b"\x1f\x8b"
MAX_DECODED_BYTES = 512 * 1024 * 1024
"""Largest uncompressed profile accepted; a gzip bomb stops here instead of filling memory."""

_RESERVED_WITH_PAREN = ("(anonymous namespace)", "operator()")
_PAREN_RX = re.compile(r"\(anonymous namespace\)|operator\(\)|\(")


class ProfileDecodeError(InputError):
    """The bytes are not a profile.proto (plain or gzipped); the message says what is wrong."""


def decode(data: bytes, *, max_bytes: int = MAX_DECODED_BYTES) -> Profile:
    """Decode a profile; raise :class:`ProfileDecodeError` if ``data`` is not one."""
    raw = _gunzip(data, max_bytes) if data[:2] == GZIP_MAGIC else data
    if not raw:
        raise ProfileDecodeError("the profile is empty")
    if len(raw) > max_bytes:
        raise ProfileDecodeError(f"the profile is larger than {max_bytes} bytes")
    message = new_profile_message()
    try:
        message.ParseFromString(raw)
    except DecodeError as exc:
        raise ProfileDecodeError(f"not a profile.proto message ({exc})") from None
    return _convert(message)


def _gunzip(data: bytes, limit: int) -> bytes:
    """Inflate one or more concatenated gzip members (as Go's gzip reader does)."""
    parts: list[bytes] = []
    size = 0
    rest = data
    while rest:
        if rest[:2] != GZIP_MAGIC:
            raise ProfileDecodeError("unexpected bytes after the gzip stream")
        inflater = zlib.decompressobj(wbits=31)
        try:
            part = inflater.decompress(rest, limit - size + 1)
        except zlib.error as exc:
            raise ProfileDecodeError(f"corrupt gzip data ({exc})") from None
        size += len(part)
        if size > limit:
            raise ProfileDecodeError(f"the profile inflates to more than {limit} bytes")
        if not inflater.eof:
            raise ProfileDecodeError("truncated gzip data")
        parts.append(part)
        rest = inflater.unused_data
    return b"".join(parts)


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


def _convert(message: ProfileMsg) -> Profile:
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
        samples=_samples(message, table, len(sample_types)),
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

    drop: Callable[[str], object]
    keep: Callable[[str], object] | None

    @classmethod
    def compile(cls, drop: str, keep: str) -> _Pruner | None:
        # Like pprof, an invalid regexp means no pruning rather than an unreadable profile.
        if not drop:
            return None
        try:
            keep_rx = re.compile(f"(?:{keep})").fullmatch if keep else None
            return cls(re.compile(f"(?:{drop})").fullmatch, keep_rx)
        except re.error:
            return None

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
        table = cls({}, {}, {}, set(), set(), set())
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


def _samples(message: ProfileMsg, table: _LocationTable, n_types: int) -> tuple[Sample, ...]:
    frames = table.frames.__getitem__
    flags = table.inline_flags.__getitem__
    outermost = table.outermost.__getitem__
    inline_ids = table.inlined_locations
    pruning = bool(table.prune_beneath)
    samples = []
    for sample in message.sample:
        # One conversion of the upb container; every pass below runs over a plain tuple.
        ids: tuple[int, ...] | list[int] = tuple(sample.location_id)
        if pruning:
            ids = _prune_stack(list(ids), table)
        inlined: tuple[bool, ...] = ()
        try:
            if inline_ids and not inline_ids.isdisjoint(ids):
                stack = tuple(chain.from_iterable(map(frames, ids)))
                inlined = tuple(chain.from_iterable(map(flags, ids)))
            else:  # one frame per location: no chain needed
                stack = tuple(map(outermost, ids))
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
    return tuple(samples)


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
