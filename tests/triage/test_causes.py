"""The five failures of issue 14, each as the ranking now answers it.

Umbrella playbooks are families of causes; evidence counts by its strength and against a normal
profile; a blip gets "inconclusive"; findings name the service's own frame.
"""

from __future__ import annotations

import pytest

from bot.models import (
    Diagnosis,
    FrameShare,
    Incident,
    Section,
    Severity,
    Signals,
    StepName,
    StepResult,
    StepStatus,
)
from bot.triage.diagnosis import rank
from bot.triage.evidence import TYPICAL_CPU_FRAMES, grade
from bot.triage.playbook import FrameCondition
from bot.triage.playbook_loader import PlaybookSet, load_playbooks
from bot.triage.rca import draft
from bot.triage.report_text import diagnosis_report
from bot.triage.reproduce import reproduction_finding
from bot.triage.rules import Reading, evaluate
from tests.conftest import ROOT

MiB = 1024**2


@pytest.fixture(scope="module")
def playbooks() -> PlaybookSet:
    return load_playbooks(ROOT / "bot" / "playbooks")


def _ids(diagnosis: Diagnosis) -> list[str]:
    return [c.id for c in diagnosis.candidates]


def test_a_dominant_debug_frame_leads_over_a_small_allocator_frame(
        playbooks: PlaybookSet) -> None:
    signals = Signals(numbers={"cpu.change": 4.0, "http.request_rate_change": 1.0},
                      frames=[FrameShare(function="__rust_alloc", flat=0.2, cum=0.2),
                              FrameShare(function="<search::Doc as core::fmt::Debug>::fmt",
                                         flat=0.1, cum=0.55)], frames_kind="cpu")
    diagnosis = rank(playbooks, signals, "HighCPU", {})
    assert _ids(diagnosis)[:2] == ["cpu-spike/debug-formatting", "cpu-spike/allocation-churn"]
    assert diagnosis.verdict == "leading"
    formatting, churn = diagnosis.candidates[:2]
    assert formatting.score > churn.score + 1
    assert "allocator frames take 20% of CPU (normally about 8%)" in churn.supporting


def test_pool_timeouts_beat_a_serde_json_share_that_is_normal_for_a_json_api(
        playbooks: PlaybookSet) -> None:
    signals = Signals(numbers={"http.p99_change": 8.0},
                      frames=[FrameShare(function="serde_json::ser::to_writer", flat=0.05,
                                         cum=0.2)],
                      frames_kind="cpu", log_patterns={"pool_timeout": 400})
    diagnosis = rank(playbooks, signals, "HighLatencyP99", {})
    assert diagnosis.leader is not None and diagnosis.leader.id == "p99-latency/pool-exhaustion"
    serialization = next(c for c in diagnosis.candidates if c.cause == "serialization")
    assert not any("serde_json" in reason for reason in serialization.supporting)


def test_a_frame_at_its_usual_share_is_no_evidence_but_one_far_above_it_is_strong() -> None:
    condition = FrameCondition.model_validate({"frame": "serde_json::", "min_share": 0.15})
    reading = Reading({})

    def at(share: float) -> float:
        frames = [FrameShare(function="serde_json::ser::to_writer", flat=0.0, cum=share)]
        return grade(condition, Signals(frames=frames, frames_kind="cpu"), reading).factor

    assert at(0.2) == 0.0            # 12% is normal: 8 points above it is not 15
    assert 1.0 <= at(0.3) < at(0.7)  # the further above normal, the stronger
    own_baseline = [FrameShare(function="serde_json::ser::to_writer", flat=0.0, cum=0.45)]
    frames = [FrameShare(function="serde_json::ser::to_writer", flat=0.0, cum=0.5)]
    assert grade(condition, Signals(frames=frames, frames_kind="cpu"), reading,
                 own_baseline).factor == 0.0
    assert TYPICAL_CPU_FRAMES  # the rules of thumb used without a service baseline


def test_a_healthy_service_whose_latency_alert_fired_on_a_blip_is_inconclusive(
        playbooks: PlaybookSet) -> None:
    signals = Signals(numbers={"http.p99_change": 1.2, "cpu.change": 1.0,
                               "http.error_ratio": 0.001, "pool.wait_change": 1.0,
                               "tokio.busy_ratio": 0.2},
                      frames=list(TYPICAL_CPU_FRAMES), frames_kind="cpu")
    diagnosis = rank(playbooks, signals, "HighLatencyP99", {"alertname": "HighLatencyP99"})
    assert diagnosis.verdict == "inconclusive"
    assert "no metric moved away from its earlier level near the alert" in diagnosis.reasons
    assert "P99 latency against its earlier level: 1.2×" in diagnosis.checked_normal
    assert any("logs step" in check for check in diagnosis.next_checks)


def test_no_evidence_yet_is_pending_and_a_close_rival_family_is_inconclusive(
        playbooks: PlaybookSet) -> None:
    assert rank(playbooks, Signals(), "HighLatencyP99", {}).verdict == "pending"
    both = Signals(numbers={"http.p99_change": 5.0, "pool.wait_change": 4.0,
                            "tokio.busy_ratio": 0.93})
    diagnosis = rank(playbooks, both, "HighLatencyP99", {})
    assert diagnosis.verdict == "inconclusive"
    assert any("too close to tell apart" in reason for reason in diagnosis.reasons)


CACHE_GROWTH = [
    FrameShare(function="_rjem_je_malloc_default", flat=0.9, cum=0.9),
    FrameShare(function="alloc::sync::Arc<T>::new", flat=0.0, cum=0.87,
               owner="checkout::cache::SessionCache::insert"),
]


def test_growth_under_a_cache_insert_is_retention_not_an_arc_cycle(
        playbooks: PlaybookSet) -> None:
    signals = Signals(numbers={"rss.growth_ratio": 1.8, "heap.growth_bytes": 40.0 * MiB},
                      frames=CACHE_GROWTH, frames_kind="heap_diff")
    diagnosis = rank(playbooks, signals, "MemoryGrowth", {})
    assert _ids(diagnosis)[0] == "memory-growth/unbounded-cache"
    arc = next(c for c in diagnosis.candidates if c.cause == "arc-cycle")
    assert any("SessionCache::insert" in reason for reason in arc.contradicting)
    assert not any("Arc" in reason for reason in arc.supporting)  # never both for and against
    memory = playbooks.get("memory-growth")
    assert memory is not None
    findings = evaluate(memory, signals, StepName.PROFILE)
    keys = [f.key for f in findings]
    assert "memory-growth.frame.cache-insert" in keys
    assert "memory-growth.frame.arc-new" not in keys
    cache = next(f for f in findings if f.key == "memory-growth.frame.cache-insert")
    assert cache.title == ("checkout::cache::SessionCache::insert (via alloc::sync::Arc<T>::new): "
                           "87% of heap growth")


def _result(step: StepName, signals: Signals) -> StepResult:
    return StepResult(step=step, status=StepStatus.DONE, signals=signals)


def test_the_rca_root_cause_leads_with_the_leading_cause_and_a_reproduction_plan(
        playbooks: PlaybookSet) -> None:
    signals = Signals(numbers={"cpu.change": 4.0, "http.request_rate": 120.0},
                      frames=[FrameShare(function="__rust_alloc", flat=0.2, cum=0.2),
                              FrameShare(function="core::fmt::write", flat=0.1, cum=0.55)],
                      frames_kind="cpu")
    cpu = playbooks.get("cpu-spike")
    assert cpu is not None
    profile = StepResult(step=StepName.PROFILE, status=StepStatus.DONE, signals=signals,
                         findings=evaluate(cpu, signals, StepName.PROFILE))
    incident = Incident(id="INC-1", number=1, service="search", summary="CPU",
                        severity=Severity.WARNING, channel="C1")
    diagnosis = rank(playbooks, signals, "HighCPU", {})
    rca = draft(incident, {StepName.PROFILE: profile}, diagnosis,
                {p.id: p for p in playbooks.all}, [])
    root = rca.text(Section.ROOT_CAUSE).splitlines()
    assert root[0].startswith("• Root cause: Debug/format! in a hot path.")
    claims = [line for line in root if "of CPU time" in line]
    assert claims[0].startswith("• core::fmt::write")
    assert any(line.startswith("• Reproduce locally: Criterion bench") for line in root)
    assert rca.text(Section.FIX).startswith("• Build keys and log fields without")


def test_an_inconclusive_rca_says_so(playbooks: PlaybookSet) -> None:
    signals = Signals(numbers={"http.p99_change": 1.1, "cpu.change": 1.0})
    incident = Incident(id="INC-2", number=2, service="orders", summary="P99",
                        severity=Severity.WARNING, channel="C1")
    diagnosis = rank(playbooks, signals, "HighLatencyP99", {})
    rca = draft(incident, {StepName.METRICS: _result(StepName.METRICS, signals)}, diagnosis,
                {p.id: p for p in playbooks.all}, [])
    root = rca.text(Section.ROOT_CAUSE)
    assert root.startswith("• Inconclusive: no metric moved away")
    assert "Checked and normal: P99 latency against its earlier level: 1.1×" in root
    assert "Leading hypothesis so far:" in root and "Most likely" not in root


def test_the_thread_gets_a_reproduction_plan_only_for_a_conclusive_leader(
        playbooks: PlaybookSet) -> None:
    signals = Signals(numbers={"rss.growth_ratio": 1.8, "heap.growth_bytes": 40.0 * MiB,
                               "http.request_rate": 95.0},
                      frames=CACHE_GROWTH, frames_kind="heap_diff")
    diagnosis = rank(playbooks, signals, "MemoryGrowth", {})
    plan = reproduction_finding(diagnosis, playbooks, signals, ["POST /api/cart 2.1 s"])
    assert plan is not None and plan.key == "memory-growth/unbounded-cache.reproduce"
    assert plan.hints[0].startswith("Heap-diff soak test")
    assert "at 95/s for ten minutes" in plan.hints[0]
    assert plan.summary.splitlines() == [
        "Start from the service's own frame: checkout::cache::SessionCache::insert",
        "Request shape (traces step): POST /api/cart 2.1 s"]
    blip = rank(playbooks, Signals(numbers={"http.p99_change": 1.1}), "HighLatencyP99", {})
    assert reproduction_finding(blip, playbooks, Signals()) is None


def test_the_terminal_report_says_inconclusive_and_names_family_and_cause(
        playbooks: PlaybookSet) -> None:
    blip = rank(playbooks, Signals(numbers={"http.p99_change": 1.1}), "HighLatencyP99", {})
    text = diagnosis_report(blip)
    assert "INCONCLUSIVE: no metric moved away" in text
    assert "normal: P99 latency against its earlier level: 1.1×" in text
    assert "P99 latency spike (pool exhaustion, serialization or a slow dependency) › " in text
