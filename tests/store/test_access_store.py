"""Rate-limit counters and profile slots against a real Redis."""

from __future__ import annotations

import pytest
import redis.asyncio as aioredis

from bot.store.access import AccessStore
from bot.store.keys import Keys


@pytest.fixture
def store(redis_client: aioredis.Redis, key_prefix: str) -> AccessStore:
    return AccessStore(redis_client, Keys(key_prefix))


async def test_a_fixed_window_counts_per_person(store: AccessStore) -> None:
    now = 1_000_000.0 * 60 + 15  # 15 s into a window
    assert [await store.hit("step", "U0A", 2, 60, now) for _ in range(2)] == [None, None]
    assert await store.hit("step", "U0A", 2, 60, now) == pytest.approx(45)
    assert await store.hit("step", "U0B", 2, 60, now) is None
    assert await store.hit("step", "U0A", 2, 60, now + 45) is None  # the next window


async def test_one_profile_slot_per_service_then_the_cooldown(
        store: AccessStore, redis_client: aioredis.Redis, key_prefix: str) -> None:
    assert await store.take_profile_slot("checkout", "t1", 30) is None
    busy = await store.take_profile_slot("checkout", "t2", 30)
    assert busy is not None and 29 < busy <= 30
    assert await store.take_profile_slot("search", "t3", 30) is None
    assert not await store.cool_down("checkout", "t2", 120)  # not the holder
    assert await store.cool_down("checkout", "t1", 120)
    left = await store.take_profile_slot("checkout", "t4", 30)
    assert left is not None and 119 < left <= 120
    key = Keys(key_prefix).profile_slot("checkout")
    assert await redis_client.get(key) == "t1"
