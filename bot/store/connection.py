"""Opening Redis with settings that fail fast enough for a webhook to answer 503 in time.

``REDIS_URL`` is ``redis://`` / ``rediss://`` / ``unix://`` for one server, or
``redis+sentinel://[:password@]host1:26379,host2:26379/<master name>/<db>`` for a primary
watched by Sentinel: the client asks the sentinels where the primary is, and asks again when a
connection finds it gone or demoted (a failover), so a failover costs a few 503s, which
Alertmanager retries.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel
from redis.backoff import ExponentialBackoff
from redis.exceptions import RedisError

from bot.errors import ConfigError, StoreError

Redis = aioredis.Redis

SENTINEL_SCHEME = "redis+sentinel"


@dataclass(frozen=True)
class SentinelUrl:
    """A parsed ``redis+sentinel://`` URL."""

    sentinels: tuple[tuple[str, int], ...]
    master: str
    db: int
    password: str | None


def parse_sentinel_url(url: str) -> SentinelUrl:
    """``redis+sentinel://[:pw@]h1:26379,h2:26379/<master>/<db>``; ConfigError saying what
    is wrong otherwise."""
    parts = urlsplit(url)
    creds, _, hosts = parts.netloc.rpartition("@")
    password = unquote(creds.partition(":")[2]) if creds else None
    sentinels = []
    for item in filter(None, hosts.split(",")):
        host, _, port = item.rpartition(":")
        if not host or not port.isdigit():
            raise ConfigError(f"REDIS_URL: sentinel address {item!r} is not host:port")
        sentinels.append((host.strip("[]"), int(port)))
    path = [p for p in parts.path.split("/") if p]
    if not sentinels or not path or len(path) > 2 or (len(path) == 2 and not path[1].isdigit()):
        raise ConfigError("REDIS_URL: expected redis+sentinel://host1:26379,host2:26379/"
                          "<master name>/<db>")
    return SentinelUrl(tuple(sentinels), path[0], int(path[1]) if len(path) == 2 else 0,
                       password or None)


def connect_redis(url: str) -> Redis:
    """A client that retries briefly, then gives up so callers can answer 503.

    redis-py's defaults (10 retries, 5 s socket timeouts) would hold an Alertmanager webhook
    far longer than its own timeout; two quick retries cover a Redis restart's blip. The pool
    blocks (up to 2 s) when all connections are busy: the default pool raises at once, which
    turned an alert storm into spurious "Redis unavailable" errors.
    """
    retry = Retry(ExponentialBackoff(cap=0.5, base=0.05), retries=2)
    if urlsplit(url).scheme == SENTINEL_SCHEME:
        return _connect_sentinel(parse_sentinel_url(url), retry)
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


def _connect_sentinel(where: SentinelUrl, retry: Retry) -> Redis:
    """A client on the primary Sentinel names, found again after every failover."""
    timeouts: dict[str, Any] = {"socket_timeout": 2.0, "socket_connect_timeout": 1.0}
    sentinel = Sentinel(list(where.sentinels), sentinel_kwargs=timeouts,  # type: ignore[no-untyped-call]
                        **timeouts)
    client: Redis = sentinel.master_for(
        where.master, db=where.db, password=where.password, decode_responses=True,
        retry=retry, max_connections=64, health_check_interval=15)
    client.auto_close_connection_pool = True
    return client


async def ensure_replicated(client: Redis, timeout_s: float = 2.0) -> None:
    """Return once a replica holds every write the primary had when called; else StoreError.

    Sentinel promotes a replica on failover: a write the old primary acknowledged but had not
    yet sent on is lost with it. Checked by replication offset, not WAIT, because the writes
    to cover were made on whichever pooled connections. No replica connected: nothing to wait
    for (a lone primary keeps what it acknowledged).
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    try:
        info = await client.info("replication")
        target = int(info.get("master_repl_offset", 0))
        while int(info.get("connected_slaves", 0)) > 0:
            offsets = [int(v.get("offset", -1)) for k, v in info.items()
                       if k.startswith("slave") and isinstance(v, dict)]
            if any(offset >= target for offset in offsets):
                return
            if loop.time() > deadline:
                raise StoreError(f"no replica acknowledged the write within {timeout_s:g} s")
            await asyncio.sleep(0.01)
            info = await client.info("replication")
    except RedisError as exc:
        raise store_error(exc) from exc


async def redis_ping(client: Redis) -> bool:
    """True while Redis answers PING."""
    try:
        return bool(await client.ping())
    except (RedisError, OSError):
        return False


def store_error(exc: Exception) -> StoreError:
    """Translate a redis-py failure into our own error, keeping its message."""
    return StoreError(f"Redis unavailable: {exc}")
