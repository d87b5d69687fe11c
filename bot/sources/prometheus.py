"""Prometheus through prometheus-api-client, kept off the event loop.

The library is synchronous (requests), so every call runs in a thread of a bounded executor,
under a per-backend semaphore: a slow Prometheus can hold at most ``max_concurrency`` threads,
never every worker, and the event loop only ever awaits. The semaphore slot is given back when
the thread really finishes, not when we stop waiting for it, so timed-out calls still count
against the bound until requests' own timeout ends them.

The library's default retry policy (3 tries with backoff) could outlast our deadline; it is
replaced by no retries at all. Prometheus's errors reach the library as text ("HTTP Status Code
400 (b'{...}')"); the JSON inside is parsed back out so responders read Prometheus's own words.
"""

from __future__ import annotations

import ast
import asyncio
import json
import logging
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Executor, ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar, cast

import requests
from prometheus_api_client.exceptions import PrometheusApiClientException
from prometheus_api_client.prometheus_connect import PrometheusConnect
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from bot.errors import QueryRejected, SourceError, SourceTimeout, SourceUnavailable
from bot.sources.http import backend_message, error_for_status
from bot.sources.selectors import Matcher, prom_selector
from bot.sources.series import (
    ExemplarSeries,
    Series,
    parse_exemplars,
    parse_result,
    result_type_of,
)
from bot.sources.window import TimeWindow

__all__ = ["MAX_POINTS", "PrometheusClient", "QueryResult", "step_for"]

log = logging.getLogger(__name__)
T = TypeVar("T")

BACKEND = "prometheus"
MAX_POINTS = 11_000
_METRIC_NAME_RE = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_LIBRARY_ERROR_RE = re.compile(r"^HTTP Status Code (\d+) \((b(['\"]).*\3)\)$", re.S)
_DEFAULT_LOOKBACK = timedelta(hours=1)
# Warnings of the answer a worker thread just received (see _remember_warnings).
_THREAD = threading.local()


class QueryResult(list[Series]):
    """The series of a query, plus Prometheus's ``warnings`` (e.g. partial data)."""

    def __init__(self, series: Iterable[Series], warnings: Iterable[str] = ()) -> None:
        super().__init__(series)
        self.warnings: tuple[str, ...] = tuple(warnings)


def step_for(window: TimeWindow, points: int = 250) -> timedelta:
    """A step giving about ``points`` points over ``window``, at least one second."""
    seconds = max(1, round(window.duration.total_seconds() / points))
    return timedelta(seconds=seconds)


def _remember_warnings(response: requests.Response, *args: Any, **kwargs: Any) -> None:
    """requests response hook: keep the envelope's ``warnings`` for the calling thread.

    The library returns only ``data.result``; this is how warnings survive it. Each call runs
    in one worker thread from request to return, so a thread-local is exact.
    """
    warnings: tuple[str, ...] = ()
    if b'"warnings"' in response.content:
        try:
            warnings = tuple(str(w) for w in json.loads(response.content).get("warnings") or ())
        except (ValueError, AttributeError):
            warnings = ()
    _THREAD.warnings = warnings


def api_error(status: int, body: bytes) -> SourceError:
    """Prometheus's error answer as our typed error, carrying its ``error`` text.

    A 503 with errorType ``timeout`` or ``canceled`` means the query ran out of time on the
    server: a SourceTimeout, not an outage.
    """
    try:
        doc = json.loads(body)
    except ValueError:
        doc = None
    if isinstance(doc, dict) and doc.get("errorType") in ("timeout", "canceled"):
        return SourceTimeout(BACKEND, str(doc.get("error") or doc["errorType"]))
    return error_for_status(BACKEND, status, backend_message(body))


def library_error(exc: PrometheusApiClientException) -> SourceError:
    """Recover status and body from the library's ``HTTP Status Code N (b'...')`` text."""
    match = _LIBRARY_ERROR_RE.match(str(exc))
    if match is None:
        return SourceUnavailable(BACKEND, str(exc))
    body = ast.literal_eval(match.group(2))
    return api_error(int(match.group(1)), body)


class PrometheusClient:
    """Instant, range and exemplar queries, each in the executor under a deadline."""

    name = BACKEND

    def __init__(
        self,
        url: str,
        *,
        timeout: float,
        max_concurrency: int,
        executor: Executor | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self._owns_executor = executor is None
        self._executor = executor or ThreadPoolExecutor(
            max_workers=max_concurrency, thread_name_prefix="prometheus"
        )
        self._slots = asyncio.Semaphore(max_concurrency)
        self._inflight: set[asyncio.Future[Any]] = set()
        self._session = requests.Session()
        self._session.trust_env = False
        self._session.headers.update(headers or {})
        # The library annotates timeout as int but hands it to requests, which takes floats.
        self._api = PrometheusConnect(
            self.url, retry=Retry(total=0), session=self._session, timeout=cast(int, timeout)
        )
        # Mounted after the library's own adapter so ours wins: no retries, a pool as large
        # as our concurrency bound.
        self._session.mount(
            self.url, HTTPAdapter(max_retries=Retry(total=0), pool_maxsize=max_concurrency)
        )
        self._session.hooks["response"].append(_remember_warnings)

    async def query(self, promql: str, at: datetime | None = None) -> QueryResult:
        """An instant query (vector or scalar) at ``at``, or now."""
        params = self._server_timeout()
        if at is not None:
            if at.utcoffset() is None:
                raise ValueError(f"query time must be timezone-aware: {at!r}")
            params["time"] = f"{at.timestamp():.3f}"
        return await self._call(lambda: self._instant(promql, params))

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
        params = self._server_timeout()
        params.update(start=f"{window.start.timestamp():.3f}",
                      end=f"{window.end.timestamp():.3f}")
        return await self._call(lambda: self._range(promql, window, step, params))

    async def exemplars(self, promql: str, window: TimeWindow) -> list[ExemplarSeries]:
        """Exemplars (``/api/v1/query_exemplars``) of the series ``promql`` selects."""
        params = {"query": promql, "start": f"{window.start.timestamp():.3f}",
                  "end": f"{window.end.timestamp():.3f}"}
        return await self._call(lambda: self._get_data("/api/v1/query_exemplars", params,
                                                       parse_exemplars))

    async def metric_names(
        self, matchers: Mapping[str, str], window: TimeWindow | None = None
    ) -> set[str]:
        """Every metric name with a series matching the service's ``matchers`` in ``window``."""
        return await self._names(prom_selector(matchers), window)

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
        """Wait (bounded) for calls still running in threads, then release the session."""
        if self._inflight:
            await asyncio.wait(set(self._inflight), timeout=self.timeout)
        self._session.close()
        if self._owns_executor:
            self._executor.shutdown(wait=False, cancel_futures=True)

    async def _names(self, selector: str, window: TimeWindow | None) -> set[str]:
        window = window or TimeWindow.last(_DEFAULT_LOOKBACK, datetime.now(UTC))
        params = {"match[]": selector, "start": f"{window.start.timestamp():.3f}",
                  "end": f"{window.end.timestamp():.3f}"}
        return await self._call(lambda: self._label_values(params))

    def _server_timeout(self) -> dict[str, str]:
        # Ask Prometheus to give up a little before we do, so the error carries its reason.
        return {"timeout": f"{self.timeout * 0.9:.3f}"}

    async def _call(self, work: Callable[[], T]) -> T:
        """Run ``work`` in the executor under a slot and one deadline for wait plus run."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        try:
            async with asyncio.timeout(self.timeout):
                await self._slots.acquire()
        except TimeoutError:
            raise SourceTimeout(
                BACKEND, f"no free slot within {self.timeout:g}s (other queries still running)"
            ) from None
        try:
            future = loop.run_in_executor(self._executor, work)
        except RuntimeError as exc:
            self._slots.release()
            raise SourceUnavailable(BACKEND, "client is closed") from exc
        self._inflight.add(future)
        future.add_done_callback(self._finished)
        done, _ = await asyncio.wait({future}, timeout=max(0.0, deadline - loop.time()))
        if not done:
            raise SourceTimeout(BACKEND, f"no answer from {self.url} within {self.timeout:g}s")
        return future.result()

    def _finished(self, future: asyncio.Future[Any]) -> None:
        self._inflight.discard(future)
        self._slots.release()
        if not future.cancelled():
            future.exception()  # retrieved: an abandoned call must not log "never retrieved"

    # The methods below run in worker threads.

    def _instant(self, promql: str, params: dict[str, str]) -> QueryResult:
        with self._translated():
            result = self._api.custom_query(promql, params=params)
            return self._series(result)

    def _range(
        self, promql: str, window: TimeWindow, step: timedelta, params: dict[str, str]
    ) -> QueryResult:
        with self._translated():
            result = self._api.custom_query_range(
                promql, window.start, window.end, f"{step.total_seconds():g}", params=params
            )
            return self._series(result)

    def _label_values(self, params: dict[str, str]) -> set[str]:
        with self._translated():
            return {str(v) for v in self._api.get_label_values("__name__", params=params)}

    def _get_data(self, path: str, params: dict[str, str], parse: Callable[[Any], T]) -> T:
        with self._translated():
            response = self._session.get(self.url + path, params=params, timeout=self.timeout)
            if response.status_code != 200:
                raise api_error(response.status_code, response.content)
            return parse(response.json()["data"])

    @staticmethod
    def _series(result: Any) -> QueryResult:
        result_type = result_type_of(result)
        if result_type == "string":
            raise QueryRejected(BACKEND, "the query returns a string, not numbers")
        warnings = getattr(_THREAD, "warnings", ())
        if warnings:
            log.warning("prometheus answered with warnings: %s", "; ".join(warnings))
        return QueryResult(parse_result(result_type, result), warnings)

    @contextmanager
    def _translated(self) -> Iterator[None]:
        """Turn library and requests exceptions into our typed errors (in the worker thread)."""
        _THREAD.warnings = ()
        try:
            yield
        except PrometheusApiClientException as exc:
            raise library_error(exc) from exc
        except requests.Timeout as exc:
            raise SourceTimeout(BACKEND, f"no answer from {self.url} within {self.timeout:g}s") \
                from exc
        except requests.ConnectionError as exc:
            raise SourceUnavailable(BACKEND, f"cannot connect to {self.url}: {_reason(exc)}") \
                from exc
        except requests.JSONDecodeError as exc:
            raise SourceUnavailable(BACKEND, f"answered with malformed JSON ({exc})") from exc
        except requests.RequestException as exc:
            raise SourceUnavailable(BACKEND, f"request to {self.url} failed: {exc}") from exc
        except (ValueError, KeyError, TypeError, IndexError) as exc:
            raise SourceUnavailable(
                BACKEND, f"answer not understood ({type(exc).__name__}: {exc})"
            ) from exc


def _reason(exc: requests.ConnectionError) -> str:
    """The innermost cause's words ("Connection refused"), not urllib3's whole chain."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, OSError) and cause.strerror:
            return cause.strerror
        cause = cause.__cause__ or cause.__context__
    return str(exc)
