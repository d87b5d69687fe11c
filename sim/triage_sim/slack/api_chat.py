"""chat.* methods of the stand-in, with Slack's argument checks and error names.

Order of checks follows what Slack reports first: the channel, then the content
(``no_text``, ``msg_too_long``, ``invalid_blocks_format``, ``invalid_blocks``), then the
target message (``message_not_found``, ``cant_update_message``).
"""

from __future__ import annotations

import json
from typing import Any

from triage_sim.slack.blockkit import MAX_MESSAGE_TEXT, validate_blocks
from triage_sim.slack.state import ApiError, Channel, Ephemeral, Message, Workspace

__all__ = [
    "chat_delete",
    "chat_post_ephemeral",
    "chat_post_message",
    "chat_update",
    "conversations_history",
    "json_arg",
    "message_content",
]

MAX_ATTACHMENTS = 100


def json_arg(args: dict[str, Any], key: str, error: str) -> Any:
    """An argument that may arrive as a JSON string (form bodies) or as JSON (JSON bodies)."""
    value = args.get(key)
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            raise ApiError(error) from exc
    return value


def _blocks(args: dict[str, Any]) -> tuple[dict[str, Any], ...] | None:
    if "blocks" not in args or args["blocks"] is None:
        return None
    blocks = json_arg(args, "blocks", "invalid_blocks_format")
    if not isinstance(blocks, list):
        raise ApiError("invalid_blocks_format")
    errors = validate_blocks(blocks, "message")
    if errors:
        raise ApiError("invalid_blocks", messages=errors, extra={"errors": errors})
    return tuple(blocks)


def message_content(
    args: dict[str, Any], *, require: bool = True
) -> tuple[str | None, tuple[dict[str, Any], ...] | None]:
    """Validated ``(text, blocks)``; ``None`` where the argument was not given."""
    text = args.get("text")
    if text is not None and not isinstance(text, str):
        text = str(text)
    blocks = _blocks(args)
    attachments = json_arg(args, "attachments", "invalid_attachments")
    if isinstance(attachments, list) and len(attachments) > MAX_ATTACHMENTS:
        raise ApiError("too_many_attachments")
    if require and not text and not blocks and not attachments:
        raise ApiError("no_text")
    if text is not None and len(text) > MAX_MESSAGE_TEXT:
        raise ApiError("msg_too_long")
    return text, blocks


def _writable_channel(ws: Workspace, ref: Any) -> Channel:
    channel = ws.channel(ref)
    if channel.is_archived:
        raise ApiError("is_archived")
    if not channel.is_member:
        raise ApiError("not_in_channel")
    return channel


def chat_post_message(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    """chat.postMessage: store the message, answer with it."""
    channel = _writable_channel(ws, args.get("channel"))
    text, blocks = message_content(args)
    thread_ts = args.get("thread_ts") or None
    message = ws.append_message(
        Message(
            channel=channel.id,
            ts=ws.next_ts(),
            text=text or "",
            user=ws.bot_user_id,
            blocks=blocks or (),
            thread_ts=str(thread_ts) if thread_ts else None,
            bot_id=ws.bot_id,
            extra=_extra(ws, args),
        )
    )
    return {"channel": channel.id, "ts": message.ts, "message": message.as_slack(ws.team_id)}


def _extra(ws: Any, args: dict[str, Any]) -> dict[str, Any]:
    """The app id, and the message metadata (``event_type`` + ``event_payload``) if given."""
    extra: dict[str, Any] = {"app_id": ws.app_id}
    metadata = json_arg(args, "metadata", "invalid_metadata_format")
    if metadata is not None:
        if not isinstance(metadata, dict) or not isinstance(metadata.get("event_type"), str):
            raise ApiError("invalid_metadata_format")
        extra["metadata"] = {"event_type": metadata["event_type"],
                             "event_payload": metadata.get("event_payload") or {}}
    return extra


def conversations_history(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    """conversations.history: the channel's top-level messages, newest first, paged.

    ``oldest`` bounds it; ``include_all_metadata`` adds each message's metadata, as Slack does;
    the cursor is an offset.
    """
    channel = ws.channel(args.get("channel"))
    oldest = float(args.get("oldest") or 0)
    limit = max(1, min(int(args.get("limit") or 100), 999))
    start = int(args.get("cursor") or 0)
    live = [m for m in reversed(ws.messages.get(channel.id, []))
            if not m.deleted and float(m.ts) >= oldest
            and (m.thread_ts is None or m.thread_ts == m.ts)]
    page = live[start:start + limit]
    with_metadata = str(args.get("include_all_metadata", "")).lower() in ("1", "true")
    out = []
    for message in page:
        shown = message.as_slack(ws.team_id)
        if with_metadata and "metadata" in message.extra:
            shown["metadata"] = message.extra["metadata"]
        out.append(shown)
    more = start + limit < len(live)
    return {"messages": out, "has_more": more,
            "response_metadata": {"next_cursor": str(start + limit) if more else ""}}


def chat_update(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    """chat.update: rewrite a bot message; blocks left out are kept, as Slack does."""
    channel = ws.channel(args.get("channel"))
    text, blocks = message_content(args)
    _, old = ws.find_message(channel.id, args.get("ts"))
    if old.user != ws.bot_user_id:
        raise ApiError("cant_update_message")
    new = ws.rewrite_message(
        channel.id,
        old.ts,
        text=text if text is not None else old.text,
        blocks=blocks if blocks is not None else old.blocks,
    )
    return {
        "channel": channel.id,
        "ts": new.ts,
        "text": new.text,
        "message": new.as_slack(ws.team_id),
    }


def chat_post_ephemeral(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    """chat.postEphemeral: a message only ``user`` sees."""
    channel = _writable_channel(ws, args.get("channel"))
    user = ws.user(args.get("user"))
    text, blocks = message_content(args)
    thread_ts = args.get("thread_ts") or None
    ephemeral = Ephemeral(
        channel=channel.id,
        user=user.id,
        ts=ws.next_ts(),
        text=text or "",
        blocks=blocks or (),
        thread_ts=str(thread_ts) if thread_ts else None,
    )
    ws.ephemerals.append(ephemeral)
    return {"message_ts": ephemeral.ts}


def chat_delete(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    """chat.delete: only the bot's own messages."""
    channel = ws.channel(args.get("channel"))
    _, old = ws.find_message(channel.id, args.get("ts"))
    if old.user != ws.bot_user_id:
        raise ApiError("cant_delete_message")
    ws.delete_message(channel.id, old.ts)
    return {"channel": channel.id, "ts": old.ts}
