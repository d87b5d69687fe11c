"""Configuration: the documented file shape, env overrides, and errors that name the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import (
    alert_token_problem,
    catalog_problem,
    load_settings,
    parse_size,
    settings_from_mapping,
)
from bot.errors import ConfigError
from tests.conftest import ROOT


def test_example_file_loads_with_env_overrides() -> None:
    env = {"SLACK_BOT_TOKEN": "xoxb-1", "REDIS_URL": "redis://r:6379/0",
           "PROMETHEUS_URL": "http://prom.local:9090/", "SLACK_API_URL": "http://127.0.0.1:9/api"}
    settings = load_settings(ROOT / "triage.example.yaml", env)
    assert settings.backends.prometheus == "http://prom.local:9090"
    assert settings.backends.loki == "http://loki:3100"
    assert settings.slack_api_url == "http://127.0.0.1:9/api/"
    checkout = settings.catalog.get("CHECKOUT-API")
    assert checkout is not None and checkout.name == "checkout"
    assert checkout.memory_limit == 2 * 1024**3
    assert checkout.prometheus == {"job": "checkout"}
    assert settings.catalog.for_channel("C0CHECKOUT") == [checkout]
    assert settings.redis_url == "redis://r:6379/0"


@pytest.mark.parametrize(("text", "expected"), [
    ("2GiB", 2 * 1024**3), ("512Mi", 512 * 1024**2), ("1.5G", 1_500_000_000), (4096, 4096),
])
def test_sizes(text: object, expected: int) -> None:
    assert parse_size(text) == expected


@pytest.mark.parametrize(("patch", "where", "problem"), [
    ({"memory_limit": "2XB"}, "services[0].memory_limit", "invalid size"),
    ({"channel": "general"}, "services[0].channel", "not a Slack channel id"),
    ({"pprof": "ftp://x"}, "services[0].pprof", "not an http(s) URL"),
    ({"prometheus": {"bad-label": "x"}}, "services[0].prometheus", "invalid label name"),
    ({"colour": "red"}, "services[0].colour", "Extra inputs are not permitted"),
])
def test_bad_service_fields_are_named(patch: dict[str, object], where: str, problem: str) -> None:
    raw = {"services": [{"name": "checkout", **patch}]}
    with pytest.raises(ConfigError) as info:
        settings_from_mapping(raw, {}, source="triage.yaml")
    assert f"triage.yaml: {where}: " in str(info.value)
    assert problem in str(info.value)


def test_duplicate_alias_is_rejected() -> None:
    raw = {"services": [{"name": "a", "aliases": ["x"]}, {"name": "b", "aliases": ["x"]}]}
    with pytest.raises(ConfigError, match=r"'x' is used by both 'a' and 'b'"):
        settings_from_mapping(raw, {})


def test_unreadable_and_invalid_yaml_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"missing\.yaml: no configuration file here; "
                                          r"start from triage\.example\.yaml"):
        load_settings(tmp_path / "missing.yaml", {})
    bad = tmp_path / "bad.yaml"
    bad.write_text("services: [name: x\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml: not valid YAML"):
        load_settings(bad, {})
    listy = tmp_path / "list.yaml"
    listy.write_text("- 1\n")
    with pytest.raises(ConfigError, match="top level must be a mapping"):
        load_settings(listy, {})


SERVICE = {"services": [{"name": "checkout"}]}


@pytest.mark.parametrize(("token", "why"), [
    (None, "TRIAGE_ALERT_TOKEN is not set"),
    ("", "TRIAGE_ALERT_TOKEN is not set"),
    ("   ", "TRIAGE_ALERT_TOKEN is not set"),
    ("change-me", "the example value 'change-me'"),
    ("CHANGE-ME", "the example value 'CHANGE-ME'"),
    ("short-token", "has 11 characters, fewer than 16"),
])
def test_a_missing_short_or_example_alert_token_is_refused(token: str | None, why: str) -> None:
    env = {} if token is None else {"TRIAGE_ALERT_TOKEN": token}
    problem = alert_token_problem(settings_from_mapping(SERVICE, env))
    assert problem is not None and why in problem
    assert "alerts: {auth: none}" in problem and "openssl rand -hex 32" in problem


def test_a_long_alert_token_or_auth_none_is_accepted() -> None:
    good = settings_from_mapping(SERVICE, {"TRIAGE_ALERT_TOKEN": "0123456789abcdef"})
    assert alert_token_problem(good) is None
    open_hook = settings_from_mapping({**SERVICE, "alerts": {"auth": "none"}}, {})
    assert alert_token_problem(open_hook) is None
    with pytest.raises(ConfigError, match=r"alerts\.auth: Input should be 'token' or 'none'"):
        settings_from_mapping({"alerts": {"auth": "basic"}}, {})


def test_a_catalog_without_services_points_at_the_example(tmp_path: Path) -> None:
    empty = tmp_path / "triage.yaml"
    empty.write_text("")
    problem = catalog_problem(load_settings(empty, {}))
    assert problem is not None and problem.startswith(f"{empty} lists no services: ")
    assert "triage.example.yaml" in problem
    assert catalog_problem(settings_from_mapping(SERVICE, {})) is None


def test_playbooks_default_to_the_built_ins_and_trust_triage_playbooks() -> None:
    assert settings_from_mapping({}, {}).playbooks_dir is None
    assert settings_from_mapping({}, {"TRIAGE_PLAYBOOKS": "/srv/pb"}).playbooks_dir == \
        Path("/srv/pb")
