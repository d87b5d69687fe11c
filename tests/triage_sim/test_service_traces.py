"""The stand-in as Jaeger (api_v3 and legacy) and Tempo, read by the bot's trace clients."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import timedelta

import aiohttp
import pytest

from bot.errors import QueryRejected, SourceUnavailable
from bot.sources.http import new_session
from bot.sources.jaeger import JaegerClient
from bot.sources.tempo import TempoClient
from bot.sources.traces import TraceSearch
from bot.sources.window import TimeWindow
from triage_sim.service.scenarios import SCENARIOS, ScenarioClock
from triage_sim.service.standin import ServiceStandIn

ANCHOR = float(int(time.time()))
SLOW = timedelta(milliseconds=500)


@pytest.fixture
async def standin() -> AsyncIterator[ServiceStandIn]:
    scenario = SCENARIOS["async-deadlock"]
    clock = ScenarioClock.frozen(ANCHOR, scenario.history_s, 30)
    async with ServiceStandIn(scenario, clock, time_scale=0.0) as service:
        yield service


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    client_session = new_session(4)
    try:
        yield client_session
    finally:
        await client_session.close()


def anomaly(standin: ServiceStandIn) -> TimeWindow:
    return TimeWindow(standin.clock.at(standin.scenario.start), standin.clock.at(standin.now()))


def search(standin: ServiceStandIn, window: TimeWindow, **more: object) -> TraceSearch:
    return TraceSearch("inventory", window, **more)  # type: ignore[arg-type]


async def test_jaeger_v3_search_and_trace_by_id(standin: ServiceStandIn,
                                                session: aiohttp.ClientSession) -> None:
    jaeger = JaegerClient.create(standin.base_url, session, timeout=5, max_concurrency=4)
    traces = await jaeger.search_traces(search(standin, anomaly(standin), min_duration=SLOW,
                                               limit=8))
    assert jaeger.api == "v3" and len(traces) == 8
    assert all(t.duration >= SLOW and t.root_service == "inventory" for t in traces)
    window = anomaly(standin)
    assert all(window.start <= t.start < window.end for t in traces)
    locks = [s for t in traces for s in t.spans if s.operation == "mutex.lock StockTable"]
    assert locks and locks[0].attributes["lock.name"] == "StockTable"
    again = await jaeger.trace(traces[0].trace_id)
    assert again is not None and again.spans == traces[0].spans
    assert any(s.error for s in again.spans)


async def test_jaeger_v3_nothing_found_and_unknown_ids(standin: ServiceStandIn,
                                                       session: aiohttp.ClientSession) -> None:
    jaeger = JaegerClient.create(standin.base_url, session, timeout=5, max_concurrency=4)
    before = TimeWindow(standin.clock.at(600), standin.clock.at(1200))
    assert await jaeger.search(search(standin, before, min_duration=SLOW)) == []
    assert await jaeger.trace("0" * 32) is None
    future = standin.scenario.traces.trace_id(int(standin.now() / 2) + 100)
    assert await jaeger.trace(future) is None  # not happened yet


async def test_jaeger_legacy_api(standin: ServiceStandIn,
                                 session: aiohttp.ClientSession) -> None:
    jaeger = JaegerClient.create(standin.base_url, session, timeout=5, max_concurrency=4)
    jaeger.api = "legacy"
    hits = await jaeger.search(search(standin, anomaly(standin), min_duration=SLOW, limit=5,
                                      operation="POST /api/reserve"))
    assert len(hits) == 5 and all(h.root_operation == "POST /api/reserve" for h in hits)
    assert hits == sorted(hits, key=lambda h: h.duration, reverse=True)
    trace = await jaeger.trace(hits[0].trace_id)
    assert trace is not None and trace.trace_id == hits[0].trace_id
    assert await jaeger.trace("1" * 32) is None
    async with session.get(standin.base_url + "/api/services") as answer:
        assert (await answer.json())["data"] == ["inventory"]


async def test_tempo_search_and_trace_by_id(standin: ServiceStandIn,
                                            session: aiohttp.ClientSession) -> None:
    tempo = TempoClient.create(standin.base_url, session, timeout=5, max_concurrency=4)
    hits = await tempo.search(search(standin, anomaly(standin), min_duration=SLOW, limit=6))
    assert len(hits) == 6 and all(h.duration >= SLOW for h in hits)
    trace = await tempo.trace(hits[0].trace_id)
    assert tempo.api == "v2" and trace is not None
    assert trace.trace_id == hits[0].trace_id and trace.root_service == "inventory"
    assert await tempo.trace("2" * 32) is None


async def test_tempo_refuses_traceql_it_cannot_answer(standin: ServiceStandIn,
                                                      session: aiohttp.ClientSession) -> None:
    tempo = TempoClient.create(standin.base_url, session, timeout=5, max_concurrency=4)
    with pytest.raises(QueryRejected, match="not supported"):
        await tempo.search_traceql('{ span.http.route =~ "/api/.*" }', anomaly(standin))
    errors = await tempo.search_traceql('{ resource.service.name = "inventory" && '
                                        'status = error }', anomaly(standin), limit=3)
    assert len(errors) == 3


async def test_jaeger_failure_knob_speaks_jaeger(standin: ServiceStandIn,
                                                 session: aiohttp.ClientSession) -> None:
    jaeger = JaegerClient.create(standin.base_url, session, timeout=5, max_concurrency=4)
    standin.fail(500, "jaeger")
    with pytest.raises(SourceUnavailable, match="injected failure"):
        await jaeger.search(search(standin, anomaly(standin)))
