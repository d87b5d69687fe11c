"""Typed view of the generated ``profile_pb2`` module.

``profile_pb2.py`` is generated code that mypy and ruff do not check (see pyproject), so it is
imported by name here and every message is described by a small Protocol listing the fields
this package reads or writes. The rest of the package sees only these Protocols.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Iterator
from typing import Protocol, TypeVar, cast

_pb2 = importlib.import_module("bot.sources.pprof.profile_pb2")

_T_co = TypeVar("_T_co", covariant=True)


class RepeatedScalar(Protocol):
    """A repeated int64/uint64/string field."""

    def __iter__(self) -> Iterator[int]: ...

    def __len__(self) -> int: ...

    def extend(self, values: Iterable[int]) -> None: ...

    def append(self, value: int) -> None: ...


class RepeatedStrings(Protocol):
    """A repeated string field."""

    def __iter__(self) -> Iterator[str]: ...

    def __len__(self) -> int: ...

    def extend(self, values: Iterable[str]) -> None: ...


class RepeatedMessages(Protocol[_T_co]):
    """A repeated message field; ``add()`` appends a new, empty element."""

    def __iter__(self) -> Iterator[_T_co]: ...

    def __len__(self) -> int: ...

    def add(self) -> _T_co: ...


class ValueTypeMsg(Protocol):
    """``ValueType``: string table indices of a type and its unit."""

    type: int
    unit: int


class LineMsg(Protocol):
    """``Line``: one (possibly inlined) function of a location."""

    function_id: int
    line: int


class SampleMsg(Protocol):
    """``Sample``: location ids (leaf first) and one value per sample type."""

    @property
    def location_id(self) -> RepeatedScalar: ...

    @property
    def value(self) -> RepeatedScalar: ...


class MappingMsg(Protocol):
    """``Mapping``: a binary mapped into the process."""

    id: int
    memory_start: int
    memory_limit: int
    filename: int
    build_id: int
    has_functions: bool


class LocationMsg(Protocol):
    """``Location``: an address and the functions at it (innermost inlined first)."""

    id: int
    mapping_id: int
    address: int

    @property
    def line(self) -> RepeatedMessages[LineMsg]: ...


class FunctionMsg(Protocol):
    """``Function``: names and source file, as string table indices."""

    id: int
    name: int
    system_name: int
    filename: int
    start_line: int


class ProfileMsg(Protocol):
    """``Profile``: the top-level message."""

    drop_frames: int
    keep_frames: int
    time_nanos: int
    duration_nanos: int
    period: int
    default_sample_type: int

    @property
    def sample_type(self) -> RepeatedMessages[ValueTypeMsg]: ...

    @property
    def sample(self) -> RepeatedMessages[SampleMsg]: ...

    @property
    def mapping(self) -> RepeatedMessages[MappingMsg]: ...

    @property
    def location(self) -> RepeatedMessages[LocationMsg]: ...

    @property
    def function(self) -> RepeatedMessages[FunctionMsg]: ...

    @property
    def string_table(self) -> RepeatedStrings: ...

    @property
    def period_type(self) -> ValueTypeMsg: ...

    @property
    def comment(self) -> RepeatedScalar: ...

    def HasField(self, name: str) -> bool: ...

    def ParseFromString(self, data: bytes | bytearray) -> int: ...

    def SerializeToString(self) -> bytes: ...


def new_profile_message() -> ProfileMsg:
    """An empty ``perftools.profiles.Profile`` message."""
    return cast(ProfileMsg, _pb2.Profile())
