"""The walk and the RCA outside Slack, for the terminal commands (``triage``, ``rca``).

The same Walk the bot runs, over the configured backends. The terminal walk keeps its state in
the Redis it is given under a throwaway key prefix, deleted when the walk ends, so it leaves
nothing behind and never touches the bot's own incidents.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

import aiohttp

from bot.config import Settings
from bot.errors import InputError
from bot.models import EventKind, Incident, Severity, TimelineEvent, utcnow
from bot.sources.pprof.client import PprofClient, profile_executor
from bot.sources.registry import Sources
from bot.store import AlertStateStore, ClaimStore, IncidentStore, Keys
from bot.store.connection import Redis, connect_redis, redis_ping
from bot.store.rca import RcaStore
from bot.store.scratch import scratch_keys
from bot.store.walk import WalkContextState, WalkStore
from bot.triage.findings import STEP_ORDER
from bot.triage.playbook_loader import load_playbooks
from bot.triage.rca_service import RcaService
from bot.triage.report_text import diagnosis_report, step_report
from bot.triage.steps.base import StepDeps
from bot.triage.walk import Walk, WalkStores

#: How long ``triage`` waits for Redis to answer PING before looking elsewhere.
PING_TIMEOUT_S = 5.0


async def open_reachable_redis(url: str) -> Redis | None:
    """A client for ``url`` when Redis answers PING there in time, else ``None``."""
    redis = connect_redis(url)
    try:
        async with asyncio.timeout(PING_TIMEOUT_S):
            if await redis_ping(redis):
                return redis
    except TimeoutError:
        pass
    await redis.aclose()
    return None


@asynccontextmanager
async def _walk_for(settings: Settings, redis: Redis, profile_seconds: int | None
                    ) -> AsyncIterator[tuple[Walk, RcaService]]:
    async with scratch_keys(redis, settings.key_prefix) as keys, \
            _walk_on(settings, redis, keys, profile_seconds) as walk_and_rca:
        yield walk_and_rca


@asynccontextmanager
async def _walk_on(settings: Settings, redis: Redis, keys: Keys, profile_seconds: int | None
                   ) -> AsyncIterator[tuple[Walk, RcaService]]:
    processes = profile_executor()
    stores = WalkStores(incidents=IncidentStore(redis, keys), walk=WalkStore(redis, keys),
                        alerts=AlertStateStore(redis, keys), claims=ClaimStore(redis, keys))
    try:
        async with await Sources.open(settings.backends) as sources, \
                aiohttp.ClientSession() as session:
            deps = StepDeps(sources=sources, pprof=PprofClient(session, processes),
                            executor=processes, profile_seconds=profile_seconds)
            playbooks = load_playbooks(settings.playbooks_dir)
            yield (Walk(stores, playbooks, settings.catalog, deps),
                   RcaService(stores.incidents, stores.walk, RcaStore(redis, keys), playbooks))
    finally:
        processes.shutdown(wait=True)


async def terminal_walk(settings: Settings, redis: Redis, name: str, since: timedelta,
                        profile_seconds: int | None) -> None:
    """Walk every step for the service, printing findings, the ranking and the RCA draft.

    State lives in ``redis`` (the caller's, closed by the caller) under a throwaway prefix.
    """
    service = settings.catalog.get(name)
    if service is None:
        known = ", ".join(settings.catalog.names()) or "none"
        raise InputError(f"unknown service {name!r}; the catalog has: {known}")
    async with _walk_for(settings, redis, profile_seconds) as (walk, rca):
        created = await walk.stores.incidents.create(
            lambda iid, n: Incident(id=iid, number=n, service=service.name,
                                    summary=f"terminal triage of {service.name}",
                                    severity=Severity.UNKNOWN, channel="terminal",
                                    source="cli"),
            TimelineEvent(kind=EventKind.DECLARED, actor="cli"))
        incident = created.incident
        await walk.stores.walk.save_context(incident.id, WalkContextState(
            anomaly_start=utcnow() - since))
        for step in STEP_ORDER:
            print(f"… {step.value}", flush=True)
            result = await walk.run_step(incident, step, "cli")
            if result is not None:
                print(step_report(result), flush=True)
        diagnosis = await walk.stores.walk.diagnosis(incident.id)
        if diagnosis is not None:
            print(diagnosis_report(diagnosis))
        print("\n" + await rca.markdown(incident))


async def rca_markdown(iid: str, redis_url: str, prefix: str, playbooks: Path) -> str:
    """The stored RCA of ``iid`` (drafted afresh around human edits) as Markdown."""
    redis = connect_redis(redis_url)
    keys = Keys(prefix)
    try:
        incidents = IncidentStore(redis, keys)
        incident = await incidents.get(iid)
        if incident is None:
            raise InputError(f"there is no incident {iid}")
        service = RcaService(incidents, WalkStore(redis, keys), RcaStore(redis, keys),
                             load_playbooks(playbooks))
        return await service.markdown(incident)
    finally:
        await redis.aclose()
