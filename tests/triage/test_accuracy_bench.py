"""The accuracy bench's scenarios stay what the bench claims they are (no figures asserted)."""

from __future__ import annotations

from collections import Counter

from bench.diagnosis_accuracy import PLAYBOOKS, run
from bench.diagnosis_scenarios import INCONCLUSIVE, SIGNALS_DIR, scenarios
from bot.triage.playbook_loader import load_playbooks
from triage_sim.service.scenarios import SCENARIOS


def test_every_simulator_walk_left_its_signals_for_the_bench() -> None:
    assert {p.stem for p in SIGNALS_DIR.glob("*.json")} == set(SCENARIOS)


def test_the_bench_covers_what_issue_14_asks_for() -> None:
    cases = scenarios()
    assert len(cases) >= 20 and len({c.name for c in cases}) == len(cases)
    assert set(Counter(c.convention for c in cases)) == {"otel", "prom-client", "cadvisor"}
    assert {"single", "variant", "healthy", "noisy", "mixed"} <= {c.kind for c in cases}
    assert all(len(c.expected) == 2 for c in cases if c.kind == "mixed")
    assert all(c.expected == (INCONCLUSIVE,) for c in cases if c.kind in ("healthy", "noisy"))
    tuned = [c for c in cases if c.kind != "perturbed"]
    held = sum(c.held_out for c in tuned)
    assert len(tuned) / 4 <= held <= len(tuned) / 2.5  # about a third of the tuned list
    assert all(c.held_out for c in cases if c.kind == "perturbed")
    kinds_held = {c.kind for c in tuned if c.held_out}
    assert {"single", "variant", "healthy", "noisy", "mixed"} <= kinds_held


def test_every_expected_cause_exists_and_the_bench_runs() -> None:
    playbooks = load_playbooks(PLAYBOOKS)
    ids = {f"{pb.id}/{c.key}" for pb in playbooks.all for c in pb.causes}
    ids |= {pb.id for pb in playbooks.all if not pb.causes}
    cases = scenarios()
    for case in cases:
        assert set(case.expected) - {INCONCLUSIVE} <= ids, case.name
    assert len(run(playbooks, cases)) == len(cases)
