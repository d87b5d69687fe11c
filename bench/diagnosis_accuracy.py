"""How often the diagnosis names the right cause: top-1, top-2 and the confusion matrix.

Run: .venv/bin/python -m bench.diagnosis_accuracy [--verbose]

Ranks every scenario of ``bench.diagnosis_scenarios`` (signals from the real step code over the
simulator's scenarios, and documented variants of them) with the shipped playbooks, as the walk
does after its last step. Scoring:

- a single-cause scenario is right at top 1 when the verdict is ``leading`` and the leader is
  the expected cause; right at top 2 when the expected cause is one of the first two;
- a healthy or noisy control is right (top 1 and top 2) only when the verdict is
  ``inconclusive``;
- a mixed scenario is right at top 1 when the leader is one of its two causes, at top 2 when
  both are the first two candidates.

Accuracy is printed for the tuning scenarios and for the held-out ones separately (a third of
the first list, plus every jittered copy); weights were only ever adjusted while looking at the
tuning scenarios.
"""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.common import table
from bench.diagnosis_scenarios import INCONCLUSIVE, BenchScenario, scenarios
from bot.models import Diagnosis
from bot.triage.diagnosis import rank
from bot.triage.playbook_loader import PlaybookSet, load_playbooks

PLAYBOOKS = Path(__file__).resolve().parents[1] / "bot" / "playbooks"


@dataclass(frozen=True)
class Outcome:
    """One scenario's result."""

    scenario: BenchScenario
    predicted: str
    top2: tuple[str, ...]
    top1_ok: bool
    top2_ok: bool


def judge(case: BenchScenario, diagnosis: Diagnosis) -> Outcome:
    """Score one ranking against the scenario's expectation."""
    ids = tuple(c.id for c in diagnosis.candidates[:2])
    predicted = INCONCLUSIVE if diagnosis.inconclusive else ids[0]
    if case.expected == (INCONCLUSIVE,):
        ok = diagnosis.inconclusive
        return Outcome(case, predicted, ids, ok, ok)
    if case.kind == "mixed":
        return Outcome(case, ids[0], ids, ids[0] in case.expected,
                       set(case.expected) <= set(ids))
    return Outcome(case, predicted, ids, predicted == case.expected[0],
                   case.expected[0] in ids)


def run(playbooks: PlaybookSet, cases: Sequence[BenchScenario]) -> list[Outcome]:
    """Rank every scenario as the walk does after its last step."""
    return [judge(case, rank(playbooks, case.signals, case.alert, {"alertname": case.alert}))
            for case in cases]


def _accuracy(outcomes: Sequence[Outcome]) -> dict[str, object]:
    count = len(outcomes) or 1
    return {"scenarios": len(outcomes),
            "top1": f"{sum(o.top1_ok for o in outcomes) / count:.0%}",
            "top2": f"{sum(o.top2_ok for o in outcomes) / count:.0%}"}


def confusion(outcomes: Sequence[Outcome]) -> str:
    """Expected (rows) against predicted top 1 (columns, numbered as the rows' legend); a mixed
    scenario's row is the cause it named when it named one of its two, else its first."""
    pairs: Counter[tuple[str, str]] = Counter()
    for o in outcomes:
        expected = o.predicted if o.predicted in o.scenario.expected else o.scenario.expected[0]
        pairs[(expected, o.predicted)] += 1
    labels = sorted({e for e, _ in pairs} | {p for _, p in pairs})
    number = {label: index for index, label in enumerate(labels, start=1)}
    name_width = max(len(label) for label in labels) + 6
    lines = [" " * name_width + "".join(f"{number[c]:>3}" for c in labels)]
    for row in labels:
        cells = "".join(f"{pairs[(row, c)] or '.':>3}" for c in labels)
        lines.append(f"{number[row]:>3}. {row}".ljust(name_width) + cells)
    return "\n".join(lines)


def report(outcomes: Sequence[Outcome], verbose: bool) -> str:
    """The printed figures."""
    tuning = [o for o in outcomes if not o.scenario.held_out]
    held = [o for o in outcomes if o.scenario.held_out]
    rows = [{"set": "tuning", **_accuracy(tuning)}, {"set": "held out", **_accuracy(held)},
            {"set": "all", **_accuracy(outcomes)}]
    by_kind = [{"kind": kind, **_accuracy([o for o in outcomes if o.scenario.kind == kind])}
               for kind in ("single", "variant", "healthy", "noisy", "mixed", "perturbed")]
    parts = [table(rows), "", table(by_kind), "", "Confusion (rows expected, columns top 1):",
             confusion(outcomes)]
    misses = [o for o in outcomes if not (o.top1_ok and o.top2_ok)]
    if misses or verbose:
        parts += ["", "Misses:" if not verbose else "Every scenario:"]
        for o in (outcomes if verbose else misses):
            mark = "held-out" if o.scenario.held_out else "tuning"
            parts.append(f"  {o.scenario.name:32} {mark:8} expected {','.join(o.scenario.expected)}"
                         f" got {o.predicted} (top 2: {', '.join(o.top2)})")
    return "\n".join(parts)


def main(argv: Sequence[str] | None = None) -> None:
    """Print top-1/top-2 accuracy (tuning, held out) and the confusion matrix."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--verbose", action="store_true", help="list every scenario")
    args = parser.parse_args(argv)
    playbooks = load_playbooks(PLAYBOOKS)
    cases = scenarios()
    conventions = Counter(c.convention for c in cases)
    print(f"{len(cases)} scenarios ({sum(c.held_out for c in cases)} held out); conventions: "
          + ", ".join(f"{k} {v}" for k, v in sorted(conventions.items())))
    print(report(run(playbooks, cases), args.verbose))


if __name__ == "__main__":
    main()
