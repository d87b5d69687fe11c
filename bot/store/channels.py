"""Incident channels: the copy of the card in them, recorded with its timeline event."""

from __future__ import annotations

from redis.exceptions import RedisError

from bot.models import EventKind, TimelineEvent
from bot.models.card import CardMirror
from bot.store.connection import Redis, store_error
from bot.store.keys import Keys

__all__ = ["IncidentChannelStore", "parse_mirrors"]


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def parse_mirrors(raw: dict[bytes | str, bytes | str]) -> tuple[CardMirror, ...]:
    """The mirrors hash (channel -> ts) as card mirrors, in channel order."""
    return tuple(sorted((CardMirror(_text(c), _text(t)) for c, t in raw.items()),
                        key=lambda m: m.channel))


class IncidentChannelStore:
    """Where an incident's card is copied, one transaction per change."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys

    async def add_mirror(self, iid: str, mirror: CardMirror, actor: str, name: str) -> None:
        """Remember the card's copy in the incident channel, and say so in the timeline."""
        event = TimelineEvent(kind=EventKind.CHANNEL_OPENED, actor=actor, text=name,
                              data={"channel": mirror.channel, "ts": mirror.ts})
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.hset(self._keys.card_mirrors(iid), mirror.channel, mirror.ts)
                pipe.rpush(self._keys.timeline(iid), event.model_dump_json())
                await pipe.execute()
        except RedisError as exc:
            raise store_error(exc) from exc

    async def mirrors(self, iid: str) -> tuple[CardMirror, ...]:
        """The card's copies."""
        try:
            raw = await self._redis.hgetall(self._keys.card_mirrors(iid))
        except RedisError as exc:
            raise store_error(exc) from exc
        return parse_mirrors(raw)
