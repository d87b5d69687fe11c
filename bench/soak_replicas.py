"""A soak across three replicas: 20,000 interactions behind a round-robin balancer.

Run: .venv/bin/python -m bench.soak_replicas [--interactions 20000] [--rate 100] [--delay 2]

Three ``triage-bot serve`` processes share one Redis, the Slack stand-in and the service
stand-in (every backend answering after ``--delay`` seconds), behind a local round-robin
balancer. The same mix of step clicks and slash commands as bench/interaction_load.py is sent
at ``--rate`` per second. Each replica's RSS is read after a warm-up (the first tenth of the
interactions) and at the end, once its backlog drained; the growth after warm-up is printed
per process, with the ack latencies.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from pathlib import Path

import aiohttp

from bench.common import summary, table
from bench.interaction_load import Load, bot_config, drain, rss_kib, slow_prometheus
from tests.support.bot_harness import SIGNING_SECRET, populate
from tests.support.bot_process import BotProcess
from tests.support.redis_server import RedisServer
from tests.support.round_robin import RoundRobin
from triage_sim.service.scenarios import get as get_scenario
from triage_sim.service.standin import ServiceStandIn
from triage_sim.slack.sender import SlackSender
from triage_sim.slack.standin import SlackStandIn

REPLICAS = 3
SERVICES = 12


async def main(interactions: int, rate: float, delay: float) -> None:
    redis = RedisServer()
    redis.start()
    prom_runner, prom_url = await slow_prometheus(delay)
    work = Path(tempfile.mkdtemp(prefix="triage-soak-"))
    try:
        async with SlackStandIn() as slack, ServiceStandIn(get_scenario("p99-latency")) as svc:
            populate(slack)
            for i in range(SERVICES):
                slack.add_channel(f"C0SVC{i:02d}", f"svc-{i}")
            svc.slow(delay)
            config = bot_config(f"soak-{uuid.uuid4().hex[:6]}", prom_url, svc, SERVICES)
            replicas = [BotProcess(config, work, slack_api_url=slack.api_url,
                                   redis_url=redis.url) for _ in range(REPLICAS)]
            await asyncio.gather(*(asyncio.to_thread(r.start, 60.0) for r in replicas))
            try:
                await soak(slack, replicas, interactions, rate)
            finally:
                await asyncio.gather(*(asyncio.to_thread(r.stop) for r in replicas))
    finally:
        await prom_runner.cleanup()
        redis.cleanup()


async def soak(slack: SlackStandIn, replicas: list[BotProcess], interactions: int,
               rate: float) -> None:
    pids = [r.process.pid if r.process else 0 for r in replicas]
    async with RoundRobin([r.base_url for r in replicas]) as balancer, \
            aiohttp.ClientSession() as http, \
            SlackSender(slack, url=f"{balancer.url}/slack/events",
                        signing_secret=SIGNING_SECRET, timeout=30) as sender:
        for i in range(SERVICES):
            await sender.slash_command("/triage", f"start svc-{i} soak {i}",
                                       channel_id=f"C0SVC{i:02d}")
        cards = await slack.wait_for(lambda: [
            (f"C0SVC{i:02d}", m.ts) for i in range(SERVICES)
            for m in slack.messages(f"C0SVC{i:02d}", include_replies=False)[:1]
        ] if all(slack.messages(f"C0SVC{i:02d}") for i in range(SERVICES)) else None,
            timeout=60, what="every card")
        warm_count = interactions // 10
        await Load(slack, sender, cards).run(rate, warm_count / rate)
        for replica in replicas:
            await drain(http, replica.base_url)
        warm = [rss_kib(pid) for pid in pids]
        load = Load(slack, sender, cards)
        started = time.perf_counter()
        await load.run(rate, (interactions - warm_count) / rate)
        sent_in = time.perf_counter() - started
        drained = [await drain(http, r.base_url) for r in replicas]
        end = [rss_kib(pid) for pid in pids]
    print(f"{warm_count} warm-up + {len(load.latencies)} measured interactions in "
          f"{sent_in:.0f} s across {REPLICAS} replicas; every backend answers after the delay")
    print(table([{"phase": "measured", **summary(load.latencies),
                  "acks_over_3s": sum(1 for x in load.latencies if x > 3.0),
                  "http": str(load.statuses)}]))
    rows = [{"replica": n, "rss_warm_mib": round(w / 1024, 1), "rss_end_mib": round(e / 1024, 1),
             "growth_pct": round(100 * (e - w) / w, 1) if w else float("nan"),
             "drained_s": round(d)} for n, (w, e, d) in enumerate(zip(warm, end, drained,
                                                                       strict=True))]
    print(table(rows))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--interactions", type=int, default=20_000)
    parser.add_argument("--rate", type=float, default=100)
    parser.add_argument("--delay", type=float, default=2.0)
    args = parser.parse_args()
    asyncio.run(main(args.interactions, args.rate, args.delay))
