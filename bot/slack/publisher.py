"""Posting and updating incident cards and thread messages, exactly once per incident."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.models import EventKind, Incident, TimelineEvent
from bot.slack.alert_blocks import alerts_section
from bot.slack.blocks import MAX_MESSAGE_TEXT, Block, clip, fit_message
from bot.slack.cards import card_text, incident_card
from bot.slack.pacing import ChannelPacer
from bot.store.alerts import AlertStateStore
from bot.store.claims import ClaimStore
from bot.store.incidents import IncidentStore
from bot.store.keys import CARD_LOCK_TTL_MS
from bot.tasks import SupervisorBusy, TaskSupervisor

log = logging.getLogger(__name__)
CardSection = Callable[[Incident], Awaitable[list[Block]]]


class CardPublisher:
    """Owns the card's life in Slack: first post, later updates, lines in its thread.

    Every write to a channel waits for its turn (about one per second per channel), and card
    redraws requested while one is already queued are folded into that one.
    """

    def __init__(
        self, client: AsyncWebClient, *, store: IncidentStore, claims: ClaimStore,
        alerts: AlertStateStore, tasks: TaskSupervisor, pacer: ChannelPacer | None = None,
        sections: Sequence[CardSection] = (),
    ) -> None:
        self.client = client
        self._store = store
        self._claims = claims
        self._alerts = alerts
        self._tasks = tasks
        self._pacer = pacer or ChannelPacer()
        self._queued_refresh: set[str] = set()
        self._sections = tuple(sections)

    async def card_blocks(self, incident: Incident) -> list[Block]:
        """The card as it should look now: incident state, its alerts, then other sections."""
        extra = alerts_section(await self._alerts.states(incident.id))
        for section in self._sections:
            extra.extend(await section(incident))
        return fit_message(incident_card(incident, extra=extra))

    async def post_card(self, incident: Incident) -> Incident:
        """Post the card unless it is posted or being posted; returns the incident as stored.

        A short-lived claim, taken only once this channel's turn has come, makes two replicas
        (or a retried webhook) post one card; if the poster dies, the claim expires and the
        next delivery posts it. Alerts that change while the card is on its way trigger a
        redraw, so the card never stays behind.
        """
        if incident.card_ts or await self._claims.held("card-post", incident.id):
            return incident
        await self._pacer.wait_turn(incident.channel)
        current = await self._store.get(incident.id) or incident
        if current.card_ts:
            return current
        lock_s = CARD_LOCK_TTL_MS // 1000
        if not await self._claims.claim("card-post", incident.id, ttl_seconds=lock_s):
            return current
        try:
            blocks = await self.card_blocks(current)
            response = await self.client.chat_postMessage(
                channel=current.channel, text=card_text(current), blocks=blocks,
                unfurl_links=False,
            )
        except Exception:
            await self._claims.release("card-post", incident.id)
            raise
        posted = await self._record_card(current, str(response["ts"]))
        if await self.card_blocks(posted) != blocks:
            self.request_refresh(posted.id)
        return posted

    async def _record_card(self, incident: Incident, ts: str) -> Incident:
        def set_ts(current: Incident) -> Incident | None:
            return None if current.card_ts else current.model_copy(update={"card_ts": ts})

        event = TimelineEvent(kind=EventKind.CARD_POSTED, data={"channel": incident.channel,
                                                                "ts": ts})
        updated = await self._store.update(incident.id, set_ts, event)
        return updated.incident if updated else incident

    async def refresh_card(self, incident: Incident) -> None:
        """Redraw the card from the incident's current state."""
        if not incident.card_ts:
            return
        blocks = await self.card_blocks(incident)
        await self._pacer.wait_turn(incident.channel)
        await self.client.chat_update(
            channel=incident.channel, ts=incident.card_ts, text=card_text(incident),
            blocks=blocks,
        )

    def request_refresh(self, incident_id: str) -> None:
        """Redraw the card soon; requests arriving while one is queued share it."""
        if incident_id in self._queued_refresh:
            return
        self._queued_refresh.add(incident_id)
        try:
            self._tasks.spawn(self._refresh_later(incident_id), name="card:refresh")
        except SupervisorBusy:
            # Shutting down or saturated: the next change (or the vitals job) redraws it.
            self._queued_refresh.discard(incident_id)
            log.warning("card redraw skipped: the bot is busy or stopping",
                        extra={"incident_id": incident_id})

    async def _refresh_later(self, incident_id: str) -> None:
        try:
            incident = await self._card_posted(incident_id)
            if incident is None:
                return
            await self._pacer.wait_turn(incident.channel)
            # Read again after waiting: changes made meanwhile ride along with this redraw.
            self._queued_refresh.discard(incident_id)
            latest = await self._store.get(incident_id) or incident
            await self.client.chat_update(
                channel=latest.channel, ts=latest.card_ts or str(incident.card_ts),
                text=card_text(latest), blocks=await self.card_blocks(latest),
            )
        finally:
            self._queued_refresh.discard(incident_id)

    async def _card_posted(self, incident_id: str) -> Incident | None:
        """The incident once its card exists; None if nobody is posting it.

        A redraw asked for while another task (or replica) is still posting the card waits
        for it, within the card lock's lifetime, instead of being lost.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + CARD_LOCK_TTL_MS / 1000
        while loop.time() < deadline:
            incident = await self._store.get(incident_id)
            if incident is None:
                return None
            if incident.card_ts:
                return incident
            if not await self._claims.held("card-post", incident_id):
                return None
            await asyncio.sleep(0.1)
        return None

    async def show_change(self, incident: Incident, line: str) -> None:
        """After a human changed the incident: redraw the card, say what changed in its thread."""
        await self.refresh_card(incident)
        await self.post_thread(incident, line)

    async def upload_to_thread(
        self, incident: Incident, files: Sequence[tuple[str, bytes]], comment: str
    ) -> None:
        """Files (charts) into the card's thread, one paced message, via the files v2 flow."""
        if not files:
            return
        await self._pacer.wait_turn(incident.channel)
        await self.client.files_upload_v2(
            file_uploads=[{"content": data, "filename": name, "title": name}
                          for name, data in files],
            channel=incident.channel, thread_ts=incident.card_ts,
            initial_comment=clip(comment, 3000))

    async def post_thread(
        self, incident: Incident, text: str, blocks: list[Block] | None = None, **kwargs: Any
    ) -> None:
        """A message in the card's thread (or the channel, before the card exists)."""
        await self._pacer.wait_turn(incident.channel)
        await self.client.chat_postMessage(
            channel=incident.channel, thread_ts=incident.card_ts,
            text=clip(text, MAX_MESSAGE_TEXT), blocks=fit_message(blocks) if blocks else None,
            unfurl_links=False, **kwargs,
        )
