"""Once-only claims: the first caller to claim a delivery wins, the rest see ``False``."""

from __future__ import annotations

from redis.exceptions import RedisError

from bot.store.connection import Redis, store_error
from bot.store.keys import CLAIM_TTL_SECONDS, Keys

# KEYS: the claim. ARGV: owner token, lease ms. Renews only the owner's claim.
_RENEW = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
return redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))
"""

# KEYS: the claim. ARGV: owner token. Releases only the owner's claim.
_RELEASE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
return redis.call('DEL', KEYS[1])
"""


class ClaimStore:
    """Deduplicates redeliveries (Slack event retries, double clicks, repeated webhooks)."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys
        self._renew = redis.register_script(_RENEW)
        self._release = redis.register_script(_RELEASE)

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

    # Leases: a claim held by an owner while it works, renewed, gone soon after it dies.

    async def lease(self, scope: str, key: str, owner: str, lease_ms: int) -> bool:
        """Take the claim for ``owner`` for ``lease_ms``; False if someone holds it."""
        try:
            won = await self._redis.set(self._keys.claim(scope, key), owner, nx=True,
                                        px=lease_ms)
        except RedisError as exc:
            raise store_error(exc) from exc
        return bool(won)

    async def renew(self, scope: str, key: str, owner: str, lease_ms: int) -> bool:
        """Extend ``owner``'s lease; False if it is no longer theirs."""
        try:
            return bool(await self._renew(keys=[self._keys.claim(scope, key)],
                                          args=[owner, lease_ms]))
        except RedisError as exc:
            raise store_error(exc) from exc

    async def release_lease(self, scope: str, key: str, owner: str) -> None:
        """Give back ``owner``'s lease (someone else's is left alone)."""
        try:
            await self._release(keys=[self._keys.claim(scope, key)], args=[owner])
        except RedisError as exc:
            raise store_error(exc) from exc
