"""Tempo: search answers, TraceQL building, and the client against a local fake Tempo."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.errors import QueryRejected, SourceTimeout
from bot.sources import TempoClient, TimeWindow, TraceSearch
from bot.sources.tempo import parse_search_answer, traceql_for
from tests.sources.conftest import FakeBackend, Reply, ours_bytes, ours_json, shared_json

T0 = datetime(2025, 11, 27, 10, 30, tzinfo=UTC)
WINDOW = TimeWindow(T0, T0 + timedelta(minutes=30, seconds=0.5))
TID = "0af7651916cd43dd8448eb211c80319c"


def test_search_docs_fixture() -> None:
    hits = parse_search_answer(shared_json("tempo/tempo_api_search_tags_docs_example.json"))
    assert [h.trace_id for h in hits] == ["d6e9329d67b6146a", "1b1ba462b409200d"]
    assert {(h.root_service, h.root_operation) for h in hits} == {("frontend", "/cart")}
    assert hits[0].duration == timedelta(milliseconds=611)
    assert hits[0].start == datetime(2021, 10, 20, 11, 5, 3, 545000, tzinfo=UTC)


def test_search_ours_pads_ids_sorts_slowest_first_and_tolerates_gaps() -> None:
    hits = parse_search_answer(ours_json("ours_tempo_search.json"))
    assert [h.trace_id for h in hits] == [
        "d6e9329d67b6146a", "02f3e0cee77ae5dc9c17ade3689eb2e5", "1b1ba462b409200d"]
    assert hits[0].duration == timedelta(milliseconds=2210)
    assert hits[2].duration == timedelta(0) and hits[2].root_operation == ""


def test_traceql_quotes_every_value() -> None:
    query = TraceSearch('check"out', WINDOW, operation="GET /a\\b",
                        min_duration=timedelta(milliseconds=250))
    assert traceql_for(query) == (
        r'{ resource.service.name = "check\"out" && name = "GET /a\\b"'
        r" && traceDuration >= 250000us }"
    )


async def test_search_sends_traceql_window_and_limit(fake: FakeBackend, session: Any) -> None:
    fake.answer("/api/search", Reply(ours_bytes("ours_tempo_search.json")))
    client = TempoClient.create(fake.url, session, timeout=2, max_concurrency=2)
    hits = await client.search(TraceSearch("checkout", WINDOW, limit=3,
                                           min_duration=timedelta(seconds=1)))
    assert len(hits) == 3
    [seen] = fake.seen
    assert seen.query == {
        "q": ['{ resource.service.name = "checkout" && traceDuration >= 1000000us }'],
        "limit": ["3"], "start": [str(int(T0.timestamp()))],
        "end": [str(int(T0.timestamp()) + 1801)], "minDuration": ["1000000us"],
    }
    assert seen.headers["Accept"] == "application/json"


async def test_trace_by_id_v2(fake: FakeBackend, session: Any) -> None:
    fake.answer(f"/api/v2/traces/{TID}", Reply(ours_bytes("ours_tempo_trace_v2.json")))
    client = TempoClient.create(fake.url, session, timeout=2, max_concurrency=2)
    trace = await client.trace(TID)
    assert trace is not None and trace.root_operation == "POST /checkout"
    assert client.api == "v2"
    assert await client.trace("ffffffffffffffffffffffffffffffff") is None
    assert not fake.hits("/api/traces/ffffffffffffffffffffffffffffffff")  # v2 is known: no v1


async def test_trace_by_id_falls_back_to_v1_batches(fake: FakeBackend, session: Any) -> None:
    fake.answer(f"/api/traces/{TID}", Reply(ours_bytes("ours_tempo_trace_v1_batches.json")))
    client = TempoClient.create(fake.url, session, timeout=2, max_concurrency=2)
    trace = await client.trace(TID)
    assert trace is not None and len(trace.spans) == 2 and client.api == "v1"
    await client.trace(TID)
    assert len(fake.hits(f"/api/v2/traces/{TID}")) == 1


async def test_tempo_errors_carry_its_text(fake: FakeBackend, session: Any) -> None:
    words = "invalid TraceQL query: parse error at line 1, col 3: syntax error"
    fake.answer("/api/search", Reply(words, status=400, content_type="text/plain"))
    client = TempoClient.create(fake.url, session, timeout=2, max_concurrency=2)
    with pytest.raises(QueryRejected) as caught:
        await client.search_traceql("{ .a = }", WINDOW)
    assert caught.value.message == words and caught.value.backend == "tempo"


async def test_slow_tempo_times_out_quickly(fake: FakeBackend, session: Any) -> None:
    fake.answer("/api/search", Reply(ours_bytes("ours_tempo_search.json"), delay=10))
    client = TempoClient.create(fake.url, session, timeout=0.3, max_concurrency=2)
    started = time.monotonic()
    with pytest.raises(SourceTimeout, match=r"within 0.3s"):
        await client.search(TraceSearch("checkout", WINDOW))
    assert time.monotonic() - started < 1.0
