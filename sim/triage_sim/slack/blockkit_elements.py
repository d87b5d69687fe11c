"""Text objects and interactive elements of Block Kit, checked against Slack's limits.

Used by :mod:`triage_sim.slack.blockkit`, which walks the blocks; each check appends
Slack-style lines (``must be less than 76 characters [json-pointer:...]``) to a
:class:`Report`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = [
    "ACCESSORY",
    "ACTION_ELEMENTS",
    "INPUT_ELEMENTS",
    "Report",
    "element",
    "image_element",
    "optional_text",
    "text_object",
    "unique_action_ids",
]

_BUTTON_KEYS = frozenset(
    {"type", "text", "action_id", "url", "value", "style", "confirm", "accessibility_label"}
)
_SELECTS = frozenset(
    {
        "static_select",
        "external_select",
        "users_select",
        "conversations_select",
        "channels_select",
        "multi_static_select",
        "multi_external_select",
        "multi_users_select",
        "multi_conversations_select",
        "multi_channels_select",
    }
)
_CHOICE_ELEMENTS = frozenset({"checkboxes", "radio_buttons", "overflow"})
_PICKERS = frozenset({"datepicker", "timepicker", "datetimepicker"})
_INPUT_ONLY = frozenset(
    {
        "plain_text_input",
        "email_text_input",
        "url_text_input",
        "number_input",
        "rich_text_input",
        "file_input",
    }
)
ACCESSORY = (
    frozenset({"button", "image", "workflow_button"})
    | _SELECTS
    | _CHOICE_ELEMENTS
    | {"datepicker", "timepicker"}
)
ACTION_ELEMENTS = ACCESSORY - {"image"} | {"datetimepicker"}
INPUT_ELEMENTS = _SELECTS | _PICKERS | _INPUT_ONLY | {"checkboxes", "radio_buttons"}


class Report:
    """Collects Slack-style error lines; one instance per validation."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.block_ids: set[str] = set()

    def add(self, message: str, pointer: str) -> None:
        self.errors.append(f"{message} [json-pointer:{pointer}]")

    def max_len(self, obj: dict[str, Any], key: str, limit: int, ptr: str) -> None:
        value = obj.get(key)
        if value is None:
            return
        if not isinstance(value, str):
            self.add("must be a string", f"{ptr}/{key}")
        elif len(value) > limit:
            self.add(f"must be less than {limit + 1} characters", f"{ptr}/{key}")

    def max_items(self, items: list[Any], limit: int, ptr: str) -> None:
        if len(items) > limit:
            self.add(f"no more than {limit} items allowed", ptr)

    def items(self, obj: dict[str, Any], key: str, ptr: str, lo: int, hi: int) -> list[Any]:
        value = obj.get(key)
        if value is None:
            if lo > 0:
                self.add(f"missing required field: {key}", ptr)
            return []
        if not isinstance(value, list):
            self.add("must be an array", f"{ptr}/{key}")
            return []
        if len(value) < lo:
            self.add(f"must provide at least {lo} items", f"{ptr}/{key}")
        self.max_items(value, hi, f"{ptr}/{key}")
        return value


def text_object(r: Report, value: Any, ptr: str, limit: int, *, plain_only: bool = False) -> None:
    """A composition text object: plain_text or mrkdwn, non-empty, within ``limit``."""
    if not isinstance(value, dict):
        r.add("must provide an object", ptr)
        return
    kind = value.get("type")
    allowed = ("plain_text",) if plain_only else ("plain_text", "mrkdwn")
    if kind not in allowed:
        r.add("failed to match all allowed schemas", ptr)
        r.add(f"must be one of {', '.join(allowed)}", f"{ptr}/type")
        return
    text = value.get("text")
    if not isinstance(text, str):
        r.add("missing required field: text", ptr)
    elif not text:
        r.add("must be more than 0 characters", f"{ptr}/text")
    elif len(text) > limit:
        r.add("failed to match all allowed schemas", ptr)
        r.add(f"must be less than {limit + 1} characters", f"{ptr}/text")


def optional_text(
    r: Report, obj: dict[str, Any], key: str, ptr: str, limit: int, *, plain: bool = True
) -> None:
    if key in obj:
        text_object(r, obj[key], f"{ptr}/{key}", limit, plain_only=plain)


def _confirm(r: Report, value: Any, ptr: str) -> None:
    if not isinstance(value, dict):
        r.add("must provide an object", ptr)
        return
    text_object(r, value.get("title"), f"{ptr}/title", 100, plain_only=True)
    text_object(r, value.get("text"), f"{ptr}/text", 300)
    text_object(r, value.get("confirm"), f"{ptr}/confirm", 30, plain_only=True)
    text_object(r, value.get("deny"), f"{ptr}/deny", 30, plain_only=True)


def _option(r: Report, value: Any, ptr: str) -> None:
    if not isinstance(value, dict):
        r.add("must provide an object", ptr)
        return
    text_object(r, value.get("text"), f"{ptr}/text", 75)
    if not isinstance(value.get("value"), str):
        r.add("missing required field: value", ptr)
    r.max_len(value, "value", 150, ptr)
    optional_text(r, value, "description", ptr, 75)
    r.max_len(value, "url", 3000, ptr)


def _element_common(r: Report, el: dict[str, Any], ptr: str) -> None:
    r.max_len(el, "action_id", 255, ptr)
    optional_text(r, el, "placeholder", ptr, 150)
    if "confirm" in el:
        _confirm(r, el["confirm"], f"{ptr}/confirm")


def _button(r: Report, el: dict[str, Any], ptr: str) -> None:
    extra = set(el) - _BUTTON_KEYS if el.get("type") == "button" else set()
    for key in sorted(extra):
        r.add(f"invalid additional property: {key}", ptr)
    if "text" not in el:
        r.add("missing required field: text", ptr)
    else:
        text_object(r, el["text"], f"{ptr}/text", 75, plain_only=True)
    r.max_len(el, "value", 2000, ptr)
    r.max_len(el, "url", 3000, ptr)
    r.max_len(el, "accessibility_label", 75, ptr)
    if el.get("style") not in (None, "primary", "danger"):
        r.add("must be one of primary, danger", f"{ptr}/style")


def _options_element(r: Report, el: dict[str, Any], ptr: str) -> None:
    limits = {"overflow": (2, 5), "checkboxes": (1, 10), "radio_buttons": (1, 10)}
    lo, hi = limits.get(str(el.get("type")), (0, 100))
    if "option_groups" in el:
        for i, group in enumerate(r.items(el, "option_groups", ptr, 1, 100)):
            gptr = f"{ptr}/option_groups/{i}"
            if isinstance(group, dict):
                text_object(r, group.get("label"), f"{gptr}/label", 75, plain_only=True)
                for j, opt in enumerate(r.items(group, "options", gptr, 1, 100)):
                    _option(r, opt, f"{gptr}/options/{j}")
        return
    needs_options = el.get("type") in _CHOICE_ELEMENTS or el.get("type") in {
        "static_select",
        "multi_static_select",
    }
    for i, opt in enumerate(r.items(el, "options", ptr, lo if needs_options else 0, hi)):
        _option(r, opt, f"{ptr}/options/{i}")


def image_element(r: Report, el: dict[str, Any], ptr: str) -> None:
    if "image_url" not in el and "slack_file" not in el:
        r.add("missing required field: image_url", ptr)
    r.max_len(el, "image_url", 3000, ptr)
    if not isinstance(el.get("alt_text"), str):
        r.add("missing required field: alt_text", ptr)
    r.max_len(el, "alt_text", 2000, ptr)


def _plain_input(r: Report, el: dict[str, Any], ptr: str) -> None:
    r.max_len(el, "initial_value", 3000, ptr)
    for key in ("min_length", "max_length"):
        value = el.get(key)
        if value is not None and (not isinstance(value, int) or not 0 <= value <= 3000):
            r.add("must be an integer between 0 and 3000", f"{ptr}/{key}")


def element(r: Report, el: Any, ptr: str, allowed: frozenset[str]) -> None:
    if not isinstance(el, dict):
        r.add("must provide an object", ptr)
        return
    kind = el.get("type")
    if kind not in allowed:
        r.add(f"unsupported element type: {kind}", f"{ptr}/type")
        return
    _element_common(r, el, ptr)
    checks: dict[str, Callable[[Report, dict[str, Any], str], None]] = {
        "button": _button,
        "workflow_button": _button,
        "image": image_element,
        "plain_text_input": _plain_input,
    }
    if kind in checks:
        checks[kind](r, el, ptr)
    elif kind in _SELECTS or kind in _CHOICE_ELEMENTS:
        _options_element(r, el, ptr)


def unique_action_ids(r: Report, elements: list[Any], ptr: str) -> None:
    seen: set[str] = set()
    for i, el in enumerate(elements):
        action_id = el.get("action_id") if isinstance(el, dict) else None
        if isinstance(action_id, str):
            if action_id in seen:
                r.add(f"duplicate action_id: {action_id}", f"{ptr}/elements/{i}/action_id")
            seen.add(action_id)
