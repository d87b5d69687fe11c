"""A bot process SIGKILLed right after answering 2xx: the restarted bot posts the card, once."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

import aiohttp

from tests.handlers.test_alerts import INTAKE_ONLY
from tests.handlers.test_outbox import cards_by_incident, group
from tests.support.bot_harness import catalog_config, populate, post_alert
from tests.support.bot_process import BotProcess
from triage_sim.slack.standin import SlackStandIn


async def test_sigkill_after_the_2xx_restarted_bot_posts_the_card_once(
    redis_url: str, key_prefix: str, tmp_path: Path
) -> None:
    async with SlackStandIn() as slack:
        populate(slack)
        config = {**catalog_config(key_prefix), **INTAKE_ONLY}
        bot = BotProcess(config, tmp_path, slack_api_url=slack.api_url, redis_url=redis_url)
        await asyncio.to_thread(bot.start)
        # The card's first post is held (a long Retry-After): the process dies with it in hand.
        slack.fail_next("chat.postMessage", status=429, retry_after=60, times=1)
        try:
            async with aiohttp.ClientSession() as http:
                answer = await post_alert(http, bot.base_url, group(1))
            assert answer.status == 200 and answer.body["created"]
            await slack.wait_for(lambda: slack.calls_to("chat.postMessage"), timeout=10,
                                 what="the first (held) card post")
            assert bot.process is not None
            bot.process.send_signal(signal.SIGKILL)
            bot.process.wait(timeout=10)
            bot.process = None
            assert cards_by_incident(slack) == {}
            await asyncio.to_thread(bot.start)
            restarted = time.monotonic()
            await slack.wait_for(lambda: cards_by_incident(slack), timeout=30,
                                 what="the card, from the restarted bot")
            print(f"restart to the outbox's first post: {time.monotonic() - restarted:.1f} s")
        finally:
            await asyncio.to_thread(bot.stop)
        assert cards_by_incident(slack) == {"INC-1": 1}
