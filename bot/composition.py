"""Building the walk from settings: one recipe for the bot (``bot.app``) and the CLI.

Both need the same objects over a Redis they own: the stores, the backends' clients with their
executors, the playbooks, and the Walk and RCA service on top. Opening and closing them lives
here once, as an async context manager.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager

import aiohttp

from bot.config import AccessConfig, Settings
from bot.sources.pprof.client import PprofClient, profile_executor
from bot.sources.registry import Sources
from bot.store.alerts import AlertStateStore
from bot.store.baselines import BaselineStore
from bot.store.claims import ClaimStore
from bot.store.connection import Redis
from bot.store.incidents import IncidentStore
from bot.store.keys import Keys
from bot.store.rca import RcaStore
from bot.store.walk import WalkStore
from bot.triage.playbook_loader import load_playbook_set
from bot.triage.rca_service import RcaService
from bot.triage.steps.base import StepDeps
from bot.triage.walk import Walk, WalkStores

__all__ = ["open_walk", "rca_service"]


@asynccontextmanager
async def open_walk(settings: Settings, redis: Redis, keys: Keys, *,
                    profile_seconds: int | None = None, step_timeout_s: float = 120.0,
                    ) -> AsyncIterator[Walk]:
    """The walk over ``redis`` under ``keys``; its executors and clients closed on exit."""
    playbooks = load_playbook_set(settings.playbooks_dir)
    threads = ThreadPoolExecutor(max_workers=settings.backends.max_concurrency + 4,
                                 thread_name_prefix="triage-work")
    # CPU work (log tallies, span analysis, profiles, charts) goes to processes: in threads it
    # fought the event loop for the GIL (the interaction benchmark measured 0.5 s of loop lag).
    processes = profile_executor()
    stores = WalkStores(
        incidents=IncidentStore(redis, keys), walk=WalkStore(redis, keys),
        alerts=AlertStateStore(redis, keys), claims=ClaimStore(redis, keys),
        baselines=BaselineStore(redis, keys))
    try:
        sources = await Sources.open(settings.backends, threads)
        try:
            async with aiohttp.ClientSession() as pprof_session:
                deps = StepDeps(sources=sources, pprof=PprofClient(pprof_session, processes),
                                executor=processes, profile_seconds=profile_seconds,
                                max_profile_seconds=(settings.file.access or AccessConfig()
                                                     ).max_profile_seconds)
                yield Walk(stores, playbooks, settings.catalog, deps,
                           step_timeout_s=step_timeout_s)
        finally:
            await sources.close()
    finally:
        threads.shutdown(wait=False, cancel_futures=True)
        # Joining worker processes blocks: off the loop, which may still be draining work.
        await asyncio.to_thread(processes.shutdown, wait=True, cancel_futures=True)


def rca_service(walk: Walk, redis: Redis, keys: Keys) -> RcaService:
    """Drafting and saving RCAs over the walk's stores."""
    return RcaService(walk.stores.incidents, walk.stores.walk, RcaStore(redis, keys),
                      walk.playbooks)
