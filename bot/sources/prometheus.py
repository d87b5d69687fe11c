"""Prometheus through its HTTP API (``/api/v1/...``), on aiohttp, bounded like every backend.

This used to go through prometheus-api-client, which is synchronous (requests) and so ran in
threads. requests' timeouts are per socket operation, and it reads a whole body before handing
it over: a Prometheus that trickled its answer held a thread (and its slot) long past our
deadline, and a 200 MB answer was buffered whole, then parsed, lifting the bot to gigabytes.
A thread cannot be cut off; a task can. So the client speaks the HTTP API itself, through the
same ``HttpBackend`` as Loki, Jaeger and Tempo: one deadline covering slot, connect, headers
and body, the slot freed when it passes, the body read in chunks and refused past the cap.

The envelope is read here (``status``, ``data``, ``warnings``, ``errorType``, ``error``): an
error carries Prometheus's own words, warnings survive in ``QueryResult.warnings``, and an
answer of the wrong shape is a SourceError, never an empty result.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Executor
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import aiohttp

from bot.errors import QueryRejected, SourceError, SourceTimeout, SourceUnavailable
from bot.sources.http import (
    DEFAULT_MAX_BODY_BYTES,
    HttpBackend,
    Params,
    backend_message,
    error_for_status,
    new_session,
)
from bot.sources.selectors import Matcher, prom_selector
from bot.sources.series import ExemplarSeries, Series, parse_exemplars, parse_result
from bot.sources.shape import ShapeError, as_list, as_mapping, as_str, field
from bot.sources.window import TimeWindow

__all__ = [
    "MAX_POINTS",
    "PrometheusClient",
    "QueryResult",
    "api_error",
    "parse_envelope",
    "parse_query_answer",
    "step_for",
]

log = logging.getLogger(__name__)
T = TypeVar("T")

BACKEND = "prometheus"
MAX_POINTS = 11_000
_METRIC_NAME_RE = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_DEFAULT_LOOKBACK = timedelta(hours=1)


class QueryResult(list[Series]):
    """The series of a query, plus Prometheus's ``warnings`` (e.g. partial data)."""

    def __init__(self, series: Iterable[Series], warnings: Iterable[str] = ()) -> None:
        super().__init__(series)
        self.warnings: tuple[str, ...] = tuple(warnings)


def step_for(window: TimeWindow, points: int = 250) -> timedelta:
    """A step giving about ``points`` points over ``window``, at least one second."""
    seconds = max(1, round(window.duration.total_seconds() / points))
    return timedelta(seconds=seconds)


def api_error(status: int, body: bytes) -> SourceError:
    """Prometheus's error answer as our typed error, carrying its ``error`` text.

    A 503 with errorType ``timeout`` or ``canceled`` means the query ran out of time on the
    server: a SourceTimeout, not an outage.
    """
    try:
        doc = json.loads(body)
    except (ValueError, RecursionError):
        doc = None
    if isinstance(doc, dict) and doc.get("errorType") in ("timeout", "canceled"):
        return SourceTimeout(BACKEND, str(doc.get("error") or doc["errorType"]))
    return error_for_status(BACKEND, status, backend_message(body))


def parse_envelope(doc: Any) -> tuple[Any, tuple[str, ...]]:
    """``data`` and ``warnings`` of a 2xx answer; an ``error`` envelope raises its error."""
    envelope = as_mapping(doc, "answer")
    status = field(envelope, "status", "answer")
    if status == "error":
        raise api_error(422, json.dumps(envelope).encode())
    # "warning" is not Prometheus's own, but servers speaking its API (Jaeger's tests) use it.
    if status not in ("success", "warning"):
        raise ShapeError(f"status: expected 'success' or 'error', got {str(status)[:40]!r}")
    raw_warnings = as_list(envelope.get("warnings"), "warnings", null_is_empty=True)
    warnings = tuple(str(w) for w in raw_warnings)
    return field(envelope, "data", "answer"), warnings


def parse_query_answer(doc: Any) -> QueryResult:
    """A ``/query`` or ``/query_range`` answer as series with their warnings."""
    data, warnings = parse_envelope(doc)
    data = as_mapping(data, "data")
    result_type = as_str(field(data, "resultType", "data"), "data.resultType")
    if result_type == "string":
        raise QueryRejected(BACKEND, "the query returns a string, not numbers")
    return QueryResult(parse_result(result_type, field(data, "result", "data")), warnings)


def parse_exemplars_answer(doc: Any) -> list[ExemplarSeries]:
    """A ``/query_exemplars`` answer."""
    data, _ = parse_envelope(doc)
    return parse_exemplars(data)


def parse_names_answer(doc: Any) -> set[str]:
    """A ``/label/__name__/values`` answer: a list of metric names."""
    data, _ = parse_envelope(doc)
    names = as_list(data, "data", null_is_empty=True)
    return {as_str(name, f"data[{i}]") for i, name in enumerate(names)}


def parse_metadata_answer(doc: Any) -> dict[str, str]:
    """A ``/api/v1/metadata`` answer: metric family -> type (counter, gauge, histogram, ...)."""
    families, _ = parse_envelope(doc)
    if not isinstance(families, dict):
        return {}
    types: dict[str, str] = {}
    for name, entries in families.items():
        if isinstance(name, str) and isinstance(entries, list) and entries:
            first = entries[0]
            if isinstance(first, dict) and isinstance(first.get("type"), str):
                types[name] = first["type"]
    return types


class PrometheusClient:
    """Instant, range and exemplar queries and metric names, each under one deadline."""

    name = BACKEND

    def __init__(
        self,
        url: str,
        *,
        timeout: float,
        max_concurrency: int,
        executor: Executor | None = None,
        headers: Mapping[str, str] | None = None,
        session: aiohttp.ClientSession | None = None,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    ) -> None:
        if timeout <= 0 or max_concurrency < 1:
            raise ValueError("timeout must be positive and max_concurrency at least 1")
        self.url = url.rstrip("/")
        self.timeout = timeout
        self._max_concurrency = max_concurrency
        self._executor = executor
        self._headers = dict(headers or {})
        self._max_body = max_body_bytes
        self._session = session
        self._owns_session = session is None
        self._http: HttpBackend | None = None
        self._closed = False

    @property
    def http(self) -> HttpBackend:
        """The bounded HTTP access, made on first use (an aiohttp session needs a running loop)."""
        if self._closed:
            raise SourceUnavailable(BACKEND, "client is closed (the bot is shutting down)")
        if self._http is None:
            if self._session is None:
                self._session = new_session(self._max_concurrency)
            self._http = HttpBackend(
                BACKEND, self.url, self._session, timeout=self.timeout,
                max_concurrency=self._max_concurrency, headers=self._headers,
                executor=self._executor, max_body_bytes=self._max_body,
            )
        return self._http

    async def query(self, promql: str, at: datetime | None = None) -> QueryResult:
        """An instant query (vector or scalar) at ``at``, or now."""
        params = {"query": promql, **self._server_timeout()}
        if at is not None:
            if at.utcoffset() is None:
                raise ValueError(f"query time must be timezone-aware: {at!r}")
            params["time"] = f"{at.timestamp():.3f}"
        return self._logged(await self._get("/api/v1/query", params, parse_query_answer))

    async def query_range(
        self, promql: str, window: TimeWindow, step: timedelta | None = None
    ) -> QueryResult:
        """A range query over ``window``; ``step`` defaults to about 250 points."""
        step = step or step_for(window)
        if step.total_seconds() <= 0:
            raise ValueError("step must be positive")
        points = int(window.duration / step) + 1
        if points > MAX_POINTS:
            raise QueryRejected(
                BACKEND,
                f"{points} points per series over {window.duration} at step {step}; "
                f"Prometheus allows {MAX_POINTS:,}, use a larger step",
            )
        params = {"query": promql, **_span(window), "step": f"{step.total_seconds():g}",
                  **self._server_timeout()}
        return self._logged(await self._get("/api/v1/query_range", params, parse_query_answer))

    async def exemplars(self, promql: str, window: TimeWindow) -> list[ExemplarSeries]:
        """Exemplars (``/api/v1/query_exemplars``) of the series ``promql`` selects."""
        params = {"query": promql, **_span(window)}
        return await self._get("/api/v1/query_exemplars", params, parse_exemplars_answer)

    async def metric_names(
        self, matchers: Mapping[str, str], window: TimeWindow | None = None
    ) -> set[str]:
        """Every metric name with a series matching the service's ``matchers`` in ``window``."""
        return await self._names(prom_selector(matchers), window)

    async def metadata(self) -> dict[str, str]:
        """Metric family -> type from ``/api/v1/metadata`` (one entry per family)."""
        return await self._get("/api/v1/metadata", {"limit_per_metric": "1"},
                               parse_metadata_answer)

    async def existing_metrics(
        self, names: Iterable[str], matchers: Mapping[str, str], window: TimeWindow | None = None
    ) -> set[str]:
        """Which of ``names`` have series for the service (exporter detection), in ``window``."""
        wanted = sorted(set(names))
        for name in wanted:
            if not _METRIC_NAME_RE.match(name):
                raise ValueError(f"invalid metric name {name!r}")
        if not wanted:
            return set()
        selector = prom_selector(matchers, more=[Matcher("__name__", "=~", "|".join(wanted))])
        return await self._names(selector, window) & set(wanted)

    async def close(self) -> None:
        """End calls still running at once (SourceUnavailable), then release the session if ours.

        Nothing runs in threads any more, so there is nothing to wait for.
        """
        self._closed = True
        if self._http is not None:
            self._http.close()
        if self._owns_session and self._session is not None:
            await self._session.close()

    async def _names(self, selector: str, window: TimeWindow | None) -> set[str]:
        window = window or TimeWindow.last(_DEFAULT_LOOKBACK, datetime.now(UTC))
        params = {"match[]": selector, **_span(window)}
        return await self._get("/api/v1/label/__name__/values", params, parse_names_answer)

    def _server_timeout(self) -> dict[str, str]:
        # Ask Prometheus to give up a little before we do, so the error carries its reason.
        return {"timeout": f"{self.timeout * 0.9:.3f}"}

    async def _get(self, path: str, params: Params, parse: Callable[[Any], T]) -> T:
        http = self.http
        answer = await http.get(path, params)
        if not answer.ok:
            raise api_error(answer.status, answer.body)
        return await http.decode(answer, parse)

    @staticmethod
    def _logged(result: QueryResult) -> QueryResult:
        if result.warnings:
            log.warning("prometheus answered with warnings: %s", "; ".join(result.warnings))
        return result


def _span(window: TimeWindow) -> dict[str, str]:
    return {"start": f"{window.start.timestamp():.3f}", "end": f"{window.end.timestamp():.3f}"}
