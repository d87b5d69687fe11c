"""Tempo: TraceQL search and trace by id (v2 API, falling back to v1).

``/api/v2/traces/<id>`` answers ``{"trace": {"resourceSpans": [...]}}``; releases before it
only serve ``/api/traces/<id>``, answering ``{"batches": [...]}``. Both carry OTLP JSON with
base64 (or hex) ids. The client remembers which one the backend served.
"""

from __future__ import annotations

import math
from concurrent.futures import Executor
from datetime import timedelta
from typing import Any, Literal

import aiohttp

from bot.sources.http import DEFAULT_MAX_BODY_BYTES, HttpBackend
from bot.sources.otlp import parse_otlp
from bot.sources.selectors import quote
from bot.sources.shape import ShapeError, as_int, as_list, as_mapping, field
from bot.sources.traces import (
    Trace,
    TraceSearch,
    TraceSummary,
    decode_id,
    from_unix_nanos,
    go_duration,
    parse_trace_id,
)
from bot.sources.window import TimeWindow

__all__ = ["TempoClient", "parse_search_answer", "parse_trace_answer", "traceql_for"]

BACKEND = "tempo"
Api = Literal["v2", "v1"]


def traceql_for(query: TraceSearch) -> str:
    """The TraceQL for a search: the service's spans, optionally one operation, slow traces.

    Every value is a quoted literal; ``traceDuration`` filters whole traces, like Jaeger's
    minimum duration.
    """
    conditions = [f"resource.service.name = {quote(query.service)}"]
    if query.operation:
        conditions.append(f"name = {quote(query.operation)}")
    if query.min_duration:
        conditions.append(f"traceDuration >= {go_duration(query.min_duration)}")
    return "{ " + " && ".join(conditions) + " }"


# A search hit lasting longer than this is junk (and timedelta's limit is not far above).
_MAX_DURATION_MS = 10 * 365 * 86_400_000


def _summary(raw: Any, where: str) -> TraceSummary:
    hit = as_mapping(raw, where)
    duration_ms = as_int(hit.get("durationMs") or 0, f"{where}.durationMs")
    if not 0 <= duration_ms <= _MAX_DURATION_MS:
        raise ShapeError(f"{where}.durationMs: out of range: {duration_ms}")
    return TraceSummary(
        trace_id=decode_id(str(field(hit, "traceID", where))),
        root_service=str(hit.get("rootServiceName") or ""),
        root_operation=str(hit.get("rootTraceName") or ""),
        start=from_unix_nanos(as_int(hit.get("startTimeUnixNano") or 0,
                                     f"{where}.startTimeUnixNano")),
        duration=timedelta(milliseconds=duration_ms),
    )


def parse_search_answer(doc: Any) -> list[TraceSummary]:
    """Hits of ``/api/search``, slowest first.

    Tempo leaves ``traces`` out when nothing matched (protobuf JSON omits empty lists), so a
    missing list is no hits; a list of the wrong type is an error.
    """
    doc = as_mapping(doc, "answer")
    raw_hits = as_list(doc.get("traces"), "traces", null_is_empty=True)
    hits = [_summary(raw, f"traces[{i}]") for i, raw in enumerate(raw_hits)]
    return sorted(hits, key=lambda hit: hit.duration, reverse=True)


def parse_trace_answer(doc: Any) -> list[Trace]:
    """Traces of a v2 ``{"trace": {...}}`` or v1 ``{"batches": [...]}`` answer."""
    doc = as_mapping(doc, "answer")
    if "trace" in doc:
        trace = as_mapping(doc["trace"] or {}, "trace")
        return parse_otlp(trace) if trace else []
    return parse_otlp(doc)


class TempoClient:
    """TraceQL search and trace by id against Tempo's HTTP API."""

    name = BACKEND

    def __init__(self, http: HttpBackend) -> None:
        self._http = http
        self.api: Api | None = None  # learnt from the first trace-by-id answer

    def close(self) -> None:
        """End calls in flight at once and refuse new ones (the session is closed by its owner)."""
        self._http.close()

    @classmethod
    def create(
        cls, url: str, session: aiohttp.ClientSession, *, timeout: float,
        max_concurrency: int, executor: Executor | None = None,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    ) -> TempoClient:
        """A client on ``session`` (one session per backend)."""
        return cls(HttpBackend(BACKEND, url, session, timeout=timeout,
                               max_concurrency=max_concurrency, executor=executor,
                               max_body_bytes=max_body_bytes))

    async def search(self, query: TraceSearch) -> list[TraceSummary]:
        """Traces of ``query.service`` in the window, slowest first."""
        return await self.search_traceql(
            traceql_for(query), query.window, query.limit, min_duration=query.min_duration
        )

    async def search_traceql(
        self, traceql: str, window: TimeWindow, limit: int = 20,
        min_duration: timedelta | None = None,
    ) -> list[TraceSummary]:
        """Hits of a TraceQL query built by the bot (never typed by a user) in ``window``."""
        params: dict[str, str | int] = {
            "q": traceql,
            "limit": limit,
            "start": math.floor(window.start.timestamp()),
            "end": math.ceil(window.end.timestamp()),
        }
        if min_duration:
            params["minDuration"] = go_duration(min_duration)
        return await self._http.get_json("/api/search", params, parse_search_answer)

    async def trace(self, trace_id: str) -> Trace | None:
        """The trace with ``trace_id`` (16 or 32 hex digits), or None if Tempo lacks it."""
        tid = parse_trace_id(trace_id)
        if self.api != "v1":
            answer = await self._http.get(f"/api/v2/traces/{tid}")
            if answer.ok:
                self.api = "v2"
                return _pick(await self._http.decode(answer, parse_trace_answer), tid)
            if answer.status != 404:
                raise self._http.error(answer)
            if self.api == "v2":
                return None
        answer = await self._http.get(f"/api/traces/{tid}")
        if answer.status == 404:
            return None
        if not answer.ok:
            raise self._http.error(answer)
        self.api = self.api or "v1"
        return _pick(await self._http.decode(answer, parse_trace_answer), tid)


def _pick(traces: list[Trace], trace_id: str) -> Trace | None:
    wanted = trace_id.zfill(32)
    for trace in traces:
        if trace.trace_id.zfill(32) == wanted:
            return trace
    return traces[0] if traces else None
