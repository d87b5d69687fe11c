"""The decoder's limits, checked while decoding: issue 12's hostile profiles are refused early,
in a worker far smaller than what they used to take, and profile regexps cannot backtrack."""

from __future__ import annotations

import gzip
from collections.abc import Iterator

import pytest

from bot.sources.pprof import decode
from bot.sources.pprof.decode import (
    DecodeLimits,
    ProfileDecodeError,
    ProfileTooLarge,
    _Pruner,
)
from bot.sources.pprof.scan import MIB, Budget, WireScan
from bot.sources.pprof.workers import BoundedProcessPool, WorkerLimits
from tests.sources.pprof import hostile
from tests.sources.pprof.conftest import ALL_PPROF, pprof_bytes

# Far below the 1.1-1.4 GB these files took before: a decode that builds what it should have
# refused runs out of this address space and comes back WorkerOutOfMemory instead.
SMALL_WORKER = WorkerLimits(memory_bytes=768 * MIB, deadline_seconds=60)


@pytest.fixture(scope="module")
def small_pool() -> Iterator[BoundedProcessPool]:
    pool = BoundedProcessPool(1, SMALL_WORKER)
    yield pool
    pool.shutdown(wait=True, cancel_futures=True)


def test_issue_12_gzip_of_empty_samples_is_refused_by_count(
    small_pool: BoundedProcessPool,
) -> None:
    bomb = hostile.empty_samples_bomb()
    assert len(bomb) < 60_000  # 51 KB inflating to 52 MB of 26 M empty samples
    with pytest.raises(ProfileTooLarge, match=r"profile too large: more than 1,000,000 samples"):
        small_pool.submit(decode, bomb).result()
    assert small_pool.restarts == 0


def test_stacks_that_expand_a_thousandfold_are_refused_at_the_budget(
    small_pool: BoundedProcessPool,
) -> None:
    amplifier = hostile.inline_amplifier()
    assert len(amplifier) < 1_000  # and 200 M frames once expanded
    with pytest.raises(ProfileTooLarge, match=r"^profile too large: decodes past 512 MiB$"):
        small_pool.submit(decode, amplifier).result()
    with pytest.raises(ProfileTooLarge, match=r"decodes past 16 MiB"):
        decode(amplifier, limits=DecodeLimits(budget_bytes=16 * MIB))


def test_a_gigabyte_of_zeros_is_refused_at_the_first_step(
    small_pool: BoundedProcessPool,
) -> None:
    with pytest.raises(ProfileDecodeError, match="field number 0"):
        small_pool.submit(decode, hostile.zeros_bomb(256 * MIB)).result()


def test_issue_12_redos_profile_decodes_at_once_with_re2() -> None:
    data = hostile.redos_profile()
    assert len(data) == 86
    profile = decode(data)  # Python's re took minutes on this match
    assert [sample.stack for sample in profile.samples] == [(hostile.REDOS_NAME,)]


def test_the_same_regexp_still_matches_what_it_should() -> None:
    pruner = _Pruner.compile(hostile.REDOS_PATTERN, "")
    assert pruner is not None
    assert pruner.drops("a" * 35) and not pruner.drops(hostile.REDOS_NAME)
    assert pruner.drops("a" * 10_000 + "(int)")  # matched on the simplified name, linear time
    # A pattern RE2 does not accept (a backreference) means no pruning, as in pprof.
    assert _Pruner.compile("(a)\\1", "") is None
    refused = decode(hostile.redos_profile(pattern="(a)\\1"))
    assert refused.samples[0].stack == (hostile.REDOS_NAME,)


@pytest.mark.parametrize(
    ("limits", "words"),
    [
        (DecodeLimits(max_samples=10), "more than 10 samples"),
        (DecodeLimits(max_locations=10), "more than 10 locations"),
        (DecodeLimits(max_functions=10), "more than 10 functions"),
        (DecodeLimits(max_strings=10), "more than 10 strings"),
        (DecodeLimits(max_string_bytes=1000), "string table passes 1,000 bytes"),
        (DecodeLimits(budget_bytes=100_000), "decodes past 100,000 bytes"),
    ],
)
def test_each_count_has_its_limit(limits: DecodeLimits, words: str) -> None:
    data = pprof_bytes("parca_heap_t2_1644509299337903000.pb.gz")
    with pytest.raises(ProfileTooLarge, match=words):
        decode(data, limits=limits)
    decode(data)  # the default limits hold for every real profile


@pytest.mark.parametrize("name", ALL_PPROF)
def test_scanning_in_steps_counts_what_scanning_at_once_does(name: str) -> None:
    raw = gzip.decompress(pprof_bytes(name))
    whole = WireScan(Budget(DecodeLimits()))
    whole.finish(raw, len(raw))
    stepped = WireScan(Budget(DecodeLimits()))
    for end in range(0, len(raw), 997):
        stepped.feed(raw, end)
    stepped.finish(raw, len(raw))
    assert stepped.counts == whole.counts and stepped.string_bytes == whole.string_bytes
    assert stepped.budget.used == whole.budget.used
    assert whole.counts[2] > 0  # samples were counted


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"\x12\x05abc", "truncated field"),
        (b"\x0b\x00", "wire type 3"),
        (b"\x12" + b"\xff" * 11, "varint longer than 10 bytes"),
        (b"\x12\xff\xff\xff\xff\x0f", "decodes past 512 MiB"),  # a 4 GB sample announced
    ],
)
def test_malformed_wire_is_refused_before_parsing(data: bytes, words: str) -> None:
    with pytest.raises(ProfileDecodeError, match=words):
        decode(data)
