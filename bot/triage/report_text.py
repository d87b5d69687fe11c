"""A step's findings and the ranking as plain text, for terminals (``triage-bot triage``)."""

from __future__ import annotations

import textwrap

from bot.models import Diagnosis, Finding, Severity, StepResult, StepStatus

_MARKS = {Severity.CRITICAL: "!!", Severity.ERROR: "! ", Severity.WARNING: "* ",
          Severity.INFO: "- ", Severity.UNKNOWN: "- "}
WIDTH = 100


def _finding(finding: Finding) -> list[str]:
    lines = [f"  {_MARKS[finding.severity]} {finding.title}"]
    if finding.summary:
        lines += textwrap.wrap(finding.summary, WIDTH, initial_indent="       ",
                               subsequent_indent="       ")
    for evidence in finding.evidence[:8]:
        lines.append(f"       {evidence.label}: {evidence.value}")
    queries = list(dict.fromkeys(e.query for e in finding.evidence if e.query))[:2]
    lines += [f"       query: {q[:WIDTH - 14]}" for q in queries]
    lines += [f"       hint: {hint}" for hint in finding.hints[:3]]
    return lines


def step_report(result: StepResult) -> str:
    """The step's status line and its findings, most severe first."""
    head = f"== {result.step.value} · {result.status.value}"
    if result.window is not None:
        head += f" · {result.window.start:%H:%M}–{result.window.end:%H:%M} UTC"
    if result.status is StepStatus.FAILED:
        return f"{head}\n  {result.error}"
    order = list(Severity)
    findings = sorted(result.findings, key=lambda f: order.index(f.severity))
    return "\n".join([head, *(line for f in findings for line in _finding(f))])


def diagnosis_report(diagnosis: Diagnosis, top: int = 4) -> str:
    """The leading candidates with their reasons."""
    lines = ["== candidate failure patterns", *_verdict_lines(diagnosis)]
    for number, candidate in enumerate(diagnosis.candidates[:top], start=1):
        family = f"{candidate.family} › " if candidate.family and candidate.cause else ""
        lines.append(f"  {number}. {family}{candidate.title} (score {candidate.score:g})")
        lines += [f"       + {reason}" for reason in candidate.supporting[:4]]
        lines += [f"       - {reason}" for reason in candidate.contradicting[:2]]
    return "\n".join(lines)


def _verdict_lines(diagnosis: Diagnosis) -> list[str]:
    """An inconclusive ranking says so first: why, what was normal, what to check next."""
    if not diagnosis.inconclusive:
        return []
    lines = ["  INCONCLUSIVE: " + "; ".join(diagnosis.reasons)]
    lines += [f"     normal: {text}" for text in diagnosis.checked_normal[:6]]
    lines += [f"     next: {text}" for text in diagnosis.next_checks[:4]]
    return lines
