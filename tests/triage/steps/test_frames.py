"""Top frames and under-worker detection, from hand-built profiles, diffs and real profiles."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.sources.pprof.analysis import FunctionTotal, diff_profiles, frame_totals
from bot.sources.pprof.decode import decode
from bot.sources.pprof.encode import encode
from bot.sources.pprof.model import Profile, Sample, ValueType
from bot.triage.steps.frames import (
    cpu_report,
    cpu_report_from_bytes,
    diff_report,
    frame_chain,
    select_top,
    worker_values,
)

REAL = Path(__file__).resolve().parents[2] / "fixtures" / "real" / "pprof"
MiB = 1024 * 1024
PERIOD = 10_000_000

# Leaf-first tails of stacks: a Tokio worker thread, and a plain std thread.
WORKER = (
    "tokio::runtime::task::harness::Harness<T,S>::poll",
    "tokio::runtime::scheduler::multi_thread::worker::Context::run_task",
    "tokio::runtime::scheduler::multi_thread::worker::Context::run",
    "tokio::runtime::scheduler::multi_thread::worker::run",
    "std::thread::Builder::spawn_unchecked_::{{closure}}",
    "start_thread",
)
PLAIN = ("std::thread::Builder::spawn_unchecked_::{{closure}}", "start_thread")
HANDLER = "checkout::handlers::post_checkout::{{closure}}"


def cpu(*stacks: tuple[tuple[str, ...], int]) -> Profile:
    """A pprof-rs-like CPU profile: samples/count and cpu/nanoseconds."""
    return Profile(
        sample_types=(ValueType("samples", "count"), ValueType("cpu", "nanoseconds")),
        samples=tuple(Sample(stack, (ticks, ticks * PERIOD)) for stack, ticks in stacks),
        period=PERIOD, period_type=ValueType("cpu", "nanoseconds"),
        duration_nanos=10 * 1_000_000_000,
    )


STARVATION = cpu(
    (("std::thread::sleep", "checkout::inventory::reserve", HANDLER, *WORKER), 60),
    (("serde_json::ser::to_vec", HANDLER, *WORKER), 20),
    (("std::thread::sleep", "checkout::metrics::flush", *PLAIN), 5),
    (("alloc::raw_vec::finish_grow", "checkout::reports::build", *PLAIN), 10),
    (("alloc::raw_vec::finish_grow", HANDLER, *WORKER), 5),
)


def test_blocking_sleep_under_a_tokio_worker() -> None:
    report = cpu_report(STARVATION)
    assert (report.sample_type, report.unit, report.total) == ("samples", "count", 100)
    by_name = {frame.function: frame for frame in report.frames}
    sleep = by_name["std::thread::sleep"]
    assert report.frames[0] is sleep
    assert (sleep.flat, sleep.cum) == (65, 65)
    assert sleep.flat_share == pytest.approx(0.65) and sleep.cum_share == pytest.approx(0.65)
    assert sleep.worker_fraction == pytest.approx(60 / 65)
    assert sleep.under_worker
    # Mostly on a plain thread: not a worker problem.
    grow = by_name["alloc::raw_vec::finish_grow"]
    assert grow.worker_fraction == pytest.approx(5 / 15) and not grow.under_worker
    assert not by_name["checkout::reports::build"].under_worker
    assert by_name["serde_json::ser::to_vec"].under_worker
    assert by_name[HANDLER].cum_share == pytest.approx(0.85) and by_name[HANDLER].under_worker
    # The outermost worker frame has no worker frame above it; the ones inside it do.
    assert not by_name["tokio::runtime::scheduler::multi_thread::worker::run"].under_worker
    assert by_name["tokio::runtime::scheduler::multi_thread::worker::Context::run"].under_worker
    [share] = [s for s in report.shares() if s.function == "std::thread::sleep"]
    assert (share.flat, share.cum, share.under_worker) == (pytest.approx(0.65),
                                                           pytest.approx(0.65), True)


def test_thread_name_root_frame_and_current_thread_runtime_count_as_workers() -> None:
    profile = cpu(
        (("std::fs::read", "checkout::config::reload", "tokio-runtime-worker"), 3),
        (("std::fs::read", "checkout::config::reload",
          "tokio::runtime::scheduler::current_thread::CoreGuard::block_on", "main"), 1),
        (("std::fs::read", "main"), 4),
    )
    found = worker_values(profile, 0, ["std::fs::read", "checkout::config::reload", "main"])
    assert found == {"std::fs::read": 4, "checkout::config::reload": 4, "main": 0}
    assert not {f.function: f for f in cpu_report(profile).frames}["std::fs::read"].under_worker


def test_recursion_counts_once_per_sample() -> None:
    profile = cpu((("fib", "fib", "fib", *WORKER), 7))
    [fib] = [f for f in cpu_report(profile).frames if f.function == "fib"]
    assert (fib.flat, fib.cum, fib.worker_fraction) == (7, 7, 1.0)


def test_select_top_takes_flat_then_cum_extras() -> None:
    functions = [FunctionTotal("a", 50, 50), FunctionTotal("b", 30, 30),
                 FunctionTotal("c", 0, 90), FunctionTotal("d", 0, 10)]
    assert [f.name for f in select_top(functions, 2)] == ["a", "b", "c"]
    assert [f.name for f in select_top(functions, 10)] == ["a", "b", "c", "d"]


def test_report_from_encoded_bytes_matches_the_profile() -> None:
    from_bytes = cpu_report_from_bytes(encode(STARVATION))
    assert from_bytes == cpu_report(STARVATION)


def test_real_cpu_profile() -> None:
    profile = decode((REAL / "google-pprof_sample.cpu.pb.gz").read_bytes())
    report = cpu_report(profile)
    totals = frame_totals(profile, "samples")
    assert len(profile.samples) == 76 and report.sample_type == "samples"
    assert report.total == totals.total == 176
    assert report.frames[0].function == totals.functions[0].name == "runtime.mapiternext"
    assert report.frames[0].flat_share == pytest.approx(128 / 176)
    assert not any(frame.under_worker for frame in report.frames)  # a Go program
    assert len(report.frames) <= 50
    assert all(0 <= f.flat_share <= f.cum_share <= 1 for f in report.frames)


def heap(*stacks: tuple[tuple[str, ...], int]) -> Profile:
    return Profile(
        sample_types=(ValueType("alloc_objects", "count"), ValueType("alloc_space", "bytes"),
                      ValueType("inuse_objects", "count"), ValueType("inuse_space", "bytes")),
        samples=tuple(Sample(stack, (1, size, 1, size)) for stack, size in stacks),
        period=524288, period_type=ValueType("space", "bytes"),
    )


ARC = ("alloc::alloc::alloc", "alloc::sync::Arc<T>::new",
       "checkout::session::SessionCache::insert", "checkout::handlers::login::{{closure}}",
       *WORKER)
VEC = ("alloc::alloc::alloc", "alloc::vec::Vec<T>::with_capacity", "checkout::buffers::reuse",
       *PLAIN)
HASH = ("__rust_alloc", "hashbrown::raw::RawTable<T,A>::reserve_rehash", "checkout::index::add",
        *PLAIN)
HEAP_BASE = heap((ARC, 1 * MiB), (VEC, 2 * MiB))
HEAP_NEW = heap((ARC, 9 * MiB), (VEC, 1 * MiB), (HASH, 1 * MiB))


def test_diff_report_shares_of_growth() -> None:
    report = diff_report(diff_profiles(HEAP_BASE, HEAP_NEW, "inuse_space"))
    assert (report.sample_type, report.unit) == ("inuse_space", "bytes")
    assert report.total == 8 * MiB  # net: 11 MiB - 3 MiB
    by_name = {frame.function: frame for frame in report.frames}
    arc = by_name["alloc::sync::Arc<T>::new"]
    assert arc.cum == 8 * MiB and arc.cum_share == pytest.approx(8 / 9)  # of 9 MiB grown
    assert arc.flat == 0 and arc.flat_share == 0
    assert by_name["alloc::alloc::alloc"].flat_share == pytest.approx(7 / 9)  # +8 -1
    assert by_name["checkout::index::add"].cum_share == pytest.approx(1 / 9)
    assert "checkout::buffers::reuse" not in by_name  # it shrank
    assert not any(frame.under_worker for frame in report.frames)


def test_frame_chain_drops_allocator_frames_and_keeps_the_leaf_end() -> None:
    assert frame_chain(ARC, limit=3) == (
        "… → checkout::handlers::login::{{closure}} → checkout::session::SessionCache::insert"
        " → alloc::sync::Arc<T>::new")
    assert frame_chain(HASH[:3]) == (
        "checkout::index::add → hashbrown::raw::RawTable<T,A>::reserve_rehash")
    assert frame_chain(("malloc",)) == "malloc"  # never empty
    assert frame_chain(("alloc::alloc::alloc", "x"), skip_leaf=None) == "x → alloc::alloc::alloc"


def test_real_heap_pair() -> None:
    base = decode((REAL / "parca_heap_t1_1644509272337470000.pb.gz").read_bytes())
    new = decode((REAL / "parca_heap_t2_1644509299337903000.pb.gz").read_bytes())
    report = diff_report(diff_profiles(base, new, "inuse_space"))
    assert report.total == 143_698_391 - 48_928_729
    top = report.frames[0]
    assert top.function == "github.com/dgraph-io/badger/v3/skl.newArena"
    assert top.flat == 87_244_800
    assert 0.5 < top.flat_share <= 1
