"""RCA in Slack: "Draft RCA" and ``/triage rca`` open the modal inside the trigger's 3 s and
fill it once drafted; saving checks the version so a second editor never silently
overwrites the first; ``/triage rca export`` posts the Markdown to the thread."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.errors import InputError, StoreError
from bot.slack import payloads
from bot.slack.rca_modal import RCA_CALLBACK, read_rca_submission
from bot.slack.walk_blocks import ACTION_RCA
from bot.tasks import SupervisorBusy
from bot.triage.access import Action
from handlers.flows import open_rca
from handlers.guard import enter
from handlers.replies import report_failure
from handlers.services import Services

log = logging.getLogger(__name__)
SAVE_DEADLINE_S = 2.0


def register(app: AsyncApp, services: Services) -> None:
    """Attach the Draft RCA button and the RCA form's submission."""

    async def on_click(ack: Callable[..., Awaitable[None]], body: dict[str, Any]) -> None:
        enter("button")
        respond = services.replies.reply_to(body)
        await ack()

        async def work() -> None:
            try:
                incident = await services.guard.button(body, Action.RCA)
                await open_rca(services, incident, payloads.text(body.get("trigger_id")))
            except Exception as exc:
                await report_failure(respond, exc)

        try:
            services.tasks.spawn(work(), name="rca:open")
        except SupervisorBusy as exc:
            await report_failure(respond, exc)

    app.action(ACTION_RCA)(on_click)
    app.view(RCA_CALLBACK)(_on_submit(services))


def _on_submit(services: Services) -> Any:
    async def on_submit(ack: Callable[..., Awaitable[None]], body: dict[str, Any]) -> None:
        enter("modal")
        who = payloads.user_id(body)
        try:
            form = read_rca_submission(payloads.view(body))
            async with asyncio.timeout(SAVE_DEADLINE_S):
                incident = await services.triage.find(form.incident_id)
                await services.guard.rca_edit(who, incident,
                                              await services.triage.latest_rca(incident.id),
                                              form.texts, form.prefilled)
                saved = await services.triage.save_rca(incident, form.version, form.texts,
                                                       form.prefilled, who)
        except (InputError, StoreError, TimeoutError) as exc:
            message = str(exc) or "The RCA store did not answer in time; try again."
            await ack(response_action="errors", errors={"symptom": message[:150]})
            return
        if saved is None:
            latest = await services.triage.latest_rca(form.incident_id)
            by = latest.edited_by if latest else "someone"
            await ack(response_action="errors", errors={"symptom": (
                f"{by} saved a newer version while you were editing. Nothing was overwritten: "
                "copy your text, close, and open Draft RCA again.")[:150]})
            return
        await ack()
        try:
            services.tasks.spawn(services.triage.rca_edited(incident, who, saved),
                                 name="rca:saved")
        except SupervisorBusy:
            log.warning("could not announce the RCA edit", extra={"incident_id": incident.id})
    return on_submit
