"""Decoding profile.proto: real fixtures (values checked against go tool pprof), bad input."""

from __future__ import annotations

import gzip

import pytest

from bot.errors import InputError
from bot.sources.pprof import Profile, ProfileDecodeError, Sample, ValueType, decode, encode
from bot.sources.pprof.decode import DecodeLimits, ProfileTooLarge
from bot.sources.pprof.wire import ProfileMsg, new_profile_message
from tests.sources.pprof.conftest import (
    ALL_PPROF,
    FIB_CPU,
    HEAP_T1,
    HEAP_T2,
    SAMPLE_CPU,
    load,
    pprof_bytes,
)

CPU_TYPES = (ValueType("samples", "count"), ValueType("cpu", "nanoseconds"))
HEAP_TYPES = (
    ValueType("alloc_objects", "count"),
    ValueType("alloc_space", "bytes"),
    ValueType("inuse_objects", "count"),
    ValueType("inuse_space", "bytes"),
)


def test_google_sample_cpu_header_and_samples() -> None:
    profile = load(SAMPLE_CPU)
    assert profile.sample_types == CPU_TYPES
    assert len(profile.samples) == 76
    assert profile.period == 10_000_000
    assert profile.period_type == ValueType("cpu", "nanoseconds")
    assert profile.duration_nanos == 2_002_012_950
    assert profile.time_nanos == 1_506_718_679_257_235_370
    assert profile.main_binary.endswith("/internal/report/testdata/sample.bin")
    # go tool pprof -sample_index=samples: "Total samples = 176"; -top: "1.76s" total.
    assert sum(s.values[0] for s in profile.samples) == 176
    assert sum(s.values[1] for s in profile.samples) == 1_760_000_000


def test_inlined_frames_are_kept_leaf_first_and_marked() -> None:
    profile = load(SAMPLE_CPU)
    abs_sample = next(s for s in profile.samples if "math.Abs" in s.stack)
    # math.Abs is inlined into main.busyLoop: one location, two frames.
    assert abs_sample == Sample(
        ("math.Abs", "main.busyLoop", "main.main", "runtime.main"),
        (10, 100_000_000),
        (True, False, False, False),
    )
    assert sum(1 for s in profile.samples if s.inlined) == 9


def test_fib_and_heaps_decode_with_their_sample_types() -> None:
    fib = load(FIB_CPU)
    assert fib.sample_types == CPU_TYPES
    assert len(fib.samples) == 120
    assert fib.duration_nanos == 30_156_835_758
    t1, t2 = load(HEAP_T1), load(HEAP_T2)
    for heap in (t1, t2):
        assert heap.sample_types == HEAP_TYPES
        assert heap.period == 524_288
        assert heap.period_type == ValueType("space", "bytes")
        assert heap.main_binary == ""
    assert (len(t1.samples), len(t2.samples)) == (54, 241)
    assert (t1.time_nanos, t2.time_nanos) == (1_644_509_272_337_470_000, 1_644_509_299_337_903_000)
    # go tool pprof -top: "47781.96kB total" and "137.04MB total" (inuse_space).
    assert sum(s.values[3] for s in t1.samples) == 48_928_729
    assert sum(s.values[3] for s in t2.samples) == 143_698_391


@pytest.mark.parametrize("name", ALL_PPROF)
def test_plain_and_gzipped_bytes_decode_alike(name: str) -> None:
    data = pprof_bytes(name)
    assert data[:2] == b"\x1f\x8b"
    assert decode(gzip.decompress(data)) == decode(data)


@pytest.mark.parametrize("name", ALL_PPROF)
def test_encode_round_trips(name: str) -> None:
    profile = load(name)
    for compress in (True, False):
        assert decode(encode(profile, compress=compress)) == profile


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"", "empty"),
        (b"\x1f\x8b\x08\x00garbage", "gzip"),
        (gzip.compress(gzip.decompress(pprof_bytes(SAMPLE_CPU)))[:-6], "truncated gzip"),
        (b"\xff\xff\xff", "not a profile.proto"),
        (b"<html><body>502 Bad Gateway</body></html>", "not a profile.proto"),
        (gzip.compress(b"{}"), "not a profile.proto"),
        (gzip.compress(b"x") + b"trailing", "after the gzip stream"),
    ],
)
def test_bad_bytes_raise_a_readable_decode_error(data: bytes, words: str) -> None:
    with pytest.raises(ProfileDecodeError, match=words):
        decode(data)


def _message(*, strings: list[str], types: list[tuple[int, int]]) -> ProfileMsg:
    message = new_profile_message()
    message.string_table.extend(strings)
    for type_index, unit_index in types:
        entry = message.sample_type.add()
        entry.type, entry.unit = type_index, unit_index
    return message


def _location(message: ProfileMsg, location_id: int, function_ids: list[int],
              mapping_id: int = 0) -> None:
    location = message.location.add()
    location.id, location.mapping_id = location_id, mapping_id
    for function_id in function_ids:
        location.line.add().function_id = function_id


def _function(message: ProfileMsg, function_id: int, name_index: int) -> None:
    function = message.function.add()
    function.id, function.name = function_id, name_index


def _sample(message: ProfileMsg, location_ids: list[int], values: list[int]) -> None:
    sample = message.sample.add()
    sample.location_id.extend(location_ids)
    sample.value.extend(values)


def test_structural_errors_name_the_problem() -> None:
    no_types = _message(strings=[""], types=[])
    _sample(no_types, [], [])
    with pytest.raises(ProfileDecodeError, match="no sample types"):
        decode(no_types.SerializeToString())
    bad_index = _message(strings=["", "cpu"], types=[(1, 7)])
    with pytest.raises(ProfileDecodeError, match="string index 7 out of range"):
        decode(bad_index.SerializeToString())
    first_not_empty = _message(strings=["x", "cpu"], types=[(1, 1)])
    with pytest.raises(ProfileDecodeError, match=r"string_table\[0\]"):
        decode(first_not_empty.SerializeToString())
    undefined = _message(strings=["", "cpu", "ns"], types=[(1, 2)])
    _sample(undefined, [42], [1])
    with pytest.raises(ProfileDecodeError, match="undefined location 42"):
        decode(undefined.SerializeToString())
    wrong_values = _message(strings=["", "cpu", "ns"], types=[(1, 2)])
    _sample(wrong_values, [], [1, 2])
    with pytest.raises(ProfileDecodeError, match="2 values for 1 sample types"):
        decode(wrong_values.SerializeToString())


def test_inflated_size_is_capped() -> None:
    data = encode(load(HEAP_T2))
    with pytest.raises(ProfileTooLarge, match="profile too large: decodes past 1,000 bytes"):
        decode(data, limits=DecodeLimits(budget_bytes=1000))


def test_unsymbolized_frames_are_named_like_pprof() -> None:
    message = _message(strings=["", "cpu", "ns", "/usr/lib/x86_64-linux-gnu/libc.so.6", "main"],
                       types=[(1, 2)])
    mapping = message.mapping.add()
    mapping.id, mapping.filename = 1, 3
    _function(message, 1, 4)
    _location(message, 1, [], mapping_id=1)
    _location(message, 2, [])
    _location(message, 3, [1])
    _sample(message, [1, 2, 3], [5])
    profile = decode(message.SerializeToString())
    assert profile.samples[0].stack == ("[libc.so.6]", "<unknown>", "main")
    assert profile.main_binary == "/usr/lib/x86_64-linux-gnu/libc.so.6"


def _drop_frames_profile(keep: str) -> bytes:
    names = ["runtime.mallocgc", "runtime.newobject(int)", "main.work", "main.main",
             "runtime.main"]
    strings = ["", "alloc", "count", r"runtime\..*", *names, keep]
    message = _message(strings=strings, types=[(1, 2)])
    message.drop_frames = 3
    message.keep_frames = len(strings) - 1 if keep else 0
    for offset in range(len(names)):
        _function(message, offset + 1, 4 + offset)
        _location(message, offset + 1, [offset + 1])
    _location(message, 10, [1, 2])  # mallocgc inlined into newobject
    for location_ids, value in (([1, 2, 3, 4, 5], 7), ([10, 3, 4, 5], 3), ([1, 2, 5], 2),
                                ([3, 1, 4, 5], 1)):
        _sample(message, location_ids, [value])
    return message.SerializeToString()


def test_drop_frames_prune_callees_like_pprof() -> None:
    # Checked against `go tool pprof -top -nodefraction=0` on these bytes: main.work 10 flat,
    # runtime.mallocgc 2 (all-runtime stacks are left alone), main.main 1 flat / 11 cum.
    stacks = [s.stack for s in decode(_drop_frames_profile("")).samples]
    assert stacks == [
        ("main.work", "main.main", "runtime.main"),
        ("main.work", "main.main", "runtime.main"),
        ("runtime.mallocgc", "runtime.newobject(int)", "runtime.main"),
        ("main.main", "runtime.main"),
    ]
    # keep_frames rescues newobject (matched without its argument list): go shows it with 12.
    kept = [s.stack for s in decode(_drop_frames_profile(r"runtime\.newobject")).samples]
    assert kept[:3] == [
        ("runtime.newobject(int)", "main.work", "main.main", "runtime.main"),
        ("runtime.newobject(int)", "main.work", "main.main", "runtime.main"),
        ("runtime.newobject(int)", "runtime.main"),
    ]


def test_sample_index_resolution_follows_pprof() -> None:
    cpu = load(SAMPLE_CPU)
    assert cpu.sample_index() == 1  # no default_sample_type: the last one
    assert cpu.sample_index("samples") == 0
    assert cpu.sample_index("1") == 1
    assert cpu.sample_index(0) == 0
    with pytest.raises(InputError, match=r"unknown sample type 'inuse_space'.*samples, cpu"):
        cpu.sample_index("inuse_space")
    with pytest.raises(InputError, match=r"outside the range \[0..1\]"):
        cpu.sample_index(2)
    legacy = Profile((ValueType("objects", "count"), ValueType("space", "bytes")), ())
    assert legacy.sample_index("inuse_space") == 1
    preferred = Profile(CPU_TYPES, (), default_sample_type="samples")
    assert preferred.sample_type() == ValueType("samples", "count")
