"""The "declare an incident" modal, and reading its submission back safely."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.config import Catalog
from bot.errors import InputError
from bot.models import Severity
from bot.slack.blocks import clip, plain
from bot.slack.payloads import mapping, text

DECLARE_CALLBACK = "triage.declare"
_SERVICE = ("service", "service")
_SUMMARY = ("summary", "summary")
_SEVERITY = ("severity", "severity")
MAX_OPTIONS = 100


def _option(text: str, value: str) -> dict[str, Any]:
    return {"text": plain(text, 75), "value": clip(value, 150)}


def declare_modal(catalog: Catalog, channel_id: str) -> dict[str, Any]:
    """A form to pick a service, type a summary and choose a severity."""
    services = [_option(s.name, s.name) for s in catalog.services[:MAX_OPTIONS]]
    severities = [_option(s.value, s.value) for s in Severity if s is not Severity.UNKNOWN]
    return {
        "type": "modal",
        "callback_id": DECLARE_CALLBACK,
        "title": plain("Declare incident", 24),
        "submit": plain("Declare", 24),
        "close": plain("Cancel", 24),
        "private_metadata": json.dumps({"channel": channel_id}),
        "blocks": [
            {"type": "input", "block_id": _SERVICE[0], "label": plain("Service", 2000),
             "element": {"type": "static_select", "action_id": _SERVICE[1],
                         "placeholder": plain("Which service?", 150),
                         "options": services or [_option("(no services configured)", "-")]}},
            {"type": "input", "block_id": _SUMMARY[0], "label": plain("Summary", 2000),
             "element": {"type": "plain_text_input", "action_id": _SUMMARY[1],
                         "max_length": 300,
                         "placeholder": plain("What is happening?", 150)}},
            {"type": "input", "block_id": _SEVERITY[0], "label": plain("Severity", 2000),
             "optional": True,
             "element": {"type": "static_select", "action_id": _SEVERITY[1],
                         "options": severities}},
        ],
    }


class FormError(InputError):
    """A submission problem tied to one input block, shown under that input."""

    def __init__(self, block_id: str, message: str) -> None:
        super().__init__(message)
        self.block_id = block_id


@dataclass(frozen=True)
class DeclareForm:
    """A validated submission of the declare modal."""

    service: str
    summary: str
    severity: Severity
    channel_id: str | None


def _value(values: Mapping[str, Any], where: tuple[str, str]) -> Mapping[str, Any]:
    return mapping(mapping(values.get(where[0])).get(where[1]))


def _selected(values: Mapping[str, Any], where: tuple[str, str]) -> str:
    return text(mapping(_value(values, where).get("selected_option")).get("value"))


def _channel(metadata: object) -> str | None:
    """The channel the form was opened from, if the metadata is still ours."""
    try:
        decoded = json.loads(metadata) if isinstance(metadata, str) and metadata else {}
    except (ValueError, RecursionError):
        return None
    channel = mapping(decoded).get("channel")
    return channel if isinstance(channel, str) else None


def read_declare_form(view: Mapping[str, Any], catalog: Catalog) -> DeclareForm:
    """Read the submitted view; FormError (naming the block) when something is wrong.

    Any part of the view may be missing or of the wrong type: it then reads as not filled in.
    """
    values = mapping(mapping(view.get("state")).get("values"))
    service = catalog.get(_selected(values, _SERVICE))
    if service is None:
        raise FormError(_SERVICE[0], "Pick a service from the list.")
    summary = text(_value(values, _SUMMARY).get("value")).strip()
    if not summary:
        raise FormError(_SUMMARY[0], "Say in a few words what is happening.")
    return DeclareForm(service=service.name, summary=summary[:300],
                       severity=Severity.parse(_selected(values, _SEVERITY)),
                       channel_id=_channel(view.get("private_metadata")))
