"""Loki: log lines and LogQL metric queries over a window.

Log lines come back as ``LogLine`` (nanosecond timestamp, line, stream labels, structured
metadata), merged across streams in the order asked for; metric queries come back as the same
``Series`` Prometheus gives. Loki's errors are plain text ("parse error at line 1, col 5 ...");
they reach the responder verbatim inside QueryRejected or SourceTimeout.
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import aiohttp

from bot.errors import QueryRejected
from bot.sources.http import HttpBackend
from bot.sources.series import Series, frozen_labels, parse_result
from bot.sources.window import TimeWindow

__all__ = ["MAX_LINES", "LogLine", "LokiClient", "parse_metric_answer", "parse_streams_answer"]

BACKEND = "loki"
MAX_LINES = 5000  # Loki's default max_entries_limit_per_query
Direction = Literal["forward", "backward"]


@dataclass(frozen=True)
class LogLine:
    """One log entry: when (ns since the epoch), the line, its labels and structured metadata."""

    timestamp_ns: int
    line: str
    labels: Mapping[str, str]
    metadata: Mapping[str, str]

    @property
    def time(self) -> datetime:
        """The timestamp as an aware UTC datetime (microsecond precision)."""
        return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=self.timestamp_ns // 1000)


def _entry(value: list[Any], stream: Mapping[str, str], categorized: bool) -> LogLine:
    labels = dict(stream)
    metadata: dict[str, Any] = {}
    extra = value[2] if len(value) > 2 and isinstance(value[2], dict) else {}
    if categorized:
        # encodingFlags=categorize-labels: {"structuredMetadata": {...}, "parsed": {...}}
        metadata = dict(extra.get("structuredMetadata") or {})
        labels.update(extra.get("parsed") or {})
    else:
        metadata = dict(extra)
    return LogLine(int(value[0]), str(value[1]), frozen_labels(labels), frozen_labels(metadata))


def parse_streams_answer(doc: Any, direction: Direction = "backward") -> list[LogLine]:
    """Log lines of a ``streams`` answer, newest first for ``backward``, oldest first otherwise.

    Lines are merged across streams; identical lines at the same nanosecond are kept (Loki
    itself returns them, and a flood of duplicates is evidence, not noise).
    """
    data = doc["data"]
    if data["resultType"] != "streams":
        raise QueryRejected(BACKEND, "this LogQL is a metric query; ask for series, not lines")
    categorized = "categorize-labels" in (data.get("encodingFlags") or ())
    lines = [
        _entry(value, frozen_labels(item.get("stream", {})), categorized)
        for item in data["result"]
        for value in item.get("values", ())
    ]
    lines.sort(key=lambda line: line.timestamp_ns, reverse=direction == "backward")
    return lines


def parse_metric_answer(doc: Any) -> list[Series]:
    """Series of a LogQL metric query (``matrix`` or ``vector``)."""
    data = doc["data"]
    if data["resultType"] == "streams":
        raise QueryRejected(BACKEND, "this LogQL selects log lines, not a metric")
    return parse_result(data["resultType"], data["result"])


def _ns(moment: datetime) -> str:
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    return str((delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000)


class LokiClient:
    """``query_range`` for lines and metrics, ``query`` for instant metrics."""

    name = BACKEND

    def __init__(self, http: HttpBackend) -> None:
        self._http = http

    @classmethod
    def create(
        cls,
        url: str,
        session: aiohttp.ClientSession,
        *,
        timeout: float,
        max_concurrency: int,
        tenant: str | None = None,
        executor: Executor | None = None,
    ) -> LokiClient:
        """A client on ``session``; ``tenant`` becomes X-Scope-OrgID (multi-tenant Loki)."""
        headers = {"X-Scope-OrgID": tenant} if tenant else None
        return cls(HttpBackend(BACKEND, url, session, timeout=timeout,
                               max_concurrency=max_concurrency, headers=headers,
                               executor=executor))

    async def query_range(
        self,
        logql: str,
        window: TimeWindow,
        limit: int = 100,
        direction: Direction = "backward",
    ) -> list[LogLine]:
        """Up to ``limit`` lines in ``window``, newest first unless ``direction`` is forward."""
        if not 1 <= limit <= MAX_LINES:
            raise ValueError(f"limit must be between 1 and {MAX_LINES}")
        if direction not in ("forward", "backward"):
            raise ValueError(f"direction must be forward or backward, not {direction!r}")
        params: dict[str, str | int] = {
            "query": logql, "start": _ns(window.start), "end": _ns(window.end),
            "limit": limit, "direction": direction,
        }
        return await self._http.get_json(
            "/loki/api/v1/query_range", params,
            lambda doc: parse_streams_answer(doc, direction)[:limit],
        )

    async def metric_range(
        self, logql: str, window: TimeWindow, step: timedelta
    ) -> list[Series]:
        """A LogQL metric query (``sum(count_over_time(...[1m]))``) evaluated across ``window``."""
        params = {"query": logql, "start": _ns(window.start), "end": _ns(window.end),
                  "step": f"{step.total_seconds():g}"}
        return await self._http.get_json("/loki/api/v1/query_range", params, parse_metric_answer)

    async def metric_query(self, logql: str, at: datetime) -> list[Series]:
        """A LogQL metric query evaluated at one instant (``count_over_time(...[1h])``)."""
        params = {"query": logql, "time": _ns(at)}
        return await self._http.get_json("/loki/api/v1/query", params, parse_metric_answer)
