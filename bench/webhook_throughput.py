"""Alertmanager webhook under a burst: throughput and latency, beside a bare aiohttp handler.

Run: .venv/bin/python -m bench.webhook_throughput [--payloads 2000] [--concurrency 50]

Both servers run as their own processes on loopback (the baseline ``bench/bare_server.py``,
the bot ``triage-bot serve``), hit by the same client with the same payload bytes, in the same
run; the Slack stand-in and the client share this process. The bot's figure includes
authentication, parsing, the Redis work that makes delivery exactly-once, and the 2xx; its
Slack posting and step 1 run in its own process after the answer, as in production.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp

from bench.common import summary, table
from tests.conftest import ROOT
from tests.support.alert_payloads import alert, notification
from tests.support.bot_harness import ALERT_TOKEN, catalog_config, populate
from tests.support.bot_process import BotProcess
from tests.support.redis_server import RedisServer, free_port
from triage_sim.slack.standin import SlackStandIn


async def settled_cards(slack: SlackStandIn, expected: int, within_s: float = 120.0) -> int:
    """How many cards the bot posted, once it has posted ``expected`` or ``within_s`` passed."""
    deadline = time.monotonic() + within_s
    while True:
        cards = len(slack.messages("C0CHECKOUT", include_replies=False))
        if cards >= expected or time.monotonic() > deadline:
            return cards
        await asyncio.sleep(0.2)


def payloads(count: int, groups: int) -> list[bytes]:
    """``count`` notifications over ``groups`` groups: first deliveries, then repeats."""
    bodies = []
    for i in range(count):
        g = i % groups
        alerts = [alert("HighLatency", service="checkout", severity="warning",
                        instance=f"pod-{g}-{k}") for k in range(3)]
        bodies.append(json.dumps(notification(f'{{}}:{{group="{g}"}}', alerts)).encode())
    return bodies


async def burst(url: str, bodies: list[bytes], concurrency: int) -> tuple[list[float], float]:
    """POST every body with ``concurrency`` in flight; per-request latencies and wall time."""
    latencies: list[float] = []
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    headers = {"Authorization": f"Bearer {ALERT_TOKEN}", "Content-Type": "application/json"}

    async def worker(http: aiohttp.ClientSession) -> None:
        while not queue.empty():
            body = queue.get_nowait()
            started = time.perf_counter()
            async with http.post(url, data=io.BytesIO(body), headers=headers) as response:
                await response.read()
                if response.status != 200:
                    raise RuntimeError(f"{url} answered {response.status}")
            latencies.append(time.perf_counter() - started)

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as http:
        started = time.perf_counter()
        await asyncio.gather(*(worker(http) for _ in range(concurrency)))
        return latencies, time.perf_counter() - started


def bare_server(port: int) -> subprocess.Popen[bytes]:
    """The baseline process, once it answers."""
    process = subprocess.Popen([sys.executable, "-m", "bench.bare_server", str(port)],
                               cwd=ROOT)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1):
                return process
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError("the baseline server did not start")


async def measure(name: str, run: Callable[[], Awaitable[tuple[list[float], float]]]
                  ) -> dict[str, object]:
    latencies, wall = await run()
    return {"server": name, "requests": len(latencies),
            "req_per_s": len(latencies) / wall, **summary(latencies)}


async def main(count: int, groups: int, concurrency: int) -> None:
    bodies = payloads(count, groups)
    redis = RedisServer()
    redis.start()
    try:
        port = free_port()
        bare = await asyncio.to_thread(bare_server, port)
        try:
            url = f"http://127.0.0.1:{port}/alerts/alertmanager"
            rows = [await measure("bare aiohttp", lambda: burst(url, bodies, concurrency))]
        finally:
            bare.terminate()
            bare.wait(10)
        async with SlackStandIn() as slack:
            populate(slack)
            with tempfile.TemporaryDirectory() as work:
                config = {**catalog_config(f"bench-{uuid.uuid4().hex[:6]}"),
                          "slack": {"default_channel": "C0INCIDENTS"}}
                bot = BotProcess(config, Path(work), slack_api_url=slack.api_url,
                                 redis_url=redis.url)
                await asyncio.to_thread(bot.start)
                try:
                    url = f"{bot.base_url}/alerts/alertmanager"
                    rows.append(await measure("triage-bot", lambda: burst(url, bodies,
                                                                           concurrency)))
                    cards = await settled_cards(slack, groups, within_s=30.0)
                finally:
                    await asyncio.to_thread(bot.stop)
    finally:
        redis.cleanup()
    print(f"{count} notifications over {groups} alert groups, {concurrency} in flight; "
          f"cards posted afterwards: {cards}")
    print(table(rows))
    bare, bot_row = rows
    print(f"ratio triage-bot / bare: throughput {bot_row['req_per_s'] / bare['req_per_s']:.2f}x, "
          f"median latency {bot_row['median_ms'] / bare['median_ms']:.2f}x, "
          f"P99 latency {bot_row['p99_ms'] / bare['p99_ms']:.2f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--payloads", type=int, default=2000)
    parser.add_argument("--groups", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=50)
    args = parser.parse_args()
    asyncio.run(main(args.payloads, args.groups, args.concurrency))
