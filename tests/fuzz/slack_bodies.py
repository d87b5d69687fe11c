"""Slack bodies to fuzz from: the real captures, and the bot's own modals filled in."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from bot.config import Catalog, settings_from_mapping
from bot.models import Incident, Severity
from bot.models.rca import Rca, Section
from bot.slack.modals import declare_modal
from bot.slack.rca_modal import rca_view
from tests.fuzz.strategies import real_bytes, real_json
from tests.support.bot_harness import catalog_config

CATALOG: Catalog = settings_from_mapping(catalog_config("fuzz"), {}).catalog
SLASH = real_bytes("slack/bolt-python_slash_command_body.urlencoded.txt").strip()
BLOCK_ACTIONS: dict[str, Any] = real_json("slack/bolt-python_block_actions_payload.json")
VIEW_SUBMISSION: dict[str, Any] = real_json("slack/bolt-python_view_submission_payload.json")
EVENT: dict[str, Any] = real_json("slack/bolt-python_events_api_app_mention_envelope.json")
FORM = "application/x-www-form-urlencoded"


def as_form(payload: Any) -> bytes:
    """An interaction as Slack posts it: ``payload=<json>``, form-encoded."""
    return urlencode({"payload": json.dumps(payload)}).encode()


def filled_declare_view() -> dict[str, Any]:
    """The declare modal as the bot builds it, submitted with checkout / p99 / p1."""
    view = declare_modal(CATALOG, "C0CHECKOUT")
    view["state"] = {"values": {
        "service": {"service": {"type": "static_select", "selected_option": {"value": "checkout"}}},
        "summary": {"summary": {"type": "plain_text_input", "value": "p99 is up"}},
        "severity": {"severity": {"type": "static_select", "selected_option": {"value": "p1"}}},
    }}
    return view


def filled_rca_view(incident_id: str = "INC-7") -> dict[str, Any]:
    """The RCA modal as the bot builds it, every section typed in."""
    incident = Incident(id=incident_id, number=7, service="checkout", summary="RSS climbing",
                        severity=Severity.WARNING, channel="C0CHECKOUT",
                        created_at=datetime(2026, 11, 27, 10, tzinfo=UTC))
    view = rca_view(incident, Rca(incident_id=incident_id, version=0))
    view["state"] = {"values": {s.value: {"text": {"value": f"{s.value} text"}} for s in Section}}
    return view
