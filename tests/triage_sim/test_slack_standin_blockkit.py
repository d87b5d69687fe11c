"""Block Kit validation (pure functions the bot's renderer tests also call)."""

from __future__ import annotations

from typing import Any

import pytest

from triage_sim.slack.blockkit import validate_blocks, validate_view


def plain(text: str) -> dict[str, str]:
    return {"type": "plain_text", "text": text}


def mrkdwn(text: str) -> dict[str, str]:
    return {"type": "mrkdwn", "text": text}


def button(**extra: Any) -> dict[str, Any]:
    return {"type": "button", "text": plain("Go"), "action_id": "go", **extra}


def option(text: str = "opt", value: str = "v") -> dict[str, Any]:
    return {"text": plain(text), "value": value}


def actions(*elements: dict[str, Any]) -> dict[str, Any]:
    return {"type": "actions", "elements": list(elements)}


TRIAGE_CARD: list[dict[str, Any]] = [
    {"type": "header", "text": plain("checkout: MemoryGrowth")},
    {
        "type": "section",
        "block_id": "summary",
        "text": mrkdwn("*RSS* growing 40 MiB/h, OOM in ~3h"),
        "fields": [mrkdwn("*Service*\ncheckout"), mrkdwn("*Severity*\ncritical")],
        "accessory": {
            "type": "overflow",
            "action_id": "more",
            "options": [option("Assign", "assign"), option("Resolve", "resolve")],
        },
    },
    {"type": "divider"},
    {
        "type": "context",
        "elements": [
            mrkdwn("step 1/4"),
            {"type": "image", "image_url": "https://x/y.png", "alt_text": "chart"},
        ],
    },
    {
        "type": "actions",
        "block_id": "steps",
        "elements": [
            button(action_id="metrics", style="primary", value="checkout"),
            button(
                action_id="logs",
                confirm={
                    "title": plain("Sure?"),
                    "text": mrkdwn("Run logs"),
                    "confirm": plain("Yes"),
                    "deny": plain("No"),
                },
            ),
            {
                "type": "static_select",
                "action_id": "pattern",
                "placeholder": plain("Pattern"),
                "options": [option("Leak", "leak"), option("Blocking", "blocking")],
            },
        ],
    },
    {"type": "markdown", "text": "**RCA** draft"},
    {"type": "image", "image_url": "https://x/p99.png", "alt_text": "P99", "title": plain("P99")},
]


def test_a_realistic_card_is_valid() -> None:
    assert validate_blocks(TRIAGE_CARD) == []


@pytest.mark.parametrize(
    ("blocks", "expected"),
    [
        (
            [{"type": "section", "text": mrkdwn("x" * 3001)}],
            "must be less than 3001 characters [json-pointer:/blocks/0/text/text]",
        ),
        (
            [{"type": "section", "fields": [mrkdwn("f")] * 11}],
            "no more than 10 items allowed [json-pointer:/blocks/0/fields]",
        ),
        (
            [{"type": "section", "fields": [mrkdwn("f" * 2001)]}],
            "must be less than 2001 characters [json-pointer:/blocks/0/fields/0/text]",
        ),
        ([{"type": "section"}], "must define either `text` or `fields` [json-pointer:/blocks/0]"),
        (
            [{"type": "section", "text": mrkdwn("")}],
            "must be more than 0 characters [json-pointer:/blocks/0/text/text]",
        ),
        (
            [{"type": "header", "text": mrkdwn("h")}],
            "failed to match all allowed schemas [json-pointer:/blocks/0/text]",
        ),
        (
            [{"type": "divider", "block_id": "b" * 256}],
            "must be less than 256 characters [json-pointer:/blocks/0/block_id]",
        ),
        (
            [actions(button(text=plain("b" * 76)))],
            "must be less than 76 characters [json-pointer:/blocks/0/elements/0/text/text]",
        ),
        (
            [actions(button(value="v" * 2001))],
            "must be less than 2001 characters [json-pointer:/blocks/0/elements/0/value]",
        ),
        (
            [actions(button(url="https://" + "u" * 3000))],
            "must be less than 3001 characters [json-pointer:/blocks/0/elements/0/url]",
        ),
        (
            [actions(button(colour="red"))],
            "invalid additional property: colour [json-pointer:/blocks/0/elements/0]",
        ),
        (
            [actions(*[button(action_id=f"a{i}") for i in range(26)])],
            "no more than 25 items allowed [json-pointer:/blocks/0/elements]",
        ),
        (
            [actions(button(), button())],
            "duplicate action_id: go [json-pointer:/blocks/0/elements/1/action_id]",
        ),
        (
            [{"type": "context", "elements": [mrkdwn("c")] * 11}],
            "no more than 10 items allowed [json-pointer:/blocks/0/elements]",
        ),
        (
            [{"type": "context", "elements": []}],
            "must provide at least 1 items [json-pointer:/blocks/0/elements]",
        ),
        (
            [actions({"type": "static_select", "action_id": "s", "options": [option("o" * 76)]})],
            "must be less than 76 characters "
            "[json-pointer:/blocks/0/elements/0/options/0/text/text]",
        ),
        (
            [
                actions(
                    {
                        "type": "static_select",
                        "action_id": "s",
                        "options": [option(value="v" * 151)],
                    }
                )
            ],
            "must be less than 151 characters [json-pointer:/blocks/0/elements/0/options/0/value]",
        ),
        (
            [actions({"type": "overflow", "action_id": "o", "options": [option()]})],
            "must provide at least 2 items [json-pointer:/blocks/0/elements/0/options]",
        ),
        (
            [
                actions(
                    {
                        "type": "static_select",
                        "action_id": "s",
                        "placeholder": plain("p" * 151),
                        "options": [option()],
                    }
                )
            ],
            "must be less than 151 characters [json-pointer:/blocks/0/elements/0/placeholder/text]",
        ),
        (
            [{"type": "markdown", "text": "m" * 12001}],
            "must be less than 12001 characters [json-pointer:/blocks/0/text]",
        ),
        (
            [{"type": "divider", "block_id": "x"}] * 2,
            "duplicate block_id: x [json-pointer:/blocks/1/block_id]",
        ),
        (
            [{"type": "divider", "extra": 1}],
            "invalid additional property: extra [json-pointer:/blocks/0]",
        ),
        (
            [{"type": "image", "image_url": "https://x"}],
            "missing required field: alt_text [json-pointer:/blocks/0]",
        ),
        ([{"type": "divider"}] * 51, "no more than 50 items allowed [json-pointer:/blocks]"),
        ("not a list", "must be an array [json-pointer:/blocks]"),
    ],
)
def test_message_limits(blocks: Any, expected: str) -> None:
    assert expected in validate_blocks(blocks)


def test_surfaces_differ() -> None:
    many = [{"type": "divider"}] * 100
    assert validate_blocks(many, "modal") == []
    assert validate_blocks([*many, {"type": "divider"}], "modal") == [
        "no more than 100 items allowed [json-pointer:/blocks]"
    ]
    markdown = [{"type": "markdown", "text": "hi"}]
    assert validate_blocks(markdown, "message") == []
    assert validate_blocks(markdown, "modal") == [
        "unsupported type: markdown [json-pointer:/blocks/0/type]"
    ]


def input_block(**element: Any) -> dict[str, Any]:
    return {
        "type": "input",
        "block_id": "service",
        "label": plain("Service"),
        "element": {"type": "plain_text_input", "action_id": "name", **element},
    }


def view(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "type": "modal",
        "title": plain("Edit RCA"),
        "submit": plain("Save"),
        "close": plain("Cancel"),
        "blocks": [input_block()],
    }
    return base | overrides


def test_a_realistic_modal_is_valid() -> None:
    assert validate_view(view(private_metadata="i" * 3000, callback_id="rca")) == []


@pytest.mark.parametrize(
    ("candidate", "expected"),
    [
        (
            view(title=plain("t" * 25)),
            "must be less than 25 characters [json-pointer:/view/title/text]",
        ),
        (
            view(submit=plain("s" * 25)),
            "must be less than 25 characters [json-pointer:/view/submit/text]",
        ),
        (
            view(close=plain("c" * 25)),
            "must be less than 25 characters [json-pointer:/view/close/text]",
        ),
        (
            view(private_metadata="m" * 3001),
            "must be less than 3001 characters [json-pointer:/view/private_metadata]",
        ),
        (
            view(callback_id="c" * 256),
            "must be less than 256 characters [json-pointer:/view/callback_id]",
        ),
        (
            view(blocks=[input_block() | {"label": plain("l" * 2001)}]),
            "must be less than 2001 characters [json-pointer:/view/blocks/0/label/text]",
        ),
        (
            view(blocks=[input_block(placeholder=plain("p" * 151))]),
            "must be less than 151 characters "
            "[json-pointer:/view/blocks/0/element/placeholder/text]",
        ),
        (
            view(blocks=[input_block(max_length=3001)]),
            "must be an integer between 0 and 3000 "
            "[json-pointer:/view/blocks/0/element/max_length]",
        ),
        (
            {k: v for k, v in view().items() if k != "submit"},
            "must provide submit when input blocks are present [json-pointer:/view]",
        ),
        (
            {k: v for k, v in view().items() if k != "title"},
            "missing required field: title [json-pointer:/view]",
        ),
        (view(type="dialog"), "must be one of modal, home [json-pointer:/view/type]"),
        (
            view(blocks=[{"type": "input", "label": plain("x"), "element": button()}]),
            "unsupported element type: button [json-pointer:/view/blocks/0/element/type]",
        ),
    ],
)
def test_view_limits(candidate: Any, expected: str) -> None:
    assert expected in validate_view(candidate)
