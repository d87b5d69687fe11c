"""views.* methods: trigger_id exchange, view validation, hashes and the modal stack.

Slack reports a bad view as ``invalid_arguments`` with pointers under ``/view`` in
``response_metadata.messages`` (not ``invalid_blocks``). A trigger_id works once within
3 seconds; a stale ``hash`` on views.update answers ``hash_conflict``; at most 3 views may
be stacked (``push_limit_reached``).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from triage_sim.slack.api_chat import json_arg
from triage_sim.slack.blockkit import validate_view
from triage_sim.slack.state import ApiError, ViewRecord, Workspace

__all__ = [
    "apply_submission_ack",
    "views_open",
    "views_push",
    "views_update",
]

MAX_STACK = 3


def _view_arg(args: dict[str, Any]) -> dict[str, Any]:
    if args.get("view") is None:
        raise ApiError("invalid_arguments", messages=["missing required field: view"])
    view = json_arg(args, "view", "invalid_arguments")
    errors = validate_view(view)
    if errors:
        raise ApiError("invalid_arguments", messages=errors)
    if not isinstance(view, dict):
        raise ApiError(
            "invalid_arguments", messages=["must provide an object [json-pointer:/view]"]
        )
    return view


def _full_view(
    ws: Workspace, view: dict[str, Any], view_id: str, root_id: str, previous: str | None
) -> dict[str, Any]:
    return {
        "id": view_id,
        "team_id": ws.team_id,
        "type": view["type"],
        "blocks": view.get("blocks", []),
        "private_metadata": view.get("private_metadata", ""),
        "callback_id": view.get("callback_id", ""),
        "state": {"values": {}},
        "hash": ws.new_hash(),
        "title": view.get("title"),
        "clear_on_close": bool(view.get("clear_on_close", False)),
        "notify_on_close": bool(view.get("notify_on_close", False)),
        "close": view.get("close"),
        "submit": view.get("submit"),
        "previous_view_id": previous,
        "root_view_id": root_id,
        "app_id": ws.app_id,
        "external_id": view.get("external_id", ""),
        "app_installed_team_id": ws.team_id,
        "bot_id": ws.bot_id,
    }


def _stack(ws: Workspace, user: str) -> list[ViewRecord]:
    return [v for v in ws.views.values() if v.user == user and not v.closed]


def _store(
    ws: Workspace, user: str, view: dict[str, Any], root: str | None, prev: str | None
) -> ViewRecord:
    external_id = view.get("external_id")
    if external_id and any(
        v.view.get("external_id") == external_id and not v.closed for v in ws.views.values()
    ):
        raise ApiError("duplicate_external_id")
    view_id = ws.new_id("V")
    full = _full_view(ws, view, view_id, root or view_id, prev)
    record = ViewRecord(view_id, user, full, full["hash"], root or view_id)
    ws.views[view_id] = record
    return record


def views_open(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    """views.open: exchange the trigger_id and open a new modal stack for its user."""
    trigger_id = args.get("trigger_id") or args.get("interactivity_pointer")
    if not trigger_id:
        raise ApiError("invalid_arguments", messages=["missing required field: trigger_id"])
    view = _view_arg(args)
    grant = ws.exchange_trigger(trigger_id)
    for old in _stack(ws, grant.user):
        ws.views[old.id] = replace(old, closed=True)
    record = _store(ws, grant.user, view, None, None)
    return {"view": dict(record.view)}


def views_push(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    """views.push: add a view on top of the user's open modal."""
    if not args.get("trigger_id"):
        raise ApiError("invalid_arguments", messages=["missing required field: trigger_id"])
    view = _view_arg(args)
    grant = ws.exchange_trigger(args["trigger_id"])
    stack = _stack(ws, grant.user)
    if not stack:
        raise ApiError("not_found")
    if len(stack) >= MAX_STACK:
        raise ApiError("push_limit_reached")
    top = stack[-1]
    record = _store(ws, grant.user, view, top.root_view_id, top.id)
    return {"view": dict(record.view)}


def _target(ws: Workspace, args: dict[str, Any]) -> ViewRecord:
    view_id, external_id = args.get("view_id"), args.get("external_id")
    if not view_id and not external_id:
        raise ApiError("invalid_arguments", messages=["must provide either view_id or external_id"])
    for record in ws.views.values():
        if (
            record.id == view_id or (external_id and record.view.get("external_id") == external_id)
        ) and not record.closed:
            return record
    raise ApiError("not_found")


def views_update(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    """views.update: replace an open view; a stale ``hash`` is a ``hash_conflict``."""
    record = _target(ws, args)
    view = _view_arg(args)
    given_hash = args.get("hash")
    if given_hash and given_hash != record.hash:
        raise ApiError("hash_conflict")
    full = _full_view(ws, view, record.id, record.root_view_id, record.view.get("previous_view_id"))
    ws.views[record.id] = replace(record, view=full, hash=full["hash"], updates=record.updates + 1)
    return {"view": full}


def apply_submission_ack(ws: Workspace, view_id: str, ack: dict[str, Any] | None) -> None:
    """Do to the modal what Slack does when a view_submission is acknowledged with ``ack``.

    Empty ack closes the submitted view; ``clear`` closes the stack; ``update`` replaces it;
    ``push`` stacks a new one; ``errors`` leaves it open.
    """
    record = ws.views.get(view_id)
    if record is None or record.closed:
        return
    action = (ack or {}).get("response_action")
    if action == "errors":
        return
    if action in ("update", "push") and isinstance((ack or {}).get("view"), dict):
        view = dict((ack or {})["view"])
        if action == "update":
            full = _full_view(ws, view, record.id, record.root_view_id, None)
            ws.views[record.id] = replace(record, view=full, hash=full["hash"])
        else:
            _store(ws, record.user, view, record.root_view_id, record.id)
        return
    closing = _stack(ws, record.user) if action == "clear" else [record]
    for old in closing:
        ws.views[old.id] = replace(old, closed=True)
