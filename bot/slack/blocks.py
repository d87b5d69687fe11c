"""Block Kit builders that stay inside Slack's documented limits by construction.

Text that could be too long is cut with an ellipsis rather than rejected by Slack: a card that
says a little less is better than no card at 3 a.m.
"""

from __future__ import annotations

from typing import Any

Block = dict[str, Any]

MAX_BLOCKS_MESSAGE = 50
MAX_BLOCKS_MODAL = 100
MAX_SECTION_TEXT = 3000
MAX_FIELD_TEXT = 2000
MAX_FIELDS = 10
MAX_HEADER_TEXT = 150
MAX_CONTEXT_ELEMENTS = 10
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2000
MAX_ID = 255
MAX_MESSAGE_TEXT = 40000


def clip(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, ending in an ellipsis when cut."""
    return text if len(text) <= limit else text[: max(0, limit - 1)] + "…"


def escape(text: str) -> str:
    """Escape user text for mrkdwn so it cannot mention @channel or forge links."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def mrkdwn(text: str, limit: int = MAX_SECTION_TEXT) -> dict[str, Any]:
    """A mrkdwn text object."""
    return {"type": "mrkdwn", "text": clip(text, limit) or " "}


def plain(text: str, limit: int) -> dict[str, Any]:
    """A plain_text object with emoji on."""
    return {"type": "plain_text", "text": clip(text, limit) or " ", "emoji": True}


def header(text: str) -> Block:
    """A header block."""
    return {"type": "header", "text": plain(text, MAX_HEADER_TEXT)}


def section(text: str, *, fields: list[str] | None = None, block_id: str | None = None) -> Block:
    """A section with text and optional (at most ten) fields."""
    block: Block = {"type": "section", "text": mrkdwn(text)}
    if fields:
        block["fields"] = [mrkdwn(f, MAX_FIELD_TEXT) for f in fields[:MAX_FIELDS]]
    if block_id:
        block["block_id"] = clip(block_id, MAX_ID)
    return block


def context(*texts: str) -> Block:
    """A context block of mrkdwn snippets."""
    return {"type": "context",
            "elements": [mrkdwn(t, MAX_SECTION_TEXT) for t in texts[:MAX_CONTEXT_ELEMENTS]]}


def divider() -> Block:
    """A divider."""
    return {"type": "divider"}


def button(
    text: str, action_id: str, value: str, *, style: str | None = None,
    confirm: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A button element."""
    element: dict[str, Any] = {
        "type": "button", "text": plain(text, MAX_BUTTON_TEXT),
        "action_id": clip(action_id, MAX_ID), "value": clip(value, MAX_BUTTON_VALUE),
    }
    if style:
        element["style"] = style
    if confirm:
        element["confirm"] = confirm
    return element


def confirm_dialog(title: str, text: str, yes: str, no: str = "Cancel") -> dict[str, Any]:
    """A confirmation dialog for a destructive button."""
    return {"title": plain(title, 100), "text": mrkdwn(text, 300),
            "confirm": plain(yes, 30), "deny": plain(no, 30)}


def actions(elements: list[dict[str, Any]], block_id: str) -> Block:
    """An actions block (at most 25 elements)."""
    return {"type": "actions", "block_id": clip(block_id, MAX_ID), "elements": elements[:25]}


def fit_message(blocks: list[Block], notice: str = "…more in the thread") -> list[Block]:
    """At most 50 blocks; the last one says that something was left out."""
    if len(blocks) <= MAX_BLOCKS_MESSAGE:
        return blocks
    return [*blocks[: MAX_BLOCKS_MESSAGE - 1], context(notice)]
