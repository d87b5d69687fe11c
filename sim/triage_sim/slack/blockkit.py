"""Block Kit validation the way Slack's servers do it, as pure functions.

Slack rejects a whole message (``invalid_blocks``) or view (``invalid_arguments``) when one
field breaks a limit, and says where with a JSON pointer, e.g.
``must be less than 3001 characters [json-pointer:/blocks/0/text/text]``. The stand-in
answers the same way, and the bot's own tests call :func:`validate_blocks` and
:func:`validate_view` on rendered output so an oversized card fails in CI, not in Slack.

Limits come from Slack's Block Kit reference and slack_sdk's model validators (see
REFERENCE.md). Only what Slack documents is enforced; unknown block types, unknown keys on
blocks and buttons, duplicate ``block_id``s and duplicate ``action_id``s are rejected too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from triage_sim.slack.blockkit_elements import (
    ACCESSORY,
    ACTION_ELEMENTS,
    INPUT_ELEMENTS,
    Report,
    element,
    image_element,
    optional_text,
    text_object,
    unique_action_ids,
)

__all__ = [
    "MAX_MESSAGE_TEXT",
    "Surface",
    "validate_blocks",
    "validate_view",
]

Surface = Literal["message", "modal", "home"]
MAX_MESSAGE_TEXT = 40000
_MAX_BLOCKS: dict[str, int] = {"message": 50, "modal": 100, "home": 100}
_MESSAGE_ONLY = frozenset({"file", "markdown", "table"})
_BLOCK_KEYS: dict[str, frozenset[str]] = {
    "section": frozenset({"text", "fields", "accessory", "expand"}),
    "divider": frozenset(),
    "header": frozenset({"text"}),
    "image": frozenset({"image_url", "alt_text", "title", "slack_file"}),
    "actions": frozenset({"elements"}),
    "context": frozenset({"elements"}),
    "input": frozenset({"label", "element", "dispatch_action", "hint", "optional"}),
    "markdown": frozenset({"text"}),
    "rich_text": frozenset({"elements"}),
    "file": frozenset({"external_id", "source"}),
    "video": frozenset(
        {
            "alt_text",
            "author_name",
            "description",
            "provider_icon_url",
            "provider_name",
            "title",
            "title_url",
            "thumbnail_url",
            "video_url",
        }
    ),
    "table": frozenset({"rows", "column_settings"}),
}


def _section(r: Report, b: dict[str, Any], ptr: str) -> None:
    if "text" not in b and "fields" not in b:
        r.add("must define either `text` or `fields`", ptr)
    if "text" in b:
        text_object(r, b["text"], f"{ptr}/text", 3000)
    for i, field in enumerate(r.items(b, "fields", ptr, 0, 10)):
        text_object(r, field, f"{ptr}/fields/{i}", 2000)
    if "accessory" in b:
        element(r, b["accessory"], f"{ptr}/accessory", ACCESSORY)


def _header(r: Report, b: dict[str, Any], ptr: str) -> None:
    if "text" not in b:
        r.add("missing required field: text", ptr)
    else:
        text_object(r, b["text"], f"{ptr}/text", 150, plain_only=True)


def _image_block(r: Report, b: dict[str, Any], ptr: str) -> None:
    image_element(r, b, ptr)
    optional_text(r, b, "title", ptr, 2000)


def _actions(r: Report, b: dict[str, Any], ptr: str) -> None:
    elements = r.items(b, "elements", ptr, 1, 25)
    for i, el in enumerate(elements):
        element(r, el, f"{ptr}/elements/{i}", ACTION_ELEMENTS)
    unique_action_ids(r, elements, ptr)


def _context(r: Report, b: dict[str, Any], ptr: str) -> None:
    for i, el in enumerate(r.items(b, "elements", ptr, 1, 10)):
        eptr = f"{ptr}/elements/{i}"
        if isinstance(el, dict) and el.get("type") == "image":
            image_element(r, el, eptr)
        else:
            text_object(r, el, eptr, 3000)


def _input(r: Report, b: dict[str, Any], ptr: str) -> None:
    if "label" not in b:
        r.add("missing required field: label", ptr)
    else:
        text_object(r, b["label"], f"{ptr}/label", 2000, plain_only=True)
    optional_text(r, b, "hint", ptr, 2000)
    if "element" not in b:
        r.add("missing required field: element", ptr)
    else:
        element(r, b["element"], f"{ptr}/element", INPUT_ELEMENTS)


def _markdown(r: Report, b: dict[str, Any], ptr: str) -> None:
    text = b.get("text")
    if not isinstance(text, str):
        r.add("missing required field: text", ptr)
    elif len(text) > 12000:
        r.add("must be less than 12001 characters", f"{ptr}/text")


def _rich_text(r: Report, b: dict[str, Any], ptr: str) -> None:
    r.items(b, "elements", ptr, 1, 100)


_BLOCK_CHECKS: dict[str, Callable[[Report, dict[str, Any], str], None]] = {
    "section": _section,
    "header": _header,
    "image": _image_block,
    "actions": _actions,
    "context": _context,
    "input": _input,
    "markdown": _markdown,
    "rich_text": _rich_text,
}


def _block(r: Report, b: Any, ptr: str, surface: Surface) -> None:
    if not isinstance(b, dict):
        r.add("must provide an object", ptr)
        return
    kind = b.get("type")
    if not isinstance(kind, str) or kind not in _BLOCK_KEYS:
        r.add(f"unsupported type: {kind}", f"{ptr}/type")
        return
    if kind in _MESSAGE_ONLY and surface != "message":
        r.add(f"unsupported type: {kind}", f"{ptr}/type")
        return
    for key in sorted(set(b) - _BLOCK_KEYS[kind] - {"type", "block_id"}):
        r.add(f"invalid additional property: {key}", ptr)
    block_id = b.get("block_id")
    if block_id is not None:
        r.max_len(b, "block_id", 255, ptr)
        if isinstance(block_id, str) and block_id in r.block_ids:
            r.add(f"duplicate block_id: {block_id}", f"{ptr}/block_id")
        r.block_ids.add(str(block_id))
    check = _BLOCK_CHECKS.get(kind)
    if check is not None:
        check(r, b, ptr)


def _blocks_into(r: Report, blocks: Any, ptr: str, surface: Surface) -> None:
    if not isinstance(blocks, list):
        r.add("must be an array", ptr)
        return
    r.max_items(blocks, _MAX_BLOCKS[surface], ptr)
    for i, block in enumerate(blocks):
        _block(r, block, f"{ptr}/{i}", surface)


def validate_blocks(blocks: Any, surface: Surface = "message") -> list[str]:
    """Return Slack's error lines for ``blocks`` on ``surface``; an empty list means valid.

    Pointers are rooted at ``/blocks`` as in a ``chat.postMessage`` answer.
    """
    r = Report()
    _blocks_into(r, blocks, "/blocks", surface)
    return r.errors


def validate_view(view: Any) -> list[str]:
    """Return Slack's error lines for a modal or Home tab ``view``; empty means valid.

    Pointers are rooted at ``/view`` as in a ``views.open`` answer.
    """
    r = Report()
    if not isinstance(view, dict):
        r.add("must provide an object", "/view")
        return r.errors
    kind = view.get("type")
    if kind not in ("modal", "home"):
        r.add("must be one of modal, home", "/view/type")
        return r.errors
    if kind == "modal":
        _modal_chrome(r, view)
    for key in ("private_metadata",):
        r.max_len(view, key, 3000, "/view")
    for key in ("callback_id", "external_id"):
        r.max_len(view, key, 255, "/view")
    if "blocks" not in view:
        r.add("missing required field: blocks", "/view")
    else:
        _blocks_into(r, view["blocks"], "/view/blocks", "modal" if kind == "modal" else "home")
    return r.errors


def _modal_chrome(r: Report, view: dict[str, Any]) -> None:
    if "title" not in view:
        r.add("missing required field: title", "/view")
    else:
        text_object(r, view["title"], "/view/title", 24, plain_only=True)
    optional_text(r, view, "submit", "/view", 24)
    optional_text(r, view, "close", "/view", 24)
    blocks = view.get("blocks")
    has_input = isinstance(blocks, list) and any(
        isinstance(b, dict) and b.get("type") == "input" for b in blocks
    )
    if has_input and "submit" not in view:
        r.add("must provide submit when input blocks are present", "/view")
