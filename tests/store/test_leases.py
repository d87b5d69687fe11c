"""Leases, tick claims and markers against a real Redis: the compare-and-* semantics."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
import redis.asyncio as aioredis

from bot.errors import StoreError
from bot.store.connection import connect_redis
from bot.store.keys import JOB_RUNS_KEPT, Keys
from bot.store.leases import JobRun, LeaseStore


@pytest.fixture
def store(redis_client: aioredis.Redis, key_prefix: str) -> LeaseStore:
    return LeaseStore(redis_client, Keys(key_prefix))


async def wait_until_gone(client: aioredis.Redis, key: str, within: float = 2.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while await client.exists(key):
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{key} still there after {within}s")
        await asyncio.sleep(0.01)


async def test_acquire_is_exclusive_until_released(store: LeaseStore) -> None:
    assert await store.acquire("scheduler", "a", 5000)
    assert not await store.acquire("scheduler", "b", 5000)
    assert await store.holder("scheduler") == "a"
    assert await store.release("scheduler", "a")
    assert await store.holder("scheduler") is None
    assert await store.acquire("scheduler", "b", 5000)


async def test_renew_and_release_compare_the_token(
    store: LeaseStore, redis_client: aioredis.Redis, key_prefix: str
) -> None:
    assert await store.acquire("scheduler", "a", 1000)
    assert not await store.renew("scheduler", "b", 60_000)
    assert not await store.release("scheduler", "b")
    assert await store.holder("scheduler") == "a"
    assert await store.renew("scheduler", "a", 60_000)
    ttl = await redis_client.pttl(Keys(key_prefix).lease("scheduler"))
    assert 59_000 < ttl <= 60_000


async def test_an_expired_lease_can_be_taken_and_the_old_holder_cannot_touch_it(
    store: LeaseStore, redis_client: aioredis.Redis, key_prefix: str
) -> None:
    assert await store.acquire("scheduler", "a", 50)
    await wait_until_gone(redis_client, Keys(key_prefix).lease("scheduler"))
    assert not await store.renew("scheduler", "a", 5000)  # too late: it expired
    assert await store.acquire("scheduler", "b", 5000)
    assert not await store.renew("scheduler", "a", 5000)
    assert not await store.release("scheduler", "a")  # a late release frees nothing
    assert await store.holder("scheduler") == "b"


async def test_renewing_keeps_a_lease_alive_past_its_first_ttl(store: LeaseStore) -> None:
    assert await store.acquire("scheduler", "a", 200)
    for _ in range(5):
        await asyncio.sleep(0.08)  # a renewal cadence, not a wait for something to happen
        assert await store.renew("scheduler", "a", 200)
    assert await store.holder("scheduler") == "a"


async def test_tick_claims_are_once_per_job_and_bucket(store: LeaseStore) -> None:
    assert await store.claim_tick("reminders", "100", "replica-1", 5000)
    assert not await store.claim_tick("reminders", "100", "replica-2", 5000)
    assert await store.claim_tick("reminders", "101", "replica-2", 5000)
    assert await store.claim_tick("vitals", "100", "replica-2", 5000)


async def test_a_tick_claim_expires_so_nothing_is_blocked_for_ever(
    store: LeaseStore, redis_client: aioredis.Redis, key_prefix: str
) -> None:
    assert await store.claim_tick("digest", "2026-08-10", "dead-leader", 50)
    await wait_until_gone(redis_client, Keys(key_prefix).tick("digest", "2026-08-10"))
    assert await store.claim_tick("digest", "2026-08-10", "new-leader", 5000)


async def test_markers_mark_once_and_can_be_removed(store: LeaseStore) -> None:
    assert await store.mark("reminder", "INC-1", 5000)
    assert not await store.mark("reminder", "INC-1", 5000)
    assert await store.mark("reminder", "INC-2", 5000)
    await store.unmark("reminder", "INC-1")
    assert await store.mark("reminder", "INC-1", 5000)


async def test_zero_ttl_is_refused(store: LeaseStore) -> None:
    with pytest.raises(ValueError, match="positive TTL"):
        await store.mark("reminder", "INC-1", 0)


async def test_run_log_keeps_the_latest_runs(store: LeaseStore) -> None:
    at = datetime(2026, 8, 10, 9, 0, tzinfo=UTC)
    for i in range(JOB_RUNS_KEPT + 3):
        await store.record_run(JobRun(job="vitals", bucket=str(i), replica="r", started_at=at,
                                      finished_at=at, outcome="done"))
    runs = await store.runs()
    assert len(runs) == JOB_RUNS_KEPT
    assert runs[0].bucket == "3" and runs[-1].bucket == str(JOB_RUNS_KEPT + 2)


async def test_redis_down_is_a_store_error(key_prefix: str) -> None:
    client = connect_redis("redis://127.0.0.1:1/0")
    try:
        with pytest.raises(StoreError):
            await LeaseStore(client, Keys(key_prefix)).acquire("scheduler", "a", 1000)
    finally:
        await client.aclose()
