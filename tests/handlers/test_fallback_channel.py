"""Unmapped alerts need somewhere to go: without slack.default_channel the bot does not start."""

from __future__ import annotations

import pytest

from bot.app import create_app
from bot.config import settings_from_mapping
from bot.errors import ConfigError
from tests.support.bot_harness import ALERT_TOKEN, SIGNING_SECRET, catalog_config


def test_no_fallback_channel_refuses_to_start_naming_the_key() -> None:
    raw = {**catalog_config("test"), "slack": {}}
    env = {"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": SIGNING_SECRET,
           "TRIAGE_ALERT_TOKEN": ALERT_TOKEN}
    settings = settings_from_mapping(raw, env, source="test-config")
    with pytest.raises(ConfigError, match=r"slack\.default_channel is not set"):
        create_app(settings)
