"""The card's view model: everything the incident card shows, read from the store at once.

The use-case layer builds it from one read of the incident's state; ``bot.slack`` turns it into
Block Kit without asking anything else. A change to the card is one read and one render.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from bot.models.alerts import AlertState
from bot.models.findings import Diagnosis, StepName, StepStatus
from bot.models.incident import Incident
from bot.models.silence import SilenceRecord
from bot.models.vitals import Vitals

__all__ = ["CardMirror", "CardView", "Change", "ChangeKind"]


@dataclass(frozen=True)
class CardMirror:
    """A copy of the card in another channel (the incident's own), redrawn with it."""

    channel: str
    ts: str


@dataclass(frozen=True)
class CardView:
    """One incident's card as it should look now.

    ``walkable`` says whether the incident is about a catalog service, i.e. whether the bot may
    query anything for it: only then does the card carry the walk's steps and buttons.
    """

    incident: Incident
    alerts: tuple[AlertState, ...] = ()
    vitals: Vitals | None = None
    steps: Mapping[StepName, StepStatus] = field(default_factory=dict)
    diagnosis: Diagnosis | None = None
    walkable: bool = False
    #: Silences created from the incident; with ``alertmanager_url`` set the card offers more.
    silences: tuple[SilenceRecord, ...] = ()
    #: Alertmanager's UI, for the "Silence…" button and the link to the group's alerts.
    alertmanager_url: str | None = None
    #: Copies of the card to redraw with it (the incident channel's).
    mirrors: tuple[CardMirror, ...] = ()

    def status(self, step: StepName) -> StepStatus:
        """Where ``step`` stands (NOT_STARTED when it never ran)."""
        return self.steps.get(step, StepStatus.NOT_STARTED)


ChangeKind = Literal["note", "assigned", "took", "resolved", "rca_edited", "reopened",
                     "silenced", "silence_expired"]


@dataclass(frozen=True)
class Change:
    """A change a person made to an incident, said once in its thread.

    ``subject`` is whom it concerns (the assignee), ``text`` what they wrote (a note, a
    resolution note, the RCA's new version). Rendering is Slack's business.
    """

    kind: ChangeKind
    actor: str
    subject: str | None = None
    text: str = ""
    #: The silence a "silenced" / "silence_expired" change is about.
    silence: SilenceRecord | None = None
