"""Sending to people (``bot.triage.ports.ResponderOut``) through the outbound module.

Everything goes through :class:`~bot.slack.outbound.SlackOutbound`'s pacing; the direct
message opens the conversation first (``conversations.open``), as Slack requires.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from slack_sdk.errors import SlackApiError

from bot.models import CardView, Incident
from bot.models.card import CardMirror
from bot.slack.mirrors import MirroredOutbound
from bot.slack.people_blocks import (
    assignee_text,
    owners_text,
    status_blocks,
    status_reminder_text,
)

__all__ = ["SlackResponders"]

log = logging.getLogger(__name__)


class SlackResponders:
    """Implements ``ResponderOut`` over ``SlackOutbound``."""

    def __init__(self, outbound: MirroredOutbound, command: str = "/triage") -> None:
        self._outbound = outbound
        self._command = command

    async def mention_owners(self, incident: Incident, owners: Sequence[str]) -> None:
        """The owners' mention in the incident's thread."""
        await self._outbound.post_text(incident, owners_text(incident, owners))

    async def tell_assignee(self, incident: Incident, assignee: str, actor: str) -> None:
        """A DM: open the conversation, then post in it."""
        opened = await self._outbound.client.conversations_open(users=assignee)
        channel = str((opened.get("channel") or {}).get("id", ""))
        await self._outbound.post_channel(channel, assignee_text(incident, actor))

    async def post_status(self, incident: Incident, actor: str, text: str,
                          channel: str | None) -> None:
        """In the thread; then, for stakeholders, in the status channel."""
        short, blocks = status_blocks(incident, actor, text, for_stakeholders=False)
        await self._outbound.post_text(incident, short, blocks)
        if channel and channel != incident.channel:
            full, stakeholder_blocks = status_blocks(incident, actor, text,
                                                     for_stakeholders=True)
            await self._outbound.post_channel(channel, full, stakeholder_blocks)

    async def open_incident_channel(self, view: CardView, name: str,
                                    members: Sequence[str]) -> CardMirror:
        """Create the channel, invite the people, post the card there and say where it is."""
        client = self._outbound.client
        created = await client.conversations_create(name=name)
        channel = str(created["channel"]["id"])
        if members:
            try:
                await client.conversations_invite(channel=channel, users=",".join(members))
            except SlackApiError as exc:  # the channel and its card are still worth having
                log.warning("could not invite everyone to the incident channel",
                            extra={"incident_id": view.incident.id,
                                   "error": exc.response.get("error")})
        posted = await self._outbound.post_card_copy(view, channel)
        await self._outbound.post_text(view.incident,
                                       f":hash: Incident channel: <#{channel}>")
        return CardMirror(channel, posted)

    async def remind_status(self, incident: Incident, idle_s: float) -> None:
        """The reminder in the thread, mentioning the assignee."""
        await self._outbound.post_text(incident,
                                       status_reminder_text(incident, idle_s, self._command))
