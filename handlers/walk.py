"""The step buttons on the card. ``/triage metrics|logs|traces|profile`` is in commands.

A click is acked at once; the step runs as a tracked task through the use case, which shows
it running on the card, posts the findings to the thread and redraws the card. Two people
clicking the same step run it once; the second is told.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.models import StepName
from bot.slack import payloads
from bot.slack.walk_blocks import STEP_ACTIONS
from bot.tasks import SupervisorBusy
from bot.triage.access import Action
from handlers.guard import enter
from handlers.replies import ephemeral, report_failure
from handlers.services import Services


def register(app: AsyncApp, services: Services) -> None:
    """Attach one listener per step button."""
    for step, action_id in STEP_ACTIONS.items():
        app.action(action_id)(_click_listener(services, step))


def _click_listener(services: Services, step: StepName) -> Any:
    async def on_click(ack: Callable[..., Awaitable[None]], body: dict[str, Any]) -> None:
        enter("button")
        respond = services.replies.reply_to(body)
        await ack()
        user_id = payloads.user_id(body)

        async def work() -> None:
            try:
                incident = await services.guard.button(body, Action.STEP)
                async with services.guard.step(user_id, step, incident):
                    if await services.triage.run_step(incident, step, user_id) is None:
                        await ephemeral(respond, f"The {step.value} step is already running "
                                                 f"for {incident.id}; its findings will appear "
                                                 "in the thread.")
            except Exception as exc:
                await report_failure(respond, exc)

        try:
            services.tasks.spawn(work(), name=f"walk:{step.value}",
                                 timeout=services.step_deadline_s)
        except SupervisorBusy as exc:
            await report_failure(respond, exc)
    return on_click
