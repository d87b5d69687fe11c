"""POSTs to a response_url: what Slack does with ``respond()`` payloads.

A response_url works up to 5 times within 30 minutes. Like incoming webhooks it answers
errors as plain text with a 4xx status (``invalid_blocks``, ``no_text``…); an unknown,
expired or used-up URL answers 404 (``no_service``, ``expired_url``, ``used_url``). The exact
words for the last two are not documented by Slack; the status and the limit are.

``response_type: in_channel`` posts a message everyone sees, ``ephemeral`` (the default) one
only the user sees; ``replace_original`` / ``delete_original`` act on the message the
interaction came from.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from triage_sim.slack.api_chat import message_content
from triage_sim.slack.state import ApiError, Ephemeral, Grant, Message, ResponsePost, Workspace

__all__ = ["post_to_response_url"]


def _status_for(error: str) -> int:
    return 404 if error in ("no_service", "expired_url", "used_url") else 400


def post_to_response_url(ws: Workspace, url_id: str, payload: Any) -> tuple[int, str]:
    """Apply one response_url POST; return the HTTP status and the plain-text answer."""
    grant = ws.response_urls.get(url_id)
    user = grant.user if grant else ""
    channel = grant.channel if grant else None
    body = payload if isinstance(payload, dict) else {}
    try:
        if not isinstance(payload, dict):
            raise ApiError("invalid_payload")
        grant = ws.use_response_url(url_id)
        _apply(ws, grant, payload)
    except ApiError as exc:
        status = _status_for(exc.error)
        ws.response_posts.append(
            ResponsePost(url_id, channel, user, body, status, exc.error, ws.clock())
        )
        return status, exc.error
    ws.response_posts.append(ResponsePost(url_id, channel, user, body, 200, None, ws.clock()))
    return 200, "ok"


def _apply(ws: Workspace, grant: Grant, payload: dict[str, Any]) -> None:
    if payload.get("delete_original"):
        _delete_original(ws, grant)
        return
    text, blocks = message_content(payload)
    if payload.get("replace_original"):
        _replace_original(ws, grant, text or "", blocks or ())
        return
    if grant.channel is None:
        raise ApiError("channel_not_found")
    thread_ts = payload.get("thread_ts") or None
    if payload.get("response_type") == "in_channel":
        ws.append_message(
            Message(
                channel=grant.channel,
                ts=ws.next_ts(),
                text=text or "",
                user=ws.bot_user_id,
                blocks=blocks or (),
                thread_ts=thread_ts,
                bot_id=ws.bot_id,
                via="response_url",
                extra={"app_id": ws.app_id},
            )
        )
        return
    ws.ephemerals.append(
        Ephemeral(
            channel=grant.channel,
            user=grant.user,
            ts=ws.next_ts(),
            text=text or "",
            blocks=blocks or (),
            thread_ts=thread_ts,
            via="response_url",
        )
    )


def _original_ephemeral(ws: Workspace, grant: Grant) -> int | None:
    for index in range(len(ws.ephemerals) - 1, -1, -1):
        eph = ws.ephemerals[index]
        if (
            eph.user == grant.user
            and eph.channel == grant.channel
            and not eph.deleted
            and (grant.message_ts is None or eph.ts == grant.message_ts)
        ):
            return index
    return None


def _replace_original(
    ws: Workspace, grant: Grant, text: str, blocks: tuple[dict[str, Any], ...]
) -> None:
    if grant.ephemeral_source:
        index = _original_ephemeral(ws, grant)
        if index is None:
            raise ApiError("message_not_found")
        old = ws.ephemerals[index]
        ws.replace_ephemeral(index, replace(old, text=text, blocks=blocks, replaced=True))
        return
    if grant.channel is None or grant.message_ts is None:
        raise ApiError("message_not_found")
    ws.rewrite_message(grant.channel, grant.message_ts, text=text, blocks=blocks)


def _delete_original(ws: Workspace, grant: Grant) -> None:
    if grant.ephemeral_source:
        index = _original_ephemeral(ws, grant)
        if index is None:
            raise ApiError("message_not_found")
        ws.replace_ephemeral(index, replace(ws.ephemerals[index], deleted=True))
        return
    if grant.channel is None or grant.message_ts is None:
        raise ApiError("message_not_found")
    ws.delete_message(grant.channel, grant.message_ts)
