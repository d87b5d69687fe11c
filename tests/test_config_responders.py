"""The responders' settings: validated like the rest, with their defaults."""

from __future__ import annotations

import pytest

from bot.config import settings_from_mapping
from bot.errors import ConfigError


def test_defaults_and_environment_override() -> None:
    settings = settings_from_mapping({}, {"ALERTMANAGER_URL": "http://am:9093/"})
    file = settings.file
    assert settings.backends.alertmanager == "http://am:9093"
    assert file.notify.mention_on == [] and file.incident_channels is False
    assert file.slack.status_channel is None and file.links.grafana is None
    assert file.schedule.status_every == 1800.0


@pytest.mark.parametrize(("raw", "message"), [
    ({"notify": {"mention_on": ["sev1"]}}, "notify.mention_on[0]"),
    ({"slack": {"status_channel": "#status"}}, "slack.status_channel: not a Slack channel id"),
    ({"links": {"grafana": "grafana.example.com"}}, "links.grafana: not an http(s) URL"),
    ({"backends": {"alertmanager": "ftp://am"}}, "backends.alertmanager: not an http(s) URL"),
    ({"schedule": {"status_every": "soon"}}, "schedule.status_every: invalid duration"),
])
def test_mistakes_name_the_field(raw: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        settings_from_mapping(raw, {}, source="triage.yaml")
    assert message in str(raised.value)
