"""The diagnosis: every playbook scored against the evidence so far, best first.

A symptom alert (high P99, high CPU, memory) fits several failure patterns. The alert only
seeds the ranking: a playbook whose matchers take the alert starts at its ``prior``; then each
``supports`` condition that holds adds its weight and each ``contradicts`` condition that holds
takes its weight away. A condition on evidence not gathered yet does neither, so the ranking
sharpens step by step. The generic playbook is always a candidate, starting at its own prior
whatever the alert, but it never ranks above a specific pattern with a positive score: it is
the answer only when nothing else has evidence for it.
"""

from __future__ import annotations

from collections.abc import Mapping

from bot.models import Candidate, Diagnosis, Signals
from bot.triage.playbook import Playbook, Weighted
from bot.triage.playbook_loader import PlaybookSet
from bot.triage.rules import Reading, check, render_text

__all__ = ["rank", "score"]

_DIGITS = 3


def rank(playbooks: PlaybookSet, signals: Signals, alertname: str | None,
         labels: Mapping[str, str]) -> Diagnosis:
    """Every playbook as a candidate, the most likely first (deterministic for equal input).

    Order: by score, highest first; on a tie a specific pattern comes before the generic one,
    then by id. The generic playbook starts from its own prior, so it leads only when the
    evidence for it (errors, restarts, a deploy) outweighs every specific pattern's.
    """
    seeded = dict((p.id, prior) for p, prior in playbooks.matching(alertname, labels))
    name = alertname or labels.get("alertname")
    candidates = []
    for playbook in playbooks.all:
        prior = seeded.get(playbook.id)
        if prior is not None:
            seed = [f"the alert {name or '(labels)'} matches this pattern"]
        elif playbook.generic:
            prior, seed = playbook.diagnosis.prior, []
        else:
            prior, seed = 0.0, []
        candidates.append(score(playbook, signals, prior, seed))
    candidates.sort(key=lambda c: (-c.score, c.playbook == playbooks.generic.id, c.playbook))
    return Diagnosis(candidates=candidates)


def score(playbook: Playbook, signals: Signals, prior: float,
          seed: list[str] | None = None) -> Candidate:
    """One playbook's score from ``prior`` and its weighted conditions that hold."""
    reading = Reading.of(playbook)
    total = prior
    supporting = list(seed or [])
    contradicting: list[str] = []
    for weighted in playbook.diagnosis.supports:
        because = _because(weighted, signals, reading)
        if because is not None:
            total += weighted.weight
            supporting.append(because)
    for weighted in playbook.diagnosis.contradicts:
        because = _because(weighted, signals, reading)
        if because is not None:
            total -= weighted.weight
            contradicting.append(because)
    return Candidate(playbook=playbook.id, title=playbook.title, score=round(total, _DIGITS),
                     supporting=supporting, contradicting=contradicting)


def _because(weighted: Weighted, signals: Signals, reading: Reading) -> str | None:
    outcome = check(weighted.when, signals, reading)
    return render_text(weighted.because, outcome, signals, reading) if outcome.holds else None
