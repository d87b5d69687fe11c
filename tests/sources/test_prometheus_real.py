"""PrometheusClient against a real Prometheus scraping a local target (see conftest)."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.errors import QueryRejected
from bot.sources import PrometheusClient, TimeWindow, prom_selector, render_promql
from tests.sources.conftest import TARGET_JOB, TRACE_ID

SERVICE = {"job": TARGET_JOB}


@pytest.fixture
async def prom(prometheus_url: str) -> AsyncIterator[PrometheusClient]:
    client = PrometheusClient(prometheus_url, timeout=5, max_concurrency=2)
    try:
        yield client
    finally:
        await client.close()


def recent() -> TimeWindow:
    return TimeWindow.last(timedelta(minutes=2), datetime.now(UTC) + timedelta(seconds=1))


async def test_instant_query(prom: PrometheusClient) -> None:
    series = await prom.query(render_promql("up{selector}", SERVICE))
    [up] = series
    assert up.labels["job"] == TARGET_JOB and up.values == [1.0]
    by_code = {s.labels["code"]: s.values[0] for s in await prom.query(
        render_promql("triage_requests_total{selector}", SERVICE))}
    assert by_code == {"200": 42.0, "500": 3.0}


async def test_scalars_and_nan(prom: PrometheusClient) -> None:
    [two] = await prom.query("1 + 1")
    assert two.labels == {} and two.values == [2.0]
    [nan] = await prom.query("0 / 0")
    assert math.isnan(nan.values[0])


async def test_range_query(prom: PrometheusClient) -> None:
    series = await prom.query_range(render_promql("triage_memory_bytes{selector}", SERVICE),
                                    recent(), timedelta(seconds=1))
    [memory] = series
    assert memory.samples and set(memory.values) == {123456789.0}
    assert memory.samples == tuple(sorted(memory.samples, key=lambda s: s.timestamp))


async def test_exemplars_from_openmetrics_scrape(prom: PrometheusClient) -> None:
    found = await prom.exemplars(render_promql("triage_requests_total{selector}", SERVICE),
                                 recent())
    trace_ids = {e.trace_id for s in found for e in s.exemplars}
    assert trace_ids == {TRACE_ID}
    assert found[0].labels["code"] == "200"
    assert await prom.exemplars('up{job="no-such-job"}', recent()) == []


async def test_existing_metrics_and_names(prom: PrometheusClient) -> None:
    found = await prom.existing_metrics(
        ["triage_requests_total", "tokio_workers_count", "triage_memory_bytes"], SERVICE, recent())
    assert found == {"triage_requests_total", "triage_memory_bytes"}
    names = await prom.metric_names(SERVICE)
    assert {"up", "triage_requests_total", "triage_memory_bytes"} <= names
    assert await prom.existing_metrics(["up"], {"job": "no-such-job"}) == set()


async def test_bad_query_is_rejected_with_prometheus_words(prom: PrometheusClient) -> None:
    with pytest.raises(QueryRejected) as caught:
        await prom.query("sum(rate(triage_requests_total[5m])")
    assert "parse error" in caught.value.message
    assert caught.value.backend == "prometheus"
    with pytest.raises(QueryRejected, match="parse error"):
        await prom.query_range("rate(", recent())


async def test_escaped_label_values_are_valid_promql(prom: PrometheusClient) -> None:
    hostile = 'x"} or vector(1) or up{job="\\\n'
    assert await prom.query("up" + prom_selector({"job": hostile})) == []
