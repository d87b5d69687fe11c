"""The whole card from its view model: incident, alerts, key metrics, the walk, the buttons.

Pure: one :class:`~bot.models.CardView` in, the message's fallback text and blocks out. The
use-case layer reads the view once per change; nothing here reads the store or sends.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.models import CardView
from bot.slack.alert_blocks import alerts_section
from bot.slack.blocks import Block, actions, button, fit_message
from bot.slack.cards import card_text, incident_card
from bot.slack.link_blocks import links_section
from bot.slack.silence_blocks import silences_section
from bot.slack.vitals_blocks import vitals_section
from bot.slack.walk_blocks import ACTION_RCA, suggest_next, walk_section

__all__ = ["RenderedCard", "render_card"]


@dataclass(frozen=True)
class RenderedCard:
    """What ``chat.postMessage`` / ``chat.update`` send for a card."""

    text: str
    blocks: list[Block]


def render_card(view: CardView) -> RenderedCard:
    """The card as it should look now, within Slack's block limits."""
    extra = [*alerts_section(list(view.alerts)), *links_section(view), *silences_section(view),
             *vitals_section(view.vitals), *_walk_blocks(view)]
    return RenderedCard(card_text(view.incident),
                        fit_message(incident_card(view.incident, extra=extra)))


def _walk_blocks(view: CardView) -> list[Block]:
    """The walk's part: only for incidents about a catalog service."""
    if not view.walkable:
        return []
    incident = view.incident
    if incident.is_open:
        return walk_section(view.steps, view.diagnosis, incident.id,
                            suggested=suggest_next(view.steps))
    # A resolved incident keeps its story and the way to its RCA, not the step buttons.
    kept = [b for b in walk_section(view.steps, view.diagnosis, incident.id, suggested=None)
            if b["type"] != "actions"]
    return [*kept, actions([button(":memo: Draft RCA", ACTION_RCA, incident.id)],
                           block_id=f"walk:{incident.id}")]
