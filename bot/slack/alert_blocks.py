"""The alerts section of an alert-opened incident's card, and the thread line on changes."""

from __future__ import annotations

from bot.models import AlertChange, AlertState
from bot.slack.blocks import Block, clip, context, escape, section

MAX_LISTED = 8
_HIDDEN_LABELS = {"alertname", "severity"}


def _labels(labels: dict[str, str], limit: int = 3) -> str:
    shown = [f"{k}={v}" for k, v in sorted(labels.items()) if k not in _HIDDEN_LABELS][:limit]
    return escape(", ".join(shown))


def _line(state: AlertState) -> str:
    icon = ":fire:" if state.status == "firing" else ":white_check_mark:"
    summary = state.annotations.get("summary") or state.annotations.get("description") or ""
    detail = f" — {escape(clip(summary, 120))}" if summary else ""
    return f"{icon} *{escape(state.name)}* `{_labels(state.labels)}`{detail}"


def alerts_section(states: list[AlertState]) -> list[Block]:
    """Firing and resolved counts, the first alerts listed; all-resolved said plainly."""
    if not states:
        return []
    firing = [s for s in states if s.status == "firing"]
    if firing:
        head = f"*Alerts:* {len(firing)} firing, {len(states) - len(firing)} resolved"
    else:
        head = (f":white_check_mark: *All {len(states)} alerts have resolved.* The incident "
                "stays open until someone resolves it.")
    lines = [_line(s) for s in states[:MAX_LISTED]]
    blocks = [section("\n".join([head, *lines]))]
    if len(states) > MAX_LISTED:
        blocks.append(context(f"…and {len(states) - MAX_LISTED} more alerts"))
    return blocks


def changes_text(changes: list[AlertChange], states: list[AlertState]) -> str:
    """One short thread line saying what a notification changed."""
    fired = [c.alert for c in changes if c.kind == "fired"]
    resolved = [c.alert for c in changes if c.kind == "resolved"]
    parts = []
    if fired:
        names = ", ".join(f"{escape(a.name)} `{_labels(a.labels, 2)}`" for a in fired[:3])
        more = f" and {len(fired) - 3} more" if len(fired) > 3 else ""
        parts.append(f":fire: {len(fired)} firing: {names}{more}")
    if resolved:
        parts.append(f":white_check_mark: {len(resolved)} resolved")
    if states and all(s.status == "resolved" for s in states):
        parts.append("all alerts of this group have resolved")
    return "; ".join(parts)
