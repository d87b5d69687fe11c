"""OTLP JSON traces into the trace model.

Jaeger's api_v3 and Tempo (v2 ``{trace: {resourceSpans}}``, v1 ``{batches}``) both speak OTLP
JSON, with their own accents: ids in hex or base64, ``kind`` as a number or as
``"SPAN_KIND_SERVER"``, status codes as 2 or ``"STATUS_CODE_ERROR"``, 64-bit integers as
strings. This module hears all of them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from datetime import timedelta
from typing import Any

from bot.sources.shape import ShapeError, as_float, as_int, as_list, as_mapping, field
from bot.sources.traces import (
    AttributeValue,
    Span,
    SpanKind,
    Trace,
    build_trace,
    decode_id,
    from_unix_nanos,
)

__all__ = ["attribute_value", "parse_otlp", "resource_spans", "span_kind"]

UNKNOWN_SERVICE = "unknown_service"
_KINDS = [SpanKind.UNSPECIFIED, SpanKind.INTERNAL, SpanKind.SERVER, SpanKind.CLIENT,
          SpanKind.PRODUCER, SpanKind.CONSUMER]
_KIND_NAMES = {kind.value: kind for kind in SpanKind}
_STATUS_ERROR = 2
_MAX_NESTING = 32


def span_kind(raw: Any) -> SpanKind:
    """``2``, ``"2"``, ``"SPAN_KIND_SERVER"`` or ``"server"`` -> SpanKind.SERVER."""
    if isinstance(raw, int) or (isinstance(raw, str) and raw.isdigit()):
        number = int(raw)
        return _KINDS[number] if 0 <= number < len(_KINDS) else SpanKind.UNSPECIFIED
    if isinstance(raw, str):
        return _KIND_NAMES.get(raw.removeprefix("SPAN_KIND_").lower(), SpanKind.UNSPECIFIED)
    return SpanKind.UNSPECIFIED


def _values(value: Mapping[str, Any], kind: str) -> list[Any]:
    container = as_mapping(value[kind] or {}, kind)
    return as_list(container.get("values"), f"{kind}.values", null_is_empty=True)


def _plain(value: Any, depth: int = 0) -> Any:
    value = as_mapping(value, "attribute value")
    if depth > _MAX_NESTING:
        raise ShapeError(f"attribute values nested deeper than {_MAX_NESTING} levels")
    if "arrayValue" in value:
        return [_plain(v, depth + 1) for v in _values(value, "arrayValue")]
    if "kvlistValue" in value:
        return {str(as_mapping(kv, "kvlistValue item").get("key")):
                _plain(kv.get("value") or {}, depth + 1)
                for kv in _values(value, "kvlistValue")}
    return attribute_value(value)


# OTLP AnyValue field -> conversion; intValue is a string in JSON (64-bit integers).
_SCALARS: dict[str, Callable[[Any, str], AttributeValue]] = {
    "stringValue": lambda v, _: str(v),
    "boolValue": lambda v, _: bool(v),
    "intValue": as_int,
    "doubleValue": as_float,
    "bytesValue": lambda v, _: str(v),  # base64 text, kept as it came
}


def attribute_value(value: Mapping[str, Any]) -> AttributeValue:
    """One OTLP AnyValue as a plain value; arrays and maps become compact JSON text."""
    value = as_mapping(value, "attribute value")
    for name, convert in _SCALARS.items():
        if name in value:
            return convert(value[name], name)
    if "arrayValue" in value or "kvlistValue" in value:
        return json.dumps(_plain(value), separators=(",", ":"), sort_keys=True)
    return ""


def _attributes(items: Any) -> dict[str, AttributeValue]:
    found: dict[str, AttributeValue] = {}
    for i, raw in enumerate(as_list(items, "attributes", null_is_empty=True)):
        kv = as_mapping(raw, f"attributes[{i}]")
        found[str(field(kv, "key", f"attributes[{i}]"))] = attribute_value(kv.get("value") or {})
    return found


def _status(raw: Any) -> tuple[bool, str]:
    status = as_mapping(raw or {}, "status")
    code = status.get("code", 0)
    error = code in (_STATUS_ERROR, str(_STATUS_ERROR), "STATUS_CODE_ERROR", "ERROR")
    return error, str(status.get("message") or "")


def _span(raw: Mapping[str, Any], service: str) -> Span:
    start_ns = as_int(raw.get("startTimeUnixNano") or 0, "startTimeUnixNano")
    end_ns = as_int(raw.get("endTimeUnixNano") or start_ns, "endTimeUnixNano")
    parent = raw.get("parentSpanId") or ""
    error, message = _status(raw.get("status"))
    return Span(
        span_id=decode_id(field(raw, "spanId", "span")),
        parent_id=decode_id(parent) if parent else None,
        service=service,
        operation=str(raw.get("name") or ""),
        kind=span_kind(raw.get("kind", 0)),
        start=from_unix_nanos(start_ns),
        duration=timedelta(microseconds=max(0, end_ns - start_ns) // 1000),
        attributes=_attributes(raw.get("attributes")),
        error=error,
        status_message=message,
    )


def resource_spans(doc: Any) -> list[Any]:
    """The resource-span list of an OTLP document (``resourceSpans``, or Tempo v1 ``batches``).

    ``{}`` is an empty TracesData (protobuf JSON leaves empty lists out); a document with
    other keys but neither of these is not OTLP: ShapeError, not an empty trace list.
    """
    doc = as_mapping(doc, "answer")
    for key in ("resourceSpans", "batches"):
        if key in doc:
            return as_list(doc[key], key, null_is_empty=True)
    if not doc:
        return []
    raise ShapeError("expected 'resourceSpans' or 'batches' (OTLP JSON)")


def _spans(doc: Any) -> Iterator[tuple[str, Span]]:
    for i, raw_resource in enumerate(resource_spans(doc)):
        resource = as_mapping(raw_resource, f"resourceSpans[{i}]")
        described = as_mapping(resource.get("resource") or {}, f"resourceSpans[{i}].resource")
        attrs = _attributes(described.get("attributes"))
        service = str(attrs.get("service.name") or UNKNOWN_SERVICE)
        # instrumentationLibrarySpans: the name before OTLP 0.15, still in old Tempo blocks.
        scopes = resource.get("scopeSpans") or resource.get("instrumentationLibrarySpans")
        for j, raw_scope in enumerate(as_list(scopes, "scopeSpans", null_is_empty=True)):
            scope = as_mapping(raw_scope, f"resourceSpans[{i}].scopeSpans[{j}]")
            for raw in as_list(scope.get("spans"), "spans", null_is_empty=True):
                span = as_mapping(raw, "span")
                yield decode_id(field(span, "traceId", "span")), _span(span, service)


def parse_otlp(doc: Any) -> list[Trace]:
    """Every trace in an OTLP JSON document, in order of first appearance."""
    grouped: dict[str, list[Span]] = {}
    for trace_id, span in _spans(doc):
        grouped.setdefault(trace_id, []).append(span)
    return [build_trace(trace_id, spans) for trace_id, spans in grouped.items()]
