"""Step clicks and slash commands at a steady rate while every backend is slow.

Run: .venv/bin/python -m bench.interaction_load [--rate 100] [--seconds 60] [--delay 2]

The bot runs as its own process (``triage-bot serve``) against the Slack stand-in, a real
redis-server, a Prometheus stand-in and the service stand-in (logs, traces, pprof), every one
of them answering after ``--delay`` seconds. The client sends, at ``--rate`` per second, a mix of
step-button clicks on incident cards and ``/triage`` commands, and prints the ack latency
(median, P99, how many over Slack's 3 s), the bot's worst event-loop lag (its own
/metrics), and its RSS after warm-up, at the end of the load, and once the backlog drained.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from bench.common import summary, table
from tests.support.bot_harness import SIGNING_SECRET, populate
from tests.support.bot_process import BotProcess
from tests.support.redis_server import RedisServer
from triage_sim.service.scenarios import get as get_scenario
from triage_sim.service.standin import ServiceStandIn
from triage_sim.slack.sender import Delivery, SlackSender
from triage_sim.slack.standin import SlackStandIn

STEPS = ("metrics", "logs", "traces", "profile")


async def slow_prometheus(delay: float) -> tuple[web.AppRunner, str]:
    """A Prometheus API that knows nothing and says so after ``delay`` seconds."""

    async def answer(request: web.Request) -> web.Response:
        await asyncio.sleep(delay)
        kind = request.path.rsplit("/", 1)[-1]
        data: Any = {"resultType": "matrix" if kind == "query_range" else "vector",
                     "result": []} if kind in ("query", "query_range") else []
        return web.json_response({"status": "success", "data": data})

    app = web.Application()
    app.router.add_route("*", "/api/v1/{tail:.*}", answer)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}"


def rss_kib(pid: int) -> int:
    """Resident set size of a process, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


async def bot_metric(http: aiohttp.ClientSession, base_url: str, name: str) -> float:
    """One unlabelled sample of the bot's own /metrics."""
    async with http.get(f"{base_url}/metrics") as response:
        for line in (await response.text()).splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
    return float("nan")


class Load:
    """Sends interactions on a fixed schedule and keeps their ack latencies."""

    def __init__(self, slack: SlackStandIn, sender: SlackSender, cards: list[tuple[str, str]]):
        self.slack = slack
        self.sender = sender
        self.cards = cards
        self.latencies: list[float] = []
        self.statuses: dict[int, int] = {}
        self.rng = random.Random(7)

    async def one(self) -> None:
        channel, ts = self.rng.choice(self.cards)
        roll = self.rng.random()
        delivery: Delivery
        if roll < 0.6:
            step = self.rng.choice(STEPS)
            delivery = await self.sender.click(channel, ts, f"walk.step.{step}")
        elif roll < 0.8:
            incident = self.rng.randint(1, len(self.cards))
            delivery = await self.sender.slash_command("/triage", f"status INC-{incident}",
                                                       channel_id=channel)
        else:
            step = self.rng.choice(STEPS)
            delivery = await self.sender.slash_command("/triage", step, channel_id=channel)
        self.latencies.append(delivery.latency)
        self.statuses[delivery.status] = self.statuses.get(delivery.status, 0) + 1

    async def run(self, rate: float, seconds: float) -> None:
        loop = asyncio.get_running_loop()
        start = loop.time()
        pending: set[asyncio.Task[None]] = set()
        for i in range(int(rate * seconds)):
            delay = start + i / rate - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)  # pacing the sender, not waiting for a result
            task = loop.create_task(self.one())
            pending.add(task)
            task.add_done_callback(pending.discard)
        await asyncio.gather(*pending)


def bot_config(prefix: str, prometheus: str, service: ServiceStandIn, services: int
               ) -> dict[str, Any]:
    entry = service.catalog_entry().model_dump(exclude_none=True)
    entries = [{**entry, "name": f"svc-{i}", "aliases": [], "channel": f"C0SVC{i:02d}"}
               for i in range(services)]
    # The same work as before access control: the bench's responder may start as many steps
    # and profiles as it clicks (the default limits would refuse most of them, cheaply).
    return {"redis": {"key_prefix": prefix}, "slack": {"default_channel": "C0INCIDENTS"},
            "access": {"responders": ["U0ALICE"], "steps_per_minute": 1000,
                       "profile_cooldown": "1s"},
            "backends": {"prometheus": prometheus, "loki": service.base_url,
                         "jaeger": service.base_url, "timeout_seconds": 10},
            "services": entries}


async def main(rate: float, seconds: float, delay: float, services: int) -> None:
    redis = RedisServer()
    redis.start()
    prom_runner, prom_url = await slow_prometheus(delay)
    work = Path(tempfile.mkdtemp(prefix="triage-bench-"))
    try:
        async with SlackStandIn() as slack, ServiceStandIn(get_scenario("p99-latency")) as svc:
            populate(slack)
            for i in range(services):
                slack.add_channel(f"C0SVC{i:02d}", f"svc-{i}")
            svc.slow(delay)
            bot = BotProcess(bot_config(f"bench-{uuid.uuid4().hex[:6]}", prom_url, svc, services),
                             work, slack_api_url=slack.api_url, redis_url=redis.url)
            await asyncio.to_thread(bot.start)
            try:
                await measure(slack, bot, rate, seconds, services)
            finally:
                await asyncio.to_thread(bot.stop)
    finally:
        await prom_runner.cleanup()
        redis.cleanup()


async def measure(slack: SlackStandIn, bot: BotProcess, rate: float, seconds: float,
                  services: int) -> None:
    sender = SlackSender(slack, url=f"{bot.base_url}/slack/events",
                         signing_secret=SIGNING_SECRET, timeout=30)
    pid = bot.process.pid if bot.process else 0
    async with aiohttp.ClientSession() as http, sender:
        for i in range(services):
            await sender.slash_command("/triage", f"start svc-{i} bench {i}",
                                       channel_id=f"C0SVC{i:02d}")
        cards = await slack.wait_for(lambda: [
            (f"C0SVC{i:02d}", m.ts) for i in range(services)
            for m in slack.messages(f"C0SVC{i:02d}", include_replies=False)[:1]
        ] if all(slack.messages(f"C0SVC{i:02d}") for i in range(services)) else None,
            timeout=30, what="every card")
        warm = Load(slack, sender, cards)
        await warm.run(rate, min(10.0, seconds / 4))
        rss_warm = rss_kib(pid)
        load = Load(slack, sender, cards)
        started = time.perf_counter()
        await load.run(rate, seconds)
        sent_in = time.perf_counter() - started
        rss_end = rss_kib(pid)
        lag = await bot_metric(http, bot.base_url, "triage_event_loop_lag_max_seconds")
        drained = await drain(http, bot.base_url)
        rss_drained = rss_kib(pid)
    over = sum(1 for x in load.latencies if x > 3.0)
    count = len(load.latencies)
    print(f"{count} interactions in {sent_in:.1f} s ({count / sent_in:.0f}/s) against "
          f"{services} incidents; every backend answers after the delay")
    print(table([{"phase": "measured", **summary(load.latencies), "acks_over_3s": over,
                  "http": json.dumps(load.statuses)}]))
    print(f"worst event-loop lag in the bot: {lag * 1000:.1f} ms")
    print(f"bot RSS: warm {rss_warm / 1024:.1f} MiB, end of load {rss_end / 1024:.1f} MiB, "
          f"after the backlog drained ({drained:.0f} s) {rss_drained / 1024:.1f} MiB")


async def drain(http: aiohttp.ClientSession, base_url: str, limit_s: float = 300) -> float:
    """Seconds until the bot has no background work left (polled, bounded)."""
    started = time.perf_counter()
    while time.perf_counter() - started < limit_s:
        if await bot_metric(http, base_url, "triage_tasks_in_flight") == 0:
            break
        await asyncio.sleep(1)
    return time.perf_counter() - started


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=100)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--delay", type=float, default=2.0)
    parser.add_argument("--services", type=int, default=20)
    args = parser.parse_args()
    asyncio.run(main(args.rate, args.seconds, args.delay, args.services))
