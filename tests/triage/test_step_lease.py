"""A step running when its process is SIGKILLed is shown interrupted within one lease.

Before: it stayed "running" on the card and in Redis, and a re-run was refused for the claim's
150 s. Now its lease (10 s, renewed while it runs) runs out and another replica's sweep marks it
failed as interrupted, on the timeline too, and redraws the card with its Retry button.
"""

from __future__ import annotations

import asyncio
import json
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import redis.asyncio as aioredis

from bot.models import StepName, StepStatus
from bot.store.keys import Keys
from bot.store.walk import WalkStore
from tests.handlers.test_outbox import group
from tests.support.bot_harness import catalog_config, populate, post_alert
from tests.support.bot_process import BotProcess
from tests.support.polling import eventually
from triage_sim.slack.standin import SlackStandIn


@pytest.fixture
async def silent_backend() -> AsyncIterator[str]:
    """A Prometheus that accepts connections and never answers: the step hangs in it."""
    held: list[asyncio.StreamWriter] = []

    async def hold(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    for writer in held:
        writer.close()
    server.close()


async def step_status(walk: WalkStore, iid: str) -> StepStatus | None:
    return (await walk.statuses(iid)).get(StepName.METRICS)


async def test_sigkill_mid_step_shows_it_interrupted_within_one_lease(
    redis_url: str, key_prefix: str, redis_client: aioredis.Redis, silent_backend: str,
    tmp_path: Path,
) -> None:
    config = {**catalog_config(key_prefix),
              "backends": {"prometheus": silent_backend, "timeout_seconds": 120}}
    walk = WalkStore(redis_client, Keys(key_prefix))
    async with SlackStandIn() as slack:
        populate(slack)
        first = BotProcess(config, tmp_path, slack_api_url=slack.api_url, redis_url=redis_url)
        second = BotProcess(config, tmp_path, slack_api_url=slack.api_url, redis_url=redis_url)
        await asyncio.to_thread(first.start)
        try:
            async with aiohttp.ClientSession() as http:
                assert (await post_alert(http, first.base_url, group(1))).status == 200
            await eventually(lambda: _is(walk, StepStatus.RUNNING), within=20, every=0.1,
                             what="the metrics step to run")
            assert first.process is not None
            first.process.send_signal(signal.SIGKILL)
            first.process.wait(timeout=10)
            killed = time.monotonic()
            first.process = None
            await asyncio.to_thread(second.start)
            await eventually(lambda: _is(walk, StepStatus.FAILED), within=30, every=0.1,
                             what="the step marked interrupted")
            print(f"SIGKILL to 'interrupted': {time.monotonic() - killed:.1f} s")
            result = (await walk.results("INC-1"))[StepName.METRICS]
            assert result.error and "interrupted" in result.error
            raw = await redis_client.lrange(Keys(key_prefix).timeline("INC-1"), 0, -1)
            events = [json.loads(r) for r in raw]
            assert [e for e in events if e.get("data", {}).get("interrupted")]
            [card] = slack.messages("C0CHECKOUT", include_replies=False)
            await slack.wait_for(lambda: "Retry metrics" in json.dumps(
                slack.message("C0CHECKOUT", card.ts).blocks), timeout=10,
                what="the card redrawn with Retry")
            async with aiohttp.ClientSession() as http, \
                    http.get(f"{second.base_url}/metrics") as response:
                text = await response.text()
            assert 'triage_steps_total{outcome="interrupted",step="metrics"} 1.0' in text
        finally:
            for bot in (first, second):
                await asyncio.to_thread(bot.stop)


async def _is(walk: WalkStore, status: StepStatus) -> bool:
    return await step_status(walk, "INC-1") is status
