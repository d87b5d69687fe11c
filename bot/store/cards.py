"""The card's state in one round trip, and the card's message id recorded in one more.

Posting a card used to cost about 13 round trips (the card rendered twice, each render reading
alerts, vitals, steps and the ranking separately, then a WATCH/MULTI to record the message).
Now: the card lock (one ``SET NX``), one pipelined read of everything the card shows, and one
Lua script that records the message's ``ts`` if nobody did, appends the timeline event and
releases the lock.
"""

from __future__ import annotations

from dataclasses import dataclass

from redis.exceptions import RedisError

from bot.models import (
    AlertState,
    Diagnosis,
    EventKind,
    Incident,
    StepName,
    StepStatus,
    TimelineEvent,
    Vitals,
)
from bot.models.card import CardMirror
from bot.models.silence import SilenceRecord
from bot.store.channels import parse_mirrors
from bot.store.connection import Redis, store_error
from bot.store.keys import CARD_LOCK_TTL_MS, Keys
from bot.store.silences import parse_silences
from bot.store.walk import parse_statuses

# KEYS: incident, timeline, lock. ARGV: expected version, new incident JSON, event JSON.
# Writes only when the stored incident still has the version it was read at and no card yet.
_RECORD_CARD = """
local raw = redis.call('GET', KEYS[1])
if not raw then return 0 end
local current = cjson.decode(raw)
if tostring(current['version']) ~= ARGV[1] then return -1 end
if current['card_ts'] ~= nil and current['card_ts'] ~= cjson.null then return -2 end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('RPUSH', KEYS[2], ARGV[3])
redis.call('DEL', KEYS[3])
return 1
"""


@dataclass(frozen=True)
class CardState:
    """What the card shows, as stored."""

    incident: Incident
    alerts: tuple[AlertState, ...]
    vitals: Vitals | None
    steps: dict[StepName, StepStatus]
    diagnosis: Diagnosis | None
    silences: tuple[SilenceRecord, ...] = ()
    mirrors: tuple[CardMirror, ...] = ()


class CardStore:
    """Reads for the card and the record of its message, each one round trip."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys
        self._record = redis.register_script(_RECORD_CARD)

    async def lock(self, iid: str, ttl_ms: int = CARD_LOCK_TTL_MS) -> bool:
        """Take the card lock (one poster at a time, across replicas); False if it is held."""
        try:
            won = await self._redis.set(self._lock_key(iid), "1", nx=True,
                                        px=ttl_ms)
        except RedisError as exc:
            raise store_error(exc) from exc
        return bool(won)

    async def locked(self, iid: str) -> bool:
        """Whether someone is posting the card right now."""
        try:
            return bool(await self._redis.exists(self._lock_key(iid)))
        except RedisError as exc:
            raise store_error(exc) from exc

    async def unlock(self, iid: str) -> None:
        """Give the lock back after a failed post, so the next delivery posts the card."""
        try:
            await self._redis.delete(self._lock_key(iid))
        except RedisError as exc:
            raise store_error(exc) from exc

    def _lock_key(self, iid: str) -> str:
        return self._keys.claim("card-post", iid)

    async def state(self, iid: str) -> CardState | None:
        """Everything the card shows, read in one pipelined round trip."""
        keys = self._keys
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.get(keys.incident(iid))
                pipe.hgetall(keys.alerts(iid))
                pipe.get(keys.vitals(iid))
                pipe.hmget(keys.steps(iid), [s.value for s in StepName])
                pipe.get(keys.diagnosis(iid))
                pipe.hgetall(keys.silences(iid))
                pipe.hgetall(keys.card_mirrors(iid))
                raw, alerts, vitals, steps, diagnosis, silences, mirrors = await pipe.execute()
        except RedisError as exc:
            raise store_error(exc) from exc
        if not raw:
            return None
        states = sorted((AlertState.model_validate_json(v) for v in alerts.values()),
                        key=lambda s: (s.status != "firing", s.starts_at, s.name))
        return CardState(
            incident=Incident.model_validate_json(raw), alerts=tuple(states),
            vitals=Vitals.model_validate_json(vitals) if vitals else None,
            steps=parse_statuses(steps),
            diagnosis=Diagnosis.model_validate_json(diagnosis) if diagnosis else None,
            silences=parse_silences(silences), mirrors=parse_mirrors(mirrors))

    async def record_card(self, incident: Incident, ts: str) -> Incident | None:
        """Record the card's message ``ts``; None when the incident changed meanwhile.

        ``incident`` is the state the card was rendered from. On success the card lock is
        released in the same script. A caller that gets None reads again and retries.
        """
        new = incident.model_copy(update={"card_ts": ts, "version": incident.version + 1})
        event = TimelineEvent(kind=EventKind.CARD_POSTED,
                              data={"channel": incident.channel, "ts": ts})
        try:
            outcome = await self._record(
                keys=[self._keys.incident(incident.id), self._keys.timeline(incident.id),
                      self._lock_key(incident.id)],
                args=[str(incident.version), new.model_dump_json(), event.model_dump_json()])
        except RedisError as exc:
            raise store_error(exc) from exc
        return new if int(outcome) == 1 else None
