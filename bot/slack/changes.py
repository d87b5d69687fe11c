"""Thread lines for the changes people make: notes, assignments, resolutions, RCA edits."""

from __future__ import annotations

from bot.models import Change, Incident
from bot.slack.blocks import escape
from bot.slack.cards import user
from bot.slack.silence_blocks import silence_change_text

__all__ = ["change_text"]


def change_text(incident: Incident, change: Change) -> str:
    """One mrkdwn line; what people wrote is escaped, never live."""
    if change.kind in ("silenced", "silence_expired"):
        return silence_change_text(change)
    who = user(change.actor)
    if change.kind == "note":
        return f":memo: {who} noted: {escape(change.text)}"
    if change.kind == "assigned":
        return f":bust_in_silhouette: {who} assigned {user(change.subject)}."
    if change.kind == "took":
        return f":bust_in_silhouette: {who} took {incident.id}."
    if change.kind == "resolved":
        note = f": {escape(change.text)}" if change.text else "."
        return f":white_check_mark: {who} resolved {incident.id}{note}"
    return f":memo: {who} edited the RCA of {incident.id} (version {escape(change.text)})."
