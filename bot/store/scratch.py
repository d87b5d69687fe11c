"""A throwaway key prefix: state for one run of a command, deleted when the run ends.

``triage-bot triage`` walks an incident on the team's Redis without touching the bot's own
keys: everything it writes lives under a prefix of its own (not under the bot's prefix, so
nothing the bot scans sees it), and every key under it is deleted afterwards.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from redis.exceptions import RedisError

from bot.store.connection import Redis, store_error
from bot.store.keys import Keys

#: Keys deleted per UNLINK while clearing a prefix.
_BATCH = 500


def scratch_prefix(base: str) -> str:
    """A fresh prefix beside ``base`` (``triage-scratch-<hex>``), unique to one run."""
    return f"{base}-scratch-{secrets.token_hex(6)}"


@asynccontextmanager
async def scratch_keys(redis: Redis, base: str) -> AsyncIterator[Keys]:
    """Keys under a fresh prefix; every key under it is deleted on the way out."""
    keys = Keys(scratch_prefix(base))
    try:
        yield keys
    finally:
        await delete_prefix(redis, keys.prefix)


async def delete_prefix(redis: Redis, prefix: str) -> int:
    """Delete every key named ``<prefix>:…``; return how many were deleted.

    SCAN walks the keyspace in steps, so a large Redis is not blocked the way KEYS would
    block it. Prefixes hold no glob characters (the configuration's pattern forbids them).
    """
    deleted = 0
    batch: list[str] = []
    try:
        async for key in redis.scan_iter(match=f"{prefix}:*", count=_BATCH):
            batch.append(key)
            if len(batch) >= _BATCH:
                deleted += await redis.unlink(*batch)
                batch.clear()
        if batch:
            deleted += await redis.unlink(*batch)
    except (RedisError, OSError) as exc:
        raise store_error(exc) from exc
    return deleted
