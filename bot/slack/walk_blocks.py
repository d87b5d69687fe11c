"""The walk's part of the incident card: step states, the next step, the leader and the buttons.

The card is the one message everyone looks at, so this part stays short (three or four blocks):
where each step stands, which one to click next and why the current leader leads. The full
ranking and the findings go to the thread.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.models import STEP_ORDER, Candidate, Diagnosis, StepName, StepStatus
from bot.slack.blocks import Block, actions, button, context, section
from bot.slack.diagnosis_blocks import inconclusive_lines, reason_lines, score_text
from bot.slack.findings_blocks import STATUS_ICONS, STATUS_WORDS, STEP_TITLES, escape_clip

__all__ = [
    "ACTION_RCA",
    "STEP_ACTIONS",
    "step_of_action",
    "suggest_next",
    "walk_buttons",
    "walk_section",
]

STEP_ACTIONS = {step: f"walk.step.{step.value}" for step in STEP_ORDER}
ACTION_RCA = "walk.rca"
_ACTION_STEPS = {action: step for step, action in STEP_ACTIONS.items()}
_UNFINISHED = (StepStatus.NOT_STARTED, StepStatus.FAILED)


def step_of_action(action_id: str) -> StepName | None:
    """The step a ``walk.step.*`` action id names (None for any other action id)."""
    return _ACTION_STEPS.get(action_id)


def _status(steps: Mapping[StepName, StepStatus], step: StepName) -> StepStatus:
    return steps.get(step, StepStatus.NOT_STARTED)


def suggest_next(steps: Mapping[StepName, StepStatus]) -> StepName | None:
    """The first step, in metrics → logs → traces → profile order, still to be done.

    A failed step counts as still to be done (retrying it is the next move); a running one is
    skipped, since suggesting what is already under way helps nobody. A step missing from
    ``steps`` has not started. None when every step is done or running.
    """
    for step in STEP_ORDER:
        if _status(steps, step) in _UNFINISHED:
            return step
    return None


def _button_label(step: StepName, status: StepStatus) -> str:
    title = STEP_TITLES[step]
    if status is StepStatus.RUNNING:
        return "Running…"
    if status is StepStatus.DONE:
        return f"Re-run {title.lower()}"
    if status is StepStatus.FAILED:
        return f"Retry {title.lower()}"
    return title


def walk_buttons(
    steps: Mapping[StepName, StepStatus], incident_id: str, *, suggested: StepName | None,
) -> list[dict[str, Any]]:
    """The four step buttons and "Draft RCA", as elements (for a card that merges buttons).

    The suggested step is primary, unless it is running; "Draft RCA" is primary once every
    step is done and nothing else is suggested.
    """
    elements: list[dict[str, Any]] = []
    for step in STEP_ORDER:
        status = _status(steps, step)
        primary = step is suggested and status is not StepStatus.RUNNING
        elements.append(button(_button_label(step, status), STEP_ACTIONS[step], incident_id,
                               style="primary" if primary else None))
    all_done = all(_status(steps, s) is StepStatus.DONE for s in STEP_ORDER)
    elements.append(button(":memo: Draft RCA", ACTION_RCA, incident_id,
                           style="primary" if suggested is None and all_done else None))
    return elements


def _steps_block(steps: Mapping[StepName, StepStatus], suggested: StepName | None) -> Block:
    fields = []
    for number, step in enumerate(STEP_ORDER, start=1):
        status = _status(steps, step)
        mark = " · _suggested next_" if step is suggested else ""
        fields.append(f"{STATUS_ICONS[status]} *{number}. {STEP_TITLES[step]}*\n"
                      f"{STATUS_WORDS[status]}{mark}")
    if suggested is not None:
        head = f"*Triage walk* · next: *{STEP_TITLES[suggested]}*"
    elif all(_status(steps, s) is StepStatus.DONE for s in STEP_ORDER):
        head = "*Triage walk* · every step done: draft the RCA"
    else:
        head = "*Triage walk*"
    return section(head, fields=fields)


def _leader_blocks(diagnosis: Diagnosis | None) -> list[Block]:
    leader = diagnosis.leader if diagnosis is not None else None
    if diagnosis is None or leader is None:
        return [context(":grey_question: No leading candidate yet: each step's evidence "
                        "ranks the possible failure patterns.")]
    if diagnosis.inconclusive:
        return _inconclusive_blocks(diagnosis, leader)
    head = (f":dart: *Leading candidate:* {escape_clip(leader.title, 150)} "
            f"(score {score_text(leader.score)})")
    lines = reason_lines(leader, supporting=3, contradicting=1, budget=2900 - len(head))
    if not lines:
        lines = ["_no evidence either way yet: ranked by the alert alone_"]
    blocks = [section("\n".join([head, *lines]))]
    others = diagnosis.candidates[1:]
    if others:
        runner = others[0]
        blocks.append(context(
            f"Runner-up: {escape_clip(runner.title, 100)} ({score_text(runner.score)}) · "
            f"{len(diagnosis.candidates)} candidates ranked · full ranking in the thread"))
    return blocks


def _inconclusive_blocks(diagnosis: Diagnosis, leader: Candidate) -> list[Block]:
    """The card says "inconclusive" plainly, with what was normal and what to check next."""
    lines = inconclusive_lines(diagnosis, normal=3, checks=2)
    text = "\n".join(lines)
    if len(text) > 2900:
        text = text[:2899] + "…"
    return [section(text), context(
        f"Leading hypothesis, not a conclusion: {escape_clip(leader.title, 100)} "
        f"({score_text(leader.score)}) · {len(diagnosis.candidates)} candidates ranked · "
        "full ranking in the thread")]


def walk_section(
    steps: Mapping[StepName, StepStatus], diagnosis: Diagnosis | None, incident_id: str, *,
    suggested: StepName | None,
) -> list[Block]:
    """Blocks for ``incident_card(incident, extra=...)``: steps, leader, step buttons.

    At most five blocks. The actions block's id is ``walk:<incident id>``, distinct from the
    card's own ``incident:<incident id>``, so both can sit on one card.
    """
    return [
        _steps_block(steps, suggested),
        *_leader_blocks(diagnosis),
        actions(walk_buttons(steps, incident_id, suggested=suggested),
                block_id=f"walk:{incident_id}"),
    ]
