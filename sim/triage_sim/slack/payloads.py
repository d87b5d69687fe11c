"""Request bodies Slack sends to an app, built as pure functions.

Shapes follow real payloads recorded in bolt-python's tests (copied under
``tests/fixtures/real/slack/``): slash commands are form fields; ``block_actions`` and
``view_submission`` are JSON inside a ``payload`` form field; Events API deliveries are an
``event_callback`` JSON envelope. The same dicts travel as Socket Mode envelope payloads.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "Actor",
    "block_actions_payload",
    "event_callback",
    "find_action",
    "slash_command_fields",
    "view_state_values",
    "view_submission_payload",
]


@dataclass(frozen=True)
class Actor:
    """Who acts and where: the person, their workspace and the app receiving it."""

    user_id: str
    user_name: str
    team_id: str
    team_domain: str
    api_app_id: str
    verification_token: str = "verification_token"

    def user(self) -> dict[str, str]:
        """The ``user`` object of interaction payloads."""
        return {
            "id": self.user_id,
            "username": self.user_name,
            "name": self.user_name,
            "team_id": self.team_id,
        }

    def team(self) -> dict[str, str]:
        """The ``team`` object of interaction payloads."""
        return {"id": self.team_id, "domain": self.team_domain}


def slash_command_fields(
    actor: Actor,
    *,
    command: str,
    text: str,
    channel_id: str,
    channel_name: str,
    response_url: str,
    trigger_id: str,
) -> dict[str, str]:
    """The form fields of a slash-command request, in Slack's order."""
    return {
        "token": actor.verification_token,
        "team_id": actor.team_id,
        "team_domain": actor.team_domain,
        "channel_id": channel_id,
        "channel_name": channel_name,
        "user_id": actor.user_id,
        "user_name": actor.user_name,
        "command": command,
        "text": text,
        "api_app_id": actor.api_app_id,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id,
    }


def find_action(blocks: Any, action_id: str) -> tuple[str, dict[str, Any]]:
    """The ``(block_id, element)`` carrying ``action_id`` in ``blocks``; ``LookupError`` if none.

    Clicking a control that is not on the card is a test bug, so it fails loudly.
    """
    for block in blocks if isinstance(blocks, list | tuple) else []:
        elements = list(block.get("elements", []))
        for key in ("accessory", "element"):
            if isinstance(block.get(key), dict):
                elements.append(block[key])
        for element in elements:
            if isinstance(element, dict) and element.get("action_id") == action_id:
                return str(block.get("block_id", "")), element
    raise LookupError(f"no element with action_id {action_id!r} in the blocks")


def _option(element: Mapping[str, Any], value: str | None) -> dict[str, Any]:
    options = list(element.get("options", []))
    for group in element.get("option_groups", []):
        options.extend(group.get("options", []))
    for option in options:
        if option.get("value") == value:
            return dict(option)
    raise LookupError(f"no option with value {value!r} in {element.get('action_id')!r}")


def _action(block_id: str, element: Mapping[str, Any], selected: str | None) -> dict[str, Any]:
    kind = str(element.get("type"))
    action: dict[str, Any] = {
        "action_id": element.get("action_id"),
        "block_id": block_id,
        "type": kind,
        "action_ts": f"{time.time():.6f}",
    }
    if kind in ("button", "workflow_button"):
        action["text"] = element.get("text")
        if "value" in element:
            action["value"] = element["value"]
    elif kind in ("overflow", "static_select", "radio_buttons"):
        action["selected_option"] = _option(element, selected)
    elif kind == "users_select":
        action["selected_user"] = selected
    elif kind == "conversations_select":
        action["selected_conversation"] = selected
    else:
        action["value"] = selected
    return action


def block_actions_payload(
    actor: Actor,
    *,
    blocks: Any,
    action_id: str,
    trigger_id: str,
    response_url: str | None,
    container: dict[str, Any],
    channel: dict[str, str] | None = None,
    message: dict[str, Any] | None = None,
    view: dict[str, Any] | None = None,
    selected: str | None = None,
) -> dict[str, Any]:
    """A ``block_actions`` payload for a click on ``action_id`` in a message or a view."""
    block_id, element = find_action(blocks, action_id)
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": actor.user(),
        "api_app_id": actor.api_app_id,
        "token": actor.verification_token,
        "container": container,
        "trigger_id": trigger_id,
        "team": actor.team(),
        "enterprise": None,
        "is_enterprise_install": False,
    }
    if channel is not None:
        payload["channel"] = channel
    if message is not None:
        payload["message"] = message
        payload["state"] = {"values": {}}
    if view is not None:
        payload["view"] = view
    if response_url is not None:
        payload["response_url"] = response_url
    payload["actions"] = [_action(block_id, element, selected)]
    return payload


def _state_value(element: Mapping[str, Any], value: Any) -> dict[str, Any]:
    kind = str(element.get("type"))
    if kind in ("static_select", "radio_buttons"):
        # An input left empty arrives as ``"selected_option": null``, as Slack sends it.
        selected = None if value is None else _option(element, value)
        return {"type": kind, "selected_option": selected}
    if kind == "users_select":
        return {"type": kind, "selected_user": value}
    if kind == "conversations_select":
        return {"type": kind, "selected_conversation": value}
    if kind == "datepicker":
        return {"type": kind, "selected_date": value}
    if kind == "checkboxes":
        return {"type": kind, "selected_options": [_option(element, v) for v in value]}
    return {"type": kind, "value": value}


def view_state_values(blocks: Any, values: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """``state.values`` for ``values`` given as ``{block_id: {action_id: value}}``.

    Every input block of the view appears; inputs not given are submitted empty, as Slack
    does for optional fields left blank.
    """
    state: dict[str, Any] = {}
    for block in blocks if isinstance(blocks, list | tuple) else []:
        element = block.get("element")
        if block.get("type") != "input" or not isinstance(element, dict):
            continue
        block_id, action_id = str(block.get("block_id", "")), str(element.get("action_id", ""))
        given = values.get(block_id, {})
        value = given.get(action_id) if action_id in given else None
        state[block_id] = {action_id: _state_value(element, value)}
    unknown = set(values) - set(state)
    if unknown:
        raise LookupError(f"no input blocks {sorted(unknown)} in the view")
    return state


def view_submission_payload(
    actor: Actor,
    *,
    view: Mapping[str, Any],
    values: Mapping[str, Mapping[str, Any]],
    trigger_id: str,
) -> dict[str, Any]:
    """A ``view_submission`` payload for the stored ``view`` filled with ``values``."""
    submitted = dict(view)
    submitted["state"] = {"values": view_state_values(view.get("blocks", []), values)}
    return {
        "type": "view_submission",
        "team": actor.team(),
        "user": actor.user(),
        "api_app_id": actor.api_app_id,
        "token": actor.verification_token,
        "trigger_id": trigger_id,
        "view": submitted,
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }


def event_callback(
    actor: Actor,
    *,
    event: Mapping[str, Any],
    event_id: str,
    bot_user_id: str,
    event_time: int | None = None,
) -> dict[str, Any]:
    """An Events API ``event_callback`` envelope around ``event``."""
    when = event_time if event_time is not None else int(time.time())
    return {
        "token": actor.verification_token,
        "team_id": actor.team_id,
        "api_app_id": actor.api_app_id,
        "event": dict(event),
        "type": "event_callback",
        "event_id": event_id,
        "event_time": when,
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": actor.team_id,
                "user_id": bot_user_id,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": f"4-{event.get('type')}-{actor.team_id}-{event.get('channel', '')}",
    }
