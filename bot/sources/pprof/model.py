"""The typed profile model: what a decoded profile.proto becomes, and nothing protobuf-shaped.

A :class:`Profile` keeps what triage needs from the wire format: the sample types, and for each
sample its stack as function names (leaf first, inlined frames included, like pprof's
"functions" granularity) with one value per sample type. Mappings, addresses and line numbers
are folded away at decode time, because every report the bot makes is per function.

``Sample`` and ``ValueType`` are named tuples rather than dataclasses: a large profile has
10^5 samples, and a tuple is built several times faster than a frozen dataclass while staying
immutable and typed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from bot.errors import InputError


class ValueType(NamedTuple):
    """What a sample value measures: ``("cpu", "nanoseconds")``, ``("inuse_space", "bytes")``."""

    type: str
    unit: str


class Sample(NamedTuple):
    """One stack and its values (one per sample type of the profile).

    ``stack`` is leaf first. ``inlined`` lists the positions in ``stack`` of frames that were
    inlined into the frame after them (their caller); pprof marks such functions ``(inline)``.
    """

    stack: tuple[str, ...]
    values: tuple[int, ...]
    inlined: tuple[int, ...] = ()


@dataclass(frozen=True)
class Profile:
    """A decoded profile: sample types, samples and the header fields reports print."""

    sample_types: tuple[ValueType, ...]
    samples: tuple[Sample, ...]
    period: int = 0
    period_type: ValueType | None = None
    duration_nanos: int = 0
    time_nanos: int = 0
    default_sample_type: str = ""
    comments: tuple[str, ...] = ()
    main_binary: str = ""
    build_id: str = ""

    def sample_index(self, wanted: str | int | None = None) -> int:
        """Resolve a sample type the way ``go tool pprof -sample_index`` does.

        ``None`` or ``""`` picks ``default_sample_type`` if the profile names one, else the last
        sample type. An int (or a string of digits) is an index. A name matches a type
        exactly, or with an ``inuse_`` prefix removed (legacy heap profiles say ``space``).
        """
        if not self.sample_types:
            raise InputError("the profile has no sample types")
        if wanted is None or wanted == "":
            return self._default_index()
        if isinstance(wanted, int) or wanted.isdigit():
            index = int(wanted)
            if not 0 <= index < len(self.sample_types):
                raise InputError(
                    f"sample index {index} is outside the range [0..{len(self.sample_types) - 1}]"
                )
            return index
        legacy = wanted.removeprefix("inuse_")
        for index, value_type in enumerate(self.sample_types):
            if value_type.type in (wanted, legacy):
                return index
        names = ", ".join(t.type for t in self.sample_types)
        raise InputError(f"unknown sample type {wanted!r}: this profile has {names}")

    def _default_index(self) -> int:
        if self.default_sample_type:
            for index, value_type in enumerate(self.sample_types):
                if value_type.type == self.default_sample_type:
                    return index
        return len(self.sample_types) - 1

    def sample_type(self, wanted: str | int | None = None) -> ValueType:
        """The :class:`ValueType` that :meth:`sample_index` resolves ``wanted`` to."""
        return self.sample_types[self.sample_index(wanted)]
