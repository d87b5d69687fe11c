"""Events API: ``@triage-bot status`` and friends, answered in the thread.

Slack redelivers an event it thinks we missed (``X-Slack-Retry-Num``); Bolt does not
deduplicate, so each ``event_id`` is claimed in Redis before any work.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError

from bot.errors import InputError
from bot.models import commands as cmd
from bot.slack.replies import error_blocks, help_blocks, list_blocks, status_blocks
from bot.tasks import SupervisorBusy
from handlers.services import Services

log = logging.getLogger(__name__)
_MENTION = re.compile(r"<@[UW][A-Z0-9]+(?:\|[^>]*)?>")


def register(app: AsyncApp, services: Services) -> None:
    """Attach the app_mention listener (Bolt acks events itself)."""

    async def on_mention(body: dict[str, Any], event: dict[str, Any]) -> None:
        event_id = str(body.get("event_id", ""))
        if not event_id or not await services.claims.claim("event", event_id):
            services.metrics.duplicates.labels("event").inc()
            log.info("duplicate event ignored", extra={"event_id": event_id})
            return
        try:
            services.tasks.spawn(_answer(services, event), name="event:app_mention")
        except SupervisorBusy:
            await services.claims.release("event", event_id)
            raise

    app.event("app_mention")(on_mention)


async def _answer(services: Services, event: dict[str, Any]) -> None:
    channel = str(event.get("channel", ""))
    text = _MENTION.sub("", str(event.get("text", ""))).strip()
    try:
        blocks = await _blocks_for(services, text, channel)
    except InputError as exc:
        blocks = error_blocks(str(exc))
    try:
        await services.client.chat_postMessage(
            channel=channel, thread_ts=event.get("thread_ts") or event.get("ts"),
            text="triage-bot", blocks=blocks)
    except SlackApiError as exc:
        # Removed from the channel, or it was archived since: nobody to tell but the log.
        log.warning("could not answer a mention", extra={
            "channel": channel, "error": exc.response.get("error", "unknown")})


async def _blocks_for(services: Services, text: str, channel: str) -> list[dict[str, Any]]:
    command = cmd.parse_command(text, services.triage.incidents.is_ref)
    if isinstance(command, cmd.Status):
        incident = await services.triage.find(command.ref, channel)
        return status_blocks(incident, await services.triage.timeline(incident))
    if isinstance(command, cmd.ListOpen):
        return list_blocks(await services.triage.list_open())
    if isinstance(command, cmd.Help):
        return help_blocks()
    raise InputError("In a mention I answer `status`, `list` and `help`; use `/triage` otherwise.")
