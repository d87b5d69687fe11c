"""SIGTERM: stop accepting, answer every request begun (mid-body ones too), drain, exit soon.

Before: 10 of 10 requests still receiving their body got no answer, and the exit took 30 s.
"""

from __future__ import annotations

import asyncio
import json
import signal
import time
from pathlib import Path

import redis.asyncio as aioredis

from bot.store.keys import Keys
from bot.store.outbox import Outbox
from tests.handlers.test_alerts import INTAKE_ONLY
from tests.handlers.test_outbox import cards_by_incident, group
from tests.support.bot_harness import ALERT_TOKEN, catalog_config, populate
from tests.support.bot_process import BotProcess
from triage_sim.slack.standin import SlackStandIn


async def half_sent(port: int, n: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter,
                                                bytes]:
    """A webhook request whose headers and first half of the body are sent; the rest not yet."""
    body = json.dumps(group(n)).encode()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write((f"POST /alerts/alertmanager HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                  f"Authorization: Bearer {ALERT_TOKEN}\r\nContent-Type: application/json\r\n"
                  f"Content-Length: {len(body)}\r\n\r\n").encode() + body[:len(body) // 2])
    await writer.drain()
    return reader, writer, body[len(body) // 2:]


async def test_sigterm_answers_requests_mid_body_and_exits_within_the_drain_time(
    redis_url: str, key_prefix: str, tmp_path: Path
) -> None:
    async with SlackStandIn() as slack:
        populate(slack)
        config = {**catalog_config(key_prefix), **INTAKE_ONLY}
        bot = BotProcess(config, tmp_path, slack_api_url=slack.api_url, redis_url=redis_url)
        await asyncio.to_thread(bot.start)
        assert bot.process is not None
        try:
            requests = [await half_sent(bot.port, n) for n in range(10)]
            # Every request has reached the handler (it reads the body), then SIGTERM.
            await asyncio.sleep(0.3)
            stopped = time.monotonic()
            bot.process.send_signal(signal.SIGTERM)
            await asyncio.sleep(0.3)
            statuses = []
            for reader, writer, rest in requests:
                writer.write(rest)
                await writer.drain()
                answer = await asyncio.wait_for(reader.readline(), 15)
                statuses.append(answer.split(b" ")[1] if answer else b"no answer")
                writer.close()
            assert statuses == [b"200"] * 10, statuses
            code = await asyncio.to_thread(bot.process.wait, 30)
            took = time.monotonic() - stopped
            print(f"SIGTERM to exit: {took:.1f} s")
            assert code == 0
            assert took < 20  # the configured drain time (Runtime.drain_seconds)
        finally:
            bot.process = None if bot.process and bot.process.poll() is not None else bot.process
            await asyncio.to_thread(bot.stop)
        # What was accepted was announced before exit, or stays owed in Redis (not lost).
        posted = set(cards_by_incident(slack))
        client = aioredis.Redis.from_url(redis_url, decode_responses=True)
        try:
            owed = {i.incident for i in await Outbox(client, Keys(key_prefix)).pending()
                    if i.kind == "card"}
        finally:
            await client.aclose()
        print(f"cards posted before exit: {len(posted)}, owed to the next replica: {len(owed)}")
        assert posted | owed == {f"INC-{n}" for n in range(1, 11)} and not posted & owed
        # The next replica (here: the restarted bot) delivers what was owed, each card once.
        await asyncio.to_thread(bot.start)
        try:
            await slack.wait_for(lambda: len(cards_by_incident(slack)) == 10, timeout=60,
                                 what="every owed card")
        finally:
            await asyncio.to_thread(bot.stop)
        assert set(cards_by_incident(slack).values()) == {1}
