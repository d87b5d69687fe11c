"""The stand-in's pprof endpoints, read by the bot's PprofClient and decoders."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor

import aiohttp
import pytest

from bot.sources.http import new_session
from bot.sources.pprof.analysis import frame_totals
from bot.sources.pprof.client import PprofClient
from triage_sim.service.scenarios import SCENARIOS, ScenarioClock
from triage_sim.service.standin import ServiceStandIn

ANCHOR = float(int(time.time()))


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    client_session = new_session(4)
    try:
        yield client_session
    finally:
        await client_session.close()


@pytest.fixture
def executor() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(2) as pool:
        yield pool


def clock(name: str) -> ScenarioClock:
    return ScenarioClock.frozen(ANCHOR, SCENARIOS[name].history_s, 30)


@pytest.mark.parametrize("name", ["tokio-starvation", "cpu-spike", "async-deadlock",
                                  "task-leak"])
async def test_cpu_profile_top_frame(name: str, session: aiohttp.ClientSession,
                                     executor: ThreadPoolExecutor) -> None:
    scenario = SCENARIOS[name]
    async with ServiceStandIn(scenario, clock(name), time_scale=0.0) as standin:
        client = PprofClient(session, executor)
        profile = await client.fetch_cpu(standin.catalog_entry(), seconds=10)
    assert profile.duration_nanos == 10 * 10**9
    totals = frame_totals(profile, "cpu")
    assert totals.top(1)[0].name == scenario.expect.cpu_frame


async def test_cpu_profile_honours_seconds_scaled(session: aiohttp.ClientSession,
                                                  executor: ThreadPoolExecutor) -> None:
    async with ServiceStandIn(SCENARIOS["cpu-spike"], clock("cpu-spike"),
                              time_scale=0.05) as standin:
        began = time.monotonic()
        raw = await PprofClient(session, executor).fetch_cpu_raw(standin.catalog_entry(), 4)
        elapsed = time.monotonic() - began
        assert 0.2 <= elapsed < 2.0
        assert raw.data[:2] == b"\x1f\x8b"
        async with session.get(standin.base_url + "/debug/pprof/profile?seconds=0") as answer:
            assert answer.status == 400


async def test_successive_heap_profiles_show_the_leak(session: aiohttp.ClientSession,
                                                      executor: ThreadPoolExecutor) -> None:
    scenario = SCENARIOS["memory-growth"]
    async with ServiceStandIn(scenario, clock("memory-growth"), time_scale=0.0) as standin:
        client = PprofClient(session, executor)
        base = await client.fetch_heap_raw(standin.catalog_entry())
        new = await client.fetch_heap_raw(standin.catalog_entry())
        diff = await client.diff(base, new, "inuse_space")
    [grown, *_] = diff.grown_stacks()
    assert "alloc::sync::Arc<T>::new" in grown.stack[:4]
    assert "checkout::cache::SessionCache::insert" in grown.stack[:5]
    # The clock is frozen, yet snapshots are a minute of growth apart.
    assert grown.delta == pytest.approx(0.8 * 90 * 1024 * standin.heap_step_s, rel=0.01)
