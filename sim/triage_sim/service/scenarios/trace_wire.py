"""Simulated traces in each tracing backend's JSON: OTLP (Jaeger api_v3, Tempo), Jaeger legacy.

The shapes are those ``bot.sources`` reads from the real backends (checked against their fixtures
under ``tests/fixtures/real``): OTLP JSON with hex ids for Jaeger api_v3 and base64 ids for
Tempo (Go's jsonpb encoding of bytes), 64-bit integers as strings, kinds as numbers; Jaeger's
legacy model with microsecond times, ``references`` and ``processes``.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping
from typing import Any, Literal

from triage_sim.service.scenarios.traces import AttrValue, SimSpan, SimTrace, TraceRef

__all__ = ["jaeger_trace", "otlp_document", "tempo_search_hit"]

IdEncoding = Literal["hex", "base64"]
_KINDS = {"internal": 1, "server": 2, "client": 3, "producer": 4, "consumer": 5}
_STATUS_ERROR = 2


def _id(hex_id: str, encoding: IdEncoding) -> str:
    if encoding == "hex":
        return hex_id
    return base64.b64encode(bytes.fromhex(hex_id)).decode()


def _any_value(value: AttrValue) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value}
    return {"stringValue": str(value)}


def _attributes(values: Mapping[str, AttrValue]) -> list[dict[str, Any]]:
    return [{"key": key, "value": _any_value(value)} for key, value in values.items()]


def _nanos(seconds: float) -> str:
    return str(round(seconds * 1e9))


def _otlp_span(trace_id: str, span: SimSpan, encoding: IdEncoding) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "traceId": _id(trace_id, encoding),
        "spanId": _id(span.span_id, encoding),
        "name": span.name,
        "kind": _KINDS.get(span.kind, 0),
        "startTimeUnixNano": _nanos(span.start),
        "endTimeUnixNano": _nanos(span.end),
        "attributes": _attributes(span.attributes),
        "status": {"code": _STATUS_ERROR, "message": span.error} if span.error else {},
    }
    if span.parent_id is not None:
        raw["parentSpanId"] = _id(span.parent_id, encoding)
    return raw


def _resource(trace: SimTrace) -> dict[str, Any]:
    return {"attributes": _attributes({
        "service.name": trace.service,
        "service.version": trace.version,
        "telemetry.sdk.language": "rust",
        "telemetry.sdk.name": "opentelemetry",
    })}


def otlp_document(traces: Iterable[SimTrace], encoding: IdEncoding = "hex") -> dict[str, Any]:
    """``{"resourceSpans": [...]}``: one resource (the service) per trace."""
    return {"resourceSpans": [
        {
            "resource": _resource(trace),
            "scopeSpans": [{
                "scope": {"name": "tracing-opentelemetry", "version": "0.28.0"},
                "spans": [_otlp_span(trace.trace_id, span, encoding) for span in trace.spans],
            }],
        }
        for trace in traces
    ]}


def _tag(key: str, value: AttrValue) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"key": key, "type": "bool", "value": value}
    if isinstance(value, int):
        return {"key": key, "type": "int64", "value": value}
    if isinstance(value, float):
        return {"key": key, "type": "float64", "value": value}
    return {"key": key, "type": "string", "value": str(value)}


def _micros(seconds: float) -> int:
    return round(seconds * 1e6)


def _jaeger_span(trace_id: str, span: SimSpan) -> dict[str, Any]:
    tags = [_tag(k, v) for k, v in span.attributes.items()]
    tags.append(_tag("span.kind", span.kind))
    if span.error:
        tags += [_tag("error", True), _tag("otel.status_code", "ERROR"),
                 _tag("otel.status_description", span.error)]
    references = ([{"refType": "CHILD_OF", "traceID": trace_id, "spanID": span.parent_id}]
                  if span.parent_id else [])
    return {
        "traceID": trace_id, "spanID": span.span_id, "flags": 1,
        "operationName": span.name, "references": references,
        "startTime": _micros(span.start), "duration": _micros(span.end) - _micros(span.start),
        "tags": tags, "logs": [], "processID": "p1", "warnings": None,
    }


def jaeger_trace(trace: SimTrace) -> dict[str, Any]:
    """One trace in Jaeger's legacy JSON (``/api/traces`` answers hold a list of these)."""
    return {
        "traceID": trace.trace_id,
        "spans": [_jaeger_span(trace.trace_id, span) for span in trace.spans],
        "processes": {"p1": {"serviceName": trace.service, "tags": [
            _tag("service.version", trace.version), _tag("telemetry.sdk.language", "rust")]}},
        "warnings": None,
    }


def tempo_search_hit(ref: TraceRef, service: str, epoch: float) -> dict[str, Any]:
    """One hit of Tempo's ``/api/search`` (hex id without leading zeros, times as text)."""
    return {
        "traceID": ref.trace_id.lstrip("0") or "0",
        "rootServiceName": service,
        "rootTraceName": ref.shape.operation,
        "startTimeUnixNano": _nanos(epoch + ref.start),
        "durationMs": max(1, round(ref.duration * 1000)),
    }
