"""Reading the fields the listeners need out of a Slack interaction body, whatever it holds.

A signed body is Slack's, but its shape is still outside input: a field may be missing, null,
or of another type than the docs say (fuzzing found listeners failing on ``"user": "U1"`` and
``"actions": {}``). These pure functions answer with a usable default instead of raising, so
a listener acks and then reports "no such incident" rather than crashing after the ack.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["action_value", "mapping", "response_url", "text", "user_id", "view"]


def mapping(value: object) -> Mapping[str, Any]:
    """``value`` if it is a JSON object, else an empty one."""
    return value if isinstance(value, Mapping) else {}


def text(value: object) -> str:
    """``value`` if it is a string; numbers as their text; anything else (null, objects) ''."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return ""


def action_value(body: Mapping[str, Any]) -> str:
    """The ``value`` of the first action of a block_actions body ('' when there is none)."""
    actions = body.get("actions")
    first = actions[0] if isinstance(actions, list) and actions else None
    return text(mapping(first).get("value"))


def user_id(body: Mapping[str, Any]) -> str:
    """Who acted: ``user.id`` of an interaction ('' when absent)."""
    return text(mapping(body.get("user")).get("id"))


def view(body: Mapping[str, Any]) -> Mapping[str, Any]:
    """The submitted ``view`` of a view_submission (empty when absent or not an object)."""
    return mapping(body.get("view"))


def response_url(body: Mapping[str, Any]) -> str | None:
    """Where to answer: ``response_url``, else the first of ``response_urls`` (modals).

    Only an http(s) URL counts: anything else could not be posted to, and would fail in the
    HTTP client after the work was done.
    """
    urls = body.get("response_urls")
    first = urls[0] if isinstance(urls, list) and urls else None
    for url in (text(body.get("response_url")), text(mapping(first).get("response_url"))):
        if url.startswith(("https://", "http://")) and len(url) > len("https://"):
            return url
    return None
