"""The walk's part of the card: step states, the suggestion, the leader and the buttons."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.models import Candidate, Diagnosis, Incident, StepName, StepStatus
from bot.slack.blocks import MAX_BLOCKS_MESSAGE
from bot.slack.cards import incident_card
from bot.slack.walk_blocks import (
    ACTION_RCA,
    STEP_ACTIONS,
    step_of_action,
    suggest_next,
    walk_buttons,
    walk_section,
)
from triage_sim.slack.blockkit import validate_blocks

M, L, T, P = StepName.METRICS, StepName.LOGS, StepName.TRACES, StepName.PROFILE
NS, RUN, DONE, FAIL = (StepStatus.NOT_STARTED, StepStatus.RUNNING, StepStatus.DONE,
                       StepStatus.FAILED)
HOSTILE = "<!channel> <@U123> & `tick` <https://evil.example|click> *bold*"


def dump(blocks: list[dict[str, Any]]) -> str:
    return json.dumps(blocks, ensure_ascii=False)


def buttons_of(blocks: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    (walk,) = [b for b in blocks if b["type"] == "actions"]
    return {el["action_id"]: el for el in walk["elements"]}


def valid(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    errors = validate_blocks(blocks, "message")
    assert errors == [], errors
    return blocks


def starvation() -> Diagnosis:
    return Diagnosis(candidates=[
        Candidate(playbook="tokio-starvation", title="Tokio worker starvation", score=0.82,
                  supporting=["tokio.busy_ratio 0.97 ≥ 0.9", "mean poll 12 ms",
                              "std::thread::sleep under a tokio worker (31%)",
                              "fourth reason not on the card"],
                  contradicting=["no blocking queue growth", "second contradiction"]),
        Candidate(playbook="pool-exhaustion", title="Connection-pool exhaustion", score=0.35),
    ])


@pytest.mark.parametrize(("steps", "expected"), [
    ({}, M),
    ({M: DONE}, L),
    ({M: DONE, L: DONE}, T),
    ({M: DONE, L: DONE, T: DONE}, P),
    ({M: DONE, L: DONE, T: DONE, P: DONE}, None),
    ({M: FAIL, L: DONE}, M),                      # a failed step counts as not done
    ({M: DONE, L: FAIL, T: DONE, P: DONE}, L),
    ({M: RUN}, L),                                # a running step is not suggested again
    ({M: DONE, L: RUN, T: RUN, P: RUN}, None),
    ({M: DONE, L: DONE, T: DONE, P: FAIL}, P),
])
def test_suggest_next(steps: dict[StepName, StepStatus], expected: StepName | None) -> None:
    assert suggest_next(steps) is expected


def test_fresh_walk_suggests_metrics_with_four_step_buttons_and_rca() -> None:
    blocks = valid(walk_section({}, None, "INC-7", suggested=suggest_next({})))
    assert len(blocks) <= 5
    buttons = buttons_of(blocks)
    assert list(buttons) == ["walk.step.metrics", "walk.step.logs", "walk.step.traces",
                             "walk.step.profile", "walk.rca"]
    assert {b["value"] for b in buttons.values()} == {"INC-7"}
    assert buttons["walk.step.metrics"]["style"] == "primary"
    assert [b for b in buttons.values() if b.get("style")] == [buttons["walk.step.metrics"]]
    text = dump(blocks)
    assert "not started" in text and "next: *Metrics*" in text
    assert "No leading candidate yet" in text


def test_running_step_keeps_its_button_labelled_running() -> None:
    steps = {M: DONE, L: RUN}
    blocks = valid(walk_section(steps, starvation(), "INC-7", suggested=suggest_next(steps)))
    buttons = buttons_of(blocks)
    assert buttons["walk.step.logs"]["text"]["text"] == "Running…"
    assert "style" not in buttons["walk.step.logs"]
    assert buttons["walk.step.traces"]["style"] == "primary"
    assert buttons["walk.step.metrics"]["text"]["text"] == "Re-run metrics"
    text = dump(blocks)
    assert ":hourglass_flowing_sand:" in text and "running…" in text


def test_suggested_running_step_is_not_primary() -> None:
    buttons = {b["action_id"]: b for b in walk_buttons({M: RUN}, "INC-1", suggested=M)}
    assert buttons["walk.step.metrics"]["text"]["text"] == "Running…"
    assert not any(b.get("style") for b in buttons.values())


def test_failed_step_shows_failed_and_offers_a_retry() -> None:
    steps = {M: DONE, L: FAIL}
    blocks = valid(walk_section(steps, None, "INC-2", suggested=suggest_next(steps)))
    buttons = buttons_of(blocks)
    assert buttons["walk.step.logs"]["text"]["text"] == "Retry logs"
    assert buttons["walk.step.logs"]["style"] == "primary"
    fields = [f["text"] for f in blocks[0]["fields"]]
    assert fields[1].startswith(":x: *2. Logs*\nfailed")
    assert "_suggested next_" in fields[1] and "_suggested next_" not in fields[0]


def test_all_done_makes_draft_rca_the_primary_button() -> None:
    steps = dict.fromkeys((M, L, T, P), DONE)
    blocks = valid(walk_section(steps, starvation(), "INC-3", suggested=suggest_next(steps)))
    buttons = buttons_of(blocks)
    assert buttons[ACTION_RCA]["style"] == "primary"
    assert sum(1 for b in buttons.values() if b.get("style") == "primary") == 1
    assert "every step done" in blocks[0]["text"]["text"]


def test_leader_shows_three_reasons_for_and_one_against() -> None:
    blocks = valid(walk_section({M: DONE}, starvation(), "INC-4", suggested=L))
    leader = blocks[1]["text"]["text"]
    assert "*Leading candidate:* Tokio worker starvation (score 0.82)" in leader
    assert leader.count(":heavy_plus_sign:") == 3
    assert leader.count(":heavy_minus_sign:") == 1
    assert "no blocking queue growth" in leader and "fourth reason" not in leader
    assert "_…and 2 more reasons_" in leader
    runner_up = blocks[2]["elements"][0]["text"]
    assert "Runner-up: Connection-pool exhaustion (0.35)" in runner_up
    assert "2 candidates ranked" in runner_up


def test_leader_without_evidence_and_empty_diagnosis() -> None:
    alone = Diagnosis(candidates=[Candidate(playbook="generic", title="Generic", score=0.1)])
    blocks = valid(walk_section({}, alone, "INC-5", suggested=M))
    assert "ranked by the alert alone" in blocks[1]["text"]["text"]
    assert len(blocks) == 3  # no runner-up line for a lone candidate
    empty = valid(walk_section({}, Diagnosis(candidates=[]), "INC-5", suggested=M))
    assert "No leading candidate yet" in dump(empty)


def test_hostile_and_huge_reasons_are_escaped_and_clipped() -> None:
    diagnosis = Diagnosis(candidates=[Candidate(
        playbook="x" * 500, title=HOSTILE * 40, score=1e9,
        supporting=[HOSTILE * 300] * 50, contradicting=[HOSTILE * 300] * 50)])
    blocks = valid(walk_section({}, diagnosis, "INC-6", suggested=M))
    text = dump(blocks)
    assert "<!channel>" not in text and "<@U123>" not in text and "<https://evil" not in text
    assert "&lt;!channel&gt;" in text


def test_section_merges_into_the_incident_card() -> None:
    incident = Incident(id="INC-9", number=9, service="checkout", summary=HOSTILE,
                        channel="C1", created_by="U1")
    steps = {M: DONE, L: RUN}
    extra = walk_section(steps, starvation(), incident.id, suggested=suggest_next(steps))
    card = valid(incident_card(incident, extra=extra))
    assert len(card) <= 10 < MAX_BLOCKS_MESSAGE
    action_blocks = [b["block_id"] for b in card if b["type"] == "actions"]
    assert action_blocks == ["walk:INC-9", "incident:INC-9"]


def test_step_of_action_maps_back() -> None:
    assert {step_of_action(a) for a in STEP_ACTIONS.values()} == {M, L, T, P}
    assert step_of_action(ACTION_RCA) is None
    assert step_of_action("walk.step.nope") is None
