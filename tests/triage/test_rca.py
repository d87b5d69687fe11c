"""RCA drafting, re-drafting around human edits, and Markdown export (pure)."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.models import (
    Candidate,
    Diagnosis,
    EventKind,
    Evidence,
    Finding,
    Incident,
    Section,
    Severity,
    StepName,
    StepResult,
    StepStatus,
    TimelineEvent,
    Window,
    fingerprint,
)
from bot.triage.playbook import Playbook
from bot.triage.rca import apply_edit, draft, redraft
from bot.triage.rca_markdown import to_markdown

T0 = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
WINDOW = Window(start=T0, end=datetime(2026, 11, 27, 11, 0, tzinfo=UTC))


def incident() -> Incident:
    return Incident(id="INC-7", number=7, service="checkout", summary="RSS climbing",
                    severity=Severity.WARNING, channel="C0CHECKOUT", created_at=T0)


def playbook() -> Playbook:
    return Playbook.model_validate({
        "id": "memory-growth", "title": "Memory growth", "summary": "Memory is retained.",
        "rca": {"root_causes": ["Arc cycle keeps sessions alive"],
                "fixes": ["Break the cycle with Weak"],
                "prevention": ["Alert on predict_linear time-to-OOM"],
                "contributing_factors": ["No memory limit alert"]}})


def results() -> dict[StepName, StepResult]:
    rss = Evidence(label="RSS slope", value="120 MiB/h", number=34952.5, unit="bytes/s",
                   source="prometheus", query='deriv(sum(process_resident_memory_bytes'
                   '{job="checkout"})[30m:1m])', window=WINDOW)
    oom = Evidence(label="Time to OOM", value="1.4 h", number=5040, unit="s",
                   source="prometheus", query="predict_linear(...)", window=WINDOW)
    metrics = StepResult(step=StepName.METRICS, status=StepStatus.DONE, window=WINDOW,
                         findings=[Finding(key="metrics.memory", step=StepName.METRICS,
                                           title="RSS 1.6 GiB, growing 120 MiB/h",
                                           severity=Severity.CRITICAL, evidence=[rss, oom])])
    frame = Evidence(label="alloc::sync::Arc<T>::new", value="61% of growth", number=0.61,
                     source="pprof")
    profile = StepResult(step=StepName.PROFILE, status=StepStatus.DONE, findings=[Finding(
        key="memory-growth.arc", step=StepName.PROFILE, title="Arc allocations grow",
        severity=Severity.WARNING, evidence=[frame],
        hints=["SessionCache::insert keeps an Arc to its parent: use Weak"])])
    return {StepName.METRICS: metrics, StepName.PROFILE: profile}


def diagnosis() -> Diagnosis:
    return Diagnosis(candidates=[Candidate(playbook="memory-growth", title="Memory growth",
                                           score=6.5, supporting=["RSS grows 120 MiB/h"])])


def timeline() -> list[TimelineEvent]:
    return [TimelineEvent(at=T0, kind=EventKind.DECLARED, actor="alertmanager",
                          text="RSS climbing"),
            TimelineEvent(at=T0, kind=EventKind.STEP_DONE, actor="U0ALICE", text="metrics")]


def test_draft_cites_evidence_and_names_the_cause() -> None:
    rca = draft(incident(), results(), diagnosis(), {"memory-growth": playbook()}, timeline())
    symptom = rca.text(Section.SYMPTOM)
    assert "RSS 1.6 GiB, growing 120 MiB/h [1][2]" in symptom
    assert "2026-11-27 10:00 to 11:00 UTC" in symptom
    root = rca.text(Section.ROOT_CAUSE)
    assert "Most likely: Memory growth" in root and "Arc cycle keeps sessions alive" in root
    assert "SessionCache::insert keeps an Arc" in root and "[3]" in root
    assert "Break the cycle with Weak" in rca.text(Section.FIX)
    assert "predict_linear" in rca.text(Section.PREVENTION)
    assert "declared (alertmanager): RSS climbing" in rca.text(Section.TIMELINE)
    assert [c.number for c in rca.citations] == [1, 2, 3]
    assert rca.citations[0].evidence.query is not None
    assert rca.citations[0].evidence.window == WINDOW


def test_draft_without_evidence_says_so() -> None:
    rca = draft(incident(), {}, None, {}, [])
    assert "has not run" in rca.text(Section.SYMPTOM)
    assert "Not established yet" in rca.text(Section.ROOT_CAUSE)


def _failed(step: StepName, error: str) -> StepResult:
    return StepResult(step=step, status=StepStatus.FAILED, error=error)


def test_a_failed_step_is_named_with_its_cause_not_as_not_run() -> None:
    failed = {StepName.METRICS: _failed(StepName.METRICS, "prometheus: cannot connect to "
                                        "prom:9090: Connection refused"),
              StepName.LOGS: _failed(StepName.LOGS, "loki: cannot resolve loki: Name or "
                                                    "service not known")}
    rca = draft(incident(), failed, diagnosis(), {"memory-growth": playbook()}, [])
    symptom = rca.text(Section.SYMPTOM)
    assert "Step 1 (metrics) failed: prometheus: cannot connect to prom:9090: Connection " \
           "refused. No measured symptom." in symptom
    assert "has not run" not in symptom
    # No step produced evidence: no pattern leads, whatever the stored ranking says.
    root = rca.text(Section.ROOT_CAUSE)
    assert root.splitlines() == [
        "• Not established: no step produced evidence.",
        "• Not checked: the metrics step failed (prometheus: cannot connect to prom:9090: "
        "Connection refused)",
        "• Not checked: the logs step failed (loki: cannot resolve loki: Name or service not "
        "known)"]
    assert rca.playbook is None and rca.text(Section.FIX) == ""


def test_with_some_evidence_the_failed_steps_are_listed_as_gaps() -> None:
    partial = {**results(), StepName.LOGS: _failed(StepName.LOGS, "loki: HTTP 503")}
    rca = draft(incident(), partial, diagnosis(), {"memory-growth": playbook()}, [])
    root = rca.text(Section.ROOT_CAUSE)
    assert "Most likely: Memory growth" in root
    assert "Not checked: the logs step failed (loki: HTTP 503)" in root


def test_human_sections_survive_a_redraft_and_untouched_ones_are_refilled() -> None:
    first = draft(incident(), {}, None, {"memory-growth": playbook()}, [])
    prefilled = {s: fingerprint(first.text(s)) for s in Section}
    submitted = {s: first.text(s) for s in Section}
    submitted[Section.ROOT_CAUSE] = "SessionCache never evicts: we wrote this"
    edited = apply_edit(first, submitted, prefilled, "U0BOB")
    assert edited.sections[Section.ROOT_CAUSE].origin == "human"
    assert edited.sections[Section.SYMPTOM].origin == "draft"
    later = draft(incident(), results(), diagnosis(), {"memory-growth": playbook()}, [])
    merged = redraft(edited.model_copy(update={"version": 3}), later)
    assert merged.text(Section.ROOT_CAUSE) == "SessionCache never evicts: we wrote this"
    assert "RSS 1.6 GiB" in merged.text(Section.SYMPTOM)
    assert merged.version == 3


def test_markdown_export() -> None:
    rca = draft(incident(), results(), diagnosis(), {"memory-growth": playbook()}, timeline())
    text = to_markdown(incident(), rca)
    assert text.startswith("# RCA INC-7: RSS climbing")
    for heading in ("## Observed symptom", "## Root cause", "## Prevention", "## Timeline",
                    "## Evidence cited"):
        assert heading in text
    assert "1. metrics step, RSS 1.6 GiB, growing 120 MiB/h: **RSS slope = 120 MiB/h**" in text
    assert 'query: `deriv(sum(process_resident_memory_bytes{job="checkout"})[30m:1m])`' in text
