"""OTLP JSON parsing: our own fixtures (always) and Tempo's AGPL ones (from ../shared)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.sources import SpanKind
from bot.sources.otlp import attribute_value, parse_otlp, span_kind
from bot.sources.tempo import parse_trace_answer
from tests.sources.conftest import ours_json, shared_json

TID = "0af7651916cd43dd8448eb211c80319c"


def test_span_kinds_in_every_spelling() -> None:
    assert span_kind(2) is SpanKind.SERVER
    assert span_kind("3") is SpanKind.CLIENT
    assert span_kind("SPAN_KIND_PRODUCER") is SpanKind.PRODUCER
    assert span_kind("consumer") is SpanKind.CONSUMER
    assert span_kind(9) is SpanKind.UNSPECIFIED
    assert span_kind("SPAN_KIND_WEIRD") is SpanKind.UNSPECIFIED


def test_attribute_values() -> None:
    assert attribute_value({"intValue": "9007199254740993"}) == 9007199254740993
    assert attribute_value({"doubleValue": 0.5}) == 0.5
    assert attribute_value({"boolValue": True}) is True
    assert attribute_value({"kvlistValue": {"values": [
        {"key": "b", "value": {"intValue": "1"}}, {"key": "a", "value": {"stringValue": "x"}}]}}
    ) == '{"a":"x","b":1}'
    assert attribute_value({}) == ""


def test_ours_tempo_v2_base64_ids_string_kinds_and_error_status() -> None:
    [trace] = parse_trace_answer(ours_json("ours_tempo_trace_v2.json"))
    assert trace.trace_id == TID
    assert (trace.root_service, trace.root_operation) == ("checkout", "POST /checkout")
    assert trace.start == datetime(2025, 11, 27, 11, 0, tzinfo=UTC)
    assert trace.duration == timedelta(milliseconds=1840)
    assert trace.services == ["checkout", "postgres"]
    root = trace.spans[0]
    assert root.kind is SpanKind.SERVER and root.error
    assert root.status_message == "upstream timed out"
    assert root.attributes == {"http.route": "/checkout", "http.status_code": 500, "retry": True,
                               "ratio": 0.25, "tags": '["a",2]'}
    db = next(s for s in trace.spans if s.operation == "SELECT orders")
    assert (db.span_id, db.parent_id, db.kind) == ("00f067aa0ba902b7", "b7ad6b7169203331",
                                                   SpanKind.CLIENT)
    assert not db.error and db.duration == timedelta(milliseconds=1450)
    assert [s.operation for s in trace.error_spans] == ["POST /checkout"]


def test_ours_tempo_v1_batches_hex_ids_numeric_kinds() -> None:
    [trace] = parse_trace_answer(ours_json("ours_tempo_trace_v1_batches.json"))
    assert trace.trace_id == TID and len(trace.spans) == 2
    assert trace.spans[0].error and trace.spans[1].kind is SpanKind.CLIENT


def test_tempo_vulture_fixture_base64() -> None:
    [trace] = parse_otlp(shared_json("tempo/tempo-vulture_trace_otlp.json"))
    assert trace.trace_id == "3149195ffb0bec05347b48efe8ecc1b0"  # MUkZX/sL7AU0e0jv6OzBsA==
    assert len(trace.spans) == 6 and trace.services == ["tempo-vulture"]
    assert trace.root_operation == "vulture-68"  # of two roots starting together, the longest
    by_name = {s.operation: s for s in trace.spans}
    assert by_name["vulture-68"].span_id == "4b23de25d1fb6641"  # SyPeJdH7ZkE=
    assert by_name["vulture-45"].parent_id == "4b23de25d1fb6641"
    assert by_name["vulture-38"].parent_id == by_name["vulture-36"].span_id
    assert by_name["vulture-96"].duration == timedelta(microseconds=89)
    assert trace.duration == timedelta(microseconds=92)


def test_tempo_failed_requests_fixture() -> None:
    [trace] = parse_otlp(shared_json(
        "tempo/tempo_servicegraphs_trace-with-failed-requests_otlp.json"))
    assert trace.trace_id == "e8b6dff9f8d44b28f1b22bc3bd2f6768"
    assert len(trace.spans) == 15
    assert (trace.root_service, trace.root_operation) == ("mythical-requester", "requester")
    assert trace.spans[0].kind is SpanKind.CLIENT
    assert trace.duration == timedelta(microseconds=25622)
    assert sorted(s.operation for s in trace.error_spans) == [
        "POST /:endpoint", "pg.query:INSERT", "requester"]
    insert = next(s for s in trace.spans if s.operation == "pg.query:INSERT")
    assert insert.status_message == (
        'null value in column "name" of relation "illithid" violates not-null constraint')
    assert insert.attributes["db.system"] == "postgresql"
    server = next(s for s in trace.spans if s.operation == "POST /:endpoint")
    assert server.service == "mythical-server" and server.kind is SpanKind.SERVER
    assert len(trace.children(server.span_id)) == 6


def test_tempo_v1_batches_fixture_hex_ids() -> None:
    [trace] = parse_trace_answer(shared_json("tempo/tempo_tempopb_trace_batches.json"))
    assert trace.trace_id == "5b8efff798038103d269b633813fc60c"
    [only] = trace.spans
    assert (only.span_id, only.parent_id) == ("eee19b7ec3c1b174", "eee19b7ec3c1b173")
    assert only.kind is SpanKind.SERVER and only.service == "my.service"
    assert only.duration == timedelta(seconds=1)
    assert only.attributes == {"my.span.attr": "some value"}
    assert trace.root_operation == "I'm a server span"
