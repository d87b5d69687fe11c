"""Loki: streams and matrix answers, and the client against a local fake Loki."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.errors import QueryRejected, SourceTimeout, SourceUnavailable
from bot.sources import LokiClient, TimeWindow
from bot.sources.loki import parse_metric_answer, parse_streams_answer
from tests.sources.conftest import FakeBackend, Reply, ours_bytes, ours_json, shared_json

T0 = datetime(2025, 11, 27, 11, 0, tzinfo=UTC)
WINDOW = TimeWindow(T0, T0 + timedelta(minutes=5))
T0_NS = 1764241200000000000


def test_streams_simple_fixture() -> None:
    lines = parse_streams_answer(shared_json("loki/grafana_loki_query_range_streams_simple.json"))
    assert len(lines) == 6  # the duplicated "log line info 2" is kept
    assert lines[0].line == "log line info 1" and lines[0].timestamp_ns == 1645030247027735040
    assert lines[-1].line == "log line info 4"  # newest first (backward)
    error = next(line for line in lines if line.line == "log line error 1")
    assert error.labels == {"code": 'one",', "location": "moon🌙"}
    assert error.metadata == {}
    assert error.time == datetime(2022, 2, 16, 16, 50, 44, 810757, tzinfo=UTC)


def test_streams_structured_metadata_fixture() -> None:
    doc = shared_json("loki/grafana_loki_query_range_streams_structured_metadata.json")
    lines = parse_streams_answer(doc, "forward")
    assert [line.line for line in lines][:2] == ["log line info 4", "log line error 1"]
    assert lines[0].labels == {"code": '",two', "location": "moon🌙"}
    assert all(line.metadata == {} for line in lines)


def test_matrix_nan_fixture() -> None:
    [series] = parse_metric_answer(shared_json("loki/grafana_loki_query_range_matrix_nan.json"))
    assert series.labels == {}
    assert [s.timestamp for s in series] == [1643014450.417, 1643014750.417]
    assert all(math.isnan(v) for v in series.values)


def test_ours_streams_metadata_and_categorized_labels() -> None:
    lines = parse_streams_answer(ours_json("ours_loki_streams.json"))
    assert [line.timestamp_ns - T0_NS for line in lines] == [3_000_000_000, 2_000_000_000,
                                                             1_000_000_000]
    assert lines[0].metadata == {"trace_id": "0af7651916cd43dd8448eb211c80319c"}
    assert lines[0].labels == {"app": "checkout", "level": "error"}
    assert lines[1].line == 'GET /cart 200 "quoted" 12ms'
    categorized = {"status": "success", "data": {
        "resultType": "streams", "encodingFlags": ["categorize-labels"],
        "result": [{"stream": {"app": "x"}, "values": [
            ["1", "line", {"structuredMetadata": {"trace_id": "abc"}, "parsed": {"level": "warn"}}],
        ]}]}}
    [line] = parse_streams_answer(categorized)
    assert line.metadata == {"trace_id": "abc"} and line.labels == {"app": "x", "level": "warn"}


def test_result_type_mismatch_is_rejected() -> None:
    with pytest.raises(QueryRejected, match="metric query"):
        parse_streams_answer(ours_json("ours_loki_matrix.json"))
    with pytest.raises(QueryRejected, match="log lines"):
        parse_metric_answer(ours_json("ours_loki_streams.json"))


async def test_query_range_sends_window_limit_direction_tenant(
    fake: FakeBackend, session: Any
) -> None:
    fake.answer("/loki/api/v1/query_range", Reply(ours_bytes("ours_loki_streams.json")))
    client = LokiClient.create(fake.url, session, timeout=2, max_concurrency=2, tenant="team-a")
    lines = await client.query_range('{app="checkout"}', WINDOW, limit=2)
    assert len(lines) == 2 and lines[0].line.startswith("thread 'tokio-runtime-worker' panicked")
    [seen] = fake.seen
    assert seen.query == {"query": ['{app="checkout"}'], "start": [str(T0_NS)],
                          "end": [str(T0_NS + 300_000_000_000)], "limit": ["2"],
                          "direction": ["backward"]}
    assert seen.headers["X-Scope-OrgID"] == "team-a"


async def test_metric_queries(fake: FakeBackend, session: Any) -> None:
    fake.answer("/loki/api/v1/query_range", Reply(ours_bytes("ours_loki_matrix.json")))
    client = LokiClient.create(fake.url, session, timeout=2, max_concurrency=2)
    [series] = await client.metric_range("sum(count_over_time({app=\"x\"}[1m]))", WINDOW,
                                         timedelta(minutes=1))
    assert series.labels == {"level": "error"} and series.values[0] == 3.0
    assert series.values[2] == math.inf
    assert fake.seen[0].query["step"] == ["60"]
    assert "X-Scope-OrgID" not in fake.seen[0].headers
    fake.answer("/loki/api/v1/query", Reply(ours_bytes("ours_loki_matrix.json")))
    assert len(await client.metric_query('count_over_time({app="x"}[1h])', T0)) == 1


async def test_loki_plain_text_errors(fake: FakeBackend, session: Any) -> None:
    client = LokiClient.create(fake.url, session, timeout=2, max_concurrency=2)
    words = "parse error at line 1, col 6: syntax error: unexpected IDENTIFIER"
    fake.answer("/loki/api/v1/query_range", Reply(words + "\n", 400, "text/plain"))
    with pytest.raises(QueryRejected) as caught:
        await client.query_range("{app=x}", WINDOW)
    assert caught.value.message == words
    fake.answer("/loki/api/v1/query_range", Reply("context deadline exceeded", 504, "text/plain"))
    with pytest.raises(SourceTimeout, match="context deadline exceeded"):
        await client.query_range('{app="x"}', WINDOW)
    fake.answer("/loki/api/v1/query_range", Reply("not json at all"))
    with pytest.raises(SourceUnavailable, match="malformed JSON"):
        await client.query_range('{app="x"}', WINDOW)
    fake.answer("/loki/api/v1/query_range", Reply('{"status":"success","data":{}}'))
    with pytest.raises(SourceUnavailable,
                       match="answered with an unexpected shape: data: missing 'resultType'"):
        await client.query_range('{app="x"}', WINDOW)


async def test_limits_are_checked_before_asking(session: Any) -> None:
    client = LokiClient.create("http://127.0.0.1:9", session, timeout=1, max_concurrency=1)
    with pytest.raises(ValueError, match="limit"):
        await client.query_range('{app="x"}', WINDOW, limit=0)
    with pytest.raises(ValueError, match="direction"):
        await client.query_range('{app="x"}', WINDOW, direction="sideways")  # type: ignore[arg-type]
