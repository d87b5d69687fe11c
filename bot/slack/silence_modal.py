"""The "Silence…" modal: duration, comment and matchers (prefilled, editable), read back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from bot.errors import InputError
from bot.models import Incident
from bot.models.silence import (
    Matcher,
    format_matchers,
    matchers_for_labels,
    parse_matchers,
    parse_silence_duration,
)
from bot.slack.blocks import clip, plain
from bot.slack.modals import FormError

__all__ = ["SILENCE_CALLBACK", "SilenceForm", "read_silence_form", "silence_modal"]

SILENCE_CALLBACK = "incident.silence_modal"
DURATIONS = ("30m", "1h", "4h")
_CUSTOM = "custom"
_DURATION = ("duration", "duration")
_CUSTOM_DURATION = ("custom_duration", "custom_duration")
_MATCHERS = ("matchers", "matchers")
_COMMENT = ("comment", "comment")


def _option(text: str, value: str) -> dict[str, Any]:
    return {"text": plain(text, 75), "value": value}


def _input(where: tuple[str, str], label: str, element: dict[str, Any], *,
           optional: bool = False, hint: str | None = None) -> dict[str, Any]:
    block = {"type": "input", "block_id": where[0], "label": plain(label, 2000),
             "optional": optional, "element": {**element, "action_id": where[1]}}
    if hint:
        block["hint"] = plain(hint, 2000)
    return block


def silence_modal(incident: Incident) -> dict[str, Any]:
    """The modal, its matchers prefilled from the alert group's common labels."""
    options = [_option(d, d) for d in DURATIONS] + [_option("Custom…", _CUSTOM)]
    matchers = format_matchers(matchers_for_labels(incident.labels))
    return {
        "type": "modal", "callback_id": SILENCE_CALLBACK,
        "title": plain(f"Silence {incident.id}", 24), "submit": plain("Silence", 24),
        "close": plain("Cancel", 24), "private_metadata": incident.id,
        "blocks": [
            _input(_DURATION, "Duration", {"type": "static_select", "options": options,
                                           "initial_option": options[1]}),
            _input(_CUSTOM_DURATION, "Custom duration",
                   {"type": "plain_text_input", "max_length": 10,
                    "placeholder": plain("e.g. 90m, 12h, 2d", 150)},
                   optional=True, hint="Used when the duration is Custom…"),
            _input(_COMMENT, "Comment", {"type": "plain_text_input", "max_length": 500,
                                         "placeholder": plain("Why is it silenced?", 150)}),
            _input(_MATCHERS, "Matchers",
                   {"type": "plain_text_input", "multiline": True, "max_length": 3000,
                    **({"initial_value": clip(matchers, 3000)} if matchers else {})},
                   hint='One per line: name="value", name=~"regex", != or !~.'),
        ],
    }


@dataclass(frozen=True)
class SilenceForm:
    """A validated submission of the silence modal."""

    incident_id: str
    duration: timedelta
    comment: str
    matchers: tuple[Matcher, ...]


def _value(values: dict[str, Any], where: tuple[str, str]) -> dict[str, Any]:
    found = (values.get(where[0]) or {}).get(where[1]) or {}
    return found if isinstance(found, dict) else {}


def _text(values: dict[str, Any], where: tuple[str, str]) -> str:
    return str(_value(values, where).get("value") or "").strip()


def read_silence_form(view: dict[str, Any]) -> SilenceForm:
    """Read the submitted view; FormError (naming the input) when something is wrong."""
    values = (view.get("state") or {}).get("values") or {}
    chosen = str((_value(values, _DURATION).get("selected_option") or {}).get("value", ""))
    custom = chosen == _CUSTOM
    where = _CUSTOM_DURATION if custom else _DURATION
    try:
        duration = parse_silence_duration(_text(values, _CUSTOM_DURATION) if custom else chosen)
    except InputError as exc:
        raise FormError(where[0], str(exc)) from None
    comment = _text(values, _COMMENT)
    if not comment:
        raise FormError(_COMMENT[0], "Say why: Alertmanager shows it to everyone.")
    try:
        matchers = parse_matchers(_text(values, _MATCHERS))
    except InputError as exc:
        raise FormError(_MATCHERS[0], str(exc)) from None
    return SilenceForm(incident_id=str(view.get("private_metadata") or ""), duration=duration,
                       comment=comment, matchers=tuple(matchers))
