"""Bounds on costly actions, shared by every replica: per-person rate limits, profile slots.

A rate limit is a fixed-window counter (INCR + PEXPIRE in one script), so a burst across
replicas is counted once. A profile slot is one key per service: taken with ``SET NX`` for the
length of the run, then, by its holder only (token-checked script), turned into the cooldown;
its remaining TTL says when the next profile is possible. Losing either is a normal return
value, not an exception.
"""

from __future__ import annotations

import time

from redis.exceptions import RedisError

from bot.store.connection import Redis, store_error
from bot.store.keys import Keys

__all__ = ["AccessStore"]

# KEYS: counter. ARGV: window ms. The count after this request.
_HIT = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n
"""

# KEYS: slot. ARGV: token, cooldown ms. 1 when the holder's slot now expires after the cooldown.
_COOL = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""


class AccessStore:
    """Rate-limit counters and profile slots under the bot's key prefix."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys
        self._hit = redis.register_script(_HIT)
        self._cool = redis.register_script(_COOL)

    async def hit(self, scope: str, who: str, limit: int, window_s: float,
                  now: float | None = None) -> float | None:
        """Count one request; None when within ``limit``, else seconds until the window ends."""
        now = time.time() if now is None else now
        bucket = int(now // window_s)
        try:
            count = int(await self._hit(keys=[self._keys.rate(scope, who, bucket)],
                                        args=[int(window_s * 1000) + 1000]))
        except RedisError as exc:
            raise store_error(exc) from exc
        return None if count <= limit else (bucket + 1) * window_s - now

    async def take_profile_slot(self, service: str, token: str, hold_s: float) -> float | None:
        """Take ``service``'s slot for ``hold_s``; None when taken, else seconds it stays busy."""
        key = self._keys.profile_slot(service)
        try:
            if await self._redis.set(key, token, nx=True, px=max(1, int(hold_s * 1000))):
                return None
            left_ms = int(await self._redis.pttl(key))
        except RedisError as exc:
            raise store_error(exc) from exc
        return max(left_ms, 0) / 1000

    async def cool_down(self, service: str, token: str, cooldown_s: float) -> bool:
        """Keep the slot (held by ``token``) for ``cooldown_s`` more; False if not ours."""
        try:
            done = await self._cool(keys=[self._keys.profile_slot(service)],
                                    args=[token, max(1, int(cooldown_s * 1000))])
        except RedisError as exc:
            raise store_error(exc) from exc
        return bool(done)
