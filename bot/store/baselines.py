"""Each service's calm-period CPU profile shares (the diagnosis's "normal"), one JSON each."""

from __future__ import annotations

from redis.exceptions import RedisError

from bot.models import ProfileBaseline
from bot.store.connection import Redis, store_error
from bot.store.keys import PROFILE_BASELINE_TTL_SECONDS, Keys

__all__ = ["BaselineStore"]


class BaselineStore:
    """Profile baselines per service, refreshed by the profile-baseline job."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys

    async def save(self, baseline: ProfileBaseline) -> None:
        """Replace the service's baseline (its TTL restarts)."""
        try:
            await self._redis.set(self._keys.profile_baseline(baseline.service),
                                  baseline.model_dump_json(), ex=PROFILE_BASELINE_TTL_SECONDS)
        except RedisError as exc:
            raise store_error(exc) from exc

    async def get(self, service: str) -> ProfileBaseline | None:
        """The service's baseline, or None when no calm-period profile was taken yet."""
        try:
            raw = await self._redis.get(self._keys.profile_baseline(service))
        except RedisError as exc:
            raise store_error(exc) from exc
        return ProfileBaseline.model_validate_json(raw) if raw else None
