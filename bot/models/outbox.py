"""What the bot still owes Slack: one item per card, redraw or thread line, kept in Redis.

An item is written in the same atomic step as the state change it announces, so a change that
is stored is always said, whatever happens to the process that stored it. Its ``id`` is stable
(one card per incident, one redraw slot per incident, one id per thread line), which is what
makes at-least-once delivery idempotent per incident and change.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, TypeAdapter

from bot.models.alerts import AlertChange
from bot.models.card import Change

OutboxKind = Literal["card", "redraw", "alerts", "change"]

_ALERT_CHANGES = TypeAdapter(list[AlertChange])
_CHANGE = TypeAdapter(Change)


class OutboxItem(BaseModel):
    """One thing to send; ``body`` carries what a thread line says (JSON)."""

    model_config = ConfigDict(frozen=True)

    id: str
    incident: str
    kind: OutboxKind
    body: str = ""
    #: Distinguishes two requests under one id (a redraw asked again while one is in flight).
    nonce: str = ""
    #: Run the metrics step once this item has posted the card.
    run_metrics: bool = False

    @property
    def coalesces(self) -> bool:
        """Whether a new request replaces a pending one (redraws render current state)."""
        return self.kind == "redraw"

    def alert_changes(self) -> list[AlertChange]:
        """The changes an ``alerts`` item says."""
        return _ALERT_CHANGES.validate_json(self.body)

    def change(self) -> Change:
        """The change a ``change`` item says."""
        return _CHANGE.validate_json(self.body)


def card_item(iid: str, *, run_metrics: bool = False) -> OutboxItem:
    """Post the incident's card (once: a second request for it is a no-op)."""
    return OutboxItem(id=f"card:{iid}", incident=iid, kind="card", run_metrics=run_metrics)


def redraw_item(iid: str) -> OutboxItem:
    """Redraw the card from the state current when the item is delivered."""
    return OutboxItem(id=f"redraw:{iid}", incident=iid, kind="redraw", nonce=uuid.uuid4().hex)


def alerts_item(iid: str, changes: Sequence[AlertChange]) -> OutboxItem:
    """The thread line saying what a notification changed."""
    return OutboxItem(id=f"alerts:{iid}:{uuid.uuid4().hex}", incident=iid, kind="alerts",
                      body=_ALERT_CHANGES.dump_json(list(changes)).decode())


def change_item(iid: str, change: Change) -> OutboxItem:
    """The thread line saying what a person changed (a note, an assignment, a resolution)."""
    return OutboxItem(id=f"change:{iid}:{uuid.uuid4().hex}", incident=iid, kind="change",
                      body=_CHANGE.dump_json(change).decode())
