"""Replies to ``/triage`` verbs: help, services, status, list, errors."""

from __future__ import annotations

from bot.config import Catalog
from bot.models import EventKind, Incident, TimelineEvent
from bot.models.commands import usage
from bot.slack.blocks import Block, clip, context, escape, fit_message, header, section
from bot.slack.cards import incident_card, user

_EVENT_WORDS = {
    EventKind.DECLARED: "declared", EventKind.NOTE: "note", EventKind.ASSIGNED: "assigned",
    EventKind.RESOLVED: "resolved", EventKind.ALERT_FIRED: "alert fired",
    EventKind.ALERT_RESOLVED: "alert resolved", EventKind.CARD_POSTED: "card posted",
    EventKind.STEP_DONE: "step done", EventKind.STEP_FAILED: "step failed",
    EventKind.RCA_EDITED: "RCA edited",
}


def help_blocks() -> list[Block]:
    """Every verb with its usage."""
    return [header("triage-bot"), section(usage())]


def error_blocks(message: str) -> list[Block]:
    """A user's mistake, said plainly."""
    return [section(f":warning: {escape(message)}")]


def services_blocks(catalog: Catalog) -> list[Block]:
    """The catalog: what can be named in a command."""
    if not catalog.services:
        return [section("No services are configured. Add them under `services:` in the config.")]
    lines = []
    for s in catalog.services:
        aliases = f" (aka {', '.join(s.aliases)})" if s.aliases else ""
        channel = f"<#{s.channel}>" if s.channel else "default channel"
        owners = " ".join(user(o) for o in s.owners) or "no owners"
        lines.append(f"• *{s.name}*{aliases} — {channel} — {owners}")
    chunks = [lines[i:i + 20] for i in range(0, len(lines), 20)]
    return fit_message([header("Services"), *(section("\n".join(c)) for c in chunks)])


def timeline_line(event: TimelineEvent) -> str:
    """One timeline entry as a line of mrkdwn."""
    when = event.at.strftime("%H:%M:%S")
    what = _EVENT_WORDS.get(event.kind, event.kind.value)
    detail = escape(clip(event.text, 200)) if event.text else ""
    if event.kind is EventKind.ASSIGNED:
        detail = f"→ {user(str(event.data.get('assignee')))}"
    by = f" by {user(event.actor)}" if event.actor else ""
    return f"`{when}` {what}{by}{': ' if detail and not detail.startswith('→') else ' '}{detail}"


def status_blocks(incident: Incident, timeline: list[TimelineEvent]) -> list[Block]:
    """The card plus the latest timeline entries."""
    card = [b for b in incident_card(incident) if b["type"] != "actions"]
    recent = timeline[-15:]
    lines = "\n".join(timeline_line(e) for e in recent) or "nothing yet"
    more = f" (latest {len(recent)} of {len(timeline)})" if len(timeline) > len(recent) else ""
    return fit_message([*card, section(f"*Timeline*{more}\n{lines}")])


def list_blocks(incidents: list[Incident]) -> list[Block]:
    """Open incidents, one line each."""
    if not incidents:
        return [section(":white_check_mark: No open incidents.")]
    lines = [
        f"• *{i.id}* {escape(i.service or 'unmapped')} — {escape(clip(i.summary, 80))} "
        f"({i.severity.value}, {user(i.assignee) if i.assignee else 'unassigned'})"
        for i in incidents
    ]
    chunks = [lines[i:i + 25] for i in range(0, len(lines), 25)]
    blocks = [header(f"Open incidents ({len(incidents)})"),
              *(section("\n".join(c)) for c in chunks)]
    return fit_message([*blocks, context("`/triage status <id>` for details")])
