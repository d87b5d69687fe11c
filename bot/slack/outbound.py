"""Everything the bot sends to Slack about an incident: the card, its thread, its files.

The one outbound module: rendering is delegated to the pure ``bot.slack`` renderers; this
module paces writes (about one per second per channel, Slack's ``chat.postMessage`` limit)
and lets the Web API client's retry handlers honour ``Retry-After`` on 429s. It reads no
state and starts no task: the use cases decide what to say and when.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Executor
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.models import AlertChange, AlertState, CardView, Change, Diagnosis, Incident, StepResult
from bot.slack.alert_blocks import changes_text
from bot.slack.blocks import MAX_MESSAGE_TEXT, Block, clip, fit_message
from bot.slack.card_view import render_card
from bot.slack.changes import change_text
from bot.slack.charts import render_charts
from bot.slack.diagnosis_blocks import diagnosis_blocks, diagnosis_text
from bot.slack.findings_blocks import step_message
from bot.slack.pacing import WRITING_TO, ChannelPacer

__all__ = ["CARD_EVENT", "MAX_CHARTS", "SlackOutbound"]

#: Charts uploaded per step (each a PNG in one files v2 upload).
MAX_CHARTS = 6
#: The message metadata event type that marks a card, so a repost can find it first.
CARD_EVENT = "triage_card"
#: History pages read looking for a card posted before its ``ts`` was recorded.
_HISTORY_PAGES = 5


class SlackOutbound:
    """Sends an incident's card and thread messages; implements ``bot.triage.ports.Announcer``."""

    def __init__(self, client: AsyncWebClient, charts: Executor,
                 pacer: ChannelPacer | None = None) -> None:
        self.client = client
        self._charts = charts
        self._pacer = pacer or ChannelPacer()

    async def _turn(self, channel: str) -> None:
        """Wait for the channel's turn; a 429 on the write that follows defers later turns."""
        WRITING_TO.set(channel)
        await self._pacer.wait_turn(channel)

    async def post_card(self, view: CardView) -> str:
        """Post the card; returns its ``ts``."""
        card = render_card(view)
        await self._turn(view.incident.channel)
        response = await self.client.chat_postMessage(
            channel=view.incident.channel, text=card.text, blocks=card.blocks,
            unfurl_links=False,
            metadata={"event_type": CARD_EVENT, "event_payload": {"incident": view.incident.id}})
        return str(response["ts"])

    async def find_card(self, incident: Incident) -> str | None:
        """The ``ts`` of a card already posted for the incident, found by its metadata.

        A post whose answer was lost (a 500 after Slack stored it, a crash) leaves a card
        whose ``ts`` was never recorded; the channel's history since the incident opened
        tells, before a repost would make a second card.
        """
        oldest = f"{incident.created_at.timestamp() - 60:.6f}"
        cursor: str | None = None
        for _ in range(_HISTORY_PAGES):
            response = await self.client.conversations_history(
                channel=incident.channel, oldest=oldest, limit=200, include_all_metadata=True,
                cursor=cursor)
            for message in response.get("messages") or []:
                metadata = message.get("metadata") or {}
                payload = metadata.get("event_payload") or {}
                if (metadata.get("event_type") == CARD_EVENT
                        and payload.get("incident") == incident.id):
                    return str(message["ts"])
            cursor = (response.get("response_metadata") or {}).get("next_cursor") or None
            if not cursor:
                return None
        return None

    async def update_card(self, view: CardView) -> None:
        """Redraw the posted card."""
        incident = view.incident
        if not incident.card_ts:
            return
        card = render_card(view)
        await self._turn(incident.channel)
        await self.client.chat_update(channel=incident.channel, ts=incident.card_ts,
                                      text=card.text, blocks=card.blocks)

    async def post_change(self, incident: Incident, change: Change) -> None:
        """One thread line saying what a person changed."""
        await self.post_text(incident, change_text(incident, change))

    async def post_alert_changes(self, incident: Incident, changes: Sequence[AlertChange],
                                 states: Sequence[AlertState]) -> None:
        """One thread line saying what a notification changed."""
        await self.post_text(incident, changes_text(list(changes), list(states)))

    async def post_step(self, incident: Incident, result: StepResult) -> None:
        """The step's findings, then its charts, in the thread."""
        text, blocks = step_message(result, incident_id=incident.id,
                                    service=incident.service or "")
        await self.post_text(incident, text, blocks)
        charts = [chart for finding in result.findings for chart in finding.charts]
        if charts:
            files = await render_charts(charts[:MAX_CHARTS], self._charts)
            await self.upload(incident, files, f"{result.step.value} charts · {incident.id}")

    async def post_ranking(self, incident: Incident, diagnosis: Diagnosis) -> None:
        """The whole ranking in the thread."""
        await self.post_text(incident, diagnosis_text(diagnosis), diagnosis_blocks(diagnosis))

    async def post_file(self, incident: Incident, name: str, data: bytes, comment: str) -> None:
        """One file in the thread."""
        await self.upload(incident, [(name, data)], comment)

    async def post_text(self, incident: Incident, text: str,
                        blocks: list[Block] | None = None, **kwargs: Any) -> None:
        """A message in the card's thread (or the channel, before the card exists)."""
        await self._turn(incident.channel)
        await self.client.chat_postMessage(
            channel=incident.channel, thread_ts=incident.card_ts,
            text=clip(text, MAX_MESSAGE_TEXT), blocks=fit_message(blocks) if blocks else None,
            unfurl_links=False, **kwargs)

    async def post_channel(self, channel: str, text: str,
                           blocks: list[Block] | None = None) -> None:
        """A message in a channel, outside any incident's thread (digests, early warnings)."""
        await self._turn(channel)
        await self.client.chat_postMessage(
            channel=channel, text=clip(text, MAX_MESSAGE_TEXT),
            blocks=fit_message(blocks) if blocks else None, unfurl_links=False)

    async def upload(self, incident: Incident, files: Sequence[tuple[str, bytes]],
                     comment: str) -> None:
        """Files into the card's thread, one paced message, via the files v2 flow."""
        if not files:
            return
        await self._turn(incident.channel)
        await self.client.files_upload_v2(
            file_uploads=[{"content": data, "filename": name, "title": name}
                          for name, data in files],
            channel=incident.channel, thread_ts=incident.card_ts,
            initial_comment=clip(comment, 3000))
