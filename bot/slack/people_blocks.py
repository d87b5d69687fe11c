"""Messages to people: the owners' page, the assignee's DM, status updates and their reminder."""

from __future__ import annotations

from collections.abc import Sequence

from bot.models import Incident
from bot.models.units import human_seconds
from bot.slack.blocks import Block, clip, context, escape, section
from bot.slack.cards import user

__all__ = ["assignee_text", "mention", "owners_text", "status_blocks", "status_reminder_text"]


def mention(owner: str) -> str:
    """A catalog owner as a mention: users ``<@U…>``, user groups ``<!subteam^S…>``."""
    if owner[:1] in ("U", "W") and owner.isalnum():
        return f"<@{owner}>"
    if owner[:1] == "S" and owner.isalnum():
        return f"<!subteam^{owner}>"
    return escape(owner)


def owners_text(incident: Incident, owners: Sequence[str]) -> str:
    """The thread line that pages the service's owners."""
    who = " ".join(mention(o) for o in owners[:20])
    return (f":rotating_light: {who}: {incident.id} opened for {escape(incident.service or '')}"
            f" ({incident.severity.value}): {escape(clip(incident.summary, 300))}")


def assignee_text(incident: Incident, actor: str) -> str:
    """The DM to a new assignee."""
    return (f":bust_in_silhouette: {user(actor)} assigned you {incident.id} "
            f"({escape(incident.service or 'unmapped alert')}, {incident.severity.value}): "
            f"{escape(clip(incident.summary, 300))}. Its card is in <#{incident.channel}>.")


def status_blocks(incident: Incident, actor: str, text: str, *,
                  for_stakeholders: bool) -> tuple[str, list[Block]]:
    """A status update: in the thread it is short; in the status channel it says which."""
    body = escape(clip(text, 2000))
    head = f":loudspeaker: *Status update on {incident.id}*"
    if for_stakeholders:
        head = (f":loudspeaker: *{incident.id} · {escape(incident.service or 'unmapped alert')}"
                f" · {incident.severity.value} · {incident.status.value}*")
    blocks = [section(f"{head}\n{body}"),
              context(f"by {user(actor)} · {escape(clip(incident.summary, 200))} · "
                      f"in <#{incident.channel}>")]
    return clip(f"Status update on {incident.id}: {body}", 3000), blocks


def status_reminder_text(incident: Incident, idle_s: float, command: str) -> str:
    """The nudge for a critical incident's status update."""
    who = user(incident.assignee) if incident.assignee else "Whoever is leading this"
    return (f":alarm_clock: {who}: no status update on {incident.id} for "
            f"{human_seconds(round(idle_s))}. Stakeholders are waiting: "
            f"`{command} update {incident.id} …` with what is known and what is next.")
