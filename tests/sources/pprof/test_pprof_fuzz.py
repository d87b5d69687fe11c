"""Property tests: whatever bytes arrive, the profile parsers answer with a profile or with the
project's own input error (ProfileDecodeError / FlamegraphError, both InputError), never with
anything else. Inputs: arbitrary bytes, and the real fixtures mutated (bytes flipped, inserted,
deleted, duplicated, cut), plain and gzipped. ``FUZZ_EXAMPLES`` scales every test's examples.
"""

from __future__ import annotations

import contextlib
import gzip
import os
from collections import Counter
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.errors import InputError
from bot.sources.pprof import frame_totals, read_flamegraph
from bot.sources.pprof.decode import DecodeLimits, decode
from bot.sources.pprof.flamegraph import FlamegraphError
from bot.sources.pprof.scan import MIB, ProfileDecodeError
from tests.sources.pprof.conftest import ALL_PPROF, FLAMEGRAPH_DIR, pprof_bytes

SCALE = float(os.environ.get("FUZZ_EXAMPLES", "1"))
# Small enough that a mutation which multiplies stacks is refused quickly in this process.
LIMITS = DecodeLimits(budget_bytes=64 * MIB)
PPROF_RAW = [gzip.decompress(pprof_bytes(name)) for name in ALL_PPROF]
SVGS = [path.read_bytes() for path in sorted(FLAMEGRAPH_DIR.glob("*.svg"))]
CASES: Counter[str] = Counter()


def examples(n: int) -> settings:
    return settings(max_examples=max(1, int(n * SCALE)), deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@st.composite
def mutated(draw: st.DrawFn, corpus: list[bytes]) -> bytes:
    """A corpus member with a few random edits."""
    data = bytearray(draw(st.sampled_from(corpus)))
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["flip", "insert", "delete", "duplicate", "cut"]))
        at = draw(st.integers(0, len(data)))
        span = draw(st.integers(1, 64))
        if kind == "flip" and at < len(data):
            data[at] = draw(st.integers(0, 255))
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=span))
        elif kind == "delete":
            del data[at : at + span]
        elif kind == "duplicate":
            data[at:at] = data[at : at + span] * draw(st.integers(1, 50))
        elif kind == "cut":
            del data[at:]
    return bytes(data)


def decode_only_fails_as_input(data: bytes, case: str) -> None:
    CASES[case] += 1
    try:
        profile = decode(data, limits=LIMITS)
    except ProfileDecodeError:
        return
    with contextlib.suppress(InputError):  # what a triage step does next with it
        frame_totals(profile)


def read_only_fails_as_input(data: bytes, case: str) -> None:
    CASES[case] += 1
    with contextlib.suppress(FlamegraphError):
        read_flamegraph(data, unit=None).totals()


@pytest.fixture(scope="module", autouse=True)
def report_cases() -> Iterator[None]:
    yield
    print("\nfuzz cases: " + ", ".join(f"{case} {count}" for case, count in sorted(CASES.items())))


@examples(400)
@given(st.binary(max_size=2048))
def test_decoder_on_arbitrary_bytes(data: bytes) -> None:
    decode_only_fails_as_input(data, "pprof arbitrary")
    decode_only_fails_as_input(gzip.compress(data, 1), "pprof arbitrary gzipped")


@examples(400)
@given(mutated(PPROF_RAW))
def test_decoder_on_mutated_real_profiles(data: bytes) -> None:
    decode_only_fails_as_input(data, "pprof mutated")


@examples(150)
@given(mutated(PPROF_RAW), st.integers(0, 64))
def test_decoder_on_mutated_and_cut_gzip(data: bytes, cut: int) -> None:
    packed = gzip.compress(data, 1)
    decode_only_fails_as_input(packed[: len(packed) - cut], "pprof mutated gzipped")


@examples(300)
@given(st.binary(max_size=2048))
def test_flamegraph_reader_on_arbitrary_bytes(data: bytes) -> None:
    read_only_fails_as_input(data, "flamegraph arbitrary")
    read_only_fails_as_input(b"<svg>" + data + b"</svg>", "flamegraph arbitrary in <svg>")


@examples(400)
@given(mutated(SVGS))
def test_flamegraph_reader_on_mutated_real_svgs(data: bytes) -> None:
    read_only_fails_as_input(data, "flamegraph mutated")


NUMBER = st.one_of(
    st.from_regex(r"[0-9,]{1,400}(\.[0-9]{1,5})?", fullmatch=True),
    st.sampled_from(["nan", "inf", "-inf", "1e999", "-0", "", "5%", "1e-999"]),
    st.floats().map(repr),
    st.integers(1, 500).map(lambda n: "9" * n),  # past a float's range from 309 digits
)
UNIT = st.sampled_from(["samples", "bytes", "ms"]) | st.text(max_size=12)


@examples(300)
@given(name=st.text(max_size=40), count=NUMBER, unit=UNIT, x=NUMBER, y=NUMBER, width=NUMBER)
def test_flamegraph_reader_on_odd_numbers(
    *, name: str, count: str, unit: str, x: str, y: str, width: str,
) -> None:
    title = f"{name} ({count} {unit}, 1.5%)".replace("&", "&amp;").replace("<", "&lt;")
    svg = (f'<svg><g><title>{title}</title><rect x="{x}" y="{y}" width="{width}"/></g>'
           f'<g><title>all ({count} {unit}, 100%)</title><rect x="0" y="{y}0" width="{width}"/>'
           "</g></svg>").encode("utf-8", "surrogatepass")
    read_only_fails_as_input(svg, "flamegraph odd numbers")
