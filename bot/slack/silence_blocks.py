"""Silences on the card (with "Silence…" and "Expire silence" buttons) and in the thread."""

from __future__ import annotations

from datetime import datetime

from bot.models import CardView, Change, utcnow
from bot.models.silence import SilenceRecord
from bot.slack.blocks import Block, actions, button, clip, confirm_dialog, escape, section
from bot.slack.cards import user

__all__ = ["ACTION_EXPIRE", "ACTION_SILENCE", "expire_value", "parse_expire_value",
           "silence_change_text", "silences_section"]

ACTION_SILENCE = "incident.silence"
ACTION_EXPIRE = "incident.silence_expire"
#: Silences listed on the card (each with its own button); older ones stay in the timeline.
MAX_SHOWN = 4


def slack_time(at: datetime) -> str:
    """A time the reader sees in their own time zone, with a UTC fallback."""
    fallback = at.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(at.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


def matchers_text(record: SilenceRecord) -> str:
    """The matchers as Alertmanager writes them, escaped, in code."""
    return f"`{escape(clip(', '.join(m.text() for m in record.matchers), 300))}`"


def expire_value(incident_id: str, silence_id: str) -> str:
    """The "Expire silence" button's value."""
    return f"{incident_id} {silence_id}"


def parse_expire_value(value: str) -> tuple[str, str]:
    """(incident id, silence id) from a button value; ValueError when it is not one."""
    incident_id, _, silence_id = value.partition(" ")
    if not incident_id or not silence_id:
        raise ValueError(f"not an expire-silence value: {value!r}")
    return incident_id, silence_id


def silences_section(view: CardView, now: datetime | None = None) -> list[Block]:
    """Active silences with their end time and an expire button; "Silence…" while open."""
    if view.alertmanager_url is None or not view.incident.is_open:
        return []
    now = now or utcnow()
    active = [s for s in view.silences if s.active(now)]
    iid = view.incident.id
    blocks: list[Block] = []
    if active:
        lines = [f":mute: {matchers_text(s)} until {slack_time(s.ends_at)} "
                 f"by {user(s.created_by)}" for s in active[:MAX_SHOWN]]
        blocks.append(section("*Silenced*\n" + "\n".join(lines)))
    buttons = [button(":mute: Silence…", ACTION_SILENCE, iid)]
    buttons += [button(f"Expire silence {i + 1}" if len(active) > 1 else "Expire silence",
                       ACTION_EXPIRE, expire_value(iid, s.id),
                       confirm=confirm_dialog("Expire silence?",
                                              f"Alerts matching {matchers_text(s)} notify again.",
                                              "Expire"))
                for i, s in enumerate(active[:MAX_SHOWN])]
    blocks.append(actions(buttons, block_id=f"silence:{iid}"))
    return blocks


def silence_change_text(change: Change) -> str:
    """The thread line for a silence created or expired."""
    record = change.silence
    who = user(change.actor)
    if record is None:
        return f":mute: {who} changed a silence."
    if change.kind == "silence_expired":
        return f":loud_sound: {who} expired the silence on {matchers_text(record)}."
    comment = f": {escape(clip(record.comment, 500))}" if record.comment else "."
    return (f":mute: {who} silenced {matchers_text(record)} until "
            f"{slack_time(record.ends_at)}{comment}")
