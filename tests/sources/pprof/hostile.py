"""Hostile profiles, written byte by byte: the reproductions of issue 12 and a few more.

Built from wire-format pieces rather than through protobuf, so they can be exactly as small,
repetitive or malformed as an attacker would make them. Used by the decoder and pool tests and
by ``bench/pprof_hostile.py``, which measures peak memory on each.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable

MIB = 1024 * 1024
EMPTY_SAMPLE = b"\x12\x00"  # field 2 (sample), length 0
REDOS_PATTERN = "(a+)+$"
REDOS_NAME = "a" * 34 + "!"


def varint(value: int) -> bytes:
    """A protobuf base-128 varint."""
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def field(number: int, payload: bytes) -> bytes:
    """A length-delimited field."""
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def number(number: int, value: int) -> bytes:
    """A varint field."""
    return varint(number << 3) + varint(value)


def gzip_stream(chunks: Iterable[bytes]) -> bytes:
    """Gzip chunks as they come (so a bomb's plaintext is never whole in memory)."""
    deflate = zlib.compressobj(9, zlib.DEFLATED, 31)
    return b"".join(deflate.compress(chunk) for chunk in chunks) + deflate.flush()


def empty_samples_bomb(samples: int = 25 << 20) -> bytes:
    """Issue 12's reproduction: 26 M empty samples in 51 KB of gzip (1.4 GB RSS before)."""
    step = 1 << 20
    full, rest = divmod(samples, step)
    return gzip_stream([EMPTY_SAMPLE * step] * full + [EMPTY_SAMPLE * rest])


def zeros_bomb(size: int = 1 << 30) -> bytes:
    """A gigabyte of zeros in 1 MB of gzip."""
    step = 1 << 20
    return gzip_stream(bytes(step) for _ in range(size // step))


def _header(strings: list[str]) -> bytes:
    table = b"".join(field(6, s.encode()) for s in ["", *strings])
    return table + field(1, number(1, 1) + number(2, 2))  # sample_type: strings[0]/[1]


def inline_amplifier(lines: int = 2_000, samples: int = 2_000, depth: int = 50) -> bytes:
    """A valid, small profile whose stacks expand a thousandfold: one location of ``lines``
    inlined frames, referenced ``depth`` times by each of ``samples`` samples."""
    function = field(5, number(1, 1) + number(2, 3))
    location = field(4, number(1, 1) + field(4, number(1, 1)) * lines)
    ids = field(1, b"\x01" * depth)
    sample = field(2, ids + field(2, b"\x01"))
    body = _header(["cpu", "nanoseconds", "inlined::everywhere"]) + function + location
    return gzip_stream([body, sample * samples])


def redos_profile(name: str = REDOS_NAME, pattern: str = REDOS_PATTERN) -> bytes:
    """Issue 12's 86-byte hang: drop_frames ``(a+)+$`` and a function named 34 ``a`` and ``!``
    (plain, not gzipped). Python's ``re`` backtracks on it for minutes; RE2 does not."""
    body = _header(["cpu", "ns", name, pattern])
    function = field(5, number(1, 1) + number(2, 3))
    location = field(4, number(1, 1) + field(4, number(1, 1)))
    sample = field(2, field(1, b"\x01") + field(2, b"\x05"))
    return body + function + location + sample + number(7, 4)  # drop_frames: strings[4]
