"""slack-app-manifest.yml: valid against Slack's documented structure, and exactly what the bot
uses: its slash command, its routes, the events and interactions it listens to, and the scopes
of the Web API methods it calls."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from pydantic import ValidationError

from bot.app import create_app
from bot.config import SlackConfig, settings_from_mapping
from bot.slack.scopes import REQUIRED_SCOPES, missing_scopes
from tests.conftest import ROOT
from tests.packaging.slack_manifest import (
    EVENT_SCOPES,
    METHOD_SCOPES,
    Manifest,
    registrations,
    socket_mode_variant,
    web_api_methods,
)
from triage_sim.slack.standin import DEFAULT_SCOPES

MANIFEST = ROOT / "slack-app-manifest.yml"


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    return loaded


@pytest.fixture(scope="module")
def manifest(document: dict[str, Any]) -> Manifest:
    return Manifest.model_validate(document)


def _code_files() -> list[Path]:
    """The bot's code: bot/ and handlers/, (the simulator, which plays Slack's side, is triage_sim
    and lives apart)."""
    files = [*(ROOT / "bot").rglob("*.py"), *(ROOT / "handlers").rglob("*.py")]
    return [p for p in files if "sim" not in p.relative_to(ROOT).parts]


def test_manifest_is_for_http_mode_with_the_documented_settings(manifest: Manifest) -> None:
    settings = manifest.settings
    assert settings.socket_mode_enabled is False
    assert settings.org_deploy_enabled is False and settings.token_rotation_enabled is False
    assert manifest.metadata is not None and manifest.metadata.major_version == 1


def test_socket_mode_variant_from_the_readme_is_valid(document: dict[str, Any]) -> None:
    variant = Manifest.model_validate(socket_mode_variant(document))
    assert variant.settings.socket_mode_enabled and variant.request_urls() == []


@pytest.mark.parametrize(("path", "value"), [
    (("features", "slash_commands", 0, "command"), "/" + "t" * 32),
    (("features", "slash_commands", 0, "url"), "http://triage.example.com/slack/events"),
    (("features", "bot_user", "display_name"), "Triage Bot"),
    (("display_information", "name"), "x" * 36),
    (("settings", "interactivity", "request_url"), None),
    (("settings", "event_subscriptions", "request_urll"), "https://typo.example.com/"),
])
def test_model_refuses_what_slack_refuses(document: dict[str, Any], path: tuple[Any, ...],
                                          value: object) -> None:
    broken = yaml.safe_load(yaml.safe_dump(document))
    node = broken
    for key in path[:-1]:
        node = node[key]
    if value is None:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    with pytest.raises(ValidationError):
        Manifest.model_validate(broken)


def test_slash_command_is_the_bots(manifest: Manifest) -> None:
    commands = manifest.features.slash_commands
    assert [c.command for c in commands] == [SlackConfig().command]
    # `assign @who` reads <@U123>: Slack only sends ids when asked to escape.
    assert all(c.should_escape and c.usage_hint for c in commands)


def test_request_urls_reach_the_bots_slack_route(manifest: Manifest) -> None:
    app = create_app(settings_from_mapping({"slack": {"default_channel": "C0INCIDENTS"}},
                                           {"SLACK_BOT_TOKEN": "xoxb-test",
                                            "SLACK_SIGNING_SECRET": "secret"}))
    posts = {r.resource.canonical for r in app.router.routes()
             if r.method == "POST" and r.resource is not None}
    urls = manifest.request_urls()
    assert len(urls) == 3
    for url in urls:
        parts = urlsplit(url)
        assert parts.scheme == "https" and parts.path == "/slack/events", url
        assert parts.path in posts


def test_events_and_interactivity_match_the_listeners(manifest: Manifest) -> None:
    registered = registrations().calls
    unsupported = set(registered) - {"command", "action", "view", "event"}
    assert not unsupported, f"listeners the manifest does not declare: {unsupported}"
    events = manifest.settings.event_subscriptions
    assert events is not None
    assert sorted(events.bot_events) == sorted(set(map(str, registered["event"])))
    assert [c.command for c in manifest.features.slash_commands] == registered["command"]
    interactivity = manifest.settings.interactivity
    assert interactivity is not None
    assert interactivity.is_enabled == bool(registered["action"] or registered["view"])
    assert interactivity.message_menu_options_url is None  # no external selects


def test_scopes_are_exactly_what_the_code_needs(manifest: Manifest) -> None:
    methods = web_api_methods(_code_files())
    unknown = methods - set(METHOD_SCOPES)
    assert not unknown, (f"new Web API methods {unknown}: add their scopes to the manifest and "
                         "to METHOD_SCOPES in tests/packaging/slack_manifest.py")
    needed = set().union(*(METHOD_SCOPES[m] for m in methods))
    events = manifest.settings.event_subscriptions
    assert events is not None
    needed |= set().union(*(EVENT_SCOPES[e] for e in events.bot_events))
    if manifest.features.slash_commands:
        needed.add("commands")
    scopes = manifest.oauth_config.scopes
    assert sorted(scopes.bot) == sorted(needed)
    assert len(set(scopes.bot)) == len(scopes.bot) and scopes.user == []


def _readme_section(title: str) -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start:end]


def test_readme_lists_the_manifests_scopes_and_events(manifest: Manifest) -> None:
    section = _readme_section("Installing the Slack app")
    rows = {line.split("|")[1].strip().strip("`") for line in section.splitlines()
            if line.startswith("| `")}
    assert rows == set(manifest.oauth_config.scopes.bot)
    events = manifest.settings.event_subscriptions
    assert events is not None
    for event in events.bot_events:
        assert f"`{event}`" in section, f"README does not name the {event} event"


def test_readme_and_usage_hint_name_every_verb(manifest: Manifest) -> None:
    from bot.models.commands import USAGE

    described = _readme_section("What it does")
    hint = manifest.features.slash_commands[0].usage_hint or ""
    for verb in USAGE:
        if verb == "metrics":  # the four steps share one usage line
            continue
        assert f"`{verb}" in described, f"README's feature list misses `{verb}`"
        assert verb in hint, f"the manifest's usage hint misses {verb}"


def test_the_start_up_scope_check_asks_for_the_manifests_scopes(manifest: Manifest) -> None:
    """serve refuses a token missing any of REQUIRED_SCOPES: the manifest grants exactly those,
    and the Slack stand-in grants them by default, as an app installed from it would be."""
    assert list(REQUIRED_SCOPES) == list(manifest.oauth_config.scopes.bot)
    assert list(DEFAULT_SCOPES) == list(manifest.oauth_config.scopes.bot)
    assert missing_scopes(",".join(DEFAULT_SCOPES)) == []
    assert missing_scopes("chat:write, commands") == [
        "files:write", "app_mentions:read", "usergroups:read", "im:write", "files:read",
        "channels:manage", "channels:history", "groups:history"]
