"""Blending calm-period profiles into a service's baseline, and ranking against it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.models import FrameShare, Signals
from bot.triage.baseline import KEPT, MIN_PROFILES, WEIGHT, blend, usable
from bot.triage.diagnosis import rank
from bot.triage.playbook_loader import PlaybookSet, load_playbooks
from tests.conftest import ROOT

AT = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def frame(name: str, share: float) -> FrameShare:
    return FrameShare(function=name, flat=share / 2, cum=share)


def test_the_first_profile_is_taken_and_later_ones_move_it_a_fraction() -> None:
    first = blend(None, "api", [frame("serde_json::ser::to_writer", 0.4)], AT)
    assert (first.profiles, first.frames[0].cum) == (1, 0.4)
    second = blend(first, "api", [frame("core::fmt::write", 0.2)], AT)
    shares = {f.function: f.cum for f in second.frames}
    assert shares == {"serde_json::ser::to_writer": pytest.approx(0.4 * (1 - WEIGHT)),
                      "core::fmt::write": pytest.approx(0.2 * WEIGHT)}
    assert second.profiles == 2
    many = blend(None, "api", [frame(f"f{i}", i / 1000) for i in range(KEPT + 20)], AT)
    assert len(many.frames) == KEPT and many.frames[0].function == f"f{KEPT + 19}"


def test_a_baseline_counts_only_after_enough_calm_profiles() -> None:
    baseline = None
    for _ in range(MIN_PROFILES - 1):
        baseline = blend(baseline, "api", [frame("serde_json::ser::to_writer", 0.4)], AT)
        assert usable(baseline) is None
    baseline = blend(baseline, "api", [frame("serde_json::ser::to_writer", 0.4)], AT)
    assert usable(baseline) == baseline.frames
    assert usable(None) is None


def test_a_service_whose_normal_is_heavy_json_is_not_flagged_for_it() -> None:
    playbooks: PlaybookSet = load_playbooks(ROOT / "bot" / "playbooks")
    signals = Signals(numbers={"http.p99_change": 4.0},
                      frames=[frame("serde_json::ser::to_writer", 0.45)], frames_kind="cpu",
                      span_categories={"serialization": 0.2})
    rules_of_thumb = rank(playbooks, signals, "HighLatencyP99", {})
    serde = next(c for c in rules_of_thumb.candidates if c.cause == "serialization")
    assert any("serde_json takes 45% of CPU" in r for r in serde.supporting)
    own = [frame("serde_json::ser::to_writer", 0.42)]
    with_baseline = rank(playbooks, signals, "HighLatencyP99", {}, own)
    serde = next(c for c in with_baseline.candidates if c.cause == "serialization")
    assert not any("serde_json" in r for r in serde.supporting)
