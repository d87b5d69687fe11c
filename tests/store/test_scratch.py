"""A throwaway key prefix: everything written under it is gone when the run ends."""

from __future__ import annotations

import pytest
import redis.asyncio as aioredis

from bot.models import EventKind, Incident, Severity, TimelineEvent
from bot.store import IncidentStore
from bot.store.scratch import delete_prefix, scratch_keys, scratch_prefix


def _incident(iid: str, number: int) -> Incident:
    return Incident(id=iid, number=number, service="checkout", summary="scratch",
                    severity=Severity.UNKNOWN, channel="terminal", source="cli")


async def test_scratch_keys_are_deleted_afterwards_and_others_are_kept(
        redis_client: aioredis.Redis, key_prefix: str) -> None:
    await redis_client.set(f"{key_prefix}:incident:INC-9", "the bot's own")
    async with scratch_keys(redis_client, key_prefix) as keys:
        assert keys.prefix.startswith(f"{key_prefix}-scratch-")
        created = await IncidentStore(redis_client, keys).create(
            _incident, TimelineEvent(kind=EventKind.DECLARED, actor="cli"))
        assert created.incident.id == "INC-1"
        inside = [k async for k in redis_client.scan_iter(match=f"{keys.prefix}:*")]
        assert len(inside) >= 2  # the incident, its timeline, the counter
    assert [k async for k in redis_client.scan_iter(match=f"{keys.prefix}:*")] == []
    assert await redis_client.get(f"{key_prefix}:incident:INC-9") == "the bot's own"


async def test_scratch_keys_are_deleted_when_the_run_fails(
        redis_client: aioredis.Redis, key_prefix: str) -> None:
    with pytest.raises(RuntimeError):
        async with scratch_keys(redis_client, key_prefix) as keys:
            await redis_client.set(f"{keys.prefix}:x", "1")
            raise RuntimeError("the walk broke")
    assert await redis_client.exists(f"{keys.prefix}:x") == 0


async def test_delete_prefix_deletes_in_batches(redis_client: aioredis.Redis,
                                                key_prefix: str) -> None:
    await redis_client.mset({f"{key_prefix}:k{i}": i for i in range(1203)})
    await redis_client.set(f"{key_prefix}x:not-mine", 1)
    assert await delete_prefix(redis_client, key_prefix) == 1203
    assert await redis_client.exists(f"{key_prefix}x:not-mine") == 1


def test_scratch_prefixes_differ_and_stay_outside_the_bots_prefix() -> None:
    first, second = scratch_prefix("triage"), scratch_prefix("triage")
    assert first != second
    assert not first.startswith("triage:")
