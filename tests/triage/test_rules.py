"""Rules: conditions on signals become findings tagged by step, with hints and evidence."""

from __future__ import annotations

from typing import Any

import pytest

from bot.models import FrameShare, Severity, Signals, StepName
from bot.triage.playbook import Playbook
from bot.triage.rules import SIGNAL_STEPS, condition_step, evaluate, format_value
from bot.triage.signal_names import NUMBERS

MiB = 1024**2


def playbook(**fields: Any) -> Playbook:
    return Playbook.model_validate({"id": "demo", "title": "Demo", "summary": "s", **fields})


RULES = playbook(
    steps={
        "metrics": {"queries": [{"name": "q", "promql": "{rss}{selector}",
                                 "signal": "x.rss_6h", "unit": "bytes"}]},
        "profile": {"kind": "cpu", "frames": [
            {"key": "sleep", "pattern": "std::thread::sleep", "under_worker": True,
             "min_share": 0.05, "hint": "Use tokio::time::sleep."},
            {"key": "alloc", "pattern": "^malloc$|__rust_alloc", "share": "flat",
             "min_share": 0.15, "hint": "Allocation churn."},
        ]},
    },
    findings=[
        {"key": "rss", "when": {"signal": "rss.slope_bytes_per_s", "op": ">=", "value": "1MiB/s"},
         "severity": "critical", "title": "RSS grows {value}",
         "summary": "now {signal:rss.bytes}, in 6 h {signal:x.rss_6h}, OOM in "
                    "{signal:memory.time_to_oom_s}; {signal:tokio.workers} workers",
         "hints": ["take a heap diff"]},
        {"key": "pool-logs", "when": {"log": "pool_timeout", "min_count": 3},
         "title": "{value} pool timeouts"},
        {"key": "slow-db", "when": {"span": "database", "min_share": 0.5},
         "title": "database {value}"},
        {"key": "both", "when": {"all": [
            {"signal": "tokio.busy_ratio", "op": ">", "value": "90%"},
            {"frame": "std::fs::", "under_worker": True, "min_share": 0.1}]},
         "title": "{frame} blocks busy workers ({value})"},
        {"key": "either", "when": {"any": [
            {"log": "pool_timeout"}, {"signal": "pool.wait_change", "op": ">=", "value": 3}]},
         "title": "pool trouble: {value}"},
    ],
)


def signals(**fields: Any) -> Signals:
    return Signals.model_validate(fields)


def test_every_number_signal_belongs_to_a_step() -> None:
    assert {name.split(".")[0] for name in NUMBERS} <= set(SIGNAL_STEPS)
    assert SIGNAL_STEPS["logs"] is StepName.LOGS and SIGNAL_STEPS["heap"] is StepName.PROFILE


def test_findings_render_values_with_human_units() -> None:
    found = evaluate(RULES, signals(numbers={
        "rss.slope_bytes_per_s": 2 * MiB, "rss.bytes": 1536 * MiB, "x.rss_6h": 40 * 1024 * MiB,
        "memory.time_to_oom_s": 5400,
    }), None)
    [rss] = found
    assert rss.key == "demo.rss" and rss.step is StepName.METRICS
    assert rss.severity is Severity.CRITICAL
    assert rss.title == "RSS grows 2 MiB/s"
    assert rss.summary == "now 1.5 GiB, in 6 h 40 GiB, OOM in 90 min; n/a workers"
    assert rss.hints == ["take a heap diff"]
    [evidence] = rss.evidence
    assert (evidence.label, evidence.value, evidence.number, evidence.unit) == (
        "rss.slope_bytes_per_s", "2 MiB/s", 2 * MiB, "bytes/s")


def test_conditions_on_missing_signals_do_not_hold() -> None:
    assert evaluate(RULES, Signals(), None) == []


def test_logs_and_spans_are_tagged_with_their_steps() -> None:
    state = signals(log_patterns={"pool_timeout": 5}, span_categories={"database": 0.62})
    by_key = {f.key: f for f in evaluate(RULES, state, None)}
    assert by_key["demo.pool-logs"].title == "5 pool timeouts"
    assert by_key["demo.pool-logs"].step is StepName.LOGS
    assert by_key["demo.slow-db"].title == "database 62%"
    assert by_key["demo.slow-db"].step is StepName.TRACES
    assert by_key["demo.either"].title == "pool trouble: 5"
    assert [f.key for f in evaluate(RULES, state, StepName.LOGS)] == [
        "demo.pool-logs", "demo.either"]
    assert [f.key for f in evaluate(RULES, state, StepName.TRACES)] == ["demo.slow-db"]
    assert evaluate(RULES, state, StepName.METRICS) == []


def test_all_needs_every_condition_and_takes_the_latest_step() -> None:
    blocked = FrameShare(function="std::fs::read::inner", flat=0.2, cum=0.3, under_worker=True)
    off_worker = FrameShare(function="std::fs::read::inner", flat=0.2, cum=0.3)
    busy = {"tokio.busy_ratio": 0.97}
    assert condition_step(RULES.findings[3].when) is StepName.PROFILE
    [both] = [f for f in evaluate(RULES, signals(numbers=busy, frames=[blocked]), None)
              if f.key == "demo.both"]
    assert both.step is StepName.PROFILE
    assert both.title == "std::fs::read::inner blocks busy workers (97%)"
    assert [e.label for e in both.evidence] == [
        "tokio.busy_ratio", "std::fs::read::inner (on a Tokio worker)"]
    assert not [f for f in evaluate(RULES, signals(numbers=busy, frames=[off_worker]), None)
                if f.key == "demo.both"]
    assert not [f for f in evaluate(RULES, signals(frames=[blocked]), None)
                if f.key == "demo.both"]


def test_frame_hints_become_profile_findings_with_frame_and_share() -> None:
    frames = [
        FrameShare(function="std::thread::sleep", flat=0.01, cum=0.34, under_worker=True),
        FrameShare(function="malloc", flat=0.09, cum=0.09),
        FrameShare(function="__rust_alloc", flat=0.08, cum=0.1),
        FrameShare(function="main", flat=0.0, cum=1.0),
    ]
    found = evaluate(RULES, signals(frames=frames), StepName.PROFILE)
    assert [f.key for f in found] == ["demo.frame.sleep", "demo.frame.alloc"]
    sleep, alloc = found
    assert sleep.title == "std::thread::sleep on a Tokio worker: 34% of CPU time"
    assert sleep.hints == ["Use tokio::time::sleep."] and sleep.summary == sleep.hints[0]
    assert [(e.label, e.value, e.number) for e in sleep.evidence] == [
        ("std::thread::sleep (on a Tokio worker)", "34.0% cum", 0.34)]
    # Flat shares add up across allocator symbols (0.09 + 0.08 >= 0.15).
    assert alloc.title == "malloc: 17% of CPU time"
    assert [e.label for e in alloc.evidence] == ["malloc", "__rust_alloc"]
    assert evaluate(RULES, signals(frames=frames), StepName.METRICS) == []


def test_frame_hints_respect_under_worker() -> None:
    frames = [FrameShare(function="std::thread::sleep", flat=0.3, cum=0.3, under_worker=False)]
    assert evaluate(RULES, signals(frames=frames), None) == []


def test_heap_diff_frame_findings_speak_of_growth() -> None:
    heap = playbook(steps={"profile": {"kind": "heap_diff", "frames": [
        {"key": "map", "pattern": "reserve_rehash", "min_share": 0.2, "hint": "bound it"}]}})
    frames = [FrameShare(function="hashbrown::raw::RawTable<T>::reserve_rehash", flat=0.5,
                         cum=0.61)]
    [finding] = evaluate(heap, signals(frames=frames), None)
    assert finding.title == "hashbrown::raw::RawTable<T>::reserve_rehash: 61% of heap growth"


def test_long_frame_names_are_shortened_in_titles_only() -> None:
    name = "std::thread::sleep::" + "x" * 200
    frames = [FrameShare(function=name, flat=0.3, cum=0.3, under_worker=True)]
    [finding] = evaluate(RULES, signals(frames=frames), None)
    assert len(finding.title) < 140 and "…" in finding.title
    assert finding.evidence[0].label.startswith(name)


@pytest.mark.parametrize(("value", "unit", "name", "text"), [
    (1536 * MiB, "bytes", "", "1.5 GiB"),
    (512.0, "bytes", "", "512 B"),
    (10240.0, "bytes/s", "", "10 KiB/s"),
    (0.00005, "s", "", "50 µs"),
    (0.25, "s", "", "250 ms"),
    (42.0, "s", "", "42 s"),
    (1800.0, "s", "", "30 min"),
    (3 * 3600.0, "s", "", "3 h"),
    (0.97, "ratio", "tokio.busy_ratio", "97%"),
    (8.0, "ratio", "pool.wait_change", "8×"),
    (2.5, "ratio", "rss.growth_ratio", "2.5×"),
    (1.0, "bool", "", "yes"),
    (12.5, "count/s", "", "12.5/s"),
    (3.25, "cores", "", "3.25 cores"),
    (400.0, "count", "", "400"),
    (50000.0, "count", "", "50,000"),
    (2.5, None, "", "2.5"),
    (3.5, "ratio", "cpu.change", "3.5×"),
    (0.1, "ratio", "http.request_rate_change", "0.1×"),
    (float("nan"), "s", "", "n/a"),
])
def test_format_value(value: float, unit: str, name: str, text: str) -> None:
    assert format_value(value, unit, name) == text


def test_frame_patterns_read_only_their_kind_of_profile() -> None:
    heap = playbook(steps={"profile": {"kind": "heap_diff", "frames": [
        {"key": "arc", "pattern": "Arc<T>::new", "min_share": 0.2, "hint": "cycles?"}]}})
    allocator = [FrameShare(function="malloc", flat=0.9, cum=0.9),
                 FrameShare(function="alloc::sync::Arc<T>::new", flat=0.0, cum=0.8)]
    heap_diff = signals(numbers={"heap.growth_bytes": 8.0 * MiB}, frames=allocator)
    cpu_profile = signals(numbers={"profile.samples": 1000.0}, frames=allocator)
    # The allocator at the leaf of every heap stack is not CPU spent allocating.
    assert [f.key for f in evaluate(RULES, heap_diff, None)] == []
    assert [f.key for f in evaluate(RULES, cpu_profile, None)] == ["demo.frame.alloc"]
    assert [f.key for f in evaluate(heap, heap_diff, None)] == ["demo.frame.arc"]
    assert evaluate(heap, cpu_profile, None) == []
    both = signals(numbers={"heap.growth_bytes": 1.0, "profile.samples": 1.0}, frames=allocator)
    assert [f.key for f in evaluate(heap, both, None)] == ["demo.frame.arc"]
