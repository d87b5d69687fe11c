"""Count a profile's wire fields before protobuf materialises them, and bound what they cost.

upb's ``ParseFromString`` builds the whole message at once: 2 bytes of wire (an empty
``Sample``) become about 48 bytes of C memory, a packed location id 1 byte become 8-10, and the
conversion to Python objects multiplies again. So a 51 KB gzipped file of 26 million empty
samples reached 1.4 GB before anything could look at it. :class:`WireScan` walks the top-level
fields (tag, length, skip; never inside a sample) as the bytes arrive from the gunzip, counts
samples, locations, functions, mappings and string-table bytes, and keeps a running estimate of
the memory the decode will need: the wire bytes, upb's messages and the Python objects built
from them. It raises :class:`ProfileTooLarge` the moment a count or the estimate passes its
limit, so a hostile file is refused after the first megabytes, not after the whole inflation.

The per-item costs below were measured on upb 6.33 (``python -m bench.pprof_hostile --costs``
prints them) and rounded up; stacks are charged later, sample by sample, while the decoder
expands them (see :class:`Budget`), because only then is a location's frame count known.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.errors import InputError

MIB = 1024 * 1024

_SAMPLE, _MAPPING, _LOCATION, _FUNCTION, _STRING = 2, 3, 4, 5, 6
# Bytes of memory per item, upb message plus the Python objects the decoder makes of it, and
# per wire byte of its body (a packed id is >= 1 byte and costs 8-12 bytes in upb).
_COST_PER_ITEM = {_SAMPLE: 96, _MAPPING: 200, _LOCATION: 400, _FUNCTION: 200, _STRING: 120}
_COST_PER_BYTE = {_SAMPLE: 12, _MAPPING: 1, _LOCATION: 24, _FUNCTION: 1, _STRING: 5}
_NAMES = {_SAMPLE: "samples", _MAPPING: "mappings", _LOCATION: "locations",
          _FUNCTION: "functions", _STRING: "strings"}
_MAX_VARINT_BYTES = 10


class ProfileDecodeError(InputError):
    """The bytes are not a profile.proto (plain or gzipped); the message says what is wrong."""


class ProfileTooLarge(ProfileDecodeError):
    """The profile would take more memory or items to decode than the limits allow."""


@dataclass(frozen=True)
class DecodeLimits:
    """How big a profile may get while it is decoded; every limit is checked as it grows."""

    budget_bytes: int = 512 * MIB
    max_samples: int = 1_000_000
    max_locations: int = 1_000_000
    max_functions: int = 1_000_000
    max_mappings: int = 100_000
    max_strings: int = 2_000_000
    max_string_bytes: int = 64 * MIB

    def count_limit(self, number: int) -> int:
        """The most items of top-level field ``number`` a profile may hold."""
        return {_SAMPLE: self.max_samples, _MAPPING: self.max_mappings,
                _LOCATION: self.max_locations, _FUNCTION: self.max_functions,
                _STRING: self.max_strings}[number]

    def too_large(self) -> ProfileTooLarge:
        """The error for a profile whose decoded size passes the budget."""
        return ProfileTooLarge(f"profile too large: decodes past {_size(self.budget_bytes)}")


@dataclass
class Budget:
    """The running estimate of decoded bytes against the limit; charge before building."""

    limits: DecodeLimits
    used: int = 0

    def charge(self, amount: int) -> None:
        """Add ``amount`` bytes; raise :class:`ProfileTooLarge` once past the budget."""
        self.used += amount
        if self.used > self.limits.budget_bytes:
            raise self.limits.too_large()


@dataclass
class WireScan:
    """Top-level fields of a ``Profile`` counted as its bytes arrive (see the module doc)."""

    budget: Budget
    pos: int = 0
    counts: dict[int, int] = field(default_factory=dict)
    string_bytes: int = 0
    _seen: int = 0
    _counted_at: int = -1

    def feed(self, buf: bytes | bytearray, end: int) -> None:
        """Scan every complete field in ``buf[pos:end]``; a partial one waits for more bytes."""
        self.budget.charge(end - self._seen)  # the wire bytes themselves stay in memory
        self._seen = end
        while self.pos < end:
            parsed = self._field(buf, self.pos, end)
            if parsed is None:
                break
            self.pos = parsed

    def finish(self, buf: bytes | bytearray, end: int) -> None:
        """Scan the rest; the bytes must end exactly where the last field does."""
        self.feed(buf, end)
        if self.pos != end:
            raise ProfileDecodeError("not a profile.proto message (truncated field)")

    def _field(self, buf: bytes | bytearray, pos: int, end: int) -> int | None:
        """The position after the field at ``pos``, or None if it is not all here yet."""
        tag = _varint(buf, pos, end)
        if tag is None:
            return None
        key, pos = tag
        number, wire_type = key >> 3, key & 7
        if number == 0:
            raise ProfileDecodeError("not a profile.proto message (field number 0)")
        if wire_type == 0:
            value = _varint(buf, pos, end)
            return None if value is None else value[1]
        if wire_type in (1, 5):
            size = 8 if wire_type == 1 else 4
            return pos + size if pos + size <= end else None
        if wire_type != 2:
            raise ProfileDecodeError(f"not a profile.proto message (wire type {wire_type})")
        length = _varint(buf, pos, end)
        if length is None:
            return None
        size, body = length
        if pos != self._counted_at:
            self._counted_at = pos
            self._count(number, size)
        return body + size if body + size <= end else None

    def _count(self, number: int, size: int) -> None:
        # Counted when the header arrives, so a huge field is refused before its body is here
        # (a field split across two feeds is counted once: _field remembers where it counted).
        if number not in _COST_PER_ITEM:
            return
        count = self.counts.get(number, 0) + 1
        if count > self.budget.limits.count_limit(number):
            limit = self.budget.limits.count_limit(number)
            raise ProfileTooLarge(f"profile too large: more than {limit:,} {_NAMES[number]}")
        self.counts[number] = count
        if number == _STRING:
            self.string_bytes += size
            if self.string_bytes > self.budget.limits.max_string_bytes:
                raise ProfileTooLarge(
                    "profile too large: its string table passes "
                    f"{_size(self.budget.limits.max_string_bytes)}"
                )
        self.budget.charge(_COST_PER_ITEM[number] + _COST_PER_BYTE[number] * size)


def _size(count: int) -> str:
    return f"{count // MIB} MiB" if count % MIB == 0 else f"{count:,} bytes"


def _varint(buf: bytes | bytearray, pos: int, end: int) -> tuple[int, int] | None:
    """(value, position after it), or None if the varint runs past ``end``."""
    value = shift = 0
    for index in range(pos, min(end, pos + _MAX_VARINT_BYTES)):
        byte = buf[index]
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, index + 1
        shift += 7
    if end - pos >= _MAX_VARINT_BYTES:
        raise ProfileDecodeError("not a profile.proto message (varint longer than 10 bytes)")
    return None
