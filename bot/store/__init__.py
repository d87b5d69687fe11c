"""Redis-backed state: incidents, timelines, dedupe claims. The only package that imports redis.

It imports ``bot.models`` and ``bot.errors`` only: never the use cases, Slack or handlers.
"""

from bot.store.alerts import AlertStateStore
from bot.store.claims import ClaimStore
from bot.store.connection import connect_redis, redis_ping
from bot.store.incidents import IncidentStore
from bot.store.keys import Keys

__all__ = ["AlertStateStore", "ClaimStore", "IncidentStore", "Keys", "connect_redis", "redis_ping"]
