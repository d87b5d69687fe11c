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
from bot.sources.http import DEFAULT_MAX_BODY_BYTES, HttpBackend
from bot.sources.series import Series, frozen_labels, parse_result
from bot.sources.shape import ShapeError, as_int, as_list, as_mapping, as_str, field
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


def _metadata(extra: Any, categorized: bool, where: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(structured metadata, parsed labels) of an entry's optional third element."""
    extra = as_mapping(extra, where) if extra is not None else {}
    if categorized:
        # encodingFlags=categorize-labels: {"structuredMetadata": {...}, "parsed": {...}}
        metadata = as_mapping(extra.get("structuredMetadata") or {}, f"{where}.structuredMetadata")
        parsed = as_mapping(extra.get("parsed") or {}, f"{where}.parsed")
        return dict(metadata), dict(parsed)
    return dict(extra), {}


def _entry(raw: Any, stream: Mapping[str, str], categorized: bool, where: str) -> LogLine:
    value = as_list(raw, where)
    if len(value) not in (2, 3):
        raise ShapeError(f"{where}: expected [timestamp, line(, metadata)], got {len(value)} items")
    metadata, parsed = _metadata(value[2] if len(value) == 3 else None, categorized, where)
    timestamp = as_int(value[0], f"{where}[0]")
    if timestamp < 0:
        raise ShapeError(f"{where}[0]: negative timestamp {timestamp}")
    return LogLine(timestamp, as_str(value[1], f"{where}[1]"),
                   frozen_labels({**stream, **parsed}), frozen_labels(metadata))


def _data(doc: Any) -> tuple[Mapping[str, Any], str]:
    data = as_mapping(field(as_mapping(doc, "answer"), "data", "answer"), "data")
    return data, as_str(field(data, "resultType", "data"), "data.resultType")


def parse_streams_answer(doc: Any, direction: Direction = "backward") -> list[LogLine]:
    """Log lines of a ``streams`` answer, newest first for ``backward``, oldest first otherwise.

    Lines are merged across streams; identical lines at the same nanosecond are kept (Loki
    itself returns them, and a flood of duplicates is evidence, not noise).
    """
    data, result_type = _data(doc)
    if result_type != "streams":
        raise QueryRejected(BACKEND, "this LogQL is a metric query; ask for series, not lines")
    flags = as_list(data.get("encodingFlags"), "data.encodingFlags", null_is_empty=True)
    categorized = "categorize-labels" in flags
    lines: list[LogLine] = []
    for i, raw in enumerate(as_list(field(data, "result", "data"), "data.result",
                                    null_is_empty=True)):
        where = f"data.result[{i}]"
        item = as_mapping(raw, where)
        stream = frozen_labels(as_mapping(item.get("stream") or {}, f"{where}.stream"))
        values = as_list(item.get("values"), f"{where}.values", null_is_empty=True)
        lines.extend(_entry(value, stream, categorized, f"{where}.values[{j}]")
                     for j, value in enumerate(values))
    lines.sort(key=lambda line: line.timestamp_ns, reverse=direction == "backward")
    return lines


def parse_metric_answer(doc: Any) -> list[Series]:
    """Series of a LogQL metric query (``matrix`` or ``vector``)."""
    data, result_type = _data(doc)
    if result_type == "streams":
        raise QueryRejected(BACKEND, "this LogQL selects log lines, not a metric")
    return parse_result(result_type, field(data, "result", "data"))


def _ns(moment: datetime) -> str:
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    return str((delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000)


class LokiClient:
    """``query_range`` for lines and metrics, ``query`` for instant metrics."""

    name = BACKEND

    def __init__(self, http: HttpBackend) -> None:
        self._http = http

    def close(self) -> None:
        """End calls in flight at once and refuse new ones (the session is closed by its owner)."""
        self._http.close()

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
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    ) -> LokiClient:
        """A client on ``session``; ``tenant`` becomes X-Scope-OrgID (multi-tenant Loki)."""
        headers = {"X-Scope-OrgID": tenant} if tenant else None
        return cls(HttpBackend(BACKEND, url, session, timeout=timeout,
                               max_concurrency=max_concurrency, headers=headers,
                               executor=executor, max_body_bytes=max_body_bytes))

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
