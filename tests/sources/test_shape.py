"""Wrong shapes are SourceErrors that say where: the cases the old parsers crashed on or hid."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from bot.errors import SourceUnavailable
from bot.sources.http import decode_answer
from bot.sources.jaeger import loads_ndjson, parse_jaeger_answer, parse_v3_answer
from bot.sources.loki import parse_streams_answer
from bot.sources.otlp import parse_otlp
from bot.sources.prometheus import parse_query_answer
from bot.sources.shape import ShapeError, as_float, as_int, as_list, as_timestamp
from bot.sources.tempo import parse_search_answer, parse_trace_answer


def shape_error(parse: Callable[[Any], Any], doc: Any, *,
                loads: Callable[[bytes], Any] = json.loads) -> str:
    """The message of the SourceError the boundary raises for ``doc``."""
    with pytest.raises(SourceUnavailable) as caught:
        decode_answer("x", json.dumps(doc).encode(), parse, loads)
    return caught.value.message


def test_times_a_datetime_cannot_hold() -> None:
    # Was an OverflowError escaping the step (the boundary did not catch it).
    hit = {"traceID": "4bf92f3577b34da6", "startTimeUnixNano": "9" * 25}
    assert "not an integer in range" in shape_error(parse_search_answer, {"traces": [hit]})
    span = {"spanID": "00f067aa0ba902b7", "startTime": 9 * 10**18}  # µs: year 285,000
    trace = {"traceID": "4bf92f3577b34da6", "spans": [span]}
    assert "time out of range" in shape_error(parse_jaeger_answer, {"data": [trace]})
    vector = {"status": "success",
              "data": {"resultType": "vector", "result": [{"value": [1e300, "1"]}]}}
    assert shape_error(parse_query_answer, vector) == (
        "answered with an unexpected shape: data.result[0].value: not a time: '1e+300'")


def test_wrong_containers_are_not_empty_results() -> None:
    # Each of these used to come back as "no traces" / "no hits".
    assert shape_error(parse_search_answer, {"traces": {}}) == (
        "answered with an unexpected shape: traces: expected a list, got an object")
    assert "expected 'resourceSpans' or 'batches'" in shape_error(
        parse_trace_answer, {"trace": {"spans": []}})
    assert "missing 'data'" in shape_error(parse_jaeger_answer, {"result": []})
    assert "expected 'resourceSpans' or 'batches'" in shape_error(
        parse_v3_answer, {"result": {"traces": []}}, loads=loads_ndjson)
    assert shape_error(parse_search_answer, []) == (
        "answered with an unexpected shape: answer: expected an object, got a list")


def test_empty_answers_that_really_are_empty() -> None:
    assert parse_search_answer({"metrics": {"inspectedBytes": "10"}}) == []
    assert parse_trace_answer({"trace": {}}) == []
    assert parse_otlp({}) == []
    assert parse_jaeger_answer({"data": None, "errors": None}) == []


def test_jaeger_errors_without_data_are_raised() -> None:
    message = shape_error(parse_jaeger_answer,
                          {"data": None, "errors": [{"code": 500, "msg": "storage down"}]})
    assert message == "storage down"


def test_ids_and_nesting() -> None:
    span = {"traceId": 5, "spanId": "00f067aa0ba902b7"}
    doc = {"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]}
    assert "expected a trace or span id as a string, got int" in shape_error(parse_otlp, doc)
    nested: dict[str, Any] = {"stringValue": "x"}
    for _ in range(40):
        nested = {"arrayValue": {"values": [nested]}}
    span = {"traceId": "4bf92f3577b34da6", "spanId": "00f067aa0ba902b7",
            "attributes": [{"key": "deep", "value": nested}]}
    doc = {"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]}
    assert "nested deeper than 32 levels" in shape_error(parse_otlp, doc)


def test_loki_entries() -> None:
    def streams(value: list[Any]) -> dict[str, Any]:
        return {"status": "success", "data": {"resultType": "streams",
                                              "result": [{"stream": {}, "values": [value]}]}}

    assert "expected [timestamp, line(, metadata)], got 1 items" in shape_error(
        parse_streams_answer, streams(["1"]))
    assert "negative timestamp" in shape_error(parse_streams_answer, streams(["-5", "line"]))
    assert "[1]: expected a string, got a number" in shape_error(
        parse_streams_answer, streams(["1", 7]))


def test_shape_helpers() -> None:
    assert as_float("+Inf", "x") == float("inf")
    assert as_int("9007199254740993", "x") == 9007199254740993
    assert as_list(None, "x", null_is_empty=True) == []
    with pytest.raises(ShapeError, match="x: expected a number, got a boolean"):
        as_float(True, "x")
    with pytest.raises(ShapeError, match="not an integer in range"):
        as_int(float("nan"), "x")
    with pytest.raises(ShapeError, match="not a time"):
        as_timestamp("NaN", "x")
    with pytest.raises(ShapeError, match="expected a list, got null"):
        as_list(None, "x")
