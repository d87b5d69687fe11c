"""Once-only claims: the first caller to claim a delivery wins, the rest see ``False``."""

from __future__ import annotations

from redis.exceptions import RedisError

from bot.store.connection import Redis, store_error
from bot.store.keys import CLAIM_TTL_SECONDS, Keys


class ClaimStore:
    """Deduplicates redeliveries (Slack event retries, double clicks, repeated webhooks)."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys

    async def claim(self, scope: str, key: str, ttl_seconds: int = CLAIM_TTL_SECONDS) -> bool:
        """True for exactly one caller per (scope, key) within the TTL."""
        try:
            won = await self._redis.set(
                self._keys.claim(scope, key), "1", nx=True, ex=ttl_seconds
            )
        except RedisError as exc:
            raise store_error(exc) from exc
        return bool(won)

    async def held(self, scope: str, key: str) -> bool:
        """Whether someone holds the claim right now (a cheap look before waiting)."""
        try:
            return bool(await self._redis.exists(self._keys.claim(scope, key)))
        except RedisError as exc:
            raise store_error(exc) from exc

    async def release(self, scope: str, key: str) -> None:
        """Forget a claim, so a failed attempt can be retried by the next delivery."""
        try:
            await self._redis.delete(self._keys.claim(scope, key))
        except RedisError as exc:
            raise store_error(exc) from exc
