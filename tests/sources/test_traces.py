"""The trace model: ids, roots, duplicates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.errors import InputError
from bot.sources import Span, SpanKind, TimeWindow, TraceSearch, parse_trace_id
from bot.sources.traces import build_trace, decode_id, go_duration

T0 = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def span(span_id: str, parent: str | None, start_ms: int, dur_ms: int, op: str = "op") -> Span:
    return Span(span_id, parent, "svc", op, SpanKind.SERVER, T0 + timedelta(milliseconds=start_ms),
                timedelta(milliseconds=dur_ms), {}, error=False)


def test_decode_id_hex_base64_and_padding() -> None:
    assert decode_id("5B8EFFF798038103D269B633813FC60C") == "5b8efff798038103d269b633813fc60c"
    assert decode_id("MUkZX/sL7AU0e0jv6OzBsA==") == "3149195ffb0bec05347b48efe8ecc1b0"
    assert decode_id("SyPeJdH7ZkE=") == "4b23de25d1fb6641"
    # Tempo drops leading zeros from hex ids.
    assert decode_id("2f3e0cee77ae5dc9c17ade3689eb2e5") == "02f3e0cee77ae5dc9c17ade3689eb2e5"
    assert decode_id("1") == "0000000000000001"
    for bad in ("", "not an id", "EpTxMJ40fUus7aGY", "a" * 33):
        with pytest.raises(ValueError):
            decode_id(bad)


def test_parse_trace_id_is_the_gate_for_user_input() -> None:
    tid = "4bf92f3577b34da6a3ce929d0e0e4736"
    assert parse_trace_id(f" {tid.upper()} ") == tid
    assert parse_trace_id("00f067aa0ba902b7") == "00f067aa0ba902b7"
    for bad in ("../../admin", "4bf92f3577b34da6a3ce929d0e0e473", "g" * 32, "1234", "a/b" * 6):
        with pytest.raises(InputError, match="not a trace id"):
            parse_trace_id(bad)


def test_build_trace_finds_root_sorts_and_drops_exact_duplicates() -> None:
    root = span("aaaaaaaaaaaaaaaa", None, 0, 100, "GET /")
    child = span("bbbbbbbbbbbbbbbb", "aaaaaaaaaaaaaaaa", 10, 200)
    trace = build_trace("t", [child, root, child])
    assert [s.span_id for s in trace.spans] == ["aaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbb"]
    assert (trace.root_operation, trace.start) == ("GET /", T0)
    assert trace.duration == timedelta(milliseconds=210)  # the child outlives the root
    assert trace.children("aaaaaaaaaaaaaaaa") == [child]
    assert trace.summary().trace_id == "t"


def test_build_trace_without_root_uses_earliest_orphan() -> None:
    orphan = span("cccccccccccccccc", "ffffffffffffffff", 5, 10, "late")
    first = span("dddddddddddddddd", "eeeeeeeeeeeeeeee", 0, 10, "early")
    assert build_trace("t", [orphan, first]).root_operation == "early"
    with pytest.raises(ValueError, match="no spans"):
        build_trace("t", [])


def test_trace_search_validation_and_go_durations() -> None:
    window = TimeWindow(T0, T0 + timedelta(hours=1))
    with pytest.raises(ValueError):
        TraceSearch("", window)
    with pytest.raises(ValueError):
        TraceSearch("checkout", window, limit=0)
    assert go_duration(timedelta(milliseconds=1500)) == "1500000us"
