"""Settings and the service catalog.

The YAML file describes the team's world (backends, channels, services); secrets and
per-deployment overrides come from the environment. ``load_settings`` is the only place that
reads either, and it takes the environment as a mapping so tests pass a plain dict.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from bot.errors import ConfigError

SLACK_DEFAULT_API_URL = "https://slack.com/api/"
#: Redis when REDIS_URL is not set.
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
#: Values of TRIAGE_ALERT_TOKEN that are examples, never secrets: refused at start.
PLACEHOLDER_ALERT_TOKENS = frozenset({
    "change-me", "changeme", "change-me-too", "replace-me", "secret", "password", "token",
    "example", "xxx", "todo", "your-token-here", "<alertmanager-token>",
})
#: The shortest TRIAGE_ALERT_TOKEN accepted.
MIN_ALERT_TOKEN_CHARS = 16

_SIZE_UNITS = {
    "": 1, "b": 1,
    "k": 1000, "kb": 1000, "m": 1000**2, "mb": 1000**2, "g": 1000**3, "gb": 1000**3,
    "ki": 1024, "kib": 1024, "mi": 1024**2, "mib": 1024**2, "gi": 1024**3, "gib": 1024**3,
    "ti": 1024**4, "tib": 1024**4, "t": 1000**4, "tb": 1000**4,
}
_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$")
_LABEL_NAME_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_SERVICE_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,62}$")
_CHANNEL_RE = re.compile(r"^[CGD][A-Z0-9]{2,}$")
_METRIC_NAME_RE = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")


def parse_size(value: object) -> int:
    """Turn ``2GiB``, ``512MB`` or a plain byte count into bytes (Kubernetes-style units too)."""
    if isinstance(value, bool):
        raise ValueError("expected a size such as 512MiB or 2GiB")
    if isinstance(value, int):
        return value
    match = _SIZE_RE.match(str(value))
    unit = match.group(2).lower() if match else None
    if match is None or unit not in _SIZE_UNITS:
        raise ValueError(f"invalid size {value!r} (use e.g. 512MiB, 2GiB or a byte count)")
    return int(_finite(float(match.group(1)) * _SIZE_UNITS[unit], value))


def _finite(number: float, written: object) -> float:
    """``number``, unless it overflowed to infinity (or is NaN): then a plain ValueError."""
    if not math.isfinite(number):
        raise ValueError(f"{str(written)[:40]!r} is not a finite number")
    return number


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"not an http(s) URL: {value!r}")
    return value.rstrip("/")


def _label_matchers(value: dict[str, str]) -> dict[str, str]:
    for name in value:
        if not _LABEL_NAME_RE.match(name):
            raise ValueError(f"invalid label name {name!r}")
    return value


HttpUrl = Annotated[str, AfterValidator(_http_url)]
ByteSize = Annotated[int, BeforeValidator(parse_size), Field(gt=0)]
LabelMatchers = Annotated[dict[str, str], AfterValidator(_label_matchers)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BackendsConfig(_Strict):
    """Where the telemetry backends live; any of them may be absent."""

    prometheus: HttpUrl | None = None
    loki: HttpUrl | None = None
    jaeger: HttpUrl | None = None
    tempo: HttpUrl | None = None
    #: Alertmanager (API v2), for silences created from a card and links to its alert pages.
    alertmanager: HttpUrl | None = None
    timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    max_concurrency: int = Field(default=8, ge=1, le=64)
    #: The largest answer body read from any backend; larger ones fail the step as soon as
    #: they pass it (the body is read in chunks, never buffered whole first).
    max_body_bytes: ByteSize = 32 * 1024 * 1024
    #: Per-backend overrides of ``max_body_bytes``, e.g. ``{loki: 64MiB}``.
    max_body_bytes_for: dict[Literal["prometheus", "loki", "jaeger", "tempo"], ByteSize] = Field(
        default_factory=dict)

    def body_limit(self, backend: str) -> int:
        """The body cap for ``backend``: its override, else ``max_body_bytes``."""
        for name, limit in self.max_body_bytes_for.items():
            if name == backend:
                return limit
        return self.max_body_bytes


class SlackConfig(_Strict):
    """Slack-side settings that are not secrets."""

    default_channel: str | None = None
    command: str = "/triage"
    #: The installed workspace (T…); when set, requests from any other team are refused.
    team_id: str | None = Field(default=None, pattern=r"^[TE][A-Z0-9]{2,}$")
    #: Where ``/triage update`` also posts, for stakeholders outside the incident's thread.
    status_channel: str | None = None

    @field_validator("default_channel", "status_channel")
    @classmethod
    def _channel_id(cls, value: str | None) -> str | None:
        if value is not None and not _CHANNEL_RE.match(value):
            raise ValueError(f"not a Slack channel id (like C0123ABCD): {value!r}")
        return value


class AlertsConfig(_Strict):
    """How Alertmanager notifications are received and mapped to services."""

    service_labels: list[str] = Field(default_factory=lambda: ["service", "job", "app"])
    #: Fits a 5,000-alert group (about 1.6 MB) with room for long annotations.
    max_body_bytes: ByteSize = 4 * 1024 * 1024
    run_metrics_on_open: bool = True
    #: ``token``: Alertmanager must present TRIAGE_ALERT_TOKEN (the bot refuses to start
    #: without a real one). ``none``: the webhook is open (a warning at every start).
    auth: Literal["token", "none"] = "token"


def parse_duration(value: object) -> float:
    """``90s``, ``30m``, ``2h``, ``1d`` or a number of seconds."""
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 30m or 2h")
    if isinstance(value, int | float):
        return _finite(float(value), value)
    match = re.match(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$", str(value))
    if match is None:
        raise ValueError(f"invalid duration {value!r} (use e.g. 90s, 30m, 2h)")
    scale = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)]
    return _finite(float(match.group(1)) * scale, value)


Duration = Annotated[float, BeforeValidator(parse_duration), Field(gt=0)]


class ScheduleConfig(_Strict):
    """Scheduled jobs; durations like ``30m``. Only one replica runs them (leader lease)."""

    reminder_after: Duration = 1800.0
    refresh_every: Duration = 300.0
    memory_watch_every: Duration = 300.0
    memory_watch_horizon: Duration = 7200.0
    memory_watch_action: Literal["incident", "warn"] = "incident"
    #: How often calm services' CPU profiles refresh their baselines (None: never; the
    #: diagnosis then judges frames by rules of thumb).
    profile_baseline_every: Duration | None = 3600.0
    digest_at: str | None = Field(default="09:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    digest_timezone: str = "UTC"
    lease: Duration = 15.0
    #: A critical incident with no ``/triage update`` for this long: its assignee is reminded.
    status_every: Duration = 1800.0


class LinksConfig(_Strict):
    """Where the card and the findings link out to (nothing here is ever fetched)."""

    #: Grafana's base URL: every finding with a query gets "Open in Grafana" (Explore).
    grafana: HttpUrl | None = None
    #: Grafana data source uid per evidence source, for the Explore links.
    grafana_datasources: dict[str, str] = Field(
        default_factory=lambda: {"prometheus": "prometheus", "loki": "loki", "tempo": "tempo"})


SeverityName = Literal["critical", "error", "warning", "info", "unknown"]


class NotifyConfig(_Strict):
    """Who is told when: the catalog's owners are mentioned when an incident opens."""

    #: Severities whose new incidents mention the service's owners in the thread (once).
    #: Empty by default: paging people is something a team opts into.
    mention_on: list[SeverityName] = Field(default_factory=list)


_PRINCIPAL_RE = re.compile(r"^[UWS][A-Z0-9]{2,}$")


def _principals(value: list[str]) -> list[str]:
    for entry in value:
        if not _PRINCIPAL_RE.match(entry):
            raise ValueError(f"not a Slack user id (U…/W…) or user-group id (S…): {entry!r}")
    return value


Principals = Annotated[list[str], AfterValidator(_principals)]


class AccessConfig(_Strict):
    """Who may act (see bot/triage/access.py) and the bounds on costly actions."""

    responders: Principals = Field(default_factory=list)
    admins: Principals = Field(default_factory=list)
    #: No CPU profile (or heap-diff interval) the bot takes runs longer than this.
    max_profile_seconds: int = Field(default=60, ge=1, le=600)
    #: One profile per service, and not again within this, across replicas.
    profile_cooldown: Duration = 120.0
    #: Step runs (buttons and commands) one person may start per minute.
    steps_per_minute: int = Field(default=10, ge=1, le=1000)
    #: How long a user group's members are trusted before asking Slack again.
    groups_refresh: Duration = 300.0


class RedisConfig(_Strict):
    """Redis settings that are not the URL (which is a secret and comes from REDIS_URL)."""

    key_prefix: str = Field(default="triage", pattern=r"^[A-Za-z0-9_.:-]{1,64}$")


_CRATE_PATH_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(::[A-Za-z_][A-Za-z0-9_]*)*(::)?$")


class ServiceConfig(_Strict):
    """One entry of the service catalog: everything the bot may query for a service."""

    name: str
    aliases: list[str] = Field(default_factory=list)
    channel: str | None = None
    owners: list[str] = Field(default_factory=list)
    prometheus: LabelMatchers = Field(default_factory=dict)
    loki: LabelMatchers = Field(default_factory=dict)
    traces: str | None = None
    pprof: HttpUrl | None = None
    memory_limit: ByteSize | None = None
    metrics: dict[str, str] = Field(default_factory=dict)
    #: Crate path prefixes of the service's own code (``checkout``, ``shop_common``), so
    #: profile findings name its frames rather than allocator or library frames; unset, the
    #: service's name (``order-api`` -> ``order_api``) is used.
    code_prefixes: list[str] = Field(default_factory=list)

    @field_validator("code_prefixes")
    @classmethod
    def _crate_paths(cls, value: list[str]) -> list[str]:
        for prefix in value:
            if not _CRATE_PATH_RE.match(prefix):
                raise ValueError(f"invalid code prefix {prefix!r}: a crate path such as "
                                 "checkout or shop_common::orders")
        return value

    @field_validator("metrics")
    @classmethod
    def _metric_names(cls, value: dict[str, str]) -> dict[str, str]:
        for role, name in value.items():
            if not _METRIC_NAME_RE.match(name):
                raise ValueError(f"invalid metric name {name!r} for {role!r}")
        return value

    @field_validator("name", "aliases")
    @classmethod
    def _names(cls, value: str | list[str]) -> str | list[str]:
        for name in [value] if isinstance(value, str) else value:
            if not _SERVICE_NAME_RE.match(name):
                raise ValueError(
                    f"invalid service name {name!r}: lower-case letters, digits, '-', '_', '.'"
                )
        return value

    @field_validator("channel")
    @classmethod
    def _channel_id(cls, value: str | None) -> str | None:
        return SlackConfig._channel_id(value)

    @property
    def names(self) -> tuple[str, ...]:
        """The name first, then the aliases: every word that refers to this service."""
        return (self.name, *self.aliases)


class ConfigFile(_Strict):
    """The YAML file, validated."""

    backends: BackendsConfig = Field(default_factory=BackendsConfig)
    slack: SlackConfig = Field(default_factory=SlackConfig)
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)
    redis: RedisConfig = Field(default_factory=RedisConfig)
    schedule: ScheduleConfig = Field(default_factory=ScheduleConfig)
    links: LinksConfig = Field(default_factory=LinksConfig)
    notify: NotifyConfig = Field(default_factory=NotifyConfig)
    #: Open ``#inc-<n>-<service>`` for every new incident (``/triage channel`` does it on ask).
    incident_channels: bool = False
    services: list[ServiceConfig] = Field(default_factory=list)
    #: Absent: everyone is a responder (as before roles existed); ``check`` warns.
    access: AccessConfig | None = None

    @model_validator(mode="after")
    def _unique_names(self) -> ConfigFile:
        seen: dict[str, str] = {}
        for service in self.services:
            for name in service.names:
                if name in seen:
                    raise ValueError(
                        f"service name or alias {name!r} is used by both "
                        f"{seen[name]!r} and {service.name!r}"
                    )
                seen[name] = service.name
        return self


@dataclass(frozen=True)
class Catalog:
    """The services the bot knows; the only things it will ever query."""

    services: tuple[ServiceConfig, ...] = ()

    def get(self, name: str) -> ServiceConfig | None:
        """The service called ``name`` (or with that alias), case-insensitively."""
        wanted = name.strip().lower()
        for service in self.services:
            if wanted in service.names:
                return service
        return None

    def for_channel(self, channel_id: str) -> list[ServiceConfig]:
        """Services whose incident channel is ``channel_id``."""
        return [s for s in self.services if s.channel == channel_id]

    def names(self) -> list[str]:
        """Service names, in catalog order."""
        return [s.name for s in self.services]


@dataclass(frozen=True)
class Settings:
    """Everything the bot is configured with, as one frozen object."""

    file: ConfigFile
    config_path: Path | None = None
    slack_bot_token: str | None = None
    slack_signing_secret: str | None = None
    slack_app_token: str | None = None
    slack_api_url: str = SLACK_DEFAULT_API_URL
    redis_url: str | None = None
    alert_token: str | None = None
    #: The team's playbooks (TRIAGE_PLAYBOOKS), added to the built-in ones or replacing
    #: them by id; None: the built-in playbooks alone.
    playbooks_dir: Path | None = None
    catalog: Catalog = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "catalog", Catalog(tuple(self.file.services)))

    @property
    def backends(self) -> BackendsConfig:
        """Telemetry backends (file values, overridden by environment)."""
        return self.file.backends

    @property
    def key_prefix(self) -> str:
        """Prefix of every Redis key this bot writes."""
        return self.file.redis.key_prefix


_BACKEND_ENV = {
    "prometheus": "PROMETHEUS_URL",
    "loki": "LOKI_URL",
    "jaeger": "JAEGER_URL",
    "tempo": "TEMPO_URL",
    "alertmanager": "ALERTMANAGER_URL",
}


def default_config_path(environ: Mapping[str, str]) -> Path:
    """``TRIAGE_CONFIG`` if set, else ``./triage.yaml``."""
    return Path(environ.get("TRIAGE_CONFIG") or "triage.yaml")


def load_settings(path: Path | None, environ: Mapping[str, str]) -> Settings:
    """Read the YAML file at ``path`` (or none) and overlay the environment."""
    raw: dict[str, Any] = _read_yaml(path) if path is not None else {}
    return settings_from_mapping(raw, environ, source=str(path) if path else "<defaults>",
                                 path=path)


def settings_from_mapping(
    raw: Mapping[str, Any], environ: Mapping[str, str], *, source: str = "<config>",
    path: Path | None = None,
) -> Settings:
    """Validate an already-parsed configuration mapping and overlay the environment."""
    data = dict(raw)
    backends = data.get("backends") or {}
    if isinstance(backends, Mapping):  # anything else is pydantic's to refuse, with the place
        backends = dict(backends)
        for name, variable in _BACKEND_ENV.items():
            if environ.get(variable):
                backends[name] = environ[variable]
    data["backends"] = backends
    try:
        file = ConfigFile.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(source, exc)) from None
    api_url = environ.get("SLACK_API_URL") or SLACK_DEFAULT_API_URL
    return Settings(
        file=file,
        config_path=path,
        slack_bot_token=environ.get("SLACK_BOT_TOKEN") or None,
        slack_signing_secret=environ.get("SLACK_SIGNING_SECRET") or None,
        slack_app_token=environ.get("SLACK_APP_TOKEN") or None,
        slack_api_url=api_url if api_url.endswith("/") else api_url + "/",
        redis_url=environ.get("REDIS_URL") or None,
        alert_token=environ.get("TRIAGE_ALERT_TOKEN") or None,
        playbooks_dir=Path(environ["TRIAGE_PLAYBOOKS"]) if environ.get("TRIAGE_PLAYBOOKS")
        else None,
    )


#: Where a new configuration starts from (the repository's annotated example).
EXAMPLE_CONFIG_HINT = ("start from triage.example.yaml in the triage-bot repository: copy it, "
                       "list your services under services:, and pass it with --config or "
                       "TRIAGE_CONFIG")


def catalog_problem(settings: Settings) -> str | None:
    """Why the catalog cannot serve anyone (no file, no services), or None.

    A bot without services opens no incident for any alert and answers every command with
    "unknown service": better not to start, and say where the example is.
    """
    if settings.catalog.services:
        return None
    where = str(settings.config_path) if settings.config_path else "the configuration"
    return f"{where} lists no services: {EXAMPLE_CONFIG_HINT}"


def alert_token_problem(settings: Settings) -> str | None:
    """Why TRIAGE_ALERT_TOKEN cannot guard the webhook, or None when it can (or auth is off).

    An unset token made every webhook a 401 that nobody saw; a shipped example value lets
    anyone open incidents. Both refuse the start instead, unless ``alerts.auth: none``.
    """
    if settings.file.alerts.auth == "none":
        return None
    token = settings.alert_token or ""
    fix = ("set it to a long random string (openssl rand -hex 32), or set alerts: "
           "{auth: none} in the configuration to accept unauthenticated webhooks")
    if not token.strip():
        return f"TRIAGE_ALERT_TOKEN is not set: {fix}"
    if token.strip().lower() in PLACEHOLDER_ALERT_TOKENS:
        return f"TRIAGE_ALERT_TOKEN is the example value {token!r}: {fix}"
    if len(token) < MIN_ALERT_TOKEN_CHARS:
        return (f"TRIAGE_ALERT_TOKEN has {len(token)} characters, fewer than "
                f"{MIN_ALERT_TOKEN_CHARS}: {fix}")
    return None


def format_validation_error(source: str, exc: ValidationError) -> str:
    """One line per problem: ``file: services[0].memory_limit: what is wrong``."""
    lines = [f"{source}: invalid configuration"]
    for error in exc.errors():
        where = "".join(
            f"[{part}]" if isinstance(part, int) else f".{part}" for part in error["loc"]
        ).lstrip(".")
        message = str(error["msg"]).removeprefix("Value error, ")
        lines.append(f"  {source}: {where or '(top level)'}: {message}")
    return "\n".join(lines)


def _read_yaml(path: Path) -> dict[str, Any]:
    if not path.exists():
        raise ConfigError(f"{path}: no configuration file here; {EXAMPLE_CONFIG_HINT}")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read configuration: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: cannot read configuration: not UTF-8 ({exc.reason} "
                          f"at byte {exc.start})") from None
    try:
        loaded = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{path}: not valid YAML: nested too deeply") from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise ConfigError(f"{path}: the top level must be a mapping (backends, services, ...)")
    return loaded
