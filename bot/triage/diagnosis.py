"""The diagnosis: every playbook scored against the evidence so far, best first.

A symptom alert (high P99, high CPU, memory) fits several failure patterns. The alert only
seeds the ranking: a playbook whose matchers take the alert starts at its ``prior``; then each
``supports`` condition that holds adds its weight and each ``contradicts`` condition that holds
takes its weight away. A condition on evidence not gathered yet does neither, so the ranking
sharpens step by step. The generic playbook is always a candidate, starting at its own prior
whatever the alert, but it never ranks above a specific pattern with a positive score: it is
the answer only when nothing else has evidence for it.

Conditions that read one fact (``rules.FACTS``: RSS's slope, its growth ratio, the time to OOM)
may hold on both sides at once, e.g. a slow slope on a large RSS. The score counts every weight
as before; the candidate's reasons then show only the side that fact comes out on, so it never
lists one fact both for and against itself.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bot.models import Candidate, Diagnosis, Signals
from bot.triage.playbook import Playbook, Weighted
from bot.triage.playbook_loader import PlaybookSet
from bot.triage.rules import Reading, check, render_text, subjects

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


@dataclass(frozen=True)
class _Held:
    """A weighted condition that holds: signed weight, its reason, the facts it reads."""

    weight: float
    because: str
    facts: frozenset[str]


def score(playbook: Playbook, signals: Signals, prior: float,
          seed: list[str] | None = None) -> Candidate:
    """One playbook's score from ``prior`` and its weighted conditions that hold."""
    reading = Reading.of(playbook)
    held = [h for sign, conditions in ((1.0, playbook.diagnosis.supports),
                                       (-1.0, playbook.diagnosis.contradicts))
            for h in _holding(conditions, sign, signals, reading)]
    shown = _shown(held)
    return Candidate(
        playbook=playbook.id, title=playbook.title,
        score=round(prior + sum(h.weight for h in held), _DIGITS),
        supporting=[*(seed or []), *(h.because for h in shown if h.weight > 0)],
        contradicting=[h.because for h in shown if h.weight < 0])


def _holding(conditions: Sequence[Weighted], sign: float, signals: Signals,
             reading: Reading) -> list[_Held]:
    found = []
    for weighted in conditions:
        outcome = check(weighted.when, signals, reading)
        if outcome.holds:
            found.append(_Held(sign * weighted.weight,
                               render_text(weighted.because, outcome, signals, reading),
                               subjects(weighted.when)))
    return found


def _shown(held: list[_Held]) -> list[_Held]:
    """``held`` less the losing side of each fact read both ways (both sides on a tie)."""
    groups: list[list[_Held]] = []
    for item in held:
        joined = [g for g in groups if any(item.facts & other.facts for other in g)]
        merged = [item, *(x for g in joined for x in g)]
        groups = [g for g in groups if all(g is not j for j in joined)] + [merged]
    hidden: set[int] = set()
    for group in groups:
        if any(h.weight > 0 for h in group) and any(h.weight < 0 for h in group):
            net = sum(h.weight for h in group)
            hidden |= {id(h) for h in group if net == 0 or (h.weight > 0) != (net > 0)}
    return [h for h in held if id(h) not in hidden]
