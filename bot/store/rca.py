"""RCA documents with optimistic versioning: the second of two concurrent editors loses."""

from __future__ import annotations

from redis.exceptions import RedisError, WatchError

from bot.models import Rca
from bot.store.connection import Redis, store_error
from bot.store.keys import Keys


class RcaStore:
    """One RCA per incident."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys

    async def get(self, iid: str) -> Rca | None:
        """The stored RCA, if someone drafted or saved one."""
        try:
            raw = await self._redis.get(self._keys.rca(iid))
        except RedisError as exc:
            raise store_error(exc) from exc
        return Rca.model_validate_json(raw) if raw else None

    async def save(self, rca: Rca, expected_version: int) -> Rca | None:
        """Store ``rca`` as the next version if the stored one is still ``expected_version``.

        Returns the saved RCA, or None when someone else saved in between (the caller tells
        its user, instead of silently overwriting the other edit).
        """
        key = self._keys.rca(rca.incident_id)
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                await pipe.watch(key)
                raw = await pipe.get(key)
                current = Rca.model_validate_json(raw).version if raw else 0
                if current != expected_version:
                    return None
                saved = rca.model_copy(update={"version": current + 1})
                pipe.multi()  # type: ignore[no-untyped-call]
                pipe.set(key, saved.model_dump_json())
                await pipe.execute()
                return saved
        except WatchError:
            return None
        except RedisError as exc:
            raise store_error(exc) from exc
