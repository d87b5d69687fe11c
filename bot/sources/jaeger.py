"""Jaeger: trace search and trace by id, through api_v3 with the legacy API as fallback.

api_v3 (``/api/v3/traces``, OTLP JSON) is what current Jaeger supports; the legacy
``/api/traces?service=`` search was removed from jaeger-query's main branch, while older
releases serve only the legacy one. The client tries api_v3 first and remembers which API the
backend answered, so an old Jaeger costs one extra request, once.

api_v3 answers "nothing found" with a 404 whose body is a JSON error; a backend without api_v3
answers a plain 404 page (or its UI's HTML): the body tells the two apart.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from concurrent.futures import Executor
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import aiohttp

from bot.errors import SourceUnavailable
from bot.sources.http import DEFAULT_MAX_BODY_BYTES, HttpAnswer, HttpBackend, backend_message
from bot.sources.otlp import parse_otlp, resource_spans
from bot.sources.shape import as_float, as_int, as_list, as_mapping, field
from bot.sources.traces import (
    AttributeValue,
    Span,
    SpanKind,
    Trace,
    TraceSearch,
    TraceSummary,
    build_trace,
    decode_id,
    from_unix_micros,
    go_duration,
    parse_trace_id,
)

__all__ = ["JaegerClient", "parse_jaeger_answer", "parse_jaeger_trace", "parse_v3_answer"]

BACKEND = "jaeger"
Api = Literal["v3", "legacy"]
_KIND_NAMES = {kind.value: kind for kind in SpanKind}


def _tag_value(tag: Mapping[str, Any], where: str) -> AttributeValue:
    kind, value = tag.get("type", "string"), tag.get("value")
    if value is None:
        return ""
    if kind == "bool":
        return value if isinstance(value, bool) else str(value).lower() == "true"
    if kind == "int64":
        return as_int(value, where)  # large values arrive as strings (JavaScript's 2**53 limit)
    if kind == "float64":
        return as_float(value, where)
    return str(value)


def _tags(raw: Any, where: str) -> dict[str, AttributeValue]:
    found: dict[str, AttributeValue] = {}
    for i, item in enumerate(as_list(raw, where, null_is_empty=True)):
        tag = as_mapping(item, f"{where}[{i}]")
        found[str(field(tag, "key", f"{where}[{i}]"))] = _tag_value(tag, f"{where}[{i}].value")
    return found


def _parent(raw: Mapping[str, Any], trace_id: str) -> str | None:
    refs = [as_mapping(r, "references[]")
            for r in as_list(raw.get("references"), "references", null_is_empty=True)]
    refs = [r for r in refs if decode_id(field(r, "traceID", "reference")) == trace_id]
    for ref_type in ("CHILD_OF", "FOLLOWS_FROM"):
        for ref in refs:
            if ref.get("refType", "CHILD_OF") == ref_type:
                return decode_id(field(ref, "spanID", "reference"))
    legacy = raw.get("parentSpanID")
    return decode_id(legacy) if legacy and set(str(legacy)) != {"0"} else None


def _service(raw: Mapping[str, Any], processes: Mapping[str, Any]) -> str:
    process_id = raw.get("processID", "")
    process = raw.get("process") or (
        processes.get(process_id) if isinstance(process_id, str) else None) or {}
    return str(as_mapping(process, "process").get("serviceName") or "unknown_service")


def _span(raw: Any, trace_id: str, processes: Mapping[str, Any]) -> Span:
    raw = as_mapping(raw, "span")
    tags = _tags(raw.get("tags"), "span.tags")
    error = tags.get("error") is True or str(tags.get("otel.status_code", "")) == "ERROR"
    duration = as_int(raw.get("duration") or 0, "span.duration")
    return Span(
        span_id=decode_id(field(raw, "spanID", "span")),
        parent_id=_parent(raw, trace_id),
        service=_service(raw, processes),
        operation=str(raw.get("operationName") or ""),
        kind=_KIND_NAMES.get(str(tags.get("span.kind", "")).lower(), SpanKind.UNSPECIFIED),
        start=from_unix_micros(as_int(field(raw, "startTime", "span"), "span.startTime")),
        duration=timedelta(microseconds=max(0, duration)),
        attributes=tags,
        error=error,
        status_message=str(tags.get("otel.status_description") or ""),
    )


def parse_jaeger_trace(raw: Any) -> Trace:
    """One trace object of Jaeger's legacy JSON (``traceID``, ``spans``, ``processes``)."""
    raw = as_mapping(raw, "trace")
    trace_id = decode_id(field(raw, "traceID", "trace"))
    processes = as_mapping(raw.get("processes") or {}, "trace.processes")
    spans = as_list(field(raw, "spans", "trace"), "trace.spans")
    return build_trace(trace_id, (_span(s, trace_id, processes) for s in spans))


def parse_jaeger_answer(doc: Any) -> list[Trace]:
    """The traces of a legacy ``{"data": [...], "errors": ...}`` answer.

    Errors with no data are Jaeger saying it failed (a storage error), not "no traces".
    """
    doc = as_mapping(doc, "answer")
    traces = as_list(field(doc, "data", "answer"), "data", null_is_empty=True)
    errors = as_list(doc.get("errors"), "errors", null_is_empty=True)
    if errors and not traces:
        raise SourceUnavailable(BACKEND, backend_message(json.dumps(doc).encode())
                                or "answered with errors and no data")
    return [parse_jaeger_trace(raw) for raw in traces
            if as_mapping(raw, "data[]").get("spans")]


def loads_ndjson(body: bytes) -> list[Any]:
    """One JSON document, or several separated by newlines (grpc-gateway streaming)."""
    try:
        return [json.loads(body)]
    except ValueError:
        return [json.loads(line) for line in body.splitlines() if line.strip()]


def parse_v3_answer(docs: list[Any]) -> list[Trace]:
    """Traces of an api_v3 answer: ``{"result": {resourceSpans}}`` chunks, merged."""
    merged: dict[str, list[Any]] = {"resourceSpans": []}
    for i, raw in enumerate(as_list(docs, "answer")):
        doc = as_mapping(raw, f"chunk {i}")
        if isinstance(doc.get("error"), Mapping):
            raise SourceUnavailable(BACKEND, str(doc["error"].get("message") or doc["error"]))
        merged["resourceSpans"].extend(resource_spans(doc.get("result") or doc))
    return parse_otlp(merged)


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _v3_served(answer: HttpAnswer) -> bool:
    """Whether this answer came from an api_v3 handler (JSON), not a 404 page or the UI."""
    return answer.looks_like_json() and (answer.ok or answer.status == 404)


class JaegerClient:
    """Search and fetch traces from Jaeger, api_v3 first, legacy when that is all there is."""

    name = BACKEND

    def __init__(self, http: HttpBackend) -> None:
        self._http = http
        self.api: Api | None = None  # learnt from the first answer

    def close(self) -> None:
        """End calls in flight at once and refuse new ones (the session is closed by its owner)."""
        self._http.close()

    @classmethod
    def create(
        cls, url: str, session: aiohttp.ClientSession, *, timeout: float,
        max_concurrency: int, executor: Executor | None = None,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    ) -> JaegerClient:
        """A client on ``session`` (one session per backend)."""
        return cls(HttpBackend(BACKEND, url, session, timeout=timeout,
                               max_concurrency=max_concurrency, executor=executor,
                               max_body_bytes=max_body_bytes))

    async def search(self, query: TraceSearch) -> list[TraceSummary]:
        """Traces of ``query.service`` in the window, slowest first."""
        traces = await self.search_traces(query)
        return sorted((t.summary() for t in traces), key=lambda s: s.duration, reverse=True)

    async def search_traces(self, query: TraceSearch) -> list[Trace]:
        """Like ``search`` but whole traces: both Jaeger APIs return them anyway."""
        if self.api != "legacy":
            found = await self._search_v3(query)
            if found is not None:
                return found
        return await self._search_legacy(query)

    async def trace(self, trace_id: str) -> Trace | None:
        """The trace with ``trace_id`` (16 or 32 hex digits), or None if Jaeger lacks it."""
        tid = parse_trace_id(trace_id)
        if self.api != "legacy":
            answer = await self._http.get(f"/api/v3/traces/{tid}")
            if _v3_served(answer):
                self.api = "v3"
                return _pick(await self._http.decode(answer, parse_v3_answer, loads_ndjson)
                             if answer.ok else [], tid)
            if not answer.ok and answer.status != 404:
                raise self._http.error(answer)
            self.api = "legacy"
        answer = await self._http.get(f"/api/traces/{tid}")
        if answer.status == 404:
            return None
        if not answer.ok:
            raise self._http.error(answer)
        return _pick(await self._http.decode(answer, parse_jaeger_answer), tid)

    async def _search_v3(self, query: TraceSearch) -> list[Trace] | None:
        params: dict[str, str | int] = {
            "query.service_name": query.service,
            "query.start_time_min": _rfc3339(query.window.start),
            "query.start_time_max": _rfc3339(query.window.end),
            "query.num_traces": query.limit,
        }
        if query.operation:
            params["query.operation_name"] = query.operation
        if query.min_duration:
            params["query.duration_min"] = go_duration(query.min_duration)
        answer = await self._http.get("/api/v3/traces", params)
        if not _v3_served(answer):
            if answer.ok or answer.status == 404:
                self.api = "legacy"
                return None
            raise self._http.error(answer)
        self.api = "v3"
        if answer.status == 404:  # api_v3's way of saying "no traces found"
            return []
        return (await self._http.decode(answer, parse_v3_answer, loads_ndjson))[: query.limit]

    async def _search_legacy(self, query: TraceSearch) -> list[Trace]:
        params: dict[str, str | int] = {
            "service": query.service,
            "start": _micros(query.window.start),
            "end": _micros(query.window.end),
            "limit": query.limit,
        }
        if query.operation:
            params["operation"] = query.operation
        if query.min_duration:
            params["minDuration"] = go_duration(query.min_duration)
        return await self._http.get_json("/api/traces", params, parse_jaeger_answer)


def _micros(moment: datetime) -> int:
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _pick(traces: list[Trace], trace_id: str) -> Trace | None:
    for trace in traces:
        if trace.trace_id == trace_id or trace.trace_id.endswith(trace_id):
            return trace
    return traces[0] if traces else None
