"""Incidents and their timelines in Redis.

Creation under a dedupe key is one Lua script, so two bot processes racing on the same alert
group get one incident; updates are WATCH/MULTI transactions, so concurrent editors never lose
each other's writes. Losing a race is a normal return value, not an exception.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from redis.exceptions import RedisError, WatchError

from bot.models import Incident, TimelineEvent, format_incident_id
from bot.models.outbox import OutboxItem
from bot.store.connection import Redis, ensure_replicated, store_error
from bot.store.keys import Keys
from bot.store.outbox import Outbox

# KEYS: dedupe, incident, open set, timeline. ARGV: id, incident JSON, first event JSON.
_CREATE_ONCE = """
local existing = redis.call('GET', KEYS[1])
if existing then return existing end
redis.call('SET', KEYS[2], ARGV[2])
redis.call('SADD', KEYS[3], ARGV[1])
redis.call('RPUSH', KEYS[4], ARGV[3])
redis.call('SET', KEYS[1], ARGV[1])
return ''
"""

_UPDATE_ATTEMPTS = 20

Mutation = Callable[[Incident], Incident | None]


@dataclass(frozen=True)
class Created:
    """Result of :meth:`IncidentStore.create`: the incident, and whether this call made it."""

    incident: Incident
    created: bool


@dataclass(frozen=True)
class Updated:
    """Result of :meth:`IncidentStore.update`: ``changed`` is False when the mutation declined."""

    incident: Incident
    changed: bool


class IncidentStore:
    """Typed access to incidents; every method raises ``StoreError`` when Redis is down."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys
        self._create_once = redis.register_script(_CREATE_ONCE)
        self._outbox = Outbox(redis, keys)

    async def create(
        self, build: Callable[[str, int], Incident], first_event: TimelineEvent,
        dedupe_key: str | None = None,
    ) -> Created:
        """Create an incident, or return the one already opened for ``dedupe_key``.

        ``build(id, number)`` makes the incident once its number is known. A number drawn by a
        creator that then loses the race is skipped: incident numbers may have gaps.
        """
        try:
            if dedupe_key is not None:
                existing = await self._redis.get(self._keys.dedupe(dedupe_key))
                if existing:
                    return Created(await self._must_get(str(existing)), created=False)
            number = int(await self._redis.incr(self._keys.incident_seq()))
            incident = build(format_incident_id(number), number)
            if dedupe_key is None:
                await self._write_new(incident, first_event)
                return Created(incident, created=True)
            winner = await self._create_once(
                keys=[self._keys.dedupe(dedupe_key), self._keys.incident(incident.id),
                      self._keys.open_incidents(), self._keys.timeline(incident.id)],
                args=[incident.id, incident.model_dump_json(), first_event.model_dump_json()],
            )
        except RedisError as exc:
            raise store_error(exc) from exc
        if winner:
            return Created(await self._must_get(str(winner)), created=False)
        return Created(incident, created=True)

    async def _write_new(self, incident: Incident, first_event: TimelineEvent) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(self._keys.incident(incident.id), incident.model_dump_json())
            pipe.sadd(self._keys.open_incidents(), incident.id)
            pipe.rpush(self._keys.timeline(incident.id), first_event.model_dump_json())
            await pipe.execute()

    async def ensure_replicated(self) -> None:
        """StoreError unless a replica holds what was written so far (under Sentinel)."""
        await ensure_replicated(self._redis)

    async def get(self, iid: str) -> Incident | None:
        """The incident, or None if there is none with that id."""
        try:
            raw = await self._redis.get(self._keys.incident(iid))
        except RedisError as exc:
            raise store_error(exc) from exc
        return Incident.model_validate_json(raw) if raw else None

    async def _must_get(self, iid: str) -> Incident:
        incident = await self.get(iid)
        if incident is None:
            raise store_error(RuntimeError(f"dedupe key points at missing incident {iid}"))
        return incident

    async def find_by_dedupe_key(self, dedupe_key: str) -> Incident | None:
        """The incident opened for an outside identity (an alert group), if any."""
        try:
            iid = await self._redis.get(self._keys.dedupe(dedupe_key))
        except RedisError as exc:
            raise store_error(exc) from exc
        return await self.get(str(iid)) if iid else None

    async def list_open(self) -> list[Incident]:
        """Open incidents, oldest first."""
        try:
            ids = sorted(str(i) for i in await self._redis.smembers(self._keys.open_incidents()))
            if not ids:
                return []
            raws = await self._redis.mget([self._keys.incident(i) for i in ids])
        except RedisError as exc:
            raise store_error(exc) from exc
        incidents = [Incident.model_validate_json(r) for r in raws if r]
        return sorted(incidents, key=lambda i: i.number)

    async def update(
        self, iid: str, mutate: Mutation, event: TimelineEvent | None = None,
        announce: Sequence[OutboxItem] = (),
    ) -> Updated | None:
        """Apply ``mutate`` atomically; None if the incident does not exist.

        ``mutate`` gets the current incident and returns the new one, or None to leave it as
        it is (e.g. resolving what is already resolved); then no event is recorded either, and
        the ``announce`` items (written with the change, in one transaction) are not either.
        """
        key = self._keys.incident(iid)
        try:
            for _ in range(_UPDATE_ATTEMPTS):
                try:
                    return await self._try_update(key, iid, mutate, event, announce)
                except WatchError:
                    continue
        except RedisError as exc:
            raise store_error(exc) from exc
        raise store_error(RuntimeError(f"{iid} kept changing under {_UPDATE_ATTEMPTS} attempts"))

    async def _try_update(
        self, key: str, iid: str, mutate: Mutation, event: TimelineEvent | None,
        announce: Sequence[OutboxItem],
    ) -> Updated | None:
        async with self._redis.pipeline(transaction=True) as pipe:
            await pipe.watch(key)
            raw = await pipe.get(key)
            if not raw:
                return None
            current = Incident.model_validate_json(raw)
            changed = mutate(current.model_copy(deep=True))
            if changed is None:
                return Updated(current, changed=False)
            new = changed.model_copy(update={"version": current.version + 1})
            pipe.multi()  # type: ignore[no-untyped-call]
            pipe.set(key, new.model_dump_json())
            if new.is_open:
                pipe.sadd(self._keys.open_incidents(), iid)
            else:
                pipe.srem(self._keys.open_incidents(), iid)
            if event is not None:
                pipe.rpush(self._keys.timeline(iid), event.model_dump_json())
            self._outbox.stage(pipe, announce)
            await pipe.execute()
            return Updated(new, changed=True)

    async def add_event(self, iid: str, event: TimelineEvent,
                        announce: Sequence[OutboxItem] = ()) -> None:
        """Append to the incident's timeline, with the outbox items that say so."""
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.rpush(self._keys.timeline(iid), event.model_dump_json())
                self._outbox.stage(pipe, announce)
                await pipe.execute()
        except RedisError as exc:
            raise store_error(exc) from exc

    async def timeline(self, iid: str) -> list[TimelineEvent]:
        """The incident's timeline, oldest first."""
        try:
            raws = await self._redis.lrange(self._keys.timeline(iid), 0, -1)
        except RedisError as exc:
            raise store_error(exc) from exc
        return [TimelineEvent.model_validate_json(r) for r in raws]

