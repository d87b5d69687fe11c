"""The Slack door: junk is cheap and refused plainly, malformed input is a 400, replays refused."""

from __future__ import annotations

import json
import logging
import random
import time
from urllib.parse import urlencode

import pytest

from bot.models import EventKind
from tests.handlers.test_commands import start
from tests.support.bot_harness import SIGNING_SECRET, BotHarness, running_bot
from triage_sim.slack.sender import slack_signature

JUNK_REQUESTS = 5_000


def signed_headers(body: bytes, content_type: str, timestamp: str | None = None
                   ) -> dict[str, str]:
    stamp = timestamp or str(int(time.time()))
    return {"Content-Type": content_type, "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": slack_signature(SIGNING_SECRET, stamp, body)}


async def post(bot: BotHarness, body: bytes, headers: dict[str, str]) -> int:
    async with bot.http.post(f"{bot.base_url}/slack/events", data=body,
                             headers=headers) as response:
        await response.read()
        return response.status


async def metrics_size(bot: BotHarness) -> int:
    async with bot.http.get(f"{bot.base_url}/metrics") as response:
        return len(await response.read())


def junk(rng: random.Random, index: int) -> tuple[bytes, dict[str, str]]:
    """Unsigned or wrongly signed bodies of every malformed kind, with random ``type``s."""
    kinds = [
        (json.dumps({"type": f"kind-{rng.getrandbits(64):x}"}).encode(), "application/json"),
        (b"payload={bad", "application/x-www-form-urlencoded"),
        (b"payload=null", "application/x-www-form-urlencoded"),
        (b"{not json", "application/json"),
        (rng.randbytes(64), "application/octet-stream"),
    ]
    body, content_type = kinds[index % len(kinds)]
    headers = {"Content-Type": content_type}
    if index % 3 == 1:
        headers |= {"X-Slack-Request-Timestamp": "abc", "X-Slack-Signature": "v0=00"}
    elif index % 3 == 2:
        headers |= {"X-Slack-Request-Timestamp": str(int(time.time())),
                    "X-Slack-Signature": "v0=" + "0" * 64}
    return body, headers


async def test_junk_is_refused_cheaply(redis_url: str, key_prefix: str,
                                       caplog: pytest.LogCaptureFixture) -> None:
    rng = random.Random(7)
    async with running_bot(redis_url, key_prefix) as bot:
        before = await metrics_size(bot)
        with caplog.at_level(logging.INFO):
            statuses = {await post(bot, *junk(rng, i)) for i in range(JUNK_REQUESTS)}
        after = await metrics_size(bot)
    assert statuses == {401}
    assert after - before < 20_000, (before, after)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.mark.parametrize(("body", "content_type"), [
    (b"payload={bad", "application/x-www-form-urlencoded"),
    (b"payload=null", "application/x-www-form-urlencoded"),
    (b"payload=%5B%5D", "application/x-www-form-urlencoded"),
    (b"text=hello", "application/x-www-form-urlencoded"),
    (b"[1, 2]", "application/json"),
    (b"{not json", "application/json"),
    (b"\xff\xfe\x00binary", "application/octet-stream"),
])
async def test_signed_but_malformed_is_a_400(redis_url: str, key_prefix: str, body: bytes,
                                             content_type: str,
                                             caplog: pytest.LogCaptureFixture) -> None:
    async with running_bot(redis_url, key_prefix) as bot:
        assert await post(bot, body, signed_headers(body, content_type)) == 400
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_a_replayed_request_is_refused(redis_url: str, key_prefix: str) -> None:
    async with running_bot(redis_url, key_prefix) as bot:
        await start(bot, "start checkout p99 above 2s")
        fields = {"command": "/triage", "text": "note INC-1 the pool is exhausted",
                  "user_id": "U0ALICE", "channel_id": "C0CHECKOUT", "team_id": "T0TEAM",
                  "response_url": bot.slack.issue_response_url("C0CHECKOUT", "U0ALICE"),
                  "trigger_id": "1.2.3"}
        body = urlencode(fields).encode()
        headers = signed_headers(body, "application/x-www-form-urlencoded")
        assert await post(bot, body, headers) == 200
        assert await post(bot, body, headers) == 401
        await bot.idle()
        timeline = await bot.services.triage.incidents.store.timeline("INC-1")
        assert [e.kind for e in timeline].count(EventKind.NOTE) == 1


async def test_a_stale_signature_is_refused(redis_url: str, key_prefix: str) -> None:
    async with running_bot(redis_url, key_prefix) as bot:
        body = b"command=%2Ftriage&text=help"
        stale = str(int(time.time()) - 600)
        headers = signed_headers(body, "application/x-www-form-urlencoded", stale)
        async with bot.http.post(f"{bot.base_url}/slack/events", data=body,
                                 headers=headers) as response:
            assert response.status == 401
            assert (await response.json())["error"] == "stale"
