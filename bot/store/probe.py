"""Why Redis does not answer, in words: the start-up self-check and ``check`` print it."""

from __future__ import annotations

from redis.exceptions import AuthenticationError, RedisError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from bot.store.connection import Redis

__all__ = ["ping_problem"]


async def ping_problem(client: Redis) -> str | None:
    """None when Redis answers PING, else what went wrong (refused, timeout, auth, ...)."""
    try:
        if await client.ping():
            return None
    except AuthenticationError as exc:
        return f"Redis refused the credentials in REDIS_URL: {exc}"
    except RedisTimeoutError:
        return "Redis did not answer PING in time"
    except RedisConnectionError as exc:
        return f"cannot connect: {exc}"
    except (RedisError, OSError) as exc:
        return f"{type(exc).__name__}: {exc}"
    return "Redis answered PING with something other than PONG"
