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
    note = f": {escape(change.text)}" if change.text else "."
    lines = {
        "note": f":memo: {who} noted: {escape(change.text)}",
        "assigned": f":bust_in_silhouette: {who} assigned {user(change.subject)}.",
        "took": f":bust_in_silhouette: {who} took {incident.id}.",
        "resolved": f":white_check_mark: {who} resolved {incident.id}{note}",
        "reopened": f":arrows_counterclockwise: {who} reopened {incident.id}{note}",
    }
    return lines.get(change.kind, f":memo: {who} edited the RCA of {incident.id} "
                                  f"(version {escape(change.text)}).")
