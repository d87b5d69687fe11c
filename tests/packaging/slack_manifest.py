"""The Slack app manifest: the documented structure of the parts we use, and what the code needs.

The models follow Slack's app manifest reference (api.slack.com/reference/manifests): field
names, which are required, and their documented limits (app name 35 characters, short
description 140, long description 174 to 4,000, bot display name 80 of a-z 0-9 - _ .,
slash command 32 characters with its leading slash, its description 2,000 and usage hint
1,000, at most 100 bot events and 255 scopes). Unknown fields are refused, so a typo or a
feature the bot does not handle fails here rather than in Slack's app settings.

``registrations`` and ``web_api_methods`` read what the bot really listens to and calls, so
the test can hold the manifest to exactly that.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path
from types import SimpleNamespace
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from bot.config import load_settings


def _https(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.netloc:
        raise ValueError(f"Slack only sends requests to https URLs: {value!r}")
    return value


HttpsUrl = Annotated[str, AfterValidator(_https)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Metadata(_Strict):
    """``_metadata``: the manifest schema version."""

    major_version: int = Field(ge=1, le=2)
    minor_version: int = Field(default=0, ge=0)


class DisplayInformation(_Strict):
    """How the app looks in Slack."""

    name: str = Field(min_length=1, max_length=35)
    description: str | None = Field(default=None, max_length=140)
    long_description: str | None = Field(default=None, min_length=174, max_length=4000)
    background_color: str | None = Field(default=None, pattern=r"^#(?:[0-9a-fA-F]{3}){1,2}$")


class BotUser(_Strict):
    """The bot user."""

    display_name: str = Field(max_length=80, pattern=r"^[a-z0-9._-]+$")
    always_online: bool = False


class SlashCommand(_Strict):
    """One slash command; ``url`` is where Slack posts it in HTTP mode."""

    command: str = Field(max_length=32, pattern=r"^/[a-z0-9_.-]+$")
    description: str = Field(min_length=1, max_length=2000)
    url: HttpsUrl | None = None
    usage_hint: str | None = Field(default=None, max_length=1000)
    should_escape: bool = False


class Features(_Strict):
    """``features``: only the ones triage-bot has (no App Home, shortcuts or unfurls)."""

    bot_user: BotUser
    slash_commands: list[SlashCommand] = Field(default_factory=list, max_length=50)


class Scopes(_Strict):
    """OAuth scopes requested at install."""

    bot: list[str] = Field(default_factory=list, max_length=255)
    user: list[str] = Field(default_factory=list, max_length=255)


class OAuthConfig(_Strict):
    """``oauth_config``."""

    scopes: Scopes
    redirect_urls: list[HttpsUrl] = Field(default_factory=list, max_length=1000)


class EventSubscriptions(_Strict):
    """Events API: where and which events."""

    request_url: HttpsUrl | None = None
    bot_events: list[str] = Field(default_factory=list, max_length=100)
    user_events: list[str] = Field(default_factory=list, max_length=100)


class Interactivity(_Strict):
    """Buttons, menus and modals."""

    is_enabled: bool
    request_url: HttpsUrl | None = None
    message_menu_options_url: HttpsUrl | None = None


class Settings(_Strict):
    """``settings``."""

    event_subscriptions: EventSubscriptions | None = None
    interactivity: Interactivity | None = None
    org_deploy_enabled: bool = False
    socket_mode_enabled: bool = False
    token_rotation_enabled: bool = False


class Manifest(_Strict):
    """A Slack app manifest (the parts a ChatOps bot without App Home uses)."""

    metadata: Metadata | None = Field(default=None, alias="_metadata")
    display_information: DisplayInformation
    features: Features
    oauth_config: OAuthConfig
    settings: Settings

    @model_validator(mode="after")
    def _http_mode_has_urls(self) -> Manifest:
        """In HTTP mode Slack must know where to send each kind of request."""
        if self.settings.socket_mode_enabled:
            return self
        missing = [f"features.slash_commands[{c.command}].url"
                   for c in self.features.slash_commands if c.url is None]
        events = self.settings.event_subscriptions
        if events is not None and events.bot_events and events.request_url is None:
            missing.append("settings.event_subscriptions.request_url")
        interactivity = self.settings.interactivity
        if interactivity is not None and interactivity.is_enabled and not interactivity.request_url:
            missing.append("settings.interactivity.request_url")
        if missing:
            raise ValueError(f"HTTP mode (socket_mode_enabled: false) needs {missing}")
        return self

    def request_urls(self) -> list[str]:
        """Every URL Slack would post requests to."""
        urls = [c.url for c in self.features.slash_commands if c.url]
        if self.settings.event_subscriptions and self.settings.event_subscriptions.request_url:
            urls.append(self.settings.event_subscriptions.request_url)
        if self.settings.interactivity and self.settings.interactivity.request_url:
            urls.append(self.settings.interactivity.request_url)
        return urls


def socket_mode_variant(document: dict[str, Any]) -> dict[str, Any]:
    """The manifest as the README tells Socket Mode users to edit it: flag on, URLs gone."""
    features = {**document["features"], "slash_commands": [
        {k: v for k, v in command.items() if k != "url"}
        for command in document["features"].get("slash_commands", [])]}
    settings = {**document["settings"], "socket_mode_enabled": True}
    for section in ("event_subscriptions", "interactivity"):
        if section in settings:
            settings[section] = {k: v for k, v in settings[section].items() if k != "request_url"}
    return {**document, "features": features, "settings": settings}


# -- what the code uses -----------------------------------------------------------------

#: Bot scopes of the Web API methods the bot may call (Slack's method reference).
METHOD_SCOPES: dict[str, frozenset[str]] = {
    "chat.postMessage": frozenset({"chat:write"}),
    "chat.update": frozenset({"chat:write"}),
    "chat.postEphemeral": frozenset({"chat:write"}),
    "chat.delete": frozenset({"chat:write"}),
    "files.getUploadURLExternal": frozenset({"files:write"}),
    "files.completeUploadExternal": frozenset({"files:write"}),
    "views.open": frozenset(),
    "views.update": frozenset(),
    "views.push": frozenset(),
    "auth.test": frozenset(),
    "users.info": frozenset({"users:read"}),
    "usergroups.users.list": frozenset({"usergroups:read"}),
    "conversations.info": frozenset({"channels:read", "groups:read"}),
    "conversations.open": frozenset({"im:write"}),
    "conversations.create": frozenset({"channels:manage"}),
    "conversations.invite": frozenset({"channels:manage"}),
    "files.info": frozenset({"files:read"}),
    "conversations.history": frozenset({"channels:history", "groups:history"}),
}
#: slack_sdk helpers that call several methods.
_COMPOSITE = {"files.upload_v2": ("files.getUploadURLExternal", "files.completeUploadExternal")}
#: slack_sdk method names whose Web API name has a second dot.
_DOTTED = {"usergroups.users_list": "usergroups.users.list"}
#: Bot scopes each Events API event needs.
EVENT_SCOPES: dict[str, frozenset[str]] = {"app_mention": frozenset({"app_mentions:read"}),
                                           "file_shared": frozenset({"files:read"})}

_CLIENT_CALL = re.compile(r"\.(auth|chat|conversations|files|users|views|reactions|pins|"
                          r"bookmarks|usergroups|team|dnd|reminders)_(\w+)\(")


def web_api_methods(files: Iterable[Path]) -> set[str]:
    """Web API methods called through slack_sdk's client in ``files`` (``chat_update`` ->
    ``chat.update``; ``files_upload_v2`` -> the two methods it calls). Bolt itself calls
    auth.test on the first request."""
    methods = {"auth.test"}
    for path in files:
        for family, name in _CLIENT_CALL.findall(path.read_text(encoding="utf-8")):
            method = _DOTTED.get(f"{family}.{name}", f"{family}.{name}")
            methods.update(_COMPOSITE.get(method, (method,)))
    return methods


class Registrations:
    """Stands in for Bolt's ``AsyncApp`` and records every listener a handlers module adds."""

    def __init__(self) -> None:
        self.calls: dict[str, list[object]] = defaultdict(list)

    def __getattr__(self, kind: str) -> Callable[..., Callable[[Any], Any]]:
        def register(*args: object, **_: object) -> Callable[[Any], Any]:
            self.calls[kind].append(args[0] if args else None)
            return lambda listener: listener

        return register


def registrations() -> Registrations:
    """What every ``handlers`` module's ``register(app, services)`` attaches to Bolt."""
    import handlers

    recorder = Registrations()
    services = SimpleNamespace(settings=load_settings(None, {}))
    for info in pkgutil.iter_modules(handlers.__path__):
        module = importlib.import_module(f"handlers.{info.name}")
        register = getattr(module, "register", None)
        if callable(register):
            register(recorder, services)
    return recorder
