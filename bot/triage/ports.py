"""What the use cases need from the outside world, as protocols the composition root fills.

The use cases decide *what* to say and *when*; how it looks in Slack (and that it is Slack at
all) is the implementation's business: ``bot.slack.outbound.SlackOutbound`` in the bot, a
printer in the terminal walk. So ``bot.triage`` never imports Slack.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from bot.models import AlertChange, AlertState, CardView, Change, Diagnosis, Incident, StepResult

__all__ = ["Announcer"]


class Announcer(Protocol):
    """Where an incident's card and thread live."""

    async def post_card(self, view: CardView) -> str:
        """Post the card; returns the message's id (Slack's ``ts``)."""

    async def find_card(self, incident: Incident) -> str | None:
        """The id of a card already posted for the incident (a lost answer), if any."""

    async def update_card(self, view: CardView) -> None:
        """Redraw a posted card."""

    async def post_change(self, incident: Incident, change: Change) -> None:
        """Say in the thread what a person changed."""

    async def post_alert_changes(self, incident: Incident, changes: Sequence[AlertChange],
                                 states: Sequence[AlertState]) -> None:
        """Say in the thread what a notification changed."""

    async def post_step(self, incident: Incident, result: StepResult) -> None:
        """A step's findings (and charts) in the thread."""

    async def post_ranking(self, incident: Incident, diagnosis: Diagnosis) -> None:
        """The full ranking, when its leader changed."""

    async def post_text(self, incident: Incident, text: str,
                        blocks: list[dict[str, Any]] | None = None) -> None:
        """A message already rendered by the caller (jobs' reminders and warnings)."""

    async def post_file(self, incident: Incident, name: str, data: bytes, comment: str) -> None:
        """A file (the RCA's Markdown) in the thread."""
