"""Leader election and ticks in one process: one leader, one run per tick, takeover, loss."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from bot.errors import StoreError
from bot.jobs import Every, JobSpec
from bot.scheduler import LEASE_NAME, JobScheduler, LeaderLease
from bot.store.keys import Keys
from bot.store.leases import JobRun, LeaseStore
from tests.jobs import sweeps
from tests.support.polling import eventually

LEASE_S = 0.6


@pytest.fixture
def leases(redis_client: aioredis.Redis, key_prefix: str) -> LeaseStore:
    return LeaseStore(redis_client, Keys(key_prefix))


@pytest.fixture(autouse=True)
def clear_sweeps() -> None:
    sweeps.RUNS.clear()
    sweeps.CANCELLED.clear()
    sweeps.FINISHED.clear()


def scheduler(leases: LeaseStore, name: str, sweep: str = "tests.jobs.sweeps:count",
              every: float = 0.2) -> JobScheduler:
    spec = JobSpec("counter", Every(every), sweep, timeout_s=30)
    return JobScheduler(leases, [spec], lease_s=LEASE_S, context=name, replica=name)


@pytest.fixture
async def pair(leases: LeaseStore) -> AsyncIterator[tuple[JobScheduler, JobScheduler]]:
    a, b = scheduler(leases, "a"), scheduler(leases, "b")
    await asyncio.gather(a.start(), b.start())
    try:
        yield a, b
    finally:
        await asyncio.gather(a.stop(drain_s=0.1), b.stop(drain_s=0.1))


def die(replica: JobScheduler) -> asyncio.Task[None]:
    """Stop a replica the way kill -9 would: no more renewals, the lease is NOT given back."""
    task = replica._loop_task
    assert task is not None
    task.cancel()
    return asyncio.get_running_loop().create_task(replica._lose())


async def runs_with(leases: LeaseStore, at_least: int) -> list[JobRun] | None:
    runs = await leases.runs()
    return runs if len(runs) >= at_least else None


def assert_once_per_tick(runs: list[JobRun]) -> None:
    buckets = Counter(r.bucket for r in runs)
    assert max(buckets.values()) == 1, buckets
    assert [r.bucket for r in runs] == sorted((r.bucket for r in runs), key=int)


async def test_two_leases_racing_give_one_leader(leases: LeaseStore) -> None:
    gained: list[str] = []

    def lease(token: str) -> LeaderLease:
        async def gain() -> None:
            gained.append(token)

        async def lose() -> None:
            return None

        return LeaderLease(leases, "race", token, lease_s=LEASE_S, on_gain=gain, on_loss=lose)

    contenders = [lease(f"r{i}") for i in range(5)]
    for _ in range(10):  # five replicas, ten rounds of polling at once
        await asyncio.gather(*(c.poll() for c in contenders))
        assert sum(c.held for c in contenders) == 1
    assert len(gained) == 1
    assert await leases.holder("race") == gained[0]


async def test_one_leader_runs_each_tick_once(
    pair: tuple[JobScheduler, JobScheduler], leases: LeaseStore
) -> None:
    a, b = pair
    runs = await eventually(lambda: runs_with(leases, 8), what="eight ticks")
    assert a.is_leader != b.is_leader
    leader = "a" if a.is_leader else "b"
    assert {r.replica for r in runs} == {leader}
    assert set(sweeps.RUNS) == {leader}  # the sweep ran in the leader's bound context
    assert_once_per_tick(runs)
    assert all(r.outcome == "done" for r in runs)


async def test_the_standby_takes_over_when_the_leader_dies(
    pair: tuple[JobScheduler, JobScheduler], leases: LeaseStore
) -> None:
    a, b = pair
    await eventually(lambda: runs_with(leases, 3), what="three ticks")
    leader, standby = (a, b) if a.is_leader else (b, a)
    loop = asyncio.get_running_loop()
    await die(leader)
    died = loop.time()

    async def took_over() -> bool:
        return standby.is_leader

    await eventually(took_over, within=3 * LEASE_S, what="takeover")
    takeover_s = loop.time() - died
    assert takeover_s <= LEASE_S + LEASE_S / 3 + 0.5
    before = len(await leases.runs())
    runs = await eventually(lambda: runs_with(leases, before + 4), what="ticks after takeover")
    assert runs[-1].replica == standby.replica
    assert_once_per_tick(runs)


async def test_a_replica_that_loses_its_lease_stops_at_once(leases: LeaseStore) -> None:
    replica = scheduler(leases, "a", sweep="tests.jobs.sweeps:slow")
    await replica.start()
    try:
        await eventually(lambda: bool(sweeps.RUNS), what="the slow tick to start")
        # Another replica holds the lease now (this one's expired while it was paused, say).
        await leases._redis.set(leases._keys.lease(LEASE_NAME), "someone-else")

        async def stepped_down() -> bool:
            return not replica.is_leader and sweeps.CANCELLED == ["a"]

        await eventually(stepped_down, within=2 * LEASE_S, what="the replica to stop")
        assert await leases.holder(LEASE_NAME) == "someone-else"
    finally:
        await replica.stop(drain_s=0.1)
    assert await leases.holder(LEASE_NAME) == "someone-else"  # stop() did not delete theirs


async def test_a_clean_stop_hands_over_without_waiting_for_expiry(leases: LeaseStore) -> None:
    first = scheduler(leases, "first")
    await first.start()
    await eventually(lambda: runs_with(leases, 2), what="two ticks")
    await first.stop()
    assert await leases.holder(LEASE_NAME) is None
    second = scheduler(leases, "second")
    loop = asyncio.get_running_loop()
    started = loop.time()
    await second.start()
    try:
        await eventually(lambda: second.is_leader, within=LEASE_S, what="second to lead")
        assert loop.time() - started < LEASE_S / 3
        before = len(await leases.runs())
        runs = await eventually(lambda: runs_with(leases, before + 3), what="ticks on the second")
    finally:
        await second.stop()
    assert_once_per_tick(runs)  # the catch-up tick did not repeat the first's last period
    assert {r.replica for r in runs} == {"first", "second"}


async def test_a_clean_stop_lets_the_running_tick_finish(leases: LeaseStore) -> None:
    replica = scheduler(leases, "a", sweep="tests.jobs.sweeps:brief", every=1.0)
    await replica.start()
    await eventually(lambda: bool(sweeps.RUNS), what="the tick to start")
    await replica.stop(drain_s=5)
    assert sweeps.FINISHED == ["a"] and sweeps.CANCELLED == []
    [run] = await leases.runs()
    assert run.outcome == "done"
    assert replica.outcomes[("counter", "done")] == 1


async def test_a_failing_sweep_is_recorded_and_the_next_tick_runs(leases: LeaseStore) -> None:
    replica = scheduler(leases, "a", sweep="tests.jobs.sweeps:failing")
    await replica.start()
    try:
        runs = await eventually(lambda: runs_with(leases, 3), what="three failed ticks")
    finally:
        await replica.stop()
    assert {r.outcome for r in runs} == {"failed"}


class FlakyStore:
    """A lease store whose Redis stops answering after the lease was taken."""

    def __init__(self) -> None:
        self.down = False

    async def acquire(self, name: str, token: str, ttl_ms: int) -> bool:
        return True

    async def renew(self, name: str, token: str, ttl_ms: int) -> bool:
        if self.down:
            raise StoreError("Redis unavailable: connection refused")
        return True

    async def release(self, name: str, token: str) -> bool:
        raise StoreError("Redis unavailable: connection refused")


async def test_unreachable_redis_demotes_before_the_lease_can_expire() -> None:
    store = FlakyStore()
    events: list[str] = []

    async def gain() -> None:
        events.append("gain")

    async def lose() -> None:
        events.append("lose")

    lease = LeaderLease(store, "s", "a", lease_s=0.3, on_gain=gain,  # type: ignore[arg-type]
                        on_loss=lose)
    await lease.poll()
    assert lease.held and events == ["gain"]
    store.down = True
    await lease.poll()  # one failed renewal: the lease is still valid for two more polls
    assert lease.held
    task = asyncio.get_running_loop().create_task(lease.run())
    try:
        await eventually(lambda: not lease.held, within=0.3, what="demotion")
    finally:
        task.cancel()
        await asyncio.wait({task})
    assert events == ["gain", "lose"]
    await lease.give_up()  # not held: nothing to release, no error

