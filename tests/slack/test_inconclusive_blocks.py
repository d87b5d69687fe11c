"""An inconclusive ranking reads as such on the card and in the thread, within Block Kit."""

from __future__ import annotations

import json

from bot.models import Candidate, Diagnosis, StepName, StepStatus
from bot.slack.diagnosis_blocks import diagnosis_blocks, diagnosis_text
from bot.slack.walk_blocks import walk_section
from triage_sim.slack.blockkit import validate_blocks

HOSTILE = "<!channel> <@U123> & *bold*"


def inconclusive() -> Diagnosis:
    return Diagnosis(
        candidates=[
            Candidate(playbook="p99-latency", cause="pool-exhaustion", family="P99 latency",
                      title="Connection-pool exhaustion", score=1.0),
            Candidate(playbook="generic", title="Unclassified", score=0.5)],
        verdict="inconclusive",
        reasons=["no metric moved away from its earlier level near the alert", HOSTILE],
        checked_normal=["P99 latency against its earlier level: 1.1×"] * 12,
        next_checks=["Run the logs step: error patterns may name the cause."] * 9)


def test_the_card_says_inconclusive_and_what_to_check_next() -> None:
    blocks = walk_section({s: StepStatus.DONE for s in StepName}, inconclusive(), "INC-1",
                          suggested=None)
    assert validate_blocks(blocks, "message") == []
    text = json.dumps(blocks, ensure_ascii=False)
    assert "*Inconclusive:*" in text and "Leading hypothesis, not a conclusion" in text
    assert "normal: P99 latency" in text and "next: Run the logs step" in text
    assert "<!channel>" not in text and "&lt;!channel&gt;" in text
    assert len(blocks) <= 5


def test_the_ranking_message_says_inconclusive_and_names_cause_and_family() -> None:
    diagnosis = inconclusive()
    blocks = diagnosis_blocks(diagnosis)
    assert validate_blocks(blocks, "message") == []
    text = json.dumps(blocks, ensure_ascii=False)
    assert "*Inconclusive:*" in text
    assert "P99 latency › *Connection-pool exhaustion*" in text
    assert "`p99-latency/pool-exhaustion`" in text
    assert diagnosis_text(diagnosis).startswith("Inconclusive: no metric moved")
    leading = diagnosis.model_copy(update={"verdict": "leading"})
    assert "Inconclusive" not in json.dumps(diagnosis_blocks(leading))
