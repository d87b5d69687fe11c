"""The silences created from an incident, beside it, with their timeline events.

Alertmanager holds the silences themselves; this copy lets the card show them (end time,
"Expire silence") from the one pipelined read of the card's state.
"""

from __future__ import annotations

from datetime import datetime

from redis.exceptions import RedisError, WatchError

from bot.models import EventKind, TimelineEvent
from bot.models.silence import SilenceRecord
from bot.store.connection import Redis, store_error
from bot.store.keys import Keys

__all__ = ["SilenceStore", "parse_silences"]

_ATTEMPTS = 5


def parse_silences(raw: dict[bytes | str, bytes | str]) -> tuple[SilenceRecord, ...]:
    """The hash's records, oldest first."""
    records = (SilenceRecord.model_validate_json(v) for v in raw.values())
    return tuple(sorted(records, key=lambda r: (r.starts_at, r.id)))


class SilenceStore:
    """Silence records per incident; each change and its timeline event in one transaction."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys

    async def add(self, iid: str, record: SilenceRecord, actor: str) -> None:
        """Remember a silence just created, and say so in the timeline."""
        event = TimelineEvent(kind=EventKind.SILENCED, actor=actor, text=record.comment,
                              data=_event_data(record))
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.hset(self._keys.silences(iid), record.id, record.model_dump_json())
                pipe.rpush(self._keys.timeline(iid), event.model_dump_json())
                await pipe.execute()
        except RedisError as exc:
            raise store_error(exc) from exc

    async def get(self, iid: str, silence_id: str) -> SilenceRecord | None:
        """One record, or None when the incident has no silence by that id."""
        try:
            raw = await self._redis.hget(self._keys.silences(iid), silence_id)
        except RedisError as exc:
            raise store_error(exc) from exc
        return SilenceRecord.model_validate_json(raw) if raw else None

    async def all(self, iid: str) -> tuple[SilenceRecord, ...]:
        """Every silence created from the incident, oldest first."""
        try:
            raw = await self._redis.hgetall(self._keys.silences(iid))
        except RedisError as exc:
            raise store_error(exc) from exc
        return parse_silences(raw)

    async def mark_expired(self, iid: str, silence_id: str, actor: str,
                           at: datetime) -> SilenceRecord | None:
        """Record that ``actor`` expired the silence; None when it was already (or unknown)."""
        key = self._keys.silences(iid)
        try:
            for _ in range(_ATTEMPTS):
                try:
                    return await self._try_expire(key, iid, silence_id, actor, at)
                except WatchError:
                    continue
        except RedisError as exc:
            raise store_error(exc) from exc
        return None

    async def _try_expire(self, key: str, iid: str, silence_id: str, actor: str,
                          at: datetime) -> SilenceRecord | None:
        async with self._redis.pipeline(transaction=True) as pipe:
            await pipe.watch(key)
            raw = await pipe.hget(key, silence_id)
            if not raw:
                return None
            record = SilenceRecord.model_validate_json(raw)
            if record.expired_at is not None:
                return None
            expired = record.model_copy(update={"expired_at": at, "expired_by": actor})
            event = TimelineEvent(kind=EventKind.SILENCE_EXPIRED, actor=actor,
                                  data=_event_data(expired))
            pipe.multi()  # type: ignore[no-untyped-call]
            pipe.hset(key, silence_id, expired.model_dump_json())
            pipe.rpush(self._keys.timeline(iid), event.model_dump_json())
            await pipe.execute()
            return expired


def _event_data(record: SilenceRecord) -> dict[str, object]:
    return {"silence_id": record.id, "matchers": [m.text() for m in record.matchers],
            "ends_at": record.ends_at.isoformat()}
