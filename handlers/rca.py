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
from bot.models import Incident
from bot.slack.cards import user
from bot.slack.rca_modal import RCA_CALLBACK, loading_view, rca_view, read_rca_submission
from bot.slack.walk_blocks import ACTION_RCA
from bot.tasks import SupervisorBusy
from handlers.replies import Reply, ephemeral, report_failure
from handlers.services import Services

log = logging.getLogger(__name__)
SAVE_DEADLINE_S = 2.0


def register(app: AsyncApp, services: Services) -> None:
    """Attach the Draft RCA button and the RCA form's submission."""

    async def on_click(ack: Callable[..., Awaitable[None]], body: dict[str, Any]) -> None:
        respond = services.replies.reply_to(body)
        await ack()
        action = (body.get("actions") or [{}])[0]

        async def work() -> None:
            try:
                incident = await services.incidents.find(str(action.get("value", "")), "")
                await open_rca(services, incident, str(body.get("trigger_id", "")))
            except Exception as exc:
                await report_failure(respond, exc)

        try:
            services.tasks.spawn(work(), name="rca:open")
        except SupervisorBusy as exc:
            await report_failure(respond, exc)

    app.action(ACTION_RCA)(on_click)
    app.view(RCA_CALLBACK)(_on_submit(services))


async def open_rca(services: Services, incident: Incident, trigger_id: str) -> None:
    """Open the modal at once (the trigger lasts 3 s), then fill it with the draft."""
    opened = await services.client.views_open(trigger_id=trigger_id,
                                              view=loading_view(incident.id))
    view = opened["view"]
    rca = await services.rca.current(incident)
    await services.client.views_update(view_id=view["id"], hash=view.get("hash"),
                                       view=rca_view(incident, rca))


def _on_submit(services: Services) -> Any:
    async def on_submit(ack: Callable[..., Awaitable[None]], body: dict[str, Any]) -> None:
        who = str((body.get("user") or {}).get("id", ""))
        try:
            form = read_rca_submission(body.get("view") or {})
            async with asyncio.timeout(SAVE_DEADLINE_S):
                incident = await services.incidents.find(form.incident_id, "")
                saved = await services.rca.save_edit(incident, form.version, form.texts,
                                                     form.prefilled, who)
        except (InputError, StoreError, TimeoutError) as exc:
            message = str(exc) or "The RCA store did not answer in time; try again."
            await ack(response_action="errors", errors={"symptom": message[:150]})
            return
        if saved is None:
            latest = await services.rca.rcas.get(form.incident_id)
            by = latest.edited_by if latest else "someone"
            await ack(response_action="errors", errors={"symptom": (
                f"{by} saved a newer version while you were editing. Nothing was overwritten: "
                "copy your text, close, and open Draft RCA again.")[:150]})
            return
        await ack()
        try:
            services.tasks.spawn(services.publisher.post_thread(
                incident, f":memo: {user(who)} edited the RCA of {incident.id} "
                          f"(version {saved.version})."), name="rca:saved")
        except SupervisorBusy:
            log.warning("could not announce the RCA edit", extra={"incident_id": incident.id})
    return on_submit


async def export_rca(services: Services, incident: Incident, respond: Reply) -> None:
    """Post the RCA as a Markdown file in the incident's thread."""
    text = await services.rca.markdown(incident)
    await services.publisher.upload_to_thread(
        incident, [(f"rca-{incident.id}.md", text.encode())], f"RCA of {incident.id}")
    await ephemeral(respond, f"Posted the RCA of {incident.id} to its thread.")
