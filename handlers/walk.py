"""The walk in Slack: step buttons, ``/triage metrics|logs|traces|profile``, alert auto-start.

A click is acked at once; the step runs as a tracked task, the card shows it running, the
findings go to the incident's thread (charts as PNG files), and the card is redrawn with the
new state and the leading candidate. Two people clicking the same step run it once.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.models import Incident, StepName, StepResult
from bot.slack.blocks import Block, actions, button
from bot.slack.charts import render_charts
from bot.slack.diagnosis_blocks import diagnosis_blocks, diagnosis_text
from bot.slack.findings_blocks import step_message
from bot.slack.walk_blocks import ACTION_RCA, STEP_ACTIONS, suggest_next, walk_section
from bot.tasks import SupervisorBusy
from bot.triage.walk import Walk
from handlers.replies import Reply, ephemeral, report_failure
from handlers.services import Services

log = logging.getLogger(__name__)
MAX_CHARTS = 6


def card_section(walk: Walk) -> Callable[[Incident], Awaitable[list[Block]]]:
    """The walk's part of the card: only for incidents about a catalog service."""

    async def section(incident: Incident) -> list[Block]:
        if walk.catalog.get(incident.service or "") is None:
            return []
        steps = await walk.stores.walk.statuses(incident.id)
        diagnosis = await walk.stores.walk.diagnosis(incident.id)
        if incident.is_open:
            return walk_section(steps, diagnosis, incident.id, suggested=suggest_next(steps))
        # A resolved incident keeps its story and the way to its RCA, not the step buttons.
        kept = [b for b in walk_section(steps, diagnosis, incident.id, suggested=None)
                if b["type"] != "actions"]
        return [*kept, actions([button(":memo: Draft RCA", ACTION_RCA, incident.id)],
                               block_id=f"walk:{incident.id}")]

    return section


def register(app: AsyncApp, services: Services) -> None:
    """Attach one listener per step button."""
    for step, action_id in STEP_ACTIONS.items():
        app.action(action_id)(_click_listener(services, step))


def _click_listener(services: Services, step: StepName) -> Any:
    async def on_click(ack: Callable[..., Awaitable[None]], body: dict[str, Any]) -> None:
        respond = services.replies.reply_to(body)
        await ack()
        action = (body.get("actions") or [{}])[0]
        user_id = str((body.get("user") or {}).get("id", ""))

        async def work() -> None:
            try:
                incident = await services.incidents.find(str(action.get("value", "")), "")
                await run_and_report(services, incident, step, user_id, respond)
            except Exception as exc:
                await report_failure(respond, exc)

        try:
            services.tasks.spawn(work(), name=f"walk:{step.value}",
                                 timeout=services.walk.step_timeout_s + 60)
        except SupervisorBusy as exc:
            await report_failure(respond, exc)
    return on_click


async def run_and_report(services: Services, incident: Incident, step: StepName,
                         actor: str | None, respond: Reply | None = None) -> StepResult | None:
    """Run the step (once), then post its findings and charts and redraw the card."""
    publisher, walk = services.publisher, services.walk

    async def started() -> None:
        publisher.request_refresh(incident.id)

    before = await walk.stores.walk.diagnosis(incident.id)
    result = await walk.run_step(incident, step, actor, on_start=started)
    if result is None:
        if respond is not None:
            await ephemeral(respond, f"The {step.value} step is already running for "
                                     f"{incident.id}; its findings will appear in the thread.")
        return None
    current = await services.incidents.store.get(incident.id) or incident
    text, blocks = step_message(result, incident_id=incident.id,
                                service=incident.service or "")
    await publisher.post_thread(current, text, blocks)
    charts = [chart for finding in result.findings for chart in finding.charts][:MAX_CHARTS]
    if charts:
        files = await render_charts(charts, walk.deps.executor)
        await publisher.upload_to_thread(current, files, f"{step.value} charts · {incident.id}")
    after = await walk.stores.walk.diagnosis(incident.id)
    if after is not None and _leader(after) != _leader(before):
        await publisher.post_thread(current, diagnosis_text(after), diagnosis_blocks(after))
    publisher.request_refresh(incident.id)
    return result


def _leader(diagnosis: Any) -> str | None:
    leader = diagnosis.leader if diagnosis is not None else None
    return leader.playbook if leader is not None else None
