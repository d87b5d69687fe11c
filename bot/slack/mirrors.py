"""The card's copies: ``SlackOutbound`` that also redraws the card wherever it is mirrored."""

from __future__ import annotations

from bot.models import CardView
from bot.slack.card_view import render_card
from bot.slack.outbound import SlackOutbound

__all__ = ["MirroredOutbound"]


class MirroredOutbound(SlackOutbound):
    """Every redraw of a card also redraws its copies (the incident channel's), in step."""

    async def post_card_copy(self, view: CardView, channel: str) -> str:
        """Post the card in another channel; returns the copy's ``ts``."""
        card = render_card(view)
        await self._turn(channel)
        response = await self.client.chat_postMessage(channel=channel, text=card.text,
                                                      blocks=card.blocks, unfurl_links=False)
        return str(response["ts"])

    async def update_card(self, view: CardView) -> None:
        """Redraw the card, then each copy, each paced in its own channel."""
        await super().update_card(view)
        if not view.mirrors or not view.incident.card_ts:
            return
        card = render_card(view)
        for mirror in view.mirrors:
            await self._turn(mirror.channel)
            await self.client.chat_update(channel=mirror.channel, ts=mirror.ts, text=card.text,
                                          blocks=card.blocks)
