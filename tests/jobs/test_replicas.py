"""Bot processes on one Redis: jobs run once per tick, survive kill -9 of the leader and restarts.

Each replica is ``triage-bot serve`` in its own process with a schedule of quarter-second
sweeps and a one-second lease. Who ran which tick is read from the run log in Redis, and the
reminders the jobs post are counted in the Slack stand-in.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import redis.asyncio as aioredis

from bot.store.keys import Keys
from bot.store.leases import JobRun, LeaseStore
from tests.jobs.conftest import schedule
from tests.support.alert_payloads import alert, notification
from tests.support.bot_harness import catalog_config, populate, post_alert
from tests.support.bot_process import BotProcess
from tests.support.polling import eventually
from triage_sim.slack.standin import SlackStandIn
from triage_sim.slack.state import Message

LEASE_S = 1.0
GROUP = '{}:{alertname="HighLatency", service="checkout"}'


def config(key_prefix: str) -> dict[str, Any]:
    fast = schedule(reminder_after=1.0, refresh_every=0.25, memory_watch_every=0.25,
                    lease=LEASE_S)
    return {**catalog_config(key_prefix), "schedule": fast}


@pytest.fixture
async def slack() -> AsyncIterator[SlackStandIn]:
    async with SlackStandIn() as standin:
        populate(standin)
        yield standin


@pytest.fixture
def leases(redis_client: aioredis.Redis, key_prefix: str) -> LeaseStore:
    return LeaseStore(redis_client, Keys(key_prefix))


Launch = Callable[[int], Awaitable[list[BotProcess]]]


@pytest.fixture
async def launch(redis_url: str, key_prefix: str, tmp_path: Path, slack: SlackStandIn
                 ) -> AsyncIterator[Launch]:
    """Start ``count`` replicas at once (on the same Redis, prefix and Slack); stop them after."""
    started: list[BotProcess] = []

    async def start(count: int) -> list[BotProcess]:
        new = [BotProcess(config(key_prefix), tmp_path, slack_api_url=slack.api_url,
                          redis_url=redis_url) for _ in range(count)]
        started.extend(new)
        # Generous: importing the bot takes seconds on a busy CI machine.
        await asyncio.gather(*(asyncio.to_thread(r.start, 60.0) for r in new))
        return new

    yield start
    for replica in started:
        if replica.process is not None and replica.process.poll() is None:
            await asyncio.to_thread(replica.stop)


def pid_of(run: JobRun) -> int:
    return int(run.replica.split(":")[1])


def is_reminder(message: Message) -> bool:
    return message.text.startswith(":alarm_clock:")


async def open_incident(replica: BotProcess, slack: SlackStandIn) -> Message:
    payload = notification(GROUP, [alert("HighLatency", service="checkout", instance="a")])
    async with aiohttp.ClientSession() as http:
        assert (await post_alert(http, replica.base_url, payload)).status == 200
    return await slack.wait_for_message("C0CHECKOUT", timeout=10)


def assert_once_per_tick(runs: list[JobRun]) -> None:
    ticks = Counter((r.job, r.bucket) for r in runs)
    twice = {tick: n for tick, n in ticks.items() if n > 1}
    assert not twice, f"ticks run more than once: {twice}"


async def runs_after(leases: LeaseStore, after: datetime, at_least: int,
                     pid: int | None = None) -> list[JobRun] | None:
    runs = [r for r in await leases.runs()
            if r.started_at > after and (pid is None or pid_of(r) == pid)]
    return runs if len(runs) >= at_least else None


def reminders(slack: SlackStandIn) -> list[Message]:
    return [m for m in slack.messages("C0CHECKOUT") if is_reminder(m)]


async def test_replicas_run_each_tick_once_survive_kill_9_and_restarts(
    slack: SlackStandIn, leases: LeaseStore, launch: Launch
) -> None:
    # Two replicas: one leads, each tick runs once.
    pair = await launch(2)
    card = await open_incident(pair[1], slack)
    began = datetime.now(UTC)
    runs = await eventually(lambda: runs_after(leases, began, 12), within=10,
                            what="a dozen ticks")
    pids = {pid_of(r) for r in runs}
    assert len(pids) == 1, f"two replicas ran jobs at once: {pids}"
    leader = next(r for r in pair if r.process is not None and r.process.pid in pids)
    [standby] = [r for r in pair if r is not leader]
    assert leader.process is not None and standby.process is not None
    await slack.wait_for(lambda: reminders(slack), timeout=10, what="a reminder")

    # kill -9 the leader: the standby takes over once the lease expires.
    killed_at = datetime.now(UTC)
    leader.process.kill()
    leader.process.wait(timeout=10)
    standby_pid = standby.process.pid
    took_over = await eventually(lambda: runs_after(leases, killed_at, 1, pid=standby_pid),
                                 within=5 * LEASE_S, what="the standby's first tick")
    takeover_s = (took_over[0].started_at - killed_at).total_seconds()
    print(f"\ntakeover after kill -9: {takeover_s:.2f} s (lease {LEASE_S:g} s)")
    # Expected: at most one lease (expiry) + lease/3 (the standby's poll) + the first tick;
    # the margin absorbs a loaded machine. The issue asks for a bound of about 30 s.
    assert takeover_s < LEASE_S + LEASE_S / 3 + 3.0
    await eventually(lambda: runs_after(leases, killed_at, 12), within=10,
                     what="a dozen ticks on the new leader")
    before = len(reminders(slack))
    await slack.wait_for(lambda: len(reminders(slack)) > before, timeout=10,
                         what="a reminder from the new leader")

    # Restart: the only replica stops (SIGTERM gives the lease back), a new process resumes.
    await asyncio.to_thread(standby.stop)
    assert await leases.holder("scheduler") is None
    stopped_at, restarted = datetime.now(UTC), time.time()
    [fresh] = await launch(1)
    assert fresh.process is not None
    fresh_pid = fresh.process.pid
    await eventually(lambda: runs_after(leases, stopped_at, 4, pid=fresh_pid), within=10,
                     what="ticks on the restarted bot")
    await slack.wait_for(lambda: any(float(m.ts) > restarted for m in reminders(slack)),
                         timeout=10, what="a reminder after the restart")

    everything = await leases.runs()
    assert_once_per_tick(everything)
    print(f"{len(everything)} ticks on {len({r.replica for r in everything})} replicas, "
          f"none twice; {len(reminders(slack))} reminders")
    assert all(m.thread_ts == card.ts for m in reminders(slack))
    stamps = [float(m.ts) for m in reminders(slack)]
    assert min(b - a for a, b in itertools.pairwise(stamps)) >= 0.9  # no storm
