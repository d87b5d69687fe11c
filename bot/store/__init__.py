"""Redis-backed state: incidents, timelines, dedupe claims. The only package that imports redis."""

from bot.store.alerts import AlertChange, AlertState, AlertStateStore
from bot.store.claims import ClaimStore
from bot.store.connection import connect_redis, redis_ping
from bot.store.incidents import IncidentStore
from bot.store.keys import Keys

__all__ = [
    "AlertChange",
    "AlertState",
    "AlertStateStore",
    "ClaimStore", "IncidentStore", "Keys", "connect_redis", "redis_ping"]
