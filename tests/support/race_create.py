"""Run by the race test in separate processes: wait for the start signal, then create."""

from __future__ import annotations

import asyncio
import sys

from bot.models import EventKind, Incident, Severity, TimelineEvent
from bot.store import IncidentStore, Keys, connect_redis


async def main(url: str, prefix: str, dedupe_key: str, go_key: str) -> None:
    redis = connect_redis(url)
    store = IncidentStore(redis, Keys(prefix))
    await redis.blpop([go_key], timeout=20)

    def build(iid: str, number: int) -> Incident:
        return Incident(id=iid, number=number, service="checkout", summary="race",
                        severity=Severity.CRITICAL, channel="C0CHECKOUT")

    result = await store.create(build, TimelineEvent(kind=EventKind.DECLARED), dedupe_key)
    print(result.incident.id, result.created, flush=True)
    await redis.aclose()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:5]))
