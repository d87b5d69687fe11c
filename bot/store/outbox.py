"""The outbox: cards, redraws and thread lines owed to Slack, drained by any replica.

Items are staged into the caller's MULTI (:meth:`Outbox.stage`), so they are stored if and only
if the state change they announce is. A drainer claims due items with one script that pushes
each a lease ahead (the "processing" mark: a drainer that dies leaves its items due again when
the lease runs out) and counts the attempt; it acks an item only if the item was not asked for
again meanwhile (a redraw requested while one is in flight is kept for another round).

Layout (every key in ``store/keys.py``): a sorted set id -> due time in ms, a hash id -> item
JSON, a hash id -> attempts. Times are the caller's clock in ms since the epoch.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from redis.exceptions import RedisError

from bot.models.outbox import OutboxItem
from bot.store.connection import Redis, store_error
from bot.store.keys import Keys

__all__ = ["Claimed", "Outbox", "now_ms"]

# KEYS: due, items, tries. ARGV: now ms, lease ms, batch size.
_CLAIM = """
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
local out = {}
for _, id in ipairs(ids) do
  local item = redis.call('HGET', KEYS[2], id)
  if item then
    redis.call('ZADD', KEYS[1], tonumber(ARGV[1]) + tonumber(ARGV[2]), id)
    local tries = redis.call('HINCRBY', KEYS[3], id, 1)
    table.insert(out, item)
    table.insert(out, tostring(tries))
  else
    redis.call('ZREM', KEYS[1], id)
    redis.call('HDEL', KEYS[3], id)
  end
end
return out
"""

# KEYS: due, items, tries. ARGV: id, the item JSON as claimed.
_ACK = """
if redis.call('HGET', KEYS[2], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
return 1
"""

# KEYS: due, items. ARGV: id, the item JSON as claimed, due ms.
_RETRY = """
if redis.call('HGET', KEYS[2], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('ZADD', KEYS[1], 'XX', tonumber(ARGV[3]), ARGV[1])
return 1
"""

# KEYS: due, items. ARGV: due ms, then id and claimed JSON pairs.
_EXTEND = """
local kept = 0
for i = 2, #ARGV, 2 do
  if redis.call('HGET', KEYS[2], ARGV[i]) == ARGV[i + 1] then
    redis.call('ZADD', KEYS[1], 'XX', tonumber(ARGV[1]), ARGV[i])
    kept = kept + 1
  end
end
return kept
"""

# KEYS: due, items, tries, dead. ARGV: id, the item JSON as claimed.
_BURY = """
if redis.call('HGET', KEYS[2], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[4], ARGV[1], ARGV[2])
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
return 1
"""


def now_ms() -> int:
    """Wall-clock milliseconds: the outbox's time scale, shared by every replica."""
    return int(time.time() * 1000)


@dataclass(frozen=True)
class Claimed:
    """An item a drainer holds until its lease runs out; ``raw`` is what ack compares."""

    item: OutboxItem
    raw: str
    tries: int


class Outbox:
    """Stage items into transactions; claim, ack, retry and bury them."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys
        self._claim = redis.register_script(_CLAIM)
        self._ack = redis.register_script(_ACK)
        self._retry = redis.register_script(_RETRY)
        self._bury = redis.register_script(_BURY)
        self._extend = redis.register_script(_EXTEND)

    def stage(self, pipe: Any, items: Sequence[OutboxItem], at_ms: int | None = None) -> None:
        """Add the items' writes to ``pipe`` (a MULTI pipeline the caller executes).

        A card is asked for once (a second request keeps the first, and its lease); a redraw
        replaces a pending one and is due at once; every thread line is its own item.
        """
        due = now_ms() if at_ms is None else at_ms
        for item in items:
            raw = item.model_dump_json()
            if item.kind == "card":
                pipe.hsetnx(self._keys.outbox_items(), item.id, raw)
                pipe.zadd(self._keys.outbox_due(), {item.id: due}, nx=True)
            else:
                pipe.hset(self._keys.outbox_items(), item.id, raw)
                pipe.zadd(self._keys.outbox_due(), {item.id: due})

    async def enqueue(self, items: Sequence[OutboxItem]) -> None:
        """Store items on their own (when no other write goes with them)."""
        if not items:
            return
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                self.stage(pipe, items)
                await pipe.execute()
        except RedisError as exc:
            raise store_error(exc) from exc

    async def claim(self, lease_ms: int, batch: int) -> list[Claimed]:
        """Take up to ``batch`` due items, oldest first, each for ``lease_ms``."""
        try:
            flat = await self._claim(keys=self._queue_keys(), args=[now_ms(), lease_ms, batch])
        except RedisError as exc:
            raise store_error(exc) from exc
        pairs = zip(flat[::2], flat[1::2], strict=True)
        return [Claimed(OutboxItem.model_validate_json(raw), str(raw), int(tries))
                for raw, tries in pairs]

    async def extend(self, held: Sequence[Claimed], lease_ms: int) -> None:
        """Renew the lease of items still in hand (a slow delivery is not taken over)."""
        args: list[str | int] = [now_ms() + lease_ms]
        for claimed in held:
            args += [claimed.item.id, claimed.raw]
        try:
            await self._extend(keys=self._queue_keys()[:2], args=args)
        except RedisError as exc:
            raise store_error(exc) from exc

    async def ack(self, claimed: Claimed) -> bool:
        """Done: forget the item, unless it was asked for again since it was claimed."""
        return bool(await self._call(self._ack, self._queue_keys(), claimed))

    async def retry(self, claimed: Claimed, delay_ms: int) -> None:
        """Not done: due again in ``delay_ms``."""
        await self._call(self._retry, self._queue_keys()[:2], claimed, now_ms() + delay_ms)

    async def bury(self, claimed: Claimed) -> None:
        """Given up on: moved aside (``Keys.outbox_dead``) so the queue moves on."""
        keys = [*self._queue_keys(), self._keys.outbox_dead()]
        await self._call(self._bury, keys, claimed)

    async def depth(self) -> int:
        """Items not yet delivered (due, waiting for a retry, or in a drainer's hands)."""
        try:
            return int(await self._redis.zcard(self._keys.outbox_due()))
        except RedisError as exc:
            raise store_error(exc) from exc

    async def pending(self) -> list[OutboxItem]:
        """Every undelivered item (tests and operators)."""
        try:
            raws = await self._redis.hvals(self._keys.outbox_items())
        except RedisError as exc:
            raise store_error(exc) from exc
        return [OutboxItem.model_validate_json(r) for r in raws]

    def _queue_keys(self) -> list[str]:
        return [self._keys.outbox_due(), self._keys.outbox_items(), self._keys.outbox_tries()]

    async def _call(self, script: Any, keys: list[str], claimed: Claimed, *extra: int) -> Any:
        try:
            return await script(keys=keys, args=[claimed.item.id, claimed.raw, *extra])
        except RedisError as exc:
            raise store_error(exc) from exc
