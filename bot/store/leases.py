"""Leases, tick claims and job markers in Redis: the primitives under the scheduler.

A lease is ``SET key token NX PX ttl``: whoever set it holds it until it expires or is given
back. Renewing and releasing compare the token first, in one Lua script each, so a replica
whose lease has already expired (and been taken by another) can neither extend nor delete the
new holder's lease; losing is a normal ``False``, not an exception.

Tick claims and markers are the same idea without an owner who renews: the first caller wins
for the TTL, everyone else sees ``False``. Millisecond TTLs, so tests can run jobs at 0.2 s.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from redis.exceptions import RedisError

from bot.store.connection import Redis, store_error
from bot.store.keys import JOB_RUNS_KEPT, Keys

__all__ = ["JobRun", "LeaseStore"]

# KEYS: lease. ARGV: token, ttl ms. 1 when renewed, 0 when the lease is not (or no longer) ours.
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""

# KEYS: lease. ARGV: token. 1 when deleted, 0 when someone else holds it (or nobody).
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class JobRun(BaseModel):
    """One tick that ran: which job, which period, on which replica, how it ended."""

    job: str
    bucket: str
    replica: str
    started_at: datetime
    finished_at: datetime
    outcome: str


class LeaseStore:
    """Leader leases, once-per-tick claims, per-id job markers and the job run log."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys
        self._renew = redis.register_script(_RENEW)
        self._release = redis.register_script(_RELEASE)

    async def acquire(self, name: str, token: str, ttl_ms: int) -> bool:
        """Take the lease ``name`` for ``ttl_ms`` if nobody holds it; True when taken."""
        return await self._set_nx(self._keys.lease(name), token, ttl_ms)

    async def renew(self, name: str, token: str, ttl_ms: int) -> bool:
        """Extend the lease to ``ttl_ms`` from now, only if ``token`` still holds it."""
        try:
            renewed = await self._renew(keys=[self._keys.lease(name)], args=[token, ttl_ms])
        except RedisError as exc:
            raise store_error(exc) from exc
        return bool(renewed)

    async def release(self, name: str, token: str) -> bool:
        """Give the lease back if ``token`` holds it: a late release never frees another's."""
        try:
            released = await self._release(keys=[self._keys.lease(name)], args=[token])
        except RedisError as exc:
            raise store_error(exc) from exc
        return bool(released)

    async def holder(self, name: str) -> str | None:
        """The token holding the lease now, if any."""
        try:
            token = await self._redis.get(self._keys.lease(name))
        except RedisError as exc:
            raise store_error(exc) from exc
        return str(token) if token else None

    async def claim_tick(self, job: str, bucket: str, replica: str, ttl_ms: int) -> bool:
        """True for exactly one caller per (job, bucket) while the claim lives."""
        return await self._set_nx(self._keys.tick(job, bucket), replica, ttl_ms)

    async def mark(self, scope: str, ident: str, ttl_ms: int) -> bool:
        """Set a "done recently" marker; False when one is already there (do nothing, then)."""
        return await self._set_nx(self._keys.job_marker(scope, ident), "1", ttl_ms)

    async def unmark(self, scope: str, ident: str) -> None:
        """Remove a marker, so work that failed after marking is tried again next tick."""
        try:
            await self._redis.delete(self._keys.job_marker(scope, ident))
        except RedisError as exc:
            raise store_error(exc) from exc

    async def record_run(self, run: JobRun) -> None:
        """Append to the run log, keeping the latest ``JOB_RUNS_KEPT`` entries."""
        key = self._keys.job_runs()
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.rpush(key, run.model_dump_json())
                pipe.ltrim(key, -JOB_RUNS_KEPT, -1)
                await pipe.execute()
        except RedisError as exc:
            raise store_error(exc) from exc

    async def runs(self) -> list[JobRun]:
        """The run log, oldest first."""
        try:
            raws = await self._redis.lrange(self._keys.job_runs(), 0, -1)
        except RedisError as exc:
            raise store_error(exc) from exc
        return [JobRun.model_validate_json(r) for r in raws]

    async def _set_nx(self, key: str, value: str, ttl_ms: int) -> bool:
        if ttl_ms <= 0:
            raise ValueError(f"a lease or claim needs a positive TTL, not {ttl_ms} ms")
        try:
            won = await self._redis.set(key, value, nx=True, px=ttl_ms)
        except RedisError as exc:
            raise store_error(exc) from exc
        return bool(won)
