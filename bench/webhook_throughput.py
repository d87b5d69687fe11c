"""Alertmanager webhook under a burst: throughput and latency, beside a bare aiohttp handler.

Run: .venv/bin/python -m bench.webhook_throughput [--payloads 2000] [--concurrency 50]

Both servers run in this process on loopback, are hit by the same client with the same
payload bytes, in the same run. The bot's figure includes authentication, parsing, the Redis
transactions that make delivery exactly-once, and the 2xx; Slack posting happens after the
answer (paced, against the stand-in) and is not part of the latency.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import time
import uuid
from collections.abc import Awaitable, Callable

import aiohttp
from aiohttp import web

from bench.common import summary, table
from bot.app import Runtime
from tests.support.alert_payloads import alert, notification
from tests.support.bot_harness import ALERT_TOKEN, populate, running_bot
from tests.support.redis_server import RedisServer
from triage_sim.slack.standin import SlackStandIn


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


async def bare_server() -> tuple[web.AppRunner, str]:
    """The baseline: reads the body, parses JSON, answers 200."""

    async def handle(request: web.Request) -> web.Response:
        json.loads(await request.read())
        return web.json_response({"status": "ok"})

    app = web.Application()
    app.router.add_post("/alerts/alertmanager", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}/alerts/alertmanager"


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
        runner, bare_url = await bare_server()
        rows = [await measure("bare aiohttp", lambda: burst(bare_url, bodies, concurrency))]
        await runner.cleanup()
        async with SlackStandIn() as slack:
            populate(slack)
            prefix = f"bench-{uuid.uuid4().hex[:6]}"
            async with running_bot(redis.url, prefix, slack=slack,
                                   runtime=Runtime(channel_interval_s=0.001)) as bot:
                url = f"{bot.base_url}/alerts/alertmanager"
                rows.append(await measure("triage-bot", lambda: burst(url, bodies, concurrency)))
                await bot.idle(within=120)
                cards = len(slack.messages("C0CHECKOUT", include_replies=False))
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
