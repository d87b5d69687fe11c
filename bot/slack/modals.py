"""The "declare an incident" modal, and reading its submission back safely."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from bot.config import Catalog
from bot.errors import InputError
from bot.models import Severity
from bot.slack.blocks import clip, plain

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


def _value(values: dict[str, Any], where: tuple[str, str]) -> Any:
    return (values.get(where[0]) or {}).get(where[1]) or {}


def read_declare_form(view: dict[str, Any], catalog: Catalog) -> DeclareForm:
    """Read the submitted view; FormError (naming the block) when something is wrong."""
    values = (view.get("state") or {}).get("values") or {}
    option = _value(values, _SERVICE).get("selected_option") or {}
    service = catalog.get(str(option.get("value", "")))
    if service is None:
        raise FormError(_SERVICE[0], "Pick a service from the list.")
    summary = str(_value(values, _SUMMARY).get("value") or "").strip()
    if not summary:
        raise FormError(_SUMMARY[0], "Say in a few words what is happening.")
    severity_option = _value(values, _SEVERITY).get("selected_option") or {}
    try:
        metadata = json.loads(view.get("private_metadata") or "{}")
    except json.JSONDecodeError:
        metadata = {}
    channel = metadata.get("channel") if isinstance(metadata, dict) else None
    return DeclareForm(service=service.name, summary=summary[:300],
                       severity=Severity.parse(severity_option.get("value")),
                       channel_id=channel if isinstance(channel, str) else None)
