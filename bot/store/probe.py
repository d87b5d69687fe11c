"""Why Redis does not answer, in words: the start-up self-check and ``check`` print it."""

from __future__ import annotations

import os
import re

from redis.exceptions import AuthenticationError, RedisError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from bot.store.connection import Redis

__all__ = ["connect_message", "ping_problem"]

# redis-py: "Error 111 connecting to host:6379. Connect call failed ('host', 6379)."
_CONNECT_ERROR = re.compile(r"Error (-?\d+) connecting to (\S+?)\.\s+(.*?)\.?$")


def connect_message(text: str) -> str:
    """redis-py's connection error as the other sources say it: host, port, plain reason."""
    match = _CONNECT_ERROR.match(text.strip())
    if match is None:
        return f"cannot connect: {text}"
    code, where, rest = int(match.group(1)), match.group(2), match.group(3)
    if code < 0:  # a resolver failure: its own words, never "Unknown error -2"
        return f"cannot resolve {where.rsplit(':', 1)[0]}: {rest}"
    return f"cannot connect to {where}: {os.strerror(code)}"


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
        return connect_message(str(exc))
    except (RedisError, OSError) as exc:
        return f"{type(exc).__name__}: {exc}"
    return "Redis answered PING with something other than PONG"
