"""PrometheusClient against a local fake Prometheus: results, warnings, errors, deadlines."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.errors import QueryRejected, SourceTimeout, SourceUnavailable
from bot.sources import PrometheusClient, TimeWindow
from tests.sources.conftest import FakeBackend, Reply, real_bytes
from tests.support.redis_server import free_port

T0 = datetime(2015, 7, 1, 20, 10, tzinfo=UTC)
WINDOW = TimeWindow(T0, T0 + timedelta(minutes=1))
VECTOR = real_bytes("prometheus/prometheus_docs_api_v1_query_vector.json")
BAD_DATA = ('{"status":"error","errorType":"bad_data",'
            '"error":"invalid parameter \\"query\\": 1:6: parse error: unclosed left parenthesis"}')


@pytest.fixture
async def prom(fake: FakeBackend) -> AsyncIterator[PrometheusClient]:
    client = PrometheusClient(fake.url, timeout=2, max_concurrency=2)
    try:
        yield client
    finally:
        await client.close()


async def test_instant_query_vector(fake: FakeBackend, prom: PrometheusClient) -> None:
    fake.answer("/api/v1/query", Reply(VECTOR))
    series = await prom.query("up", at=T0)
    assert [s.labels["job"] for s in series] == ["prometheus", "node"]
    assert series.warnings == ()
    [seen] = fake.seen
    assert seen.query["query"] == ["up"]
    assert seen.query["time"] == [f"{T0.timestamp():.3f}"]
    assert seen.query["timeout"] == ["1.800"]  # Prometheus gives up just before we do
    with pytest.raises(ValueError, match="timezone-aware"):
        await prom.query("up", at=datetime(2026, 1, 1))


async def test_range_query_matrix(fake: FakeBackend, prom: PrometheusClient) -> None:
    body = real_bytes("prometheus/prometheus_docs_api_v1_query_range_matrix.json")
    fake.answer("/api/v1/query_range", Reply(body))
    series = await prom.query_range("up", WINDOW, timedelta(seconds=15))
    assert [s.values for s in series] == [[1.0, 1.0, 1.0], [0.0, 0.0, 1.0]]
    query = fake.seen[0].query
    assert query["step"] == ["15"]
    assert query["start"] == [f"{WINDOW.start.timestamp():.3f}"]
    assert query["end"] == [f"{WINDOW.end.timestamp():.3f}"]


async def test_warnings_are_kept(fake: FakeBackend, prom: PrometheusClient) -> None:
    body = real_bytes("prometheus/jaeger_metricstore_prometheus_warning_response.json")
    fake.answer("/api/v1/query_range", Reply(body))
    series = await prom.query_range("up", WINDOW)
    assert series == [] and series.warnings == ("warning0", "warning1")


async def test_exemplars(fake: FakeBackend, prom: PrometheusClient) -> None:
    body = real_bytes("prometheus/prometheus_docs_api_v1_query_exemplars.json")
    fake.answer("/api/v1/query_exemplars", Reply(body))
    found = await prom.exemplars("test_exemplar_metric_total", WINDOW)
    assert [e.trace_id for s in found for e in s.exemplars] == [
        "EpTxMJ40fUus7aGY", "Olp9XHlq763ccsfa", "hCtjygkIHwAN9vs4"]
    assert fake.seen[0].query["query"] == ["test_exemplar_metric_total"]


async def test_existing_metrics_asks_label_values_with_match(
    fake: FakeBackend, prom: PrometheusClient
) -> None:
    fake.answer("/api/v1/label/__name__/values",
                Reply('{"status":"success","data":["tokio_workers_count","process_resident_memory_bytes"]}'))
    found = await prom.existing_metrics(
        ["tokio_workers_count", "process_resident_memory_bytes", "go_goroutines"],
        {"job": "checkout"}, WINDOW)
    assert found == {"tokio_workers_count", "process_resident_memory_bytes"}
    assert fake.seen[0].query["match[]"] == [
        '{job="checkout",__name__=~"go_goroutines|process_resident_memory_bytes|tokio_workers_count"}']
    with pytest.raises(ValueError, match="invalid metric name"):
        await prom.existing_metrics(['up"} or vector(1)'], {"job": "checkout"})
    assert await prom.existing_metrics([], {"job": "checkout"}) == set()


async def test_bad_query_carries_prometheus_message(
    fake: FakeBackend, prom: PrometheusClient
) -> None:
    fake.answer("/api/v1/query", Reply(BAD_DATA, status=400))
    with pytest.raises(QueryRejected) as caught:
        await prom.query("rate(")
    assert caught.value.message == (
        'invalid parameter "query": 1:6: parse error: unclosed left parenthesis')
    fake.answer("/api/v1/query_exemplars", Reply(BAD_DATA, status=400))
    with pytest.raises(QueryRejected, match="unclosed left parenthesis"):
        await prom.exemplars("rate(", WINDOW)


async def test_server_side_timeout_and_outages(fake: FakeBackend, prom: PrometheusClient) -> None:
    fake.answer("/api/v1/query", Reply(
        '{"status":"error","errorType":"timeout",'
        '"error":"query timed out in expression evaluation"}', status=503))
    with pytest.raises(SourceTimeout, match="query timed out in expression evaluation"):
        await prom.query("up")
    assert len(fake.hits("/api/v1/query")) == 1  # no library retries on 503
    fake.answer("/api/v1/query", Reply("upstream connect error", 502, "text/plain"))
    with pytest.raises(SourceUnavailable, match="HTTP 502: upstream connect error"):
        await prom.query("up")
    fake.answer("/api/v1/query", Reply('{"status":"success","data":{"resultType":"vec'))
    with pytest.raises(SourceUnavailable, match="malformed JSON"):
        await prom.query("up")


async def test_wrong_shapes_are_errors_not_empty_results(
    fake: FakeBackend, prom: PrometheusClient
) -> None:
    cases = {
        '{"status":"success","data":{"resultType":"vector","result":{"a":1}}}':
            "data.result: expected a list, got an object",
        '{"status":"success"}': "answer: missing 'data'",
        '{"data":{"resultType":"vector","result":[]}}': "answer: missing 'status'",
        '{"status":"success","data":{"resultType":"vector","result":[{"value":[1]}]}}':
            r"data.result\[0\].value: expected \[timestamp, value\], got 1 items",
        '{"status":"success","data":{"resultType":"matrix","result":[{"values":[[1,"x"]]}]}}':
            r"data.result\[0\].values\[0\]: not a number: 'x'",
        '["success"]': "answer: expected an object, got a list",
        '{"status":"success","data":{"resultType":"streams","result":[]}}':
            "result type 'streams' is not a vector, matrix or scalar",
    }
    for body, words in cases.items():
        fake.answer("/api/v1/query", Reply(body))
        with pytest.raises(SourceUnavailable,
                           match="prometheus: answered with an unexpected shape: " + words):
            await prom.query("up")
    fake.answer("/api/v1/label/__name__/values", Reply('{"status":"success","data":[1]}'))
    with pytest.raises(SourceUnavailable, match=r"data\[0\]: expected a string, got a number"):
        await prom.metric_names({"job": "checkout"})
    fake.answer("/api/v1/query_exemplars", Reply('{"status":"success","data":{}}'))
    with pytest.raises(SourceUnavailable, match="data: expected a list, got an object"):
        await prom.exemplars("up", WINDOW)
    fake.answer("/api/v1/query", Reply('{"status":"error","error":"bad"}'))
    with pytest.raises(QueryRejected, match="bad"):
        await prom.query("up")


async def test_connection_refused() -> None:
    client = PrometheusClient(f"http://127.0.0.1:{free_port()}", timeout=2, max_concurrency=1)
    try:
        with pytest.raises(SourceUnavailable,
                           match=r"cannot connect to 127\.0\.0\.1:\d+: Connection refused"):
            await client.query("up")
    finally:
        await client.close()


async def test_slow_prometheus_times_out_on_our_deadline(fake: FakeBackend) -> None:
    fake.answer("/api/v1/query", Reply(VECTOR, delay=10))
    client = PrometheusClient(fake.url, timeout=0.3, max_concurrency=1)
    try:
        started = time.monotonic()
        with pytest.raises(SourceTimeout, match=r"within 0\.3s"):
            await client.query("up")
        assert time.monotonic() - started < 0.8
        # The single slot was given back at the deadline: the next call reaches the backend
        # (no thread is left holding it, as requests used to).
        fake.answer("/api/v1/query", Reply(VECTOR))
        assert len(await client.query("up")) == 2
    finally:
        await client.close()


async def test_too_many_points_are_refused_before_asking(
    fake: FakeBackend, prom: PrometheusClient
) -> None:
    day = TimeWindow(T0, T0 + timedelta(days=1))
    with pytest.raises(QueryRejected, match="11,000"):
        await prom.query_range("up", day, timedelta(seconds=1))
    assert fake.seen == []
