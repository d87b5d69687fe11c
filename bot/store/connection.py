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
    far longer than its own timeout; two quick retries cover a Redis restart's blip. The pool
    blocks (up to 2 s) when all connections are busy: the default pool raises at once, which
    turned an alert storm into spurious "Redis unavailable" errors.
    """
    retry = Retry(ExponentialBackoff(cap=0.5, base=0.05), retries=2)
    pool = aioredis.BlockingConnectionPool.from_url(
        url,
        max_connections=64,
        timeout=2.0,
        decode_responses=True,
        socket_timeout=2.0,
        socket_connect_timeout=1.0,
        health_check_interval=15,
        retry=retry,
    )
    client = aioredis.Redis(connection_pool=pool, retry=retry)
    client.auto_close_connection_pool = True
    return client


async def redis_ping(client: Redis) -> bool:
    """True while Redis answers PING."""
    try:
        return bool(await client.ping())
    except (RedisError, OSError):
        return False


def store_error(exc: Exception) -> StoreError:
    """Translate a redis-py failure into our own error, keeping its message."""
    return StoreError(f"Redis unavailable: {exc}")
