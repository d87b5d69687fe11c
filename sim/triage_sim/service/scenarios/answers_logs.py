"""Loki's ``/loki/api/v1/query_range`` and ``/query`` over a scenario's logs.

Parameters as Loki reads them: ``start``/``end`` in nanoseconds (or float seconds, or RFC 3339;
end exclusive; default the last hour), ``limit`` (default 100, at most 5000), ``direction``
(default backward), ``step`` for metric queries. Lines after the scenario's "now" do not exist
yet.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from triage_sim.service.scenarios.answers import Answer, BadRequest, unix_from_param
from triage_sim.service.scenarios.logql import LogQLError, LogQuery, MetricQuery, parse
from triage_sim.service.scenarios.logs import LogLine
from triage_sim.service.scenarios.model import Scenario

__all__ = ["loki_query", "loki_query_range"]

MAX_LINES = 5000
DEFAULT_LOOKBACK_S = 3600.0
_NS = 1e-9


def _time(params: Mapping[str, str], key: str, default: float) -> float:
    raw = params.get(key)
    if not raw:
        return default
    try:
        return unix_from_param(raw, integer_unit=_NS)
    except BadRequest as exc:
        raise BadRequest(f"invalid {key}: {exc}") from None


def _limit(params: Mapping[str, str]) -> int:
    raw = params.get("limit") or "100"
    if not raw.isdigit() or int(raw) < 1:
        raise BadRequest(f'invalid limit: strconv.ParseUint: parsing "{raw}": invalid syntax')
    if int(raw) > MAX_LINES:
        raise BadRequest(f"max entries limit per query exceeded, limit > max_entries_limit "
                         f"({raw} > {MAX_LINES})")
    return int(raw)


def _backward(params: Mapping[str, str]) -> bool:
    direction = (params.get("direction") or "backward").lower()
    if direction not in ("backward", "forward"):
        raise BadRequest(f"invalid direction: {direction}")
    return direction == "backward"


def _selected(scenario: Scenario, query: LogQuery, t0: float, t1: float, *, epoch: float,
              backward: bool) -> Iterator[LogLine]:
    model = scenario.logs
    streams = {name for name in ("stdout", "stderr")
               if query.selects(model.stream_labels(name))}
    if not streams:
        return
    keep = query.keeps()
    for line in model.lines(t0, t1, epoch, backward=backward):
        if line.stream in streams and keep(line.line):
            yield line


def _streams(scenario: Scenario, lines: list[LogLine]) -> list[dict[str, Any]]:
    grouped: dict[str, list[list[str]]] = {}
    for line in lines:
        grouped.setdefault(line.stream, []).append([str(line.ns), line.line])
    return [{"stream": scenario.logs.stream_labels(name), "values": values}
            for name, values in grouped.items()]


def _success(result_type: str, result: list[Any]) -> Answer:
    return Answer.json({"status": "success", "data": {
        "resultType": result_type, "result": result,
        "stats": {"summary": {"execTime": 0.001, "totalLinesProcessed": 0}},
    }})


def _guarded(work: Callable[[], Answer]) -> Answer:
    try:
        return work()
    except (BadRequest, LogQLError) as exc:
        return Answer.text(str(exc), 400)


def loki_query_range(scenario: Scenario, now: float, epoch: float,
                     params: Mapping[str, str]) -> Answer:
    """Answer a range query at scenario time ``now`` (``epoch`` = Unix time of t=0)."""
    def work() -> Answer:
        end = _time(params, "end", epoch + now)
        start = _time(params, "start", end - DEFAULT_LOOKBACK_S)
        if end < start:
            raise BadRequest("end timestamp must not be before or equal to start time")
        query = parse(params.get("query") or "")
        if isinstance(query, MetricQuery):
            return _metric(scenario, query, (start, end, _step(params, start, end)), now=now,
                           epoch=epoch)
        t0, t1 = start - epoch, min(end - epoch, now)
        limit, backward = _limit(params), _backward(params)
        lines: list[LogLine] = []
        for line in _selected(scenario, query, t0, t1, epoch=epoch, backward=backward):
            lines.append(line)
            if len(lines) >= limit:
                break
        return _success("streams", _streams(scenario, lines))

    return _guarded(work)


def loki_query(scenario: Scenario, now: float, epoch: float,
               params: Mapping[str, str]) -> Answer:
    """Answer an instant metric query (``count_over_time(...[5m])`` at ``time``)."""
    def work() -> Answer:
        at = _time(params, "time", epoch + now)
        query = parse(params.get("query") or "")
        if not isinstance(query, MetricQuery):
            raise BadRequest("log queries are not supported as instant query type, please "
                             "change your query to a range query type")
        series = _counts(scenario, query, [at], now, epoch)
        return _success("vector", [{"metric": labels, "value": points[0]}
                                   for labels, points in series])

    return _guarded(work)


def _step(params: Mapping[str, str], start: float, end: float) -> float:
    raw = params.get("step")
    if not raw:
        return max(1.0, math.ceil((end - start) / 250))
    try:
        step = float(raw)
    except ValueError:
        raise BadRequest(f"invalid step: {raw}") from None
    if step <= 0:
        raise BadRequest("zero or negative query resolution step widths are not accepted. "
                         "Try a positive integer")
    return step


def _metric(scenario: Scenario, query: MetricQuery, window: tuple[float, float, float], *,
            now: float, epoch: float) -> Answer:
    start, end, step = window
    count = int((end - start) // step) + 1
    if count > 11_000:
        raise BadRequest("exceeded maximum resolution of 11,000 points per timeseries. "
                         "Try increasing the value of the step parameter")
    times = [start + i * step for i in range(count)]
    series = _counts(scenario, query, times, now, epoch)
    return _success("matrix", [{"metric": labels, "values": points}
                               for labels, points in series])


def _counts(scenario: Scenario, query: MetricQuery, times: list[float], now: float,
            epoch: float) -> list[tuple[dict[str, str], list[list[Any]]]]:
    """Lines per stream (or summed) in ``(τ - range, τ]`` for each τ of ``times``."""
    t0, t1 = times[0] - query.range_s - epoch, min(times[-1] - epoch, now) + 1e-9
    found: dict[str, list[float]] = {}
    for line in _selected(scenario, query.inner, t0, t1, epoch=epoch, backward=False):
        key = "" if query.summed else line.stream
        found.setdefault(key, []).append(line.ns * _NS)
    out = []
    for key, stamps in found.items():
        points = []
        for at in times:
            n = bisect.bisect_right(stamps, at) - bisect.bisect_right(stamps, at - query.range_s)
            value = n / query.range_s if query.function == "rate" else n
            if n:
                points.append([round(at, 3), f"{value:g}"])
        labels = {} if query.summed else scenario.logs.stream_labels(key)
        out.append((labels, points))
    return out
