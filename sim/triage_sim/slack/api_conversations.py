"""conversations.open, conversations.create and conversations.invite, with Slack's errors.

As documented on api.slack.com/methods: ``conversations.open`` with ``users`` (one id, or a
comma-separated list) answers the same DM (``D…``) every time; ``conversations.create`` checks
the name (lower case, at most 80 characters, letters, digits, ``-`` and ``_``) and answers
``name_taken`` for an existing one; ``conversations.invite`` needs the bot in the channel and
answers ``already_in_channel`` (with the user in ``errors``) for members.
"""

from __future__ import annotations

import re
from typing import Any

from triage_sim.slack.records import Channel
from triage_sim.slack.state import ApiError, Workspace

__all__ = ["conversations_create", "conversations_invite", "conversations_open", "dm_channel_id"]

_NAME = re.compile(r"^[a-z0-9_-]+$")
MAX_NAME = 80
MAX_INVITES = 1000


def dm_channel_id(user_id: str) -> str:
    """The stand-in's DM channel with ``user_id`` (stable, as Slack's is)."""
    return "D" + user_id.lstrip("UW")


def _user_ids(ws: Workspace, args: dict[str, Any], *, missing: str) -> list[str]:
    raw = args.get("users")
    ids = [u.strip() for u in str(raw or "").split(",") if u.strip()]
    if not ids:
        raise ApiError(missing)
    for user_id in ids:
        ws.user(user_id)  # user_not_found
    return ids


def conversations_open(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    """conversations.open: the DM with one person (group DMs are not needed here)."""
    if args.get("channel"):
        channel = ws.channel(args.get("channel"))
        return {"channel": {"id": channel.id}}
    ids = _user_ids(ws, args, missing="users_list_not_supplied")
    if len(ids) > 1:
        raise ApiError("not_supported", messages=["the stand-in opens one-to-one DMs only"])
    if ids[0] == ws.bot_user_id:
        raise ApiError("cannot_dm_bot")
    channel_id = dm_channel_id(ids[0])
    already = channel_id in ws.channels
    if not already:
        ws.channels[channel_id] = Channel(channel_id, f"dm-{ids[0].lower()}", is_private=True)
        ws.members[channel_id] = {ids[0], ws.bot_user_id}
    return {"no_op": already, "already_open": already, "channel": {"id": channel_id}}


def conversations_create(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    """conversations.create: a new channel the bot created (and so is a member of)."""
    name = str(args.get("name") or "")
    if not name:
        raise ApiError("invalid_name_required")
    if len(name) > MAX_NAME:
        raise ApiError("invalid_name_maxlength")
    if not _NAME.match(name):
        raise ApiError("invalid_name_specials")
    if any(c.name == name for c in ws.channels.values()):
        raise ApiError("name_taken")
    private = str(args.get("is_private", "")).lower() in ("1", "true")
    channel = Channel(ws.new_id("C"), name, is_private=private)
    ws.channels[channel.id] = channel
    ws.members[channel.id] = {ws.bot_user_id}
    return {"channel": channel.as_slack(int(ws.clock()))}


def conversations_invite(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    """conversations.invite: add people to a channel the bot is in."""
    channel = ws.channel(args.get("channel"))
    if channel.is_archived:
        raise ApiError("is_archived")
    if not channel.is_member:
        raise ApiError("not_in_channel")
    ids = _user_ids(ws, args, missing="no_user")
    if len(ids) > MAX_INVITES:
        raise ApiError("too_many_users")
    if ws.bot_user_id in ids:
        raise ApiError("cant_invite_self")
    members = ws.members.setdefault(channel.id, {ws.bot_user_id})
    already = [u for u in ids if u in members]
    if already:
        raise ApiError("already_in_channel",
                       extra={"errors": [{"user": u, "ok": False, "error": "already_in_channel"}
                                         for u in already]})
    members.update(ids)
    return {"channel": channel.as_slack(int(ws.clock()))}
