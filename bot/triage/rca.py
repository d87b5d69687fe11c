"""Root-cause analysis drafts, drawn from the walk's evidence and the leading playbook.

The draft follows the structure responders are taught: observed symptom, contributing
factors, root cause, fix, prevention, timeline. Every claim drawn from evidence cites it by
number; a citation freezes the step, query, time range and values, so the draft stands after
retention has dropped the data. Sections a human wrote are never replaced by a re-draft.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence

from bot.models import (
    Candidate,
    Citation,
    Diagnosis,
    EventKind,
    Evidence,
    Finding,
    Incident,
    Rca,
    Section,
    SectionText,
    Severity,
    Signals,
    StepName,
    StepResult,
    StepStatus,
    TimelineEvent,
    clip_section,
    fingerprint,
    utcnow,
)
from bot.triage.playbook import Cause, Playbook
from bot.triage.reproduce import plan_lines

_STEP_TITLES = {StepName.METRICS: "metrics", StepName.LOGS: "logs",
                StepName.TRACES: "traces", StepName.PROFILE: "profile"}
_ORDER = {step: index for index, step in enumerate(_STEP_TITLES)}


class _Citer:
    """Numbers evidence as it is cited, the same evidence always getting the same number."""

    def __init__(self) -> None:
        self.citations: list[Citation] = []
        self._seen: dict[str, int] = {}

    def cite(self, step: StepName, finding: Finding, evidence: Evidence) -> str:
        key = hashlib.sha1(f"{step}|{finding.key}|{evidence.model_dump_json()}".encode())
        digest = key.hexdigest()
        if digest not in self._seen:
            self._seen[digest] = len(self.citations) + 1
            self.citations.append(Citation(number=self._seen[digest], step=step,
                                           finding=finding.title, evidence=evidence))
        return f"[{self._seen[digest]}]"

    def claim(self, step: StepName, finding: Finding, limit: int = 3) -> str:
        """The finding's title with citations of its first pieces of evidence."""
        marks = "".join(self.cite(step, finding, e) for e in finding.evidence[:limit])
        return f"{finding.title} {marks}".strip()


def _notable(result: StepResult) -> list[Finding]:
    ranked = [f for f in result.findings if f.severity in (Severity.CRITICAL, Severity.ERROR,
                                                           Severity.WARNING)]
    return ranked or [f for f in result.findings if f.evidence][:2]


def _bullets(lines: Sequence[str]) -> str:
    return "\n".join(f"• {line}" for line in lines if line)


def _symptom(incident: Incident, results: Mapping[StepName, StepResult], citer: _Citer) -> str:
    metrics = results.get(StepName.METRICS)
    lines = [f"{incident.service or 'The service'}: {incident.summary}"]
    if metrics is not None and metrics.status is StepStatus.FAILED:
        lines.append(f"Step 1 (metrics) failed: {metrics.error or 'no reason given'}. "
                     "No measured symptom.")
    elif metrics is not None and metrics.window is not None:
        lines.append(f"Window: {metrics.window.start:%Y-%m-%d %H:%M} to "
                     f"{metrics.window.end:%H:%M} UTC")
        lines += [citer.claim(StepName.METRICS, f) for f in _notable(metrics)[:5]]
    else:
        lines.append("Step 1 (metrics) has not run: no measured symptom yet.")
    return _bullets(lines)


def _failures(results: Mapping[StepName, StepResult]) -> list[str]:
    """One line per failed step with its cause: evidence the draft does not have."""
    return [f"Not checked: the {_STEP_TITLES[step]} step failed ({result.error or 'no reason'})"
            for step, result in sorted(results.items(), key=lambda item: _ORDER[item[0]])
            if result.status is StepStatus.FAILED]


def _reasons(candidate: Candidate | None) -> list[str]:
    return list(candidate.supporting[:5]) if candidate else []


def _contributing(playbook: Playbook | None, leader: Candidate | None,
                  results: Mapping[StepName, StepResult], citer: _Citer) -> str:
    lines = _reasons(leader)
    for step in (StepName.LOGS, StepName.TRACES):
        if step in results:
            lines += [citer.claim(step, f, 2) for f in _notable(results[step])[:2]]
    if playbook is not None:
        lines += playbook.rca.contributing_factors
    return _bullets(lines) or "Not established yet."


def _root_cause(playbook: Playbook | None, leader: Candidate | None,
                results: Mapping[StepName, StepResult], citer: _Citer,
                diagnosis: Diagnosis | None = None) -> str:
    failures = _failures(results)
    if not any(r.status is StepStatus.DONE for r in results.values()):
        if failures:
            return _bullets(["Not established: no step produced evidence.", *failures])
        return "Not established yet: run the walk's steps so the evidence can rank the patterns."
    if playbook is None or leader is None:
        return "Not established yet: run the walk's steps so the evidence can rank the patterns."
    cause = playbook.cause(leader.cause)
    if diagnosis is not None and diagnosis.inconclusive:
        lines = _inconclusive_lines(diagnosis, playbook, leader)
    else:
        lines = [f"Most likely: {playbook.title} (score {leader.score:.1f}). {playbook.summary}"]
        if cause is not None:
            lines.insert(0, f"Root cause: {cause.title}. {cause.root_cause}")
    lines += failures
    lines += _profile_claims(results, citer, cause.frames if cause is not None else [])
    lines += [f"Likely: {text}" for text in _family_causes(playbook, cause)]
    lines += _reproduction(cause, results)
    return _bullets(lines)


def _inconclusive_lines(diagnosis: Diagnosis, playbook: Playbook, leader: Candidate
                        ) -> list[str]:
    """What an honest "we do not know yet" says: why, what was normal, what to do next."""
    lines = ["Inconclusive: " + "; ".join(diagnosis.reasons) + "."]
    lines += [f"Checked and normal: {text}" for text in diagnosis.checked_normal]
    lines += [f"Next: {text}" for text in diagnosis.next_checks]
    lines.append(f"Leading hypothesis so far: {playbook.title} / {leader.title} "
                 f"(score {leader.score:.1f}), not a conclusion.")
    return lines


def _profile_claims(results: Mapping[StepName, StepResult], citer: _Citer,
                    cause_frames: Sequence[str]) -> list[str]:
    """Profile findings with hints, the leading cause's frames first, then by share."""
    profile = results.get(StepName.PROFILE)
    if profile is None:
        return []
    keys = tuple(f".frame.{key}" for key in cause_frames)

    def order(finding: Finding) -> tuple[bool, float]:
        share = finding.evidence[0].number if finding.evidence else None
        return (not finding.key.endswith(keys) if keys else True, -(share or 0.0))

    hinted = sorted((f for f in profile.findings if f.hints), key=order)[:3]
    lines = [citer.claim(StepName.PROFILE, f, 2) for f in hinted]
    return lines + [f"Code: {hint}" for f in hinted for hint in f.hints][:3]


def _family_causes(playbook: Playbook, cause: Cause | None) -> list[str]:
    """The family's root causes, the one matching the leading cause first."""
    texts = list(playbook.rca.root_causes[:4])
    if cause is not None:
        texts.sort(key=lambda text: text != cause.root_cause)
    return texts


def _reproduction(cause: Cause | None, results: Mapping[StepName, StepResult]) -> list[str]:
    """A local reproduction plan for the leading cause, built on the walk's evidence."""
    signals = Signals()
    for step in (StepName.METRICS, StepName.LOGS, StepName.TRACES, StepName.PROFILE):
        if step in results:
            found = results[step].signals
            signals = signals.model_copy(update={
                "numbers": {**signals.numbers, **found.numbers},
                "frames": found.frames or signals.frames})
    traces = results.get(StepName.TRACES)
    slow = [f.title for f in traces.findings] if traces is not None else []
    return plan_lines(cause, signals, slow)


def _timeline(events: Sequence[TimelineEvent]) -> str:
    shown = [e for e in events if e.kind is not EventKind.CARD_POSTED]
    lines = []
    for event in shown[-40:]:
        who = f" ({event.actor})" if event.actor else ""
        detail = f": {event.text}" if event.text else ""
        lines.append(f"{event.at:%H:%M:%S} {event.kind.value.replace('_', ' ')}{who}{detail}")
    return "\n".join(lines)


def draft(incident: Incident, results: Mapping[StepName, StepResult],
          diagnosis: Diagnosis | None, playbooks: Mapping[str, Playbook],
          timeline: Sequence[TimelineEvent]) -> Rca:
    """A fresh draft from the evidence (pure).

    When steps ran and every one failed, no pattern leads: a ranking on no evidence would
    put a guess in the root cause, fix and prevention.
    """
    leader = diagnosis.leader if diagnosis else None
    if _failures(results) and not any(r.status is StepStatus.DONE for r in results.values()):
        leader = None
    playbook = playbooks.get(leader.playbook) if leader else None
    citer = _Citer()
    texts = {
        Section.SYMPTOM: _symptom(incident, results, citer),
        Section.CONTRIBUTING: _contributing(playbook, leader, results, citer),
        Section.ROOT_CAUSE: _root_cause(playbook, leader, results, citer, diagnosis),
        Section.FIX: _bullets(_fixes(playbook, leader)) if playbook else "",
        Section.PREVENTION: _bullets(playbook.rca.prevention) if playbook else "",
        Section.TIMELINE: _timeline(timeline),
    }
    return Rca(incident_id=incident.id, playbook=playbook.id if playbook else None,
               sections={s: SectionText(text=clip_section(t)) for s, t in texts.items()},
               citations=citer.citations)


def _fixes(playbook: Playbook, leader: Candidate | None) -> list[str]:
    """The leading cause's fixes first, then the family's."""
    cause = playbook.cause(leader.cause) if leader is not None else None
    own = list(cause.fixes) if cause is not None else []
    return list(dict.fromkeys([*own, *playbook.rca.fixes]))


def redraft(existing: Rca | None, fresh: Rca) -> Rca:
    """The fresh draft, keeping every section a human wrote (and the version counter)."""
    if existing is None:
        return fresh
    sections = dict(fresh.sections)
    for section, text in existing.sections.items():
        if text.origin == "human" and text.text.strip():
            sections[section] = text
    return fresh.model_copy(update={
        "version": existing.version, "sections": sections,
        "edited_by": existing.edited_by, "edited_at": existing.edited_at})


def apply_edit(current: Rca, submitted: Mapping[Section, str],
               prefilled: Mapping[Section, str], user: str) -> Rca:
    """The RCA after a human submitted the form.

    A section counts as written by them only if its text differs from what the form was
    prefilled with (``prefilled`` holds fingerprints); untouched sections stay as they are, so
    a later re-draft may still refill them.
    """
    now = utcnow()
    sections = dict(current.sections)
    for section, text in submitted.items():
        if fingerprint(text) == prefilled.get(section):
            continue
        sections[section] = SectionText(text=clip_section(text), origin="human", edited_by=user,
                                        edited_at=now)
    return current.model_copy(update={"sections": sections, "edited_by": user,
                                      "edited_at": now})
