"""Jaeger: legacy JSON and api_v3 parsing, and the client against a local fake Jaeger."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.errors import InputError, QueryRejected, SourceUnavailable
from bot.sources import JaegerClient, SpanKind, TimeWindow, TraceSearch
from bot.sources.jaeger import (
    loads_ndjson,
    parse_jaeger_answer,
    parse_jaeger_trace,
    parse_v3_answer,
)
from tests.sources.conftest import FakeBackend, Reply, ours_bytes, real_bytes, real_json

T0 = datetime(2025, 11, 27, 10, 30, tzinfo=UTC)
WINDOW = TimeWindow(T0, T0 + timedelta(hours=1))
TID = "0af7651916cd43dd8448eb211c80319c"
V3_NOT_FOUND = '{"error":{"httpCode":404,"message":"No traces found"}}'


def test_jaeger_ui_trace_normal() -> None:
    trace = parse_jaeger_trace(real_json("jaeger/jaeger-ui_trace_testTraceNormal.json"))
    assert trace.trace_id == "4766f1209f70a5e2e55417fc296fd101"
    assert len(trace.spans) == 5
    assert (trace.root_service, trace.root_operation) == (
        "api-gateway", "GET /api/customer/owners/8/pets/10")
    assert trace.start == datetime(2020, 1, 15, 6, 44, 35, 83000, tzinfo=UTC)
    assert trace.duration == timedelta(microseconds=4902)
    assert sorted(trace.services) == ["api-gateway", "customers-service"]
    by_id = {s.span_id: s for s in trace.spans}
    assert by_id["622a5079b565623e"].parent_id == "e821b549888cbc3b"
    assert by_id["e821b549888cbc3b"].parent_id == "22be69e72cbcde0b"
    assert by_id["22be69e72cbcde0b"].kind is SpanKind.CLIENT
    assert by_id["e821b549888cbc3b"].kind is SpanKind.SERVER
    assert by_id["622a5079b565623e"].attributes["sql"] == "select * from pet"
    assert by_id["4085dddb47429851"].duration == timedelta(microseconds=21)
    assert not trace.error_spans


def test_jaeger_ui_model_tags_refs_and_errors() -> None:
    trace = parse_jaeger_trace(real_json("jaeger/jaeger_uimodel_trace_ui_01.json"))
    assert trace.trace_id == "0000000000000001"
    assert len(trace.spans) == 5  # two spans share id ...02 (Zipkin style) and are both kept
    assert trace.services == ["service-x", "service-y"]
    [failed] = trace.error_spans
    assert failed.operation == "some-operation" and failed.service == "service-x"
    assert failed.attributes["javascript_limit"] == 9223372036854775222
    assert failed.attributes["temperature"] == 72.5
    assert failed.attributes["peer.ipv4"] == 23456
    assert failed.attributes["blob"] == "AAAwOQ=="
    ref_test = next(s for s in trace.spans if s.operation == "reference-test")
    assert ref_test.parent_id == "0000000000000002"  # the ref into another trace is skipped
    assert next(s for s in trace.spans if s.operation == "preserveParentID-test").parent_id == (
        "0000000000000004")


def test_jaeger_api_envelope_drops_the_duplicated_span() -> None:
    [trace] = parse_jaeger_answer(real_json("jaeger/jaeger_api_traces_otlp2jaeger-out.json"))
    assert trace.trace_id == "83a9efd15c1c98a977e0711cc93ee28b"
    [only] = trace.spans  # the fixture lists the same span twice
    assert (only.service, only.operation, only.kind) == ("telemetrygen", "okey-dokey-0",
                                                         SpanKind.SERVER)
    assert only.parent_id == "909541b92cf05311"  # parent not in the trace: still the root
    assert trace.root_operation == "okey-dokey-0"
    assert only.duration == timedelta(microseconds=123)
    assert only.attributes["peer.service"] == "telemetrygen-client"


def test_v3_answer_groups_spans_by_trace() -> None:
    traces = parse_v3_answer(loads_ndjson(ours_bytes("ours_jaeger_v3_find.json")))
    assert [t.trace_id for t in traces] == [TID, "4bf92f3577b34da6a3ce929d0e0e4736"]
    assert len(traces[0].spans) == 2 and traces[0].services == ["checkout", "postgres"]
    assert traces[0].spans[0].error and traces[0].spans[0].status_message == "upstream timed out"


def test_v3_answer_streamed_as_ndjson() -> None:
    chunk = ours_bytes("ours_jaeger_v3_find.json").replace(b"\n", b"")
    traces = parse_v3_answer(loads_ndjson(chunk + b"\n" + chunk + b"\n"))
    assert len(traces) == 2 and len(traces[0].spans) == 2  # same spans twice: deduplicated


def search(**kwargs: Any) -> TraceSearch:
    return TraceSearch("checkout", WINDOW, **kwargs)


async def test_search_through_api_v3(fake: FakeBackend, session: Any) -> None:
    fake.answer("/api/v3/traces", Reply(ours_bytes("ours_jaeger_v3_find.json")))
    client = JaegerClient.create(fake.url, session, timeout=2, max_concurrency=2)
    hits = await client.search(search(operation="POST /checkout",
                                      min_duration=timedelta(milliseconds=1500), limit=5))
    assert [h.trace_id for h in hits] == [TID, "4bf92f3577b34da6a3ce929d0e0e4736"]
    assert hits[0].duration == timedelta(milliseconds=1840)  # slowest first
    assert client.api == "v3"
    [seen] = fake.hits("/api/v3/traces")
    assert seen.query == {
        "query.service_name": ["checkout"], "query.operation_name": ["POST /checkout"],
        "query.start_time_min": ["2025-11-27T10:30:00Z"],
        "query.start_time_max": ["2025-11-27T11:30:00Z"],
        "query.duration_min": ["1500000us"], "query.num_traces": ["5"],
    }


async def test_api_v3_404_json_means_no_traces(fake: FakeBackend, session: Any) -> None:
    fake.answer("/api/v3/traces", Reply(V3_NOT_FOUND, status=404, content_type="text/plain"))
    client = JaegerClient.create(fake.url, session, timeout=2, max_concurrency=2)
    assert await client.search(search()) == []
    assert client.api == "v3" and not fake.hits("/api/traces")


async def test_falls_back_to_legacy_and_remembers(fake: FakeBackend, session: Any) -> None:
    fake.answer("/api/traces", Reply(real_bytes("jaeger/jaeger_api_traces_otlp2jaeger-out.json")))
    client = JaegerClient.create(fake.url, session, timeout=2, max_concurrency=2)
    [hit] = await client.search(search(min_duration=timedelta(seconds=2)))
    assert hit.trace_id == "83a9efd15c1c98a977e0711cc93ee28b"
    assert client.api == "legacy"
    await client.search(search())
    assert len(fake.hits("/api/v3/traces")) == 1  # asked once, then remembered
    first = fake.hits("/api/traces")[0]
    assert first.query["service"] == ["checkout"] and first.query["minDuration"] == ["2000000us"]
    assert first.query["start"] == [str(int(T0.timestamp() * 1_000_000))]


async def test_ui_html_at_api_v3_means_legacy(fake: FakeBackend, session: Any) -> None:
    fake.answer("/api/v3/traces", Reply("<!doctype html><html>Jaeger UI</html>",
                                        content_type="text/html"))
    fake.answer("/api/traces", Reply('{"data":[],"total":0,"limit":0,"offset":0,"errors":null}'))
    client = JaegerClient.create(fake.url, session, timeout=2, max_concurrency=2)
    assert await client.search(search()) == []
    assert client.api == "legacy"


async def test_trace_by_id_v3_and_legacy(fake: FakeBackend, session: Any) -> None:
    fake.answer(f"/api/v3/traces/{TID}", Reply(ours_bytes("ours_jaeger_v3_find.json")))
    client = JaegerClient.create(fake.url, session, timeout=2, max_concurrency=2)
    trace = await client.trace(TID.upper())
    assert trace is not None and trace.trace_id == TID and len(trace.spans) == 2

    legacy_id = "4766f1209f70a5e2e55417fc296fd101"
    body = b'{"data":[' + real_bytes("jaeger/jaeger-ui_trace_testTraceNormal.json") + b"]}"
    fake.answer(f"/api/traces/{legacy_id}", Reply(body))
    old = JaegerClient.create(fake.url, session, timeout=2, max_concurrency=2)
    trace = await old.trace(legacy_id)
    assert trace is not None and trace.root_service == "api-gateway" and old.api == "legacy"
    assert await old.trace("00000000000000000000000000000abc") is None


async def test_trace_not_found_in_v3(fake: FakeBackend, session: Any) -> None:
    fake.answer(f"/api/v3/traces/{TID}", Reply(V3_NOT_FOUND, status=404))
    client = JaegerClient.create(fake.url, session, timeout=2, max_concurrency=2)
    assert await client.trace(TID) is None
    assert client.api == "v3" and not fake.hits(f"/api/traces/{TID}")


async def test_bad_trace_id_never_reaches_the_backend(fake: FakeBackend, session: Any) -> None:
    client = JaegerClient.create(fake.url, session, timeout=2, max_concurrency=2)
    with pytest.raises(InputError):
        await client.trace("../../api/services")
    assert fake.seen == []


async def test_errors_are_typed_with_jaeger_words(fake: FakeBackend, session: Any) -> None:
    bad = '{"error":{"httpCode":400,"message":"malformed parameter query.duration_min"}}'
    fake.answer("/api/v3/traces", Reply(bad, status=400))
    client = JaegerClient.create(fake.url, session, timeout=2, max_concurrency=2)
    with pytest.raises(QueryRejected, match=r"malformed parameter query\.duration_min"):
        await client.search(search())
    fake.answer("/api/v3/traces", Reply("storage exploded", status=500, content_type="text/plain"))
    with pytest.raises(SourceUnavailable, match="HTTP 500: storage exploded"):
        await client.search(search())
    fake.answer("/api/v3/traces", Reply('{"result": {"resourceSpans": [{"scopeSpans": [{'))
    with pytest.raises(SourceUnavailable, match="malformed JSON"):
        await client.search(search())
