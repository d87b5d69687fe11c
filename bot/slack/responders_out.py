"""Sending to people (``bot.triage.ports.ResponderOut``) through the one outbound module.

Everything goes through :class:`~bot.slack.outbound.SlackOutbound`'s pacing; the direct
message opens the conversation first (``conversations.open``), as Slack requires.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.models import Incident
from bot.slack.outbound import SlackOutbound
from bot.slack.people_blocks import (
    assignee_text,
    owners_text,
    status_blocks,
    status_reminder_text,
)

__all__ = ["SlackResponders"]


class SlackResponders:
    """Implements ``ResponderOut`` over ``SlackOutbound``."""

    def __init__(self, outbound: SlackOutbound, command: str = "/triage") -> None:
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

    async def remind_status(self, incident: Incident, idle_s: float) -> None:
        """The reminder in the thread, mentioning the assignee."""
        await self._outbound.post_text(incident,
                                       status_reminder_text(incident, idle_s, self._command))
