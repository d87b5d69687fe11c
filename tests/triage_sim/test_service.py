"""The service stand-in's /metrics, Loki API and misbehaviour knobs, read by the bot's clients."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import timedelta

import aiohttp
import pytest
from prometheus_client.openmetrics.parser import text_string_to_metric_families

from bot.errors import QueryRejected, SourceTimeout, SourceUnavailable
from bot.sources.http import new_session
from bot.sources.loki import LokiClient
from bot.sources.window import TimeWindow
from triage_sim.service.scenarios import SCENARIOS, ScenarioClock
from triage_sim.service.standin import ServiceStandIn

ANCHOR = float(int(time.time()))


def frozen(name: str, after_anchor: float = 30.0) -> ScenarioClock:
    return ScenarioClock.frozen(ANCHOR, SCENARIOS[name].history_s, after_anchor)


@pytest.fixture
async def standin() -> AsyncIterator[ServiceStandIn]:
    async with ServiceStandIn(SCENARIOS["p99-latency"], frozen("p99-latency"),
                              time_scale=0.0) as service:
        yield service


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    client_session = new_session(4)
    try:
        yield client_session
    finally:
        await client_session.close()


def loki(standin: ServiceStandIn, session: aiohttp.ClientSession, timeout: float = 5.0
         ) -> LokiClient:
    return LokiClient.create(standin.base_url, session, timeout=timeout, max_concurrency=4)


def window(standin: ServiceStandIn, start: float, end: float) -> TimeWindow:
    return TimeWindow(standin.clock.at(start), standin.clock.at(end))


async def test_metrics_is_openmetrics_with_exemplars(standin: ServiceStandIn,
                                                     session: aiohttp.ClientSession) -> None:
    async with session.get(standin.base_url + "/metrics") as answer:
        assert answer.status == 200
        assert answer.content_type == "application/openmetrics-text"
        text = await answer.text()
    families = {f.name: f for f in text_string_to_metric_families(text)}
    assert "db_client_connection_wait_time_seconds" in families
    exemplars = [s.exemplar for s in families["http_server_request_duration_seconds"].samples
                 if s.exemplar is not None]
    assert exemplars
    model = standin.scenario.traces
    assert all(model.slot_of(e.labels["trace_id"]) is not None for e in exemplars)


async def test_loki_lines_newest_first_within_the_limit(standin: ServiceStandIn,
                                                        session: aiohttp.ClientSession) -> None:
    now = standin.now()
    lines = await loki(standin, session).query_range('{app="orders"}', window(standin, now - 3600,
                                                                              now), limit=300)
    assert len(lines) == 300
    stamps = [line.timestamp_ns for line in lines]
    assert stamps == sorted(stamps, reverse=True)
    assert lines[0].labels["app"] == "orders" and lines[0].labels["pod"].startswith("orders-")
    forward = await loki(standin, session).query_range(
        '{app="orders"}', window(standin, now - 3600, now), limit=50, direction="forward")
    assert [line.timestamp_ns for line in forward] == sorted(line.timestamp_ns for line in forward)
    assert forward[0].timestamp_ns < lines[-1].timestamp_ns


async def test_decisive_line_is_in_the_anomaly_only(standin: ServiceStandIn,
                                                    session: aiohttp.ClientSession) -> None:
    scenario = standin.scenario
    client = loki(standin, session)
    query = '{app="orders"} |= "timed out waiting for connection from pool"'
    during = await client.query_range(query, window(standin, scenario.start, standin.now()),
                                      limit=5000)
    before = await client.query_range(query, window(standin, scenario.start - 3600,
                                                    scenario.start), limit=5000)
    assert during and not before
    assert all("timed out waiting for connection from pool" in line.line for line in during)
    regex = await client.query_range('{app="orders"} |~ "(?i)TIMED OUT|slow threshold" '
                                     '!= "orders::db"', window(standin, scenario.start,
                                                               scenario.start + 1800), limit=100)
    assert regex and all("sqlx::pool::acquire" in line.line for line in regex)


async def test_streams_and_selectors(session: aiohttp.ClientSession) -> None:
    async with ServiceStandIn(SCENARIOS["generic"], frozen("generic"), time_scale=0) as standin:
        client = loki(standin, session)
        start = standin.scenario.start
        span = window(standin, start, start + 900)
        stderr = await client.query_range('{app="payments", stream="stderr"}', span, limit=500)
        assert stderr and all(line.labels["stream"] == "stderr" for line in stderr)
        assert any(line.line.startswith("thread '") and "panicked at src/refund.rs" in line.line
                   for line in stderr)
        other = await client.query_range('{app="checkout"}', span, limit=10)
        assert other == []


async def test_metric_queries(standin: ServiceStandIn, session: aiohttp.ClientSession) -> None:
    client = loki(standin, session)
    start = standin.scenario.start
    series = await client.metric_range(
        'sum(count_over_time({app="orders"} |= "timed out waiting" [5m]))',
        window(standin, start - 1800, start + 1800), timedelta(minutes=5))
    [summed] = series
    assert summed.labels == {}
    counts = dict((s.timestamp, s.value) for s in summed.samples)
    assert max(counts.values()) > 100 and min(counts) >= standin.clock.unix(start)


@pytest.mark.parametrize("query", ['{app="orders"', 'sum(rate({app="orders"}[5m])) by (pod)',
                                   '{app="orders"} |~ "("', '{app="orders"} | json'])
async def test_unsupported_logql_is_a_loki_400(standin: ServiceStandIn,
                                               session: aiohttp.ClientSession, query: str) -> None:
    with pytest.raises(QueryRejected) as caught:
        await loki(standin, session).query_range(query, window(standin, 0, 600))
    assert "parse error" in caught.value.message or "not supported" in caught.value.message


async def test_slow_knob_makes_clients_time_out(standin: ServiceStandIn,
                                                session: aiohttp.ClientSession) -> None:
    standin.slow(2.0, "loki")
    span = window(standin, 0, 600)
    with pytest.raises(SourceTimeout):
        await loki(standin, session, timeout=0.2).query_range('{app="orders"}', span)
    async with session.get(standin.base_url + "/metrics") as answer:
        assert answer.status == 200  # other families are not slowed
    standin.heal()
    assert await loki(standin, session, timeout=2).query_range('{app="orders"}', span)


async def test_fail_knob_per_family_and_for_all(standin: ServiceStandIn,
                                                session: aiohttp.ClientSession) -> None:
    span = window(standin, 0, 600)
    standin.fail(503, "loki")
    with pytest.raises(SourceUnavailable, match="HTTP 503"):
        await loki(standin, session).query_range('{app="orders"}', span)
    standin.fail(None)
    standin.fail(429)
    async with session.get(standin.base_url + "/debug/pprof/heap") as answer:
        assert answer.status == 429
    standin.heal()
    assert standin.requests["loki"] == 1 and standin.requests["pprof"] == 1
    with pytest.raises(ValueError, match="unknown endpoint family"):
        standin.slow(1.0, "graphite")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        standin.fail(200)


async def test_stop_cuts_slow_answers_short(session: aiohttp.ClientSession) -> None:
    standin = await ServiceStandIn(SCENARIOS["cpu-spike"], frozen("cpu-spike")).start()
    standin.slow(30.0)
    pending = asyncio.ensure_future(session.get(standin.base_url + "/metrics"))
    await standin.wait_for_requests("metrics")
    began = time.monotonic()
    await standin.stop()
    try:
        answer = await pending
    except aiohttp.ClientError:
        pass  # the connection went away with the server: fine, it did not hang
    else:
        assert answer.status == 503
        answer.release()
    assert time.monotonic() - began < 5
