"""Encode a :class:`Profile` back into (gzipped) profile.proto bytes.

Used to turn a flamegraph into a profile other tools read, to build large synthetic profiles
for the load tests and the benchmark, and to serve profiles from the local stand-in service.
One function per distinct name; one location per distinct run of frames where every frame but
the last is inlined into the next, so ``decode(encode(p))`` gives back ``p``'s samples.
"""

from __future__ import annotations

import gzip

from bot.sources.pprof.model import Profile, Sample
from bot.sources.pprof.wire import ProfileMsg, new_profile_message


class _Interner:
    """Assigns string-table indices, function ids and location ids on first use."""

    def __init__(self, message: ProfileMsg, mapping_id: int) -> None:
        self._message = message
        self._mapping_id = mapping_id
        self._strings: dict[str, int] = {"": 0}
        self._functions: dict[str, int] = {}
        self._locations: dict[tuple[str, ...], int] = {}
        message.string_table.extend([""])

    def string(self, value: str) -> int:
        index = self._strings.get(value)
        if index is None:
            index = self._strings[value] = len(self._strings)
            self._message.string_table.extend([value])
        return index

    def function(self, name: str) -> int:
        function_id = self._functions.get(name)
        if function_id is None:
            function_id = self._functions[name] = len(self._functions) + 1
            function = self._message.function.add()
            function.id = function_id
            function.name = function.system_name = self.string(name)
        return function_id

    def location(self, frames: tuple[str, ...]) -> int:
        location_id = self._locations.get(frames)
        if location_id is None:
            location_id = self._locations[frames] = len(self._locations) + 1
            location = self._message.location.add()
            location.id = location_id
            location.mapping_id = self._mapping_id
            for name in frames:
                location.line.add().function_id = self.function(name)
        return location_id


def encode(profile: Profile, *, compress: bool = True) -> bytes:
    """The profile as profile.proto bytes, gzipped unless ``compress`` is false."""
    message = new_profile_message()
    mapping_id = 1 if profile.main_binary or profile.build_id else 0
    interner = _Interner(message, mapping_id)
    for value_type in profile.sample_types:
        type_entry = message.sample_type.add()
        type_entry.type = interner.string(value_type.type)
        type_entry.unit = interner.string(value_type.unit)
    if mapping_id:
        mapping = message.mapping.add()
        mapping.id = mapping_id
        mapping.filename = interner.string(profile.main_binary)
        mapping.build_id = interner.string(profile.build_id)
        mapping.has_functions = True
    for sample in profile.samples:
        sample_entry = message.sample.add()
        sample_entry.location_id.extend(interner.location(run) for run in _location_runs(sample))
        sample_entry.value.extend(sample.values)
    _encode_header(message, profile, interner)
    data = message.SerializeToString()
    return gzip.compress(data, compresslevel=6, mtime=0) if compress else data


def _encode_header(message: ProfileMsg, profile: Profile, interner: _Interner) -> None:
    message.period = profile.period
    if profile.period_type is not None:
        message.period_type.type = interner.string(profile.period_type.type)
        message.period_type.unit = interner.string(profile.period_type.unit)
    message.duration_nanos = profile.duration_nanos
    message.time_nanos = profile.time_nanos
    message.default_sample_type = interner.string(profile.default_sample_type)
    message.comment.extend(interner.string(c) for c in profile.comments)


def _location_runs(sample: Sample) -> list[tuple[str, ...]]:
    """Split a stack into locations: a run ends at the first frame that is not inlined."""
    if not sample.inlined:
        return [(name,) for name in sample.stack]
    runs: list[tuple[str, ...]] = []
    start = 0
    for position, inlined in enumerate(sample.inlined):
        if not inlined:
            runs.append(sample.stack[start : position + 1])
            start = position + 1
    if start < len(sample.stack):
        runs.append(sample.stack[start:])
    return runs
