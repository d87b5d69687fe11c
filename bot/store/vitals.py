"""An incident's latest key metrics (P99, error ratio, RSS ...), as the vitals job found them.

Stored whole with the time they were read, so the card can say "as of 14:05 UTC" and a
Prometheus outage shows up as an old time rather than as empty fields.
"""

from __future__ import annotations

from redis.exceptions import RedisError

from bot.models.vitals import Vitals
from bot.store.connection import Redis, store_error
from bot.store.keys import VITALS_TTL_SECONDS, Keys

__all__ = ["VitalsStore"]


class VitalsStore:
    """Latest key metrics per incident."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys

    async def save(self, iid: str, vitals: Vitals) -> None:
        """Replace the incident's key metrics."""
        try:
            await self._redis.set(self._keys.vitals(iid), vitals.model_dump_json(),
                                  ex=VITALS_TTL_SECONDS)
        except RedisError as exc:
            raise store_error(exc) from exc

    async def get(self, iid: str) -> Vitals | None:
        """The latest key metrics, or None before the first refresh."""
        try:
            raw = await self._redis.get(self._keys.vitals(iid))
        except RedisError as exc:
            raise store_error(exc) from exc
        return Vitals.model_validate_json(raw) if raw else None
