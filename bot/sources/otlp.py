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


def span_kind(raw: Any) -> SpanKind:
    """``2``, ``"2"``, ``"SPAN_KIND_SERVER"`` or ``"server"`` -> SpanKind.SERVER."""
    if isinstance(raw, int) or (isinstance(raw, str) and raw.isdigit()):
        number = int(raw)
        return _KINDS[number] if 0 <= number < len(_KINDS) else SpanKind.UNSPECIFIED
    if isinstance(raw, str):
        return _KIND_NAMES.get(raw.removeprefix("SPAN_KIND_").lower(), SpanKind.UNSPECIFIED)
    return SpanKind.UNSPECIFIED


def _plain(value: Mapping[str, Any]) -> Any:
    if "arrayValue" in value:
        return [_plain(v) for v in (value["arrayValue"] or {}).get("values") or ()]
    if "kvlistValue" in value:
        return {kv["key"]: _plain(kv.get("value") or {})
                for kv in (value["kvlistValue"] or {}).get("values") or ()}
    return attribute_value(value)


# OTLP AnyValue field -> conversion; intValue is a string in JSON (64-bit integers).
_SCALARS: dict[str, Callable[[Any], AttributeValue]] = {
    "stringValue": str,
    "boolValue": bool,
    "intValue": int,
    "doubleValue": float,
    "bytesValue": str,  # base64 text, kept as it came
}


def attribute_value(value: Mapping[str, Any]) -> AttributeValue:
    """One OTLP AnyValue as a plain value; arrays and maps become compact JSON text."""
    for field, convert in _SCALARS.items():
        if field in value:
            return convert(value[field])
    if "arrayValue" in value or "kvlistValue" in value:
        return json.dumps(_plain(value), separators=(",", ":"), sort_keys=True)
    return ""


def _attributes(items: Any) -> dict[str, AttributeValue]:
    return {str(kv["key"]): attribute_value(kv.get("value") or {}) for kv in items or ()}


def _status(raw: Any) -> tuple[bool, str]:
    status = raw or {}
    code = status.get("code", 0)
    error = code in (_STATUS_ERROR, str(_STATUS_ERROR), "STATUS_CODE_ERROR", "ERROR")
    return error, str(status.get("message") or "")


def _span(raw: Mapping[str, Any], service: str) -> Span:
    start_ns = int(raw.get("startTimeUnixNano") or 0)
    end_ns = int(raw.get("endTimeUnixNano") or start_ns)
    parent = raw.get("parentSpanId") or ""
    error, message = _status(raw.get("status"))
    return Span(
        span_id=decode_id(raw["spanId"]),
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


def resource_spans(doc: Mapping[str, Any]) -> list[Any]:
    """The resource-span list of an OTLP document (``resourceSpans``, or Tempo v1 ``batches``)."""
    return list(doc.get("resourceSpans") or doc.get("batches") or ())


def _spans(doc: Mapping[str, Any]) -> Iterator[tuple[str, Span]]:
    for resource in resource_spans(doc):
        attrs = _attributes((resource.get("resource") or {}).get("attributes"))
        service = str(attrs.get("service.name") or UNKNOWN_SERVICE)
        # instrumentationLibrarySpans: the name before OTLP 0.15, still in old Tempo blocks.
        scopes = resource.get("scopeSpans") or resource.get("instrumentationLibrarySpans") or ()
        for scope in scopes:
            for raw in scope.get("spans") or ():
                yield decode_id(raw["traceId"]), _span(raw, service)


def parse_otlp(doc: Mapping[str, Any]) -> list[Trace]:
    """Every trace in an OTLP JSON document, in order of first appearance."""
    grouped: dict[str, list[Span]] = {}
    for trace_id, span in _spans(doc):
        grouped.setdefault(trace_id, []).append(span)
    return [build_trace(trace_id, spans) for trace_id, spans in grouped.items()]
