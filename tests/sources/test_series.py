"""Parsing Prometheus answers (real fixtures from the Prometheus docs and from Jaeger)."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest

from bot.errors import QueryRejected, SourceTimeout, SourceUnavailable
from bot.sources.prometheus import api_error
from bot.sources.series import parse_exemplars, parse_result, result_type_of
from tests.sources.conftest import real_json


def test_vector_fixture() -> None:
    doc = real_json("prometheus/prometheus_docs_api_v1_query_vector.json")
    result = doc["data"]["result"]
    assert result_type_of(result) == "vector"
    series = parse_result("vector", result)
    assert [s.labels["job"] for s in series] == ["prometheus", "node"]
    assert [s.labels["instance"] for s in series] == ["localhost:9090", "localhost:9100"]
    assert all(s.name == "up" for s in series)
    assert [s.last.value for s in series if s.last] == [1.0, 0.0]
    assert series[0].samples[0].timestamp == 1435781451.781
    assert series[0].samples[0].time == datetime(2015, 7, 1, 20, 10, 51, 781000, tzinfo=UTC)


def test_matrix_fixture() -> None:
    doc = real_json("prometheus/prometheus_docs_api_v1_query_range_matrix.json")
    result = doc["data"]["result"]
    assert result_type_of(result) == "matrix"
    series = parse_result("matrix", result)
    assert len(series) == 2
    assert series[1].labels == {"__name__": "up", "job": "node", "instance": "localhost:9091"}
    assert series[1].values == [0.0, 0.0, 1.0]
    assert [p.timestamp for p in series[0]] == [1435781430.781, 1435781445.781, 1435781460.781]


def test_exemplars_fixture() -> None:
    doc = real_json("prometheus/prometheus_docs_api_v1_query_exemplars.json")
    found = parse_exemplars(doc["data"])
    assert [s.labels["service"] for s in found] == ["bar", "foo"]
    assert [e.trace_id for s in found for e in s.exemplars] == [
        "EpTxMJ40fUus7aGY", "Olp9XHlq763ccsfa", "hCtjygkIHwAN9vs4",
    ]
    assert [e.value for e in found[1].exemplars] == [19.0, 20.0]
    assert found[1].exemplars[1].timestamp == 1600096965.489
    assert found[0].labels["__name__"] == "test_exemplar_metric_total"


def test_warning_fixture_parses_as_empty_matrix() -> None:
    doc = real_json("prometheus/jaeger_metricstore_prometheus_warning_response.json")
    assert doc["status"] == "warning"
    assert doc["warnings"] == ["warning0", "warning1"]
    assert parse_result(doc["data"]["resultType"], doc["data"]["result"]) == []


def test_special_float_values_and_scalars() -> None:
    series = parse_result("matrix", [{"metric": {}, "values": [[1, "NaN"], [2, "+Inf"],
                                                                [3, "-Inf"]]}])
    values = series[0].values
    assert math.isnan(values[0]) and values[1] == math.inf and values[2] == -math.inf
    assert result_type_of([1700000000.5, "2"]) == "scalar"
    scalar = parse_result("scalar", [1700000000.5, "2"])
    assert scalar[0].labels == {} and scalar[0].values == [2.0]
    assert result_type_of([1700000000.5, "hello"]) == "string"
    assert result_type_of([]) == "vector"
    with pytest.raises(ValueError, match="not a vector"):
        parse_result("string", [1, "x"])


def test_native_histogram_samples_are_left_out() -> None:
    result = [{"metric": {"__name__": "h"}, "histogram": [1, {"count": "3"}]}]
    assert parse_result("vector", result)[0].samples == ()


def test_prometheus_error_bodies_become_typed_errors() -> None:
    bad = b'{"status":"error","errorType":"bad_data","error":"1:6: parse error: unclosed"}'
    rejected = api_error(400, bad)
    assert isinstance(rejected, QueryRejected) and rejected.message == "1:6: parse error: unclosed"
    execution = api_error(422, b'{"status":"error","errorType":"execution","error":"many-to-one"}')
    assert isinstance(execution, QueryRejected) and execution.message == "many-to-one"
    slow = api_error(503, b'{"status":"error","errorType":"timeout","error":"query timed out"}')
    assert isinstance(slow, SourceTimeout) and slow.message == "query timed out"
    down = api_error(502, b"<html>Bad Gateway</html>")
    assert isinstance(down, SourceUnavailable) and "HTTP 502" in down.message
