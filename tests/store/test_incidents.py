"""IncidentStore against a real redis-server."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest
import redis.asyncio as aioredis

from bot.errors import StoreError
from bot.models import EventKind, Incident, IncidentStatus, Severity, TimelineEvent
from bot.store import ClaimStore, IncidentStore, Keys, connect_redis
from tests.conftest import ROOT


def _builder(summary: str = "p99 high", service: str = "checkout"):
    def build(iid: str, number: int) -> Incident:
        return Incident(id=iid, number=number, service=service, summary=summary,
                        severity=Severity.WARNING, channel="C0CHECKOUT")
    return build


def _declared() -> TimelineEvent:
    return TimelineEvent(kind=EventKind.DECLARED, actor="U1")


@pytest.fixture
def store(redis_client: aioredis.Redis, key_prefix: str) -> IncidentStore:
    return IncidentStore(redis_client, Keys(key_prefix))


async def test_create_numbers_incidents_and_reads_them_back(store: IncidentStore) -> None:
    first = await store.create(_builder("one"), _declared())
    second = await store.create(_builder("two"), _declared())
    assert (first.incident.id, second.incident.id) == ("INC-1", "INC-2")
    assert first.created and second.created
    loaded = await store.get("INC-2")
    assert loaded is not None and loaded.summary == "two"
    assert [i.id for i in await store.list_open()] == ["INC-1", "INC-2"]
    assert [e.kind for e in await store.timeline("INC-1")] == [EventKind.DECLARED]


async def test_same_dedupe_key_returns_the_existing_incident(store: IncidentStore) -> None:
    first = await store.create(_builder(), _declared(), dedupe_key="group-a")
    again = await store.create(_builder("other"), _declared(), dedupe_key="group-a")
    assert again.incident.id == first.incident.id and not again.created
    assert again.incident.summary == "p99 high"
    found = await store.find_by_dedupe_key("group-a")
    assert found is not None and found.id == first.incident.id


async def test_concurrent_creators_in_one_process_get_one_incident(store: IncidentStore) -> None:
    results = await asyncio.gather(
        *(store.create(_builder(), _declared(), dedupe_key="storm") for _ in range(20)))
    assert len({r.incident.id for r in results}) == 1
    assert sum(r.created for r in results) == 1
    assert len(await store.list_open()) == 1


def test_two_processes_racing_on_one_dedupe_key_get_one_incident(
    redis_url: str, key_prefix: str
) -> None:
    go_key = f"{key_prefix}:go"
    procs = [subprocess.Popen([sys.executable, "-m", "tests.support.race_create", redis_url,
                               key_prefix, "alert-group-1", go_key],
                              cwd=ROOT, stdout=subprocess.PIPE, text=True) for _ in range(4)]

    async def release_all() -> None:
        client = aioredis.Redis.from_url(redis_url, decode_responses=True)
        deadline = asyncio.get_running_loop().time() + 20
        # every process is blocked in BLPOP once the server reports 4 blocked clients
        while int((await client.info("clients"))["blocked_clients"]) < 4:
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError("race processes never reached the start line")
            await asyncio.sleep(0.02)
        await client.rpush(go_key, *["go"] * 4)
        await client.aclose()

    asyncio.run(release_all())
    outputs = [p.communicate(timeout=30)[0].split() for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert len({out[0] for out in outputs}) == 1, outputs
    assert [out[1] for out in outputs].count("True") == 1, outputs


async def test_update_is_atomic_and_declining_records_nothing(store: IncidentStore) -> None:
    incident = (await store.create(_builder(), _declared())).incident

    def resolve(current: Incident) -> Incident | None:
        if current.status is IncidentStatus.RESOLVED:
            return None
        return current.model_copy(update={"status": IncidentStatus.RESOLVED})

    event = TimelineEvent(kind=EventKind.RESOLVED, actor="U2")
    results = await asyncio.gather(*(store.update(incident.id, resolve, event) for _ in range(5)))
    assert sum(1 for r in results if r and r.changed) == 1
    kinds = [e.kind for e in await store.timeline(incident.id)]
    assert kinds == [EventKind.DECLARED, EventKind.RESOLVED]
    assert await store.list_open() == []
    stored = await store.get(incident.id)
    assert stored is not None and stored.version == 1


async def test_update_of_missing_incident_returns_none(store: IncidentStore) -> None:
    assert await store.update("INC-999", lambda i: i) is None


async def test_claims_are_won_once(redis_client: aioredis.Redis, key_prefix: str) -> None:
    claims = ClaimStore(redis_client, Keys(key_prefix))
    won = await asyncio.gather(*(claims.claim("event", "Ev123") for _ in range(10)))
    assert won.count(True) == 1
    await claims.release("event", "Ev123")
    assert await claims.claim("event", "Ev123")


async def test_unreachable_redis_raises_store_error(key_prefix: str) -> None:
    from tests.support.redis_server import free_port

    client = connect_redis(f"redis://127.0.0.1:{free_port()}/0")
    store = IncidentStore(client, Keys(key_prefix))
    with pytest.raises(StoreError, match="Redis unavailable"):
        await store.create(_builder(), _declared(), dedupe_key="x")
    await client.aclose()


async def test_state_survives_a_new_client(redis_url: str, key_prefix: str) -> None:
    """What one bot process wrote, the next one reads (a restart of the bot)."""
    first = connect_redis(redis_url)
    created = await IncidentStore(first, Keys(key_prefix)).create(_builder(), _declared())
    await first.aclose()
    second = connect_redis(redis_url)
    loaded = await IncidentStore(second, Keys(key_prefix)).get(created.incident.id)
    await second.aclose()
    assert loaded == created.incident
