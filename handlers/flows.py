"""Slack flows more than one listener starts: the RCA modal, the RCA export.

Not a listener module: handlers import this, never each other.
"""

from __future__ import annotations

from bot.models import Incident
from bot.slack.rca_modal import loading_view, rca_view
from handlers.replies import Reply, ephemeral
from handlers.services import Services


async def open_rca(services: Services, incident: Incident, trigger_id: str) -> None:
    """Open the modal at once (the trigger lasts 3 s), then fill it with the draft."""
    opened = await services.client.views_open(trigger_id=trigger_id,
                                              view=loading_view(incident.id))
    view = opened["view"]
    rca = await services.triage.draft_rca(incident)
    await services.client.views_update(view_id=view["id"], hash=view.get("hash"),
                                       view=rca_view(incident, rca))


async def export_rca(services: Services, incident: Incident, respond: Reply) -> None:
    """Post the RCA as Markdown in the incident's thread, and tell the caller."""
    await services.triage.export_rca(incident)
    await ephemeral(respond, f"Posted the RCA of {incident.id} to its thread.")
