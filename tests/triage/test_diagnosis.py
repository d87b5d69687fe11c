"""The diagnosis ranks failure patterns by evidence; the alert name only seeds it."""

from __future__ import annotations

from typing import Any

import pytest

from bot.models import Diagnosis, FrameShare, Signals
from bot.triage.diagnosis import rank
from bot.triage.playbook import Playbook
from bot.triage.playbook_loader import PlaybookSet, load_playbooks
from tests.conftest import ROOT

MiB = 1024**2


@pytest.fixture(scope="module")
def playbooks() -> PlaybookSet:
    return load_playbooks(ROOT / "bot" / "playbooks")


def order(diagnosis: Diagnosis) -> list[str]:
    """Playbooks (families) in the order of their best cause."""
    return list(dict.fromkeys(c.playbook for c in diagnosis.candidates))


def position(diagnosis: Diagnosis, playbook_id: str) -> int:
    return order(diagnosis).index(playbook_id)


def candidate(diagnosis: Diagnosis, playbook_id: str) -> Any:
    """The best candidate of a playbook, or the candidate ``playbook/cause``."""
    return next(c for c in diagnosis.candidates if playbook_id in (c.playbook, c.id))


def test_high_p99_with_flat_pool_busy_workers_and_a_blocking_frame_is_starvation(
        playbooks: PlaybookSet) -> None:
    signals = Signals(
        numbers={"http.p99_change": 6.0, "pool.wait_change": 1.0, "tokio.busy_ratio": 0.97},
        frames=[FrameShare(function="std::thread::sleep", flat=0.28, cum=0.31,
                           under_worker=True)],
    )
    diagnosis = rank(playbooks, signals, "HighLatency", {"alertname": "HighLatency"})
    assert diagnosis.leader is not None and diagnosis.leader.playbook == "tokio-starvation"
    assert position(diagnosis, "tokio-starvation") < position(diagnosis, "p99-latency")
    starvation = candidate(diagnosis, "tokio-starvation")
    assert starvation.supporting == [
        "the alert HighLatency matches this pattern",
        "Tokio workers busy 97% of the time",
        "blocking frame std::thread::sleep under a Tokio worker (31% of CPU)",
    ]
    pool = candidate(diagnosis, "p99-latency/pool-exhaustion")
    assert pool.contradicting == ["pool wait is flat (1× its earlier level)"]
    assert pool.score < starvation.score


def test_blocking_file_io_under_a_worker_counts_too(playbooks: PlaybookSet) -> None:
    signals = Signals(
        numbers={"http.p99_change": 4.0, "pool.wait_change": 1.1, "tokio.busy_ratio": 0.95},
        frames=[FrameShare(function="std::fs::read::inner", flat=0.2, cum=0.25,
                           under_worker=True)],
    )
    diagnosis = rank(playbooks, signals, "HighLatency", {})
    assert order(diagnosis)[0] == "tokio-starvation"


def test_the_reverse_evidence_ranks_pool_exhaustion_first(playbooks: PlaybookSet) -> None:
    signals = Signals(numbers={"http.p99_change": 6.0, "pool.wait_change": 8.0,
                               "tokio.busy_ratio": 0.3})
    diagnosis = rank(playbooks, signals, "HighLatency", {})
    assert order(diagnosis)[0] == "p99-latency"
    assert position(diagnosis, "p99-latency") < position(diagnosis, "tokio-starvation")
    assert candidate(diagnosis, "tokio-starvation").contradicting[0] == (
        "workers mostly idle (30% busy): they are not starved")
    assert diagnosis.leader is not None and diagnosis.leader.cause == "pool-exhaustion"
    assert "pool wait 8× its earlier level" in diagnosis.leader.supporting


def test_memory_evidence_beats_a_latency_alert_name(playbooks: PlaybookSet) -> None:
    signals = Signals(
        numbers={"http.p99_change": 2.5, "rss.growth_ratio": 2.0,
                 "rss.slope_bytes_per_s": 64 * 1024.0, "memory.time_to_oom_s": 3 * 3600.0,
                 "heap.growth_bytes": 12.0 * MiB, "tokio.busy_ratio": 0.4},
        frames=[FrameShare(function="hashbrown::raw::RawTable<T,A>::reserve_rehash",
                           flat=0.55, cum=0.6)],
    )
    diagnosis = rank(playbooks, signals, "HighLatency", {})
    assert order(diagnosis)[0] == "memory-growth"
    memory = candidate(diagnosis, "memory-growth")
    assert "the alert HighLatency matches this pattern" not in memory.supporting
    assert memory.supporting == [
        "RSS grew 2× over the window", "RSS grows at 64 KiB/s", "OOM in 3 h at this rate",
        "heap grew 12 MiB between two snapshots",
        "a map keeps growing under hashbrown::raw::RawTable<T,A>::reserve_rehash "
        "(60% of heap growth)",
    ]
    assert memory.cause == "unbounded-cache"


def test_before_any_evidence_the_alert_seeds_the_ranking(playbooks: PlaybookSet) -> None:
    diagnosis = rank(playbooks, Signals(), "MemoryGrowth", {"alertname": "MemoryGrowth"})
    assert order(diagnosis)[:2] == ["memory-growth", "generic"]
    assert candidate(diagnosis, "memory-growth").score == 1.0


def test_generic_leads_when_its_evidence_outweighs_the_specific_patterns(
        playbooks: PlaybookSet) -> None:
    nothing = rank(playbooks, Signals(), "Unknown", {})
    assert order(nothing)[0] == "generic"
    assert sorted(order(nothing)) == sorted(p.id for p in playbooks.all)
    errors = Signals(numbers={"http.error_ratio": 0.3, "deploy.changed": 1.0,
                              "process.restarts": 2.0}, log_patterns={"panic": 12})
    after_deploy = rank(playbooks, errors, "HighErrorRate", {})
    assert order(after_deploy)[0] == "generic"
    assert candidate(after_deploy, "generic").cause == "bad-deploy"
    assert candidate(after_deploy, "generic").supporting == [
        "30% of requests fail", "2 restarts in the window", "12 panics in the logs",
        "a deploy or restart happened in the window", "2 restarts after it"]
    # Weak evidence for a specific pattern does not outrank strong evidence for generic...
    weak = Signals(numbers={**errors.numbers, "cpu.change": 2.2},
                   log_patterns=errors.log_patterns)
    diagnosis = rank(playbooks, weak, "HighErrorRate", {})
    assert order(diagnosis)[:2] == ["generic", "cpu-spike"]
    assert candidate(diagnosis, "generic").score > candidate(diagnosis, "cpu-spike").score
    # ...and on equal scores the specific pattern goes first.
    alone = rank(playbooks, Signals(numbers={"cpu.change": 1.3}), "Unknown", {})
    tied = [c for c in alone.candidates if c.score == candidate(alone, "generic").score]
    assert [c.playbook for c in tied][-1] == "generic"


SCENARIOS: dict[str, tuple[str, Signals]] = {
    "memory-growth": ("MemoryGrowth", Signals(
        numbers={"rss.growth_ratio": 2.0, "rss.slope_bytes_per_s": 60 * 1024.0,
                 "memory.time_to_oom_s": 3 * 3600.0, "heap.growth_bytes": 8.0 * MiB,
                 "tokio.live_tasks_slope_per_s": 0.0, "tokio.busy_ratio": 0.3},
        frames=[FrameShare(function="alloc::sync::Arc<T>::new", flat=0.5, cum=0.5)])),
    "tokio-starvation": ("HighLatency", Signals(
        numbers={"http.p99_change": 6.0, "tokio.busy_ratio": 0.97,
                 "tokio.mean_poll_seconds": 0.025, "tokio.global_queue_depth": 400.0,
                 "pool.wait_change": 1.0, "http.request_rate_change": 0.95},
        frames=[FrameShare(function="std::thread::sleep", flat=0.3, cum=0.35,
                           under_worker=True)])),
    "p99-latency": ("HighLatency", Signals(
        numbers={"http.p99_change": 8.0, "pool.wait_change": 8.0, "pool.utilisation": 1.0,
                 "pool.wait_seconds": 2.5, "tokio.busy_ratio": 0.3},
        log_patterns={"pool_timeout": 40}, span_categories={"database": 0.7})),
    "cpu-spike": ("HighCPU", Signals(
        numbers={"cpu.change": 3.5, "http.p99_change": 2.0, "tokio.busy_ratio": 0.95},
        frames=[FrameShare(function="regex::regex::string::Regex::new", flat=0.01, cum=0.35,
                           under_worker=True),
                FrameShare(function="__rust_alloc", flat=0.1, cum=0.1, under_worker=True),
                FrameShare(function="malloc", flat=0.08, cum=0.08),
                FrameShare(function="core::fmt::write", flat=0.05, cum=0.2)])),
    "async-deadlock": ("HighLatency", Signals(
        numbers={"http.request_rate_change": 0.1, "http.p99_change": 20.0, "cpu.change": 0.2,
                 "tokio.busy_ratio": 1.0, "tokio.mean_poll_seconds": 2.0},
        span_categories={"lock_wait": 0.8}, log_patterns={"deadlock_watchdog": 3})),
    "task-leak": ("MemoryGrowth", Signals(
        numbers={"tokio.live_tasks": 50000.0, "tokio.live_tasks_slope_per_s": 5.0,
                 "rss.growth_ratio": 1.5, "rss.slope_bytes_per_s": 20 * 1024.0,
                 "memory.time_to_oom_s": 10 * 3600.0, "heap.growth_bytes": 4.0 * MiB},
        frames=[FrameShare(function="tokio::runtime::task::core::Cell<T,S>::new", flat=0.7,
                           cum=0.7)])),
    "serialization": ("HighLatency", Signals(
        numbers={"http.p99_change": 3.0, "pool.wait_change": 1.0, "tokio.busy_ratio": 0.6},
        span_categories={"serialization": 0.55},
        frames=[FrameShare(function="serde_json::ser::to_writer", flat=0.05, cum=0.3)])),
}
EXPECTED = {
    "memory-growth": "memory-growth/arc-cycle",
    "tokio-starvation": "tokio-starvation/blocking-call",
    "p99-latency": "p99-latency/pool-exhaustion",
    "cpu-spike": "cpu-spike/regex-per-request",
    "async-deadlock": "async-deadlock/mutex-across-await",
    "task-leak": "task-leak",
    "serialization": "p99-latency/serialization",
}


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_each_pattern_leads_on_its_own_evidence(playbooks: PlaybookSet, scenario: str) -> None:
    alert, signals = SCENARIOS[scenario]
    diagnosis = rank(playbooks, signals, alert, {"alertname": alert})
    leader = diagnosis.candidates[0]
    assert leader.id == EXPECTED[scenario], diagnosis.candidates[:3]
    runner_up = next(c for c in diagnosis.candidates if c.playbook != leader.playbook)
    assert leader.score >= runner_up.score + 2, diagnosis.candidates
    assert diagnosis.verdict == "leading", diagnosis.reasons


def test_ranking_is_deterministic(playbooks: PlaybookSet) -> None:
    alert, signals = SCENARIOS["task-leak"]
    first = rank(playbooks, signals, alert, {})
    again = rank(playbooks, signals.model_copy(), alert, {})
    assert first.candidates == again.candidates
    scores = [(c.playbook, c.score) for c in first.candidates]
    # 1 (alert) + weights scaled by strength: tasks growing 10x the threshold count double.
    assert scores[0] == ("task-leak", 13.983)
    assert candidate(first, "memory-growth").contradicting == [
        "alive Tokio tasks grow too (5/s): tasks that never finish explain the growth better "
        "(task-leak)"]


def test_equal_scores_order_by_id() -> None:
    def pb(pid: str, **extra: Any) -> Playbook:
        return Playbook.model_validate({"id": pid, "title": pid, "summary": "s",
                                        "matches": {"alerts": ["A"]}, **extra})

    playbooks = PlaybookSet([pb("zeta"), pb("alpha"), pb("fallback", generic=True,
                                                      diagnosis={"prior": 0.2})])
    diagnosis = rank(playbooks, Signals(), "A", {})
    assert order(diagnosis) == ["alpha", "zeta", "fallback"]


def test_heap_diff_allocator_frames_are_not_cpu_evidence(playbooks: PlaybookSet) -> None:
    # As the profile step reports a heap diff: the allocator is the leaf of every stack.
    signals = Signals(
        numbers={"heap.growth_bytes": 40.0 * MiB, "rss.growth_ratio": 1.6, "cpu.change": 1.0},
        frames=[FrameShare(function="_rjem_je_malloc_default", flat=0.92, cum=0.92),
                FrameShare(function="alloc::sync::Arc<T>::new", flat=0.0, cum=0.8)],
    )
    diagnosis = rank(playbooks, signals, "MemoryGrowth", {})
    assert order(diagnosis)[0] == "memory-growth"
    cpu = candidate(diagnosis, "cpu-spike")
    assert cpu.supporting == [] and cpu.score < 0


def test_one_fact_is_never_listed_both_for_and_against(playbooks: PlaybookSet) -> None:
    """A slow slope on a large RSS: "grows at 78.5 KiB/s" and "is flat (1×)" both hold."""
    slope = 78.5 * 1024
    signals = Signals(numbers={"rss.slope_bytes_per_s": slope, "rss.growth_ratio": 1.02})
    for candidate_ in rank(playbooks, signals, "MemoryGrowth", {}).candidates:
        grows = [r for r in candidate_.supporting if r.startswith("RSS grows")]
        flat = [r for r in candidate_.contradicting if r.startswith("RSS is flat")]
        assert not (grows and flat), candidate_
    # With the time to OOM too, growth outweighs flatness: only the growth reasons show.
    signals = Signals(numbers={**signals.numbers, "memory.time_to_oom_s": 3 * 3600.0})
    memory = candidate(rank(playbooks, signals, "MemoryGrowth", {}), "memory-growth")
    assert "RSS grows at 78.5 KiB/s" in memory.supporting
    assert not [r for r in memory.contradicting if r.startswith("RSS is flat")]


@pytest.mark.parametrize(("ratio", "slope_kib", "oom_h"), [
    (1.01, 10, None), (1.04, 200, 30), (1.0, 78.5, 3), (1.3, 50, 2), (1.02, 5, None)])
def test_rss_reasons_come_out_on_one_side(playbooks: PlaybookSet, ratio: float,
                                          slope_kib: float, oom_h: float | None) -> None:
    numbers = {"rss.growth_ratio": ratio, "rss.slope_bytes_per_s": slope_kib * 1024}
    if oom_h is not None:
        numbers["memory.time_to_oom_s"] = oom_h * 3600
    memory = candidate(rank(playbooks, Signals(numbers=numbers), None, {}), "memory-growth")
    rss_for = [r for r in memory.supporting if r.startswith(("RSS", "OOM"))]
    rss_against = [r for r in memory.contradicting if r.startswith("RSS")]
    assert not (rss_for and rss_against), (memory.supporting, memory.contradicting)
