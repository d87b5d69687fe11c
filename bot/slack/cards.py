"""The incident card: the one message per incident that everyone looks at."""

from __future__ import annotations

from bot.models import Incident, IncidentStatus, Severity
from bot.slack.blocks import (
    Block,
    actions,
    button,
    clip,
    confirm_dialog,
    context,
    escape,
    header,
    section,
)

ACTION_ASSIGN_ME = "incident.assign_me"
ACTION_RESOLVE = "incident.resolve"

_SEVERITY_ICON = {
    Severity.CRITICAL: ":red_circle:", Severity.ERROR: ":large_orange_circle:",
    Severity.WARNING: ":large_yellow_circle:", Severity.INFO: ":large_blue_circle:",
    Severity.UNKNOWN: ":white_circle:",
}


def user(user_id: str | None) -> str:
    """A mention for Slack user ids; other actors (alertmanager, cli) as plain words."""
    if user_id and user_id[:1] in ("U", "W") and user_id.isalnum():
        return f"<@{user_id}>"
    return escape(user_id or "nobody")


def slack_date(incident: Incident) -> str:
    """The declaration time in the reader's own time zone, with an ISO fallback."""
    ts = int(incident.created_at.timestamp())
    fallback = incident.created_at.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{ts}^{{date_short_pretty}} {{time}}|{fallback}>"


def status_text(incident: Incident) -> str:
    """Open / Resolved, with who and when."""
    if incident.status is IncidentStatus.RESOLVED:
        return f":white_check_mark: Resolved by {user(incident.resolved_by)}"
    return ":rotating_light: Open"


def card_text(incident: Incident) -> str:
    """Notification fallback text for the card."""
    service = incident.service or "unknown (unmapped alert)"
    # The notification text is mrkdwn too: a summary from an alert or a person is escaped here
    # as in the blocks, or "<!channel>" in it would page the whole channel.
    return clip(escape(f"{incident.id} · {service} · {incident.status.value}: "
                       f"{incident.summary}"), 3000)


def incident_card(incident: Incident, *, extra: list[Block] | None = None) -> list[Block]:
    """Card blocks; ``extra`` lets later steps add their sections above the buttons."""
    icon = _SEVERITY_ICON[incident.severity]
    title = f"{incident.id} · {incident.service or 'unknown (unmapped alert)'}"
    blocks: list[Block] = [
        header(title),
        section(f"{icon} *{escape(incident.summary)}*", fields=[
            f"*Severity*\n{incident.severity.value}",
            f"*Status*\n{status_text(incident)}",
            f"*Assigned*\n{user(incident.assignee)}",
            f"*Declared*\n{slack_date(incident)} by {user(incident.created_by)}",
        ]),
    ]
    blocks.extend(extra or [])
    if incident.is_open:
        blocks.append(actions([
            button("Assign to me", ACTION_ASSIGN_ME, incident.id),
            button("Resolve", ACTION_RESOLVE, incident.id, style="danger",
                   confirm=confirm_dialog("Resolve incident?",
                                          f"Close {incident.id}? Its timeline is kept.",
                                          "Resolve")),
        ], block_id=f"incident:{incident.id}"))
    blocks.append(context(f"`{incident.id}` · source: {escape(incident.source)} · "
                          f"use `/triage status {incident.id}`"))
    return blocks
