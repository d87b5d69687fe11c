"""Three replicas behind a load balancer, one SIGKILLed mid-load: nothing lost, nothing twice.

Three ``triage-bot serve`` processes share one Redis and the Slack stand-in behind a local
round-robin balancer. Alertmanager notifications (retried on failure, as Alertmanager does) and
step clicks go through the balancer; step 1 runs against a Prometheus that answers slowly, so
steps are under way when one replica is killed with SIGKILL. Afterwards: every alert stored,
one card per alert group, no step left "running", and the scheduler led by a live replica.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import redis.asyncio as aioredis
from aiohttp import web

from bot.models import StepStatus
from bot.store.alerts import AlertStateStore
from bot.store.incidents import IncidentStore
from bot.store.keys import Keys
from bot.store.leases import LeaseStore
from bot.store.walk import WalkStore
from tests.jobs.conftest import schedule
from tests.support.alert_payloads import alert, notification
from tests.support.bot_harness import ALERT_TOKEN, SIGNING_SECRET, populate
from tests.support.bot_process import BotProcess
from tests.support.polling import eventually
from tests.support.round_robin import RoundRobin
from triage_sim.slack.sender import SlackSender
from triage_sim.slack.standin import SlackStandIn

SERVICES = 8
GROUPS_PER_SERVICE = 2
ALERTS_PER_GROUP = 3
DELIVERIES = 3
LEASE_S = 1.0
PROMETHEUS_DELAY_S = 2.5


def config(key_prefix: str, prometheus: str) -> dict[str, Any]:
    services = [{"name": f"svc-{i}", "channel": f"C0SVC{i}", "prometheus": {"job": f"svc-{i}"}}
                for i in range(SERVICES)]
    return {"slack": {"default_channel": "C0INCIDENTS"}, "redis": {"key_prefix": key_prefix},
            "backends": {"prometheus": prometheus, "timeout_seconds": 10},
            "schedule": schedule(lease=LEASE_S, refresh_every=0.5),
            "services": services}


async def slow_prometheus() -> AsyncIterator[str]:
    """A Prometheus that knows nothing and says so after a while: steps are under way."""

    async def answer(request: web.Request) -> web.Response:
        await asyncio.sleep(PROMETHEUS_DELAY_S)
        kind = request.path.rsplit("/", 1)[-1]
        data: Any = ({"resultType": "matrix" if kind == "query_range" else "vector",
                      "result": []} if kind in ("query", "query_range") else [])
        return web.json_response({"status": "success", "data": data})

    app = web.Application()
    app.router.add_route("*", "/api/v1/{tail:.*}", answer)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


def group_key(service: int, group: int) -> str:
    return f'{{}}:{{alertname="Rule{group}", service="svc-{service}"}}'


def notifications() -> list[tuple[str, dict[str, Any]]]:
    """Every group's notification, each delivered several times, shuffled."""
    out = []
    for s in range(SERVICES):
        for g in range(GROUPS_PER_SERVICE):
            alerts = [alert(f"Rule{g}", service=f"svc-{s}", severity="warning",
                            instance=f"pod-{k}") for k in range(ALERTS_PER_GROUP)]
            out += [(group_key(s, g), notification(group_key(s, g), alerts))] * DELIVERIES
    random.Random(3).shuffle(out)
    return out


async def deliver(http: aiohttp.ClientSession, url: str, payload: dict[str, Any]) -> int:
    """POST like Alertmanager: retried on 5xx and connection failures until accepted."""
    headers = {"Authorization": f"Bearer {ALERT_TOKEN}"}
    for attempt in range(40):
        try:
            async with http.post(f"{url}/alerts/alertmanager", json=payload,
                                 headers=headers) as response:
                if response.status < 500:
                    return attempt
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.25)
    raise AssertionError("a notification was never accepted")


async def click_cards(slack: SlackStandIn, sender: SlackSender, until: float) -> int:
    """Click a step on a random posted card, five times a second, until ``until``."""
    rng, clicks = random.Random(5), 0
    while time.monotonic() < until:
        cards = [m for i in range(SERVICES)
                 for m in slack.messages(f"C0SVC{i}", include_replies=False)]
        if cards:
            card = rng.choice(cards)
            step = rng.choice(["metrics", "logs", "traces"])
            await sender.click(card.channel, card.ts, f"walk.step.{step}")
            clicks += 1
        await asyncio.sleep(0.2)
    return clicks


@pytest.fixture
async def slack() -> AsyncIterator[SlackStandIn]:
    async with SlackStandIn() as standin:
        populate(standin)
        for i in range(SERVICES):
            standin.add_channel(f"C0SVC{i}", f"svc-{i}")
        yield standin


async def test_a_replica_killed_mid_load_loses_nothing(
    slack: SlackStandIn, redis_url: str, redis_client: aioredis.Redis, key_prefix: str,
    tmp_path: Path,
) -> None:
    keys = Keys(key_prefix)
    async for prometheus in slow_prometheus():
        replicas = [BotProcess(config(key_prefix, prometheus), tmp_path,
                               slack_api_url=slack.api_url, redis_url=redis_url)
                    for _ in range(3)]
        await asyncio.gather(*(asyncio.to_thread(r.start, 60.0) for r in replicas))
        try:
            async with RoundRobin([r.base_url for r in replicas]) as balancer, \
                    aiohttp.ClientSession() as http, \
                    SlackSender(slack, url=f"{balancer.url}/slack/events",
                                signing_secret=SIGNING_SECRET) as sender:
                victim = replicas[0]
                load = notifications()
                clicking = asyncio.create_task(click_cards(slack, sender, time.monotonic() + 8))
                first_half = load[: len(load) // 2]
                await asyncio.gather(*(deliver(http, balancer.url, p) for _, p in first_half))
                assert victim.process is not None
                killed_at = datetime.now(UTC)
                victim.process.kill()
                victim.process.wait(timeout=10)
                retries = await asyncio.gather(*(deliver(http, balancer.url, p)
                                                 for _, p in load[len(load) // 2:]))
                clicks = await clicking
                await check_outcome(slack, redis_client, keys, replicas, killed_at)
                print(f"\n{len(load)} notifications ({SERVICES * GROUPS_PER_SERVICE} groups), "
                      f"{clicks} clicks; retried deliveries after the kill: "
                      f"{sum(1 for r in retries if r)}")
        finally:
            for replica in replicas:
                if replica.process is not None and replica.process.poll() is None:
                    await asyncio.to_thread(replica.stop)


async def check_outcome(slack: SlackStandIn, redis: aioredis.Redis, keys: Keys,
                        replicas: list[BotProcess], killed_at: datetime) -> None:
    incidents, alerts = IncidentStore(redis, keys), AlertStateStore(redis, keys)
    groups = SERVICES * GROUPS_PER_SERVICE

    async def every_card() -> list[Any] | None:
        cards = [m for i in range(SERVICES)
                 for m in slack.messages(f"C0SVC{i}", include_replies=False)]
        return cards if len(cards) >= groups else None

    cards = await eventually(every_card, within=60, what="a card for every alert group")
    opened = await incidents.list_open()
    assert len(opened) == groups, "alerts lost or split: one incident per group"
    posted = sorted(m.text.split(" ·")[0] for m in cards)
    assert posted == sorted(i.id for i in opened), "a card missing or posted twice"
    for incident in opened:
        assert len(await alerts.states(incident.id)) == ALERTS_PER_GROUP, incident.id

    walk = WalkStore(redis, keys)

    async def nothing_running() -> bool:
        for incident in opened:
            statuses = await walk.statuses(incident.id)
            if StepStatus.RUNNING in statuses.values():
                return False
        return True

    started = time.monotonic()
    await eventually(nothing_running, within=45, what="no step left running")
    print(f"\nno step running {time.monotonic() - started:.1f} s after the load")

    leases = LeaseStore(redis, keys)
    live = {r.process.pid for r in replicas[1:] if r.process is not None}

    async def led_by_a_live_replica() -> bool:
        runs = [r for r in await leases.runs() if r.started_at > killed_at]
        return any(int(r.replica.split(":")[1]) in live for r in runs)

    await eventually(led_by_a_live_replica, within=5 * LEASE_S + 5,
                     what="a live replica running the scheduled jobs")
