"""The webhook when Redis goes away, and with two bot processes sharing one Redis."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from tests.handlers.test_alerts import INTAKE_ONLY
from tests.support.alert_payloads import alert, notification
from tests.support.bot_harness import catalog_config, populate, post_alert, running_bot
from tests.support.bot_process import BotProcess
from tests.support.redis_server import RedisServer
from triage_sim.slack.standin import SlackStandIn

GROUP = '{}:{alertname="MemoryGrowth", service="checkout"}'


def growth(instance: str) -> dict[str, object]:
    return alert("MemoryGrowth", service="checkout", severity="warning", instance=instance)


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    server = RedisServer(appendonly=True)
    server.start()
    yield server
    server.cleanup()


async def test_redis_down_answers_503_then_nothing_is_lost(
    own_redis: RedisServer, key_prefix: str
) -> None:
    async with running_bot(own_redis.url, key_prefix, overrides=INTAKE_ONLY) as bot:
        assert (await bot.post_alert(notification(GROUP, [growth("a")]))).status == 200
        await bot.idle()
        own_redis.stop()
        down = await bot.post_alert(notification(GROUP, [growth("a"), growth("b")]))
        assert down.status == 503 and down.body["error"] == "state store unavailable"
        async with bot.http.get(f"{bot.base_url}/readyz") as ready:
            assert ready.status == 503
        own_redis.start()
        # Alertmanager retries the same notification; this time it is stored.
        retried = await bot.post_alert(notification(GROUP, [growth("a"), growth("b")]))
        assert retried.status == 200 and retried.body["changes"] == 1
        await bot.idle()
        states = await bot.services.triage.alert_states.states("INC-1")
        assert sorted(s.labels["instance"] for s in states) == ["a", "b"]
        thread = bot.slack.messages("C0CHECKOUT")
        assert len(thread) == 2 and "b" in thread[1].text
        async with bot.http.get(f"{bot.base_url}/metrics") as metrics:
            assert 'outcome="store_unavailable"} 1.0' in await metrics.text()


async def test_two_bot_processes_get_the_same_payload_at_once(
    redis_url: str, key_prefix: str, tmp_path: Path
) -> None:
    async with SlackStandIn() as slack:
        populate(slack)
        config = {**catalog_config(key_prefix), **INTAKE_ONLY}
        replicas = [BotProcess(config, tmp_path, slack_api_url=slack.api_url,
                               redis_url=redis_url) for _ in range(2)]
        await asyncio.gather(*(asyncio.to_thread(r.start) for r in replicas))
        try:
            payload = notification(GROUP, [growth("a"), growth("b")])
            async with aiohttp.ClientSession() as http:
                for _ in range(3):  # first delivery raced, then two redeliveries
                    answers = await asyncio.gather(
                        *(post_alert(http, r.base_url, payload) for r in replicas))
                    assert [a.status for a in answers] == [200, 200]
            card = await slack.wait_for_message("C0CHECKOUT")
            created = [a for a in answers if a.body["created"]]
            assert created == []  # the last round found the incident already there
        finally:
            # SIGTERM drains each replica's in-flight work: after this, every post is made.
            await asyncio.gather(*(asyncio.to_thread(r.stop) for r in replicas))
        assert len(slack.messages("C0CHECKOUT")) == 1
        assert slack.messages("C0CHECKOUT")[0].ts == card.ts
        assert len(slack.calls_to("chat.postMessage")) == 1
