"""Per-incident alert state, so a repeated notification can be told from a change.

``apply`` is one WATCH/MULTI transaction: two replicas handling the same notification at once
both compute the difference, but only one commits it; the other retries, finds nothing new,
and so posts nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pydantic import BaseModel
from redis.exceptions import RedisError, WatchError

from bot.alertmanager import Alert
from bot.models import EventKind, TimelineEvent
from bot.store.connection import Redis, store_error
from bot.store.keys import Keys

_ATTEMPTS = 20


class AlertState(BaseModel):
    """What the bot last knew of one alert (by fingerprint)."""

    fingerprint: str
    name: str
    status: Literal["firing", "resolved"]
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: datetime
    ends_at: datetime | None = None


@dataclass(frozen=True)
class AlertChange:
    """An alert that started firing (again) or resolved since the last notification."""

    kind: Literal["fired", "resolved"]
    alert: Alert


def _change(previous: AlertState | None, alert: Alert) -> AlertChange | None:
    if alert.status == "firing":
        same = (previous is not None and previous.status == "firing"
                and previous.starts_at == alert.starts_at)
        return None if same else AlertChange("fired", alert)
    if previous is not None and previous.status == "resolved":
        return None
    return AlertChange("resolved", alert)


def would_change(previous: AlertState | None, alert: Alert) -> bool:
    """Whether ``alert`` differs from what was last recorded for it."""
    return _change(previous, alert) is not None


def _state(alert: Alert) -> AlertState:
    return AlertState(fingerprint=alert.fingerprint, name=alert.name, status=alert.status,
                      labels=alert.labels, annotations=alert.annotations,
                      starts_at=alert.starts_at, ends_at=alert.ends_at)


def _event(change: AlertChange) -> TimelineEvent:
    alert = change.alert
    kind = EventKind.ALERT_FIRED if change.kind == "fired" else EventKind.ALERT_RESOLVED
    return TimelineEvent(kind=kind, actor="alertmanager", text=alert.name, data={
        "fingerprint": alert.fingerprint, "labels": alert.labels,
        "startsAt": alert.starts_at.isoformat(),
        "endsAt": alert.ends_at.isoformat() if alert.ends_at else None,
    })


class AlertStateStore:
    """Alert states of each incident, and their changes recorded on its timeline."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys

    async def states(self, iid: str) -> list[AlertState]:
        """Every alert the incident has seen, firing first, then by start time."""
        try:
            raw = await self._redis.hgetall(self._keys.alerts(iid))
        except RedisError as exc:
            raise store_error(exc) from exc
        states = [AlertState.model_validate_json(v) for v in raw.values()]
        return sorted(states, key=lambda s: (s.status != "firing", s.starts_at, s.name))

    async def apply(self, iid: str, alerts: tuple[Alert, ...]) -> list[AlertChange]:
        """Record the notification's alerts; returns what changed (empty for a repeat)."""
        try:
            for _ in range(_ATTEMPTS):
                try:
                    return await self._try_apply(iid, alerts)
                except WatchError:
                    continue
        except RedisError as exc:
            raise store_error(exc) from exc
        raise store_error(RuntimeError(f"alert state of {iid} kept changing"))

    async def _try_apply(self, iid: str, alerts: tuple[Alert, ...]) -> list[AlertChange]:
        key = self._keys.alerts(iid)
        async with self._redis.pipeline(transaction=True) as pipe:
            await pipe.watch(key)
            raw = await pipe.hgetall(key)
            known = {fp: AlertState.model_validate_json(v) for fp, v in raw.items()}
            changes = [c for a in alerts if (c := _change(known.get(a.fingerprint), a))]
            if not changes:
                return []
            pipe.multi()  # type: ignore[no-untyped-call]
            pipe.hset(key, mapping={c.alert.fingerprint: _state(c.alert).model_dump_json()
                                    for c in changes})
            pipe.rpush(self._keys.timeline(iid), *(_event(c).model_dump_json() for c in changes))
            await pipe.execute()
            return changes
