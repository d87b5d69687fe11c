"""An in-process Redis for the demo and for ``triage-bot triage`` when no server answers.

fakeredis speaks the same ``redis.asyncio`` client API (with Lua, for the stores' scripts),
so the bot's stores run unchanged on it. It lives here, not in the bot: the product needs a
real Redis and does not depend on fakeredis.
"""

from __future__ import annotations

import fakeredis

from bot.store.connection import Redis


def in_memory_redis() -> Redis:
    """A fresh, empty in-process Redis behind the bot's client class (decoded strings)."""
    client: Redis = fakeredis.FakeAsyncRedis(decode_responses=True)
    return client
