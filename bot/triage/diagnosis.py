"""The diagnosis: every failure cause scored against the evidence so far, best first.

A symptom alert (high P99, high CPU, memory) fits several failure patterns. The alert only
seeds the ranking: a playbook whose matchers take the alert starts at its ``prior``; then each
``supports`` condition that holds adds its weight and each ``contradicts`` condition that holds
takes its weight away. A condition on evidence not gathered yet does neither, so the ranking
sharpens step by step.

A playbook is a family of causes. When it lists ``causes``, each cause is its own candidate:
the family's score (what all its causes share: the alert, CPU up, P99 up) plus the cause's own
evidence, so what tells the causes apart (a dominant Debug frame against a small allocator
frame, pool timeouts against a normal serde_json share) decides between them. A held condition
counts by its strength (``evidence.grade``: how far above its threshold or above the normal
profile share), not just by whether it holds.

The generic playbook is always a candidate, starting at its own prior whatever the alert, but
it never ranks above a specific pattern with an equal score. ``verdict.judge`` then says
whether the leader is a conclusion or the ranking is inconclusive.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from bot.models import Candidate, Diagnosis, FrameShare, Signals
from bot.triage.evidence import grade
from bot.triage.playbook import Cause, Playbook, Weighted
from bot.triage.playbook_loader import PlaybookSet
from bot.triage.rules import Reading, render_text, subjects
from bot.triage.verdict import judge

__all__ = ["candidates_of", "rank", "score"]

_DIGITS = 3


def rank(playbooks: PlaybookSet, signals: Signals, alertname: str | None,
         labels: Mapping[str, str], baseline: Sequence[FrameShare] | None = None
         ) -> Diagnosis:
    """Every cause as a candidate, the most likely first (deterministic for equal input).

    Order: by score, highest first; on a tie a specific pattern comes before the generic one,
    then by playbook id and cause order. ``baseline`` is the service's calm-period CPU profile
    (None: rules of thumb). The verdict says whether the leader is a conclusion.
    """
    seeded = dict((p.id, prior) for p, prior in playbooks.matching(alertname, labels))
    name = alertname or labels.get("alertname")
    candidates: list[Candidate] = []
    for playbook in playbooks.all:
        prior = seeded.get(playbook.id)
        if prior is not None:
            seed = [f"the alert {name or '(labels)'} matches this pattern"]
        elif playbook.generic:
            prior, seed = playbook.diagnosis.prior, []
        else:
            prior, seed = 0.0, []
        candidates.extend(candidates_of(playbook, signals, prior, seed, baseline))
    order = {(c.playbook, c.cause): index for index, c in enumerate(candidates)}
    candidates.sort(key=lambda c: (-c.score, c.playbook == playbooks.generic.id, c.playbook,
                                   order[(c.playbook, c.cause)]))
    return judge(Diagnosis(candidates=candidates), signals, playbooks)


@dataclass(frozen=True)
class _Held:
    """A weighted condition that holds: signed weight, its reason, the facts it reads."""

    weight: float
    because: str
    facts: frozenset[str]


def score(playbook: Playbook, signals: Signals, prior: float,
          seed: list[str] | None = None,
          baseline: Sequence[FrameShare] | None = None) -> Candidate:
    """One playbook's family-level score from ``prior`` and its weighted conditions that hold."""
    family = _tally(playbook.diagnosis.supports, playbook.diagnosis.contradicts, signals,
                    Reading.of(playbook), baseline)
    return Candidate(playbook=playbook.id, title=playbook.title,
                     score=round(prior + family.total, _DIGITS),
                     supporting=[*(seed or []), *family.supporting],
                     contradicting=family.contradicting, family=playbook.family_title,
                     evidence=round(family.total, _DIGITS))


def candidates_of(playbook: Playbook, signals: Signals, prior: float,
                  seed: list[str] | None = None,
                  baseline: Sequence[FrameShare] | None = None) -> list[Candidate]:
    """The playbook's candidates: one per cause, or the playbook itself when it has none."""
    family = score(playbook, signals, prior, seed, baseline)
    if not playbook.causes:
        return [family]
    reading = Reading.of(playbook)
    tallies = [_tally(cause.supports, cause.contradicts, signals, reading, baseline)
               for cause in playbook.causes]
    best = max(t.total for t in tallies)
    return [_cause_candidate(family, cause, own, best)
            for cause, own in zip(playbook.causes, tallies, strict=True)]


def _cause_candidate(family: Candidate, cause: Cause, own: _Tally, best: float) -> Candidate:
    """A cause: its family's score plus its own evidence.

    A cause with nothing of its own for it while a sibling has evidence loses half the
    sibling's lead: the family's evidence is the sibling's context, not this cause's, and it
    must not crowd a cause of another family out of the top of the ranking.
    """
    penalty = best / 2 if own.total <= 0 < best else 0.0
    return family.model_copy(update={
        "cause": cause.key, "title": cause.title,
        "score": round(family.score + cause.prior + own.total - penalty, _DIGITS),
        "evidence": round(family.evidence + own.total, _DIGITS),
        "supporting": [*family.supporting, *own.supporting],
        "contradicting": [*family.contradicting, *own.contradicting],
    })


@dataclass
class _Tally:
    total: float = 0.0
    supporting: list[str] = field(default_factory=list)
    contradicting: list[str] = field(default_factory=list)


def _tally(supports: Sequence[Weighted], contradicts: Sequence[Weighted], signals: Signals,
           reading: Reading, baseline: Sequence[FrameShare] | None) -> _Tally:
    """The weighted conditions that hold, each counted by its strength.

    Every weight counts towards the total; of conditions that read one fact (``rules.FACTS``)
    on both sides, only the side the fact comes out on is shown as a reason.
    """
    held = []
    for sign, conditions in ((1.0, supports), (-1.0, contradicts)):
        for weighted in conditions:
            counted = _counted(weighted, signals, reading, baseline)
            if counted is not None:
                held.append(_Held(sign * counted[0], counted[1], subjects(weighted.when)))
    tally = _Tally(total=sum(h.weight for h in held))
    for item in _shown(held):
        (tally.supporting if item.weight > 0 else tally.contradicting).append(item.because)
    return tally


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


def _counted(weighted: Weighted, signals: Signals, reading: Reading,
             baseline: Sequence[FrameShare] | None) -> tuple[float, str] | None:
    graded = grade(weighted.when, signals, reading, baseline)
    if not graded.outcome.holds:
        return None
    because = render_text(weighted.because, graded.outcome, signals, reading)
    if graded.normal:
        because += f" (normally about {graded.normal:.0%})"
    return weighted.weight * graded.factor, because
