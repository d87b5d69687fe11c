"""Property tests: every source parser raises only the project's own errors, whatever it reads.

For each parser (Prometheus query/exemplars/names, Loki streams/metric, Jaeger legacy/trace/
api_v3, Tempo search/trace, OTLP JSON), three kinds of input: arbitrary JSON with the APIs'
vocabulary as keys, real fixtures mutated in 1-3 places, and fixture bytes truncated or
overwritten. The parser itself may raise only ShapeError (JSON of the wrong shape, which the
HTTP boundary reports as "answered with an unexpected shape"), SourceError or InputError;
a KeyError, TypeError, OverflowError or the like is a bug in the parser (the boundary's
safety net would hide it, so it is not used here). Run longer with FUZZ_EXAMPLES=5000.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.errors import InputError, SourceError, SourceUnavailable
from bot.sources.http import decode_answer
from bot.sources.jaeger import (
    loads_ndjson,
    parse_jaeger_answer,
    parse_jaeger_trace,
    parse_v3_answer,
)
from bot.sources.loki import parse_metric_answer, parse_streams_answer
from bot.sources.otlp import parse_otlp
from bot.sources.prometheus import parse_exemplars_answer, parse_names_answer, parse_query_answer
from bot.sources.shape import ShapeError
from bot.sources.tempo import parse_search_answer, parse_trace_answer
from tests.sources.conftest import REAL, SHARED_REAL, ours_bytes, ours_json
from tests.sources.fuzz_json import FUZZ, json_values, mangled_bytes, mutated

ALLOWED = (ShapeError, SourceError, InputError)


def _real(relative: str) -> bytes:
    return (REAL / relative).read_bytes()


def _shared(relative: str) -> list[bytes]:
    """AGPL fixtures are read from ../shared when it is there (never copied into the repo)."""
    path = SHARED_REAL / relative
    return [path.read_bytes()] if path.exists() else []


def _wrapped(relative: str) -> bytes:
    return json.dumps({"data": [json.loads(_real(relative))], "errors": None}).encode()


@dataclass(frozen=True)
class Parser:
    """A parser as the client calls it, with real answers of its kind."""

    name: str
    parse: Callable[[Any], Any]
    fixtures: tuple[bytes, ...]
    loads: Callable[[bytes], Any] = json.loads


PARSERS = [
    Parser("prometheus-query", parse_query_answer, (
        _real("prometheus/prometheus_docs_api_v1_query_vector.json"),
        _real("prometheus/prometheus_docs_api_v1_query_range_matrix.json"),
        _real("prometheus/jaeger_metricstore_prometheus_warning_response.json"),
        b'{"status":"success","data":{"resultType":"scalar","result":[1700000000.5,"2"]}}',
        b'{"status":"success","data":{"resultType":"string","result":[1700000000.5,"x"]}}',
        b'{"status":"success","warnings":["partial"],"data":{"resultType":"vector",'
        b'"result":[{"metric":{"a":"b"},"histogram":[1,{"count":"2"}]}]}}',
    )),
    Parser("prometheus-exemplars", parse_exemplars_answer,
           (_real("prometheus/prometheus_docs_api_v1_query_exemplars.json"),)),
    Parser("prometheus-names", parse_names_answer,
           (b'{"status":"success","data":["up","process_resident_memory_bytes"]}',)),
    Parser("loki-streams", parse_streams_answer, (
        ours_bytes("ours_loki_streams.json"),
        *_shared("loki/grafana_loki_query_range_streams_simple.json"),
        *_shared("loki/grafana_loki_query_range_streams_structured_metadata.json"),
    )),
    Parser("loki-matrix", parse_metric_answer, (
        ours_bytes("ours_loki_matrix.json"),
        *_shared("loki/grafana_loki_query_range_matrix_nan.json"),
    )),
    Parser("jaeger-legacy", parse_jaeger_answer, (
        _real("jaeger/jaeger_api_traces_otlp2jaeger-out.json"),
        _wrapped("jaeger/jaeger-ui_trace_testTraceNormal.json"),
        _wrapped("jaeger/jaeger_uimodel_trace_ui_01.json"),
    )),
    Parser("jaeger-trace", parse_jaeger_trace, (
        _real("jaeger/jaeger-ui_trace_testTraceNormal.json"),
        _real("jaeger/jaeger_uimodel_trace_ui_01.json"),
    )),
    Parser("jaeger-v3", parse_v3_answer, (ours_bytes("ours_jaeger_v3_find.json"),),
           loads=loads_ndjson),
    Parser("tempo-search", parse_search_answer, (ours_bytes("ours_tempo_search.json"),)),
    Parser("tempo-trace", parse_trace_answer, (
        ours_bytes("ours_tempo_trace_v2.json"),
        ours_bytes("ours_tempo_trace_v1_batches.json"),
    )),
    Parser("otlp", parse_otlp, (
        json.dumps(ours_json("ours_tempo_trace_v2.json")["trace"]).encode(),
        ours_bytes("ours_tempo_trace_v1_batches.json"),
    )),
]
IDS = [parser.name for parser in PARSERS]


def only_our_errors(parser: Parser, body: bytes) -> None:
    """Parse ``body`` as the client would; only our errors may escape."""
    try:
        doc = parser.loads(body)
    except (ValueError, RecursionError):
        # Not JSON: the boundary says so.
        with pytest.raises(SourceUnavailable, match="malformed JSON"):
            decode_answer("fuzz", body, parser.parse, parser.loads)
        return
    with contextlib.suppress(ALLOWED):
        parser.parse(doc)


@pytest.mark.parametrize("parser", PARSERS, ids=IDS)
def test_fixtures_parse(parser: Parser) -> None:
    """The unmutated fixtures are understood (a string result is refused on purpose)."""
    for body in parser.fixtures:
        if b'"resultType":"string"' in body:
            with pytest.raises(SourceError, match="a string, not numbers"):
                parser.parse(parser.loads(body))
        else:
            parser.parse(parser.loads(body))


@pytest.mark.parametrize("parser", PARSERS, ids=IDS)
@FUZZ
@given(data=st.data())
def test_arbitrary_json(parser: Parser, data: st.DataObject) -> None:
    only_our_errors(parser, json.dumps(data.draw(json_values)).encode())


@pytest.mark.parametrize("parser", PARSERS, ids=IDS)
@FUZZ
@given(data=st.data())
def test_mutated_fixtures(parser: Parser, data: st.DataObject) -> None:
    original = data.draw(st.sampled_from(parser.fixtures))
    doc = data.draw(mutated(json.loads(original)))
    body = json.dumps(doc).encode()
    only_our_errors(parser, body)


@pytest.mark.parametrize("parser", PARSERS, ids=IDS)
@FUZZ
@given(data=st.data())
def test_mangled_bytes(parser: Parser, data: st.DataObject) -> None:
    original = data.draw(st.sampled_from(parser.fixtures))
    only_our_errors(parser, data.draw(mangled_bytes(original)))
