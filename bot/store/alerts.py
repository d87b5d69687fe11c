"""Per-incident alert state, so a repeated notification can be told from a change.

``apply`` is one WATCH/MULTI transaction: two replicas handling the same notification at once
both compute the difference, but only one commits it; the other retries, finds nothing new,
and so posts nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from redis.exceptions import RedisError, WatchError

from bot.models.alerts import Alert, AlertChange, AlertState, alert_change, alert_event, alert_state
from bot.models.outbox import OutboxItem
from bot.store.connection import Redis, store_error
from bot.store.keys import Keys
from bot.store.outbox import Outbox

#: What to tell Slack about the changes a notification made (staged in the same MULTI).
Announce = Callable[[list[AlertChange]], Sequence[OutboxItem]]

_ATTEMPTS = 20


class AlertStateStore:
    """Alert states of each incident, and their changes recorded on its timeline."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys
        self._outbox = Outbox(redis, keys)

    async def owe(self, items: Sequence[OutboxItem]) -> None:
        """Put items in the outbox on their own (no state change goes with them)."""
        await self._outbox.enqueue(items)

    async def states(self, iid: str) -> list[AlertState]:
        """Every alert the incident has seen, firing first, then by start time."""
        try:
            raw = await self._redis.hgetall(self._keys.alerts(iid))
        except RedisError as exc:
            raise store_error(exc) from exc
        states = [AlertState.model_validate_json(v) for v in raw.values()]
        return sorted(states, key=lambda s: (s.status != "firing", s.starts_at, s.name))

    async def apply(self, iid: str, alerts: tuple[Alert, ...],
                    announce: Announce | None = None) -> list[AlertChange]:
        """Record the notification's alerts; returns what changed (empty for a repeat).

        ``announce(changes)`` names the outbox items that say the changes; they are written
        in the same transaction, so a stored change is always announced.
        """
        try:
            for _ in range(_ATTEMPTS):
                try:
                    return await self._try_apply(iid, alerts, announce)
                except WatchError:
                    continue
        except RedisError as exc:
            raise store_error(exc) from exc
        raise store_error(RuntimeError(f"alert state of {iid} kept changing"))

    async def _try_apply(self, iid: str, alerts: tuple[Alert, ...],
                         announce: Announce | None) -> list[AlertChange]:
        key = self._keys.alerts(iid)
        async with self._redis.pipeline(transaction=True) as pipe:
            await pipe.watch(key)
            raw = await pipe.hgetall(key)
            known = {fp: AlertState.model_validate_json(v) for fp, v in raw.items()}
            changes = [c for a in alerts if (c := alert_change(known.get(a.fingerprint), a))]
            if not changes:
                return []
            pipe.multi()  # type: ignore[no-untyped-call]
            pipe.hset(key, mapping={c.alert.fingerprint: alert_state(c.alert).model_dump_json()
                                    for c in changes})
            events = (alert_event(c).model_dump_json() for c in changes)
            pipe.rpush(self._keys.timeline(iid), *events)
            if announce is not None:
                self._outbox.stage(pipe, announce(changes))
            await pipe.execute()
            return changes
