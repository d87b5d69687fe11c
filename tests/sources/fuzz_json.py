"""hypothesis strategies for backend answers: arbitrary JSON, and real answers mutated.

Arbitrary JSON alone rarely gets past a parser's first check, so keys are drawn mostly from
the vocabulary of the APIs (``data``, ``resultType``, ``spans``, ``traceID``, ...), and real
fixtures are mutated: a few places in the tree get their value replaced by arbitrary JSON or
their key deleted, which reaches the deep parts of each parser.
"""

from __future__ import annotations

import json
import os
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

# Examples per strategy and parser; FUZZ_EXAMPLES=5000 for a long run. (A settings object,
# not a profile: loading a profile would change every other hypothesis test too.)
FUZZ = settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", "150")), deadline=None,
                suppress_health_check=[HealthCheck.too_slow])

VOCABULARY = [
    # Prometheus and Loki
    "status", "data", "resultType", "result", "metric", "value", "values", "warnings",
    "errorType", "error", "seriesLabels", "exemplars", "labels", "timestamp", "stream",
    "encodingFlags", "structuredMetadata", "parsed", "histogram", "histograms",
    "vector", "matrix", "scalar", "string", "streams", "success", "categorize-labels",
    # Jaeger
    "traceID", "spanID", "spans", "processes", "processID", "process", "serviceName",
    "references", "refType", "CHILD_OF", "parentSpanID", "startTime", "duration", "tags",
    "key", "type", "int64", "float64", "bool", "operationName", "errors", "msg",
    # OTLP and Tempo
    "resourceSpans", "batches", "scopeSpans", "instrumentationLibrarySpans", "resource",
    "attributes", "traceId", "spanId", "parentSpanId", "name", "kind", "startTimeUnixNano",
    "endTimeUnixNano", "stringValue", "intValue", "doubleValue", "boolValue", "arrayValue",
    "kvlistValue", "bytesValue", "code", "message", "trace", "traces", "rootServiceName",
    "rootTraceName", "durationMs", "service.name",
]

_keys = st.one_of(st.sampled_from(VOCABULARY), st.text(max_size=8))
_numbers = st.one_of(
    st.integers(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, -1, 2**53, 2**63, 10**30, 1e308, -1e308]),
)
_strings = st.one_of(
    st.text(max_size=20),
    st.sampled_from(["", "0", "NaN", "+Inf", "-Inf", "1e400", "9" * 40, "abc",
                     "4bf92f3577b34da6a3ce929d0e0e4736", "AAAAAAAAAAAAAAAAAAAAAA==",
                     "SPAN_KIND_SERVER", "STATUS_CODE_ERROR", "1700000000.5"]),
)
scalars = st.one_of(st.none(), st.booleans(), _numbers, _strings)
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(st.lists(children, max_size=4),
                               st.dictionaries(_keys, children, max_size=5)),
    max_leaves=25,
)


def _paths(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in the tree (the root excluded), depth first."""
    found: list[tuple[Any, ...]] = []
    items = doc.items() if isinstance(doc, dict) else enumerate(doc) \
        if isinstance(doc, list) else ()
    for key, child in items:
        found.append((*prefix, key))
        found.extend(_paths(child, (*prefix, key)))
    return found


def _apply(doc: Any, path: tuple[Any, ...], new: Any, delete: bool) -> None:
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    if delete:
        del parent[path[-1]]
    else:
        parent[path[-1]] = new


@st.composite
def mutated(draw: st.DrawFn, original: Any) -> Any:
    """A deep copy of ``original`` with 1-3 places replaced by arbitrary JSON or deleted."""
    doc = json.loads(json.dumps(original))
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(doc)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        _apply(doc, path, draw(json_values), delete=draw(st.booleans()))
    return doc


@st.composite
def mangled_bytes(draw: st.DrawFn, original: bytes) -> bytes:
    """``original`` truncated, or with a few bytes overwritten (invalid JSON mostly)."""
    data = bytearray(original)
    if draw(st.booleans()):
        return bytes(data[: draw(st.integers(0, len(data)))])
    for _ in range(draw(st.integers(1, 4))):
        if data:
            data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    return bytes(data)
