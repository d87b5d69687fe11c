"""What the use cases need from the outside world, as protocols the composition root fills.

The use cases decide *what* to say and *when*; how it looks in Slack (and that it is Slack at
all) is the implementation's business: ``bot.slack.outbound.SlackOutbound`` in the bot, a
printer in the terminal walk. So ``bot.triage`` never imports Slack.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from bot.models import AlertChange, AlertState, CardView, Change, Diagnosis, Incident, StepResult
from bot.models.card import CardMirror

__all__ = ["Announcer", "ResponderOut"]


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


class ResponderOut(Protocol):
    """Telling people: owners paged in the thread, the assignee by DM, stakeholders' updates.

    Apart from :class:`Announcer` so the outbox's card and thread protocol stays as it is.
    """

    async def mention_owners(self, incident: Incident, owners: Sequence[str]) -> None:
        """Mention the service's owners in the incident's thread."""

    async def tell_assignee(self, incident: Incident, assignee: str, actor: str) -> None:
        """A direct message to the person who was just assigned the incident."""

    async def post_status(self, incident: Incident, actor: str, text: str,
                          channel: str | None) -> None:
        """A status update in the thread and, when ``channel`` is set, in that channel too."""

    async def remind_status(self, incident: Incident, idle_s: float) -> None:
        """Ask the assignee (in the thread) for a status update."""

    async def open_incident_channel(self, view: CardView, name: str,
                                    members: Sequence[str]) -> CardMirror:
        """Create channel ``name``, invite ``members``, post the card there; its copy."""
