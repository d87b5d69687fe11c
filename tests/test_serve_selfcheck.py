"""``triage-bot serve`` checks itself at start, as a real process against the Slack stand-in.

It refuses to start, naming every reason, with a bad alert token or a token missing scopes; it
starts with Redis down (alive, not ready) and becomes ready when Redis comes; it starts with
``alerts.auth: none`` and no token, warning that the webhook is open.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import yaml

from tests.support.polling import eventually
from tests.support.redis_server import RedisServer, free_port
from tests.support.serve_process import ServeProcess, clean_environ, start_serve
from triage_sim.slack.standin import DEFAULT_SCOPES, SlackStandIn

BOT = [sys.executable, "-m", "bot.cli"]
TOKEN = "a-long-enough-alert-token"
CATALOG = {"slack": {"default_channel": "C0INCIDENTS"}, "schedule": {"digest_at": None},
           "services": [{"name": "checkout", "channel": "C0CHECKOUT"}]}


@pytest.fixture
async def slack() -> AsyncIterator[SlackStandIn]:
    async with SlackStandIn() as standin:
        yield standin


def _config(tmp_path: Path, **extra: object) -> Path:
    path = tmp_path / "triage.yaml"
    path.write_text(yaml.safe_dump({**CATALOG, **extra}), encoding="utf-8")
    return path


def _env(slack: SlackStandIn, redis_url: str, **more: str) -> dict[str, str]:
    return clean_environ(SLACK_BOT_TOKEN="xoxb-test-token", SLACK_SIGNING_SECRET="s3cret",
                         SLACK_API_URL=slack.api_url, REDIS_URL=redis_url, **more)


async def test_serve_refuses_to_start_naming_every_reason(
        tmp_path: Path, slack: SlackStandIn, redis_url: str) -> None:
    slack.scopes = [s for s in DEFAULT_SCOPES if s != "files:write"]
    bot = await start_serve(BOT, _config(tmp_path), _env(
        slack, redis_url, TRIAGE_ALERT_TOKEN="change-me"), tmp_path, tmp_path / "out.log")
    try:
        code = await eventually(lambda: bot.process.returncode is not None or None,
                                within=30, what="serve to exit")
    finally:
        await bot.stop()
    out = bot.text()
    assert code and bot.process.returncode == 2, out
    assert "triage-bot: the bot will not start:" in out
    assert "  - TRIAGE_ALERT_TOKEN is the example value 'change-me': set it to a long " \
           "random string (openssl rand -hex 32)" in out
    assert "  - Slack: authenticated as triage-bot (U0TRIAGEBOT) in triage-test, but the " \
           "token lacks 1 scope(s) the bot needs: files:write (chart uploads in the incident " \
           "thread)" in out
    assert "Traceback" not in out
    assert len(slack.calls_to("auth.test")) == 1


async def _running(bot: ServeProcess) -> None:
    async def alive() -> bool:
        if bot.process.returncode is not None:
            raise AssertionError(f"serve exited {bot.process.returncode}:\n{bot.text()}")
        return await bot.status("/healthz") == 200

    await eventually(alive, within=45, what="/healthz to answer", every=0.05)


async def test_serve_starts_before_redis_and_is_ready_once_redis_answers(
        tmp_path: Path, slack: SlackStandIn) -> None:
    port = free_port()
    bot = await start_serve(BOT, _config(tmp_path), _env(
        slack, f"redis://127.0.0.1:{port}/0", TRIAGE_ALERT_TOKEN=TOKEN), tmp_path,
        tmp_path / "out.log")
    redis = RedisServer()
    redis.port = port
    try:
        await _running(bot)
        assert await bot.status("/readyz") == 503
        await eventually(lambda: "redis not reachable" in bot.text(), within=10,
                         what="the Redis retry to be logged")
        redis.start()
        await eventually(lambda: _ready(bot), within=45, what="/readyz once Redis answers",
                         every=0.05)
        await eventually(lambda: '"msg": "redis ready"' in bot.text(), within=45,
                         what="the self-check to see Redis")
    finally:
        code = await bot.stop()
        redis.cleanup()
    assert code == 0, bot.text()


async def _ready(bot: ServeProcess) -> bool:
    return await bot.status("/readyz") == 200


async def test_serve_with_open_webhook_warns_at_start(
        tmp_path: Path, slack: SlackStandIn, redis_url: str) -> None:
    bot = await start_serve(BOT, _config(tmp_path, alerts={"auth": "none"}),
                            _env(slack, redis_url), tmp_path, tmp_path / "out.log")
    try:
        await _running(bot)
        await eventually(lambda: _ready(bot), within=20, what="/readyz")
    finally:
        code = await bot.stop()
    out = bot.text()
    assert code == 0, out
    assert "alerts.auth is none: POST /alerts/alertmanager accepts notifications from " \
           "anyone" in out
