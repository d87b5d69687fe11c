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

The per-item costs below were measured on upb 6.33 (RSS after parsing 200,000 copies of each
kind of item, one process per kind: an empty sample 48 bytes, a location with one line 144, a
function 64, a string 36 plus its length), the Python objects added, and rounded up; stacks are
charged later, sample by sample, while the decoder expands them (see :class:`Budget`), because
only then is a location's frame count known.
"""

from __future__ import annotations

from dataclasses import dataclass

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
_TRACKED = 7  # field numbers below this are counted (0 and 1 are never charged)
FEED_STEP = 1024 * 1024


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


class WireScan:
    """Top-level fields of a ``Profile`` counted as its bytes arrive (see the module doc).

    Limits are checked after every :meth:`feed`, so at most one feed's worth of fields (the
    gunzip's 1 MiB step; :data:`FEED_STEP` for plain bytes) goes past a limit before the scan
    stops: the loop over fields stays a few bytecodes long, since it runs once per sample.
    """

    def __init__(self, budget: Budget) -> None:
        self.budget = budget
        self.pos = 0
        self._seen = 0
        self._charged = 0
        self._counted_at = -1
        self._counts = [0] * _TRACKED
        self._sizes = [0] * _TRACKED

    @property
    def counts(self) -> dict[int, int]:
        """Items per tracked top-level field number (2 samples, 3 mappings, 4 locations...)."""
        return {number: self._counts[number] for number in _COST_PER_ITEM if self._counts[number]}

    @property
    def string_bytes(self) -> int:
        """Bytes of the string table so far."""
        return self._sizes[_STRING]

    def feed(self, buf: bytes | bytearray, end: int) -> None:
        """Scan every complete field in ``buf[pos:end]``; a partial one waits for more bytes."""
        self._seen = end
        self.pos = self._scan(buf, self.pos, end)
        self._check()

    def finish(self, buf: bytes | bytearray, end: int) -> None:
        """Scan the rest; the bytes must end exactly where the last field does."""
        for step_end in range(self.pos + FEED_STEP, end, FEED_STEP):
            self.feed(buf, step_end)
        self.feed(buf, end)
        if self.pos != end:
            raise ProfileDecodeError("not a profile.proto message (truncated field)")

    def _scan(self, buf: bytes | bytearray, pos: int, end: int) -> int:
        counts, sizes = self._counts, self._sizes
        while pos < end:
            key, after = (buf[pos], pos + 1) if buf[pos] < 0x80 else _varint(buf, pos, end)
            if after < 0:
                break
            number, wire_type = key >> 3, key & 7
            if wire_type == 2:
                size, body = ((buf[after], after + 1) if after < end and buf[after] < 0x80
                              else _varint(buf, after, end))
                if body < 0:
                    break
                if pos != self._counted_at and number < _TRACKED:
                    # Counted when the header arrives, so a huge field is refused before its
                    # body is here (and once, though a partial field is seen again next feed).
                    counts[number] += 1
                    sizes[number] += size
                    self._counted_at = pos
                if body + size > end:
                    break
                pos = body + size
            else:
                skipped = _skip(buf, number, wire_type, after, end)
                if skipped < 0:
                    break
                pos = skipped
        return pos

    def _check(self) -> None:
        limits = self.budget.limits
        for number, name in _NAMES.items():
            if self._counts[number] > limits.count_limit(number):
                raise ProfileTooLarge(
                    f"profile too large: more than {limits.count_limit(number):,} {name}")
        if self._sizes[_STRING] > limits.max_string_bytes:
            raise ProfileTooLarge(
                f"profile too large: its string table passes {_size(limits.max_string_bytes)}")
        estimate = self._seen + sum(
            _COST_PER_ITEM[n] * self._counts[n] + _COST_PER_BYTE[n] * self._sizes[n]
            for n in _COST_PER_ITEM)
        self.budget.charge(estimate - self._charged)
        self._charged = estimate


def _skip(buf: bytes | bytearray, number: int, wire_type: int, pos: int, end: int) -> int:
    """The position after a field that is not length-delimited, or -1 if it is not all here."""
    if number == 0:
        raise ProfileDecodeError("not a profile.proto message (field number 0)")
    if wire_type == 0:
        return _varint(buf, pos, end)[1]
    if wire_type in (1, 5):
        size = 8 if wire_type == 1 else 4
        return pos + size if pos + size <= end else -1
    raise ProfileDecodeError(f"not a profile.proto message (wire type {wire_type})")


def _size(count: int) -> str:
    return f"{count // MIB} MiB" if count % MIB == 0 else f"{count:,} bytes"


def _varint(buf: bytes | bytearray, pos: int, end: int) -> tuple[int, int]:
    """(value, position after it), or (0, -1) if the varint runs past ``end``."""
    value = shift = 0
    for index in range(pos, min(end, pos + _MAX_VARINT_BYTES)):
        byte = buf[index]
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, index + 1
        shift += 7
    if end - pos >= _MAX_VARINT_BYTES:
        raise ProfileDecodeError("not a profile.proto message (varint longer than 10 bytes)")
    return 0, -1
