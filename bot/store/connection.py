"""Opening Redis with settings that fail fast enough for a webhook to answer 503 in time."""

from __future__ import annotations

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import RedisError

from bot.errors import StoreError

Redis = aioredis.Redis


def connect_redis(url: str) -> Redis:
    """A client that retries briefly, then gives up so callers can answer 503.

    redis-py's defaults (10 retries, 5 s socket timeouts) would hold an Alertmanager webhook
    far longer than its own timeout; two quick retries cover a Redis restart's blip.
    """
    return aioredis.Redis.from_url(
        url,
        decode_responses=True,
        socket_timeout=2.0,
        socket_connect_timeout=1.0,
        health_check_interval=15,
        retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), retries=2),
        max_connections=64,
    )


async def redis_ping(client: Redis) -> bool:
    """True while Redis answers PING."""
    try:
        return bool(await client.ping())
    except (RedisError, OSError):
        return False


def store_error(exc: Exception) -> StoreError:
    """Translate a redis-py failure into our own error, keeping its message."""
    return StoreError(f"Redis unavailable: {exc}")
