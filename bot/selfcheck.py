"""The start-up self-check, and ``triage-bot check --connectivity``: is every dependency there?

An on-call bot that starts half-configured fails at the worst moment: the first page. So at
``serve`` start the bot refuses to run (``ConfigError``, one line per reason) when the alert
token is missing or an example value, when the catalog is empty, or when Slack's auth.test
rejects the token or the token lacks a scope the code needs. Redis and the telemetry backends
may come up after the bot: Redis is retried with backoff while ``/readyz`` says not ready, and
each backend is probed once and its outcome logged. ``check --connectivity`` runs every probe
once and prints one line each.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import aiohttp

from bot.config import BackendsConfig, Settings, alert_token_problem, catalog_problem
from bot.errors import ConfigError
from bot.slack.scopes import REQUIRED_SCOPES, SCOPES_HEADER, missing_scopes
from bot.sources.http import describe_client_error
from bot.store.connection import Redis
from bot.store.probe import ping_problem

__all__ = [
    "HEALTH_PATHS",
    "Probe",
    "check_redis",
    "check_slack",
    "probe_backends",
    "refusals",
    "shown_url",
    "startup_gate",
    "watch_dependencies",
]

log = logging.getLogger(__name__)

#: Readiness endpoint of each backend (Jaeger's query service has none: its UI root answers).
HEALTH_PATHS: Mapping[str, str] = {
    "prometheus": "/-/ready", "loki": "/ready", "jaeger": "/", "tempo": "/ready",
}
PROBE_TIMEOUT_S = 5.0
SLACK_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Probe:
    """One dependency's answer: Slack, Redis or a backend."""

    name: str
    url: str
    ok: bool
    detail: str

    def __str__(self) -> str:
        return f"{self.name} {self.url}: {'ready' if self.ok else 'NOT READY'} ({self.detail})"


def shown_url(url: str) -> str:
    """``url`` fit to print and log: a password in it masked."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    user = f"{parts.username}:***@" if parts.username else ":***@"
    return urlunsplit(parts._replace(netloc=user + host))


def refusals(settings: Settings) -> list[str]:
    """Why this configuration must not serve, without any I/O (empty when it may)."""
    return [problem for problem in (alert_token_problem(settings), catalog_problem(settings))
            if problem is not None]


async def check_slack(session: aiohttp.ClientSession, api_url: str, token: str | None,
                      timeout_s: float = SLACK_TIMEOUT_S) -> Probe:
    """auth.test: the token is valid, and it carries every scope in REQUIRED_SCOPES."""
    url = f"{api_url}auth.test"
    if not token:
        return Probe("slack", url, False, "SLACK_BOT_TOKEN is not set")
    try:
        async with asyncio.timeout(timeout_s), session.post(
                url, headers={"Authorization": f"Bearer {token}"}) as response:
            body = await response.json(content_type=None)
            header = response.headers.get(SCOPES_HEADER)
            status = response.status
    except TimeoutError:
        return Probe("slack", url, False, f"no answer within {timeout_s:g} s")
    except aiohttp.ClientError as exc:
        return Probe("slack", url, False, describe_client_error(exc))
    except ValueError:
        return Probe("slack", url, False, "the answer is not JSON: is SLACK_API_URL Slack's?")
    return _slack_verdict(url, status, body, header)


def _slack_verdict(url: str, status: int, body: object, header: str | None) -> Probe:
    if status != 200 or not isinstance(body, dict):
        return Probe("slack", url, False, f"HTTP {status} from Slack")
    if not body.get("ok"):
        return Probe("slack", url, False, f"Slack refused SLACK_BOT_TOKEN: "
                                          f"{body.get('error', 'unknown error')}")
    who = f"authenticated as {body.get('user')} ({body.get('user_id')}) in {body.get('team')}"
    if header is None:
        return Probe("slack", url, True, f"{who}; Slack did not list the token's scopes, "
                                         "so they are not checked")
    missing = missing_scopes(header)
    if missing:
        needs = "; ".join(f"{scope} ({REQUIRED_SCOPES[scope]})" for scope in missing)
        return Probe("slack", url, False, f"{who}, but the token lacks {len(missing)} "
                     f"scope(s) the bot needs: {needs}. Add them under OAuth & Permissions "
                     "(or from slack-app-manifest.yml) and reinstall the app")
    return Probe("slack", url, True, f"{who}; scopes {', '.join(REQUIRED_SCOPES)} granted")


async def check_redis(redis: Redis, url: str) -> Probe:
    """One PING, with the reason when there is no PONG."""
    started = time.monotonic()
    problem = await ping_problem(redis)
    if problem is not None:
        return Probe("redis", shown_url(url), False, problem)
    return Probe("redis", shown_url(url), True,
                 f"PONG in {(time.monotonic() - started) * 1000:.0f} ms")


async def probe_backends(backends: BackendsConfig,
                         limit_s: float = PROBE_TIMEOUT_S) -> list[Probe]:
    """Ask every configured backend's readiness endpoint, concurrently.

    Each probe gets the smaller of ``limit_s`` and the backends' configured timeout.
    """
    limit = min(limit_s, backends.timeout_seconds)
    targets = [(name, f"{url}{path}") for name, path in HEALTH_PATHS.items()
               if (url := getattr(backends, name))]
    async with aiohttp.ClientSession(trust_env=False) as session:
        return list(await asyncio.gather(
            *(_probe(session, name, url, limit) for name, url in targets)))


async def _probe(session: aiohttp.ClientSession, name: str, url: str, limit_s: float) -> Probe:
    started = time.monotonic()
    try:
        async with asyncio.timeout(limit_s), session.get(url) as response:
            await response.content.read(4096)
            status = response.status
    except TimeoutError:
        return Probe(name, url, False, f"no answer within {limit_s:g} s")
    except aiohttp.ClientError as exc:
        return Probe(name, url, False, describe_client_error(exc))
    elapsed_ms = (time.monotonic() - started) * 1000
    return Probe(name, url, 200 <= status < 300, f"HTTP {status} in {elapsed_ms:.0f} ms")


async def startup_gate(settings: Settings) -> Probe:
    """Refuse to serve (ConfigError, every reason) unless configuration and Slack are sound.

    Returns Slack's probe (who the bot is) for the start-up log. With ``alerts.auth: none``
    it logs a warning, at every start, that the webhook takes anyone's alerts.
    """
    reasons = refusals(settings)
    async with aiohttp.ClientSession(trust_env=True) as session:
        slack = await check_slack(session, settings.slack_api_url, settings.slack_bot_token)
    if not slack.ok:
        reasons.append(f"Slack: {slack.detail}")
    if reasons:
        raise ConfigError("the bot will not start:\n" + "\n".join(f"  - {r}" for r in reasons))
    if settings.file.alerts.auth == "none":
        log.warning("alerts.auth is none: POST /alerts/alertmanager accepts notifications "
                    "from anyone who can reach it; set TRIAGE_ALERT_TOKEN and remove it")
    log.info("slack ready", extra={"detail": slack.detail})
    return slack


async def watch_dependencies(settings: Settings, redis: Redis, redis_url: str, *,
                             first_wait_s: float = 0.5, max_wait_s: float = 30.0) -> None:
    """Probe the backends once, and retry Redis with backoff until it answers; log both.

    Runs beside the server: the process is up (/healthz) while /readyz says Redis is not.
    """
    try:
        for probe in await probe_backends(settings.backends):
            (log.info if probe.ok else log.warning)("backend probed",
                                                    extra={"probe": str(probe)})
    except Exception:  # a probe is advice: its own failure must not stop the Redis watch
        log.exception("backend probes failed")
    wait = first_wait_s
    while True:
        probe = await check_redis(redis, redis_url)
        if probe.ok:
            log.info("redis ready", extra={"probe": str(probe)})
            return
        log.warning("redis not reachable; /readyz stays false until it is",
                    extra={"probe": str(probe), "retry_in_s": wait})
        await asyncio.sleep(wait)
        wait = min(wait * 2, max_wait_s)
