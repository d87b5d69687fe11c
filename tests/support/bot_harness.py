"""A real bot (aiohttp server on a free port) wired to the Slack stand-in and a real Redis."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web

from bot.app import DRAINER, REDIS, SERVICES, SETTINGS, TASKS, Runtime, create_app
from bot.config import Settings, settings_from_mapping
from bot.store.keys import Keys
from bot.store.outbox import Outbox
from handlers.services import Services
from triage_sim.slack.sender import SlackSender
from triage_sim.slack.standin import SlackStandIn

SIGNING_SECRET = "test-signing-secret"
ALERT_TOKEN = "test-alert-token"
CHANNELS = {"C0CHECKOUT": "checkout", "C0SEARCH": "search", "C0INCIDENTS": "incidents",
            "C0RANDOM": "random"}


def catalog_config(key_prefix: str) -> dict[str, Any]:
    """The configuration the bot tests run with."""
    return {
        "slack": {"default_channel": "C0INCIDENTS"},
        "redis": {"key_prefix": key_prefix},
        # No daily digest: a test's bot must not post one because it ran near 09:00 UTC.
        "schedule": {"digest_at": None},
        "services": [
            {"name": "checkout", "aliases": ["checkout-api"], "channel": "C0CHECKOUT",
             "owners": ["U0ALICE"], "prometheus": {"job": "checkout"}, "loki": {"app": "checkout"},
             "memory_limit": "2GiB"},
            {"name": "search", "channel": "C0SEARCH", "prometheus": {"job": "search"}},
            {"name": "payments", "channel": "C0CHECKOUT", "prometheus": {"job": "payments"}},
        ],
    }


USERS = {"U0ALICE": "alice", "U0BOB": "bob"}


def populate(slack: SlackStandIn) -> None:
    """The channels and people of the test workspace."""
    for channel_id, name in CHANNELS.items():
        slack.add_channel(channel_id, name)
    for user_id, name in USERS.items():
        slack.add_user(user_id, name)


@dataclass
class BotHarness:
    """Handles on a running bot and on the Slack it talks to."""

    slack: SlackStandIn
    sender: SlackSender
    base_url: str
    app: web.Application
    http: aiohttp.ClientSession

    @property
    def services(self) -> Services:
        return self.app[SERVICES]

    async def idle(self, within: float = 10.0) -> None:
        """Wait until the bot's background work is done and its outbox delivered."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while True:
            if not await self.app[TASKS].wait_idle(max(0.0, deadline - loop.time())):
                raise AssertionError(f"bot still busy after {within}s")
            if await self.outbox_empty() and not self.app[TASKS].in_flight:
                return
            if loop.time() > deadline:
                raise AssertionError(f"outbox not delivered after {within}s: "
                                     f"{await self.outbox.pending()}")
            await asyncio.sleep(0.02)

    @property
    def outbox(self) -> Outbox:
        return Outbox(self.app[REDIS], Keys(self.app[SETTINGS].key_prefix))

    async def outbox_empty(self) -> bool:
        """Nothing owed to Slack, and the drainer holds nothing."""
        return await self.outbox.depth() == 0 and not self.app[DRAINER].busy

    async def post_alert(self, payload: Mapping[str, Any] | bytes, *,
                         auth: str | None = f"Bearer {ALERT_TOKEN}") -> AlertReply:
        """POST a webhook body as Alertmanager would; returns status and JSON answer."""
        return await post_alert(self.http, self.base_url, payload, auth=auth)


@dataclass(frozen=True)
class AlertReply:
    """The webhook's answer."""

    status: int
    body: dict[str, Any]


async def post_alert(http: aiohttp.ClientSession, base_url: str,
                     payload: Mapping[str, Any] | bytes, *,
                     auth: str | None = f"Bearer {ALERT_TOKEN}") -> AlertReply:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    headers = {"Content-Type": "application/json"}
    if auth:
        headers["Authorization"] = auth
    async with http.post(f"{base_url}/alerts/alertmanager", data=io.BytesIO(body),
                         headers=headers) as response:
        answer = await response.json(content_type=None)
        return AlertReply(response.status, answer)


def make_settings(slack: SlackStandIn, redis_url: str, key_prefix: str,
                  overrides: Mapping[str, Any] | None = None) -> Settings:
    raw = {**catalog_config(key_prefix), **(overrides or {})}
    env = {"SLACK_BOT_TOKEN": "xoxb-test-token", "SLACK_SIGNING_SECRET": SIGNING_SECRET,
           "SLACK_API_URL": slack.api_url, "REDIS_URL": redis_url,
           "TRIAGE_ALERT_TOKEN": ALERT_TOKEN, "SLACK_APP_TOKEN": "xapp-test-token"}
    return settings_from_mapping(raw, env, source="test-config")


def without_scheduler() -> Runtime:
    """The tests' runtime with no scheduled jobs, for tests that run a job themselves.

    Stopping the scheduler after start raced its start-up catch-up ticks (which may open an
    incident or claim today's digest before the test's first line runs).
    """
    return Runtime(channel_interval_s=0.01, drain_seconds=5, scheduler=False)


@asynccontextmanager
async def running_bot(
    redis_url: str, key_prefix: str, *, slack: SlackStandIn | None = None,
    runtime: Runtime | None = None, overrides: Mapping[str, Any] | None = None,
) -> AsyncIterator[BotHarness]:
    """Start the stand-in (unless given) and the bot; stop both afterwards."""
    own_slack = slack is None
    standin = slack or await SlackStandIn().start()
    if own_slack:
        populate(standin)
    app = create_app(make_settings(standin, redis_url, key_prefix, overrides),
                     runtime or Runtime(channel_interval_s=0.01, drain_seconds=5))
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    base_url = f"http://127.0.0.1:{port}"
    sender = SlackSender(standin, url=f"{base_url}/slack/events", signing_secret=SIGNING_SECRET)
    http = aiohttp.ClientSession()
    try:
        yield BotHarness(standin, sender, base_url, app, http)
    finally:
        await http.close()
        await sender.close()
        await runner.cleanup()
        if own_slack:
            await standin.stop()
