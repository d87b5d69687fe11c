"""Jaeger (api_v3 and legacy) and Tempo answers over a scenario's traces.

Search parameters as each backend names them; traces that have not finished by the scenario's
"now" do not exist yet. Tempo's TraceQL is understood as far as the bot writes it (service
name, span name, trace duration, error status); anything else is a 400, so a query the stand-in
cannot answer fails visibly.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from triage_sim.service.scenarios.answers import (
    Answer,
    BadRequest,
    go_duration_seconds,
    rfc3339_unix,
    unix_from_param,
)
from triage_sim.service.scenarios.model import Scenario
from triage_sim.service.scenarios.trace_wire import jaeger_trace, otlp_document, tempo_search_hit
from triage_sim.service.scenarios.traces import TraceRef

__all__ = [
    "jaeger_legacy_search",
    "jaeger_legacy_trace",
    "jaeger_services",
    "jaeger_v3_search",
    "jaeger_v3_trace",
    "tempo_search",
    "tempo_trace",
]

DEFAULT_LOOKBACK_S = 3600.0
_CONDITION = re.compile(
    r"^(resource\.service\.name|\.service\.name|name|traceDuration|duration|status)\s*"
    r"(=|!=|>=|<=|>|<)\s*(\"(?:[^\"\\]|\\.)*\"|[0-9.]+[a-zµ]+|error|ok|unset)$")


@dataclass(frozen=True)
class _Search:
    """What any of the three searches asks for, in scenario seconds."""

    service: str
    t0: float
    t1: float
    limit: int = 20
    min_s: float = 0.0
    max_s: float = float("inf")
    operation: str | None = None
    errors_only: bool = False

    def matches(self, ref: TraceRef) -> bool:
        shape = ref.shape
        return (self.min_s <= ref.duration <= self.max_s
                and (self.operation is None or shape.operation == self.operation)
                and (not self.errors_only or shape.status >= 500))


def _found(scenario: Scenario, search: _Search, now: float) -> list[TraceRef]:
    if search.service != scenario.traces.service:
        return []
    hits: list[TraceRef] = []
    for ref in scenario.traces.finished(search.t0, search.t1, now):
        if search.matches(ref):
            hits.append(ref)
            if len(hits) >= search.limit:
                break
    return hits


def _int(params: Mapping[str, str], key: str, default: int) -> int:
    raw = params.get(key) or str(default)
    if not raw.isdigit() or not 1 <= int(raw) <= 10_000:
        raise BadRequest(f"invalid {key}: {raw!r}")
    return int(raw)


def _durations(params: Mapping[str, str], low: str, high: str) -> tuple[float, float]:
    minimum = go_duration_seconds(params[low]) if params.get(low) else 0.0
    maximum = go_duration_seconds(params[high]) if params.get(high) else float("inf")
    return minimum, maximum


def _jaeger_error(status: int, message: str) -> Answer:
    return Answer.json({"error": {"httpCode": status, "message": message}}, status)


def _guarded(work: Callable[[], Answer], error: Callable[[str], Answer]) -> Answer:
    try:
        return work()
    except BadRequest as exc:
        return error(str(exc))


def jaeger_v3_search(scenario: Scenario, now: float, epoch: float,
                     params: Mapping[str, str]) -> Answer:
    """``GET /api/v3/traces``: whole traces as OTLP JSON; 404 JSON when nothing matches."""
    def work() -> Answer:
        for key in ("query.service_name", "query.start_time_min", "query.start_time_max"):
            if not params.get(key):
                raise BadRequest(f"{key} is required")
        minimum, maximum = _durations(params, "query.duration_min", "query.duration_max")
        search = _Search(
            params["query.service_name"], rfc3339_unix(params["query.start_time_min"]) - epoch,
            rfc3339_unix(params["query.start_time_max"]) - epoch,
            _int(params, "query.num_traces", 20), minimum, maximum,
            params.get("query.operation_name") or None)
        refs = _found(scenario, search, now)
        if not refs:
            return _jaeger_error(404, "trace not found")
        traces = [scenario.traces.build(ref, epoch) for ref in refs]
        return Answer.json({"result": otlp_document(traces, "hex")})

    return _guarded(work, lambda message: _jaeger_error(400, message))


def _ref(scenario: Scenario, trace_id: str, now: float) -> TraceRef | None:
    slot = scenario.traces.slot_of(trace_id)
    if slot is None:
        return None
    ref = scenario.traces.ref(slot)
    return ref if ref.end <= now else None


def jaeger_v3_trace(scenario: Scenario, now: float, epoch: float, trace_id: str) -> Answer:
    """``GET /api/v3/traces/{id}``."""
    ref = _ref(scenario, trace_id, now)
    if ref is None:
        return _jaeger_error(404, "trace not found")
    return Answer.json({"result": otlp_document([scenario.traces.build(ref, epoch)], "hex")})


def _legacy(data: list[object] | None, errors: list[dict[str, object]] | None = None,
            status: int = 200) -> Answer:
    return Answer.json({"data": data, "total": len(data or ()), "limit": 0, "offset": 0,
                        "errors": errors}, status)


def jaeger_legacy_search(scenario: Scenario, now: float, epoch: float,
                         params: Mapping[str, str]) -> Answer:
    """``GET /api/traces?service=...`` (start/end in µs, minDuration as a Go duration)."""
    def work() -> Answer:
        if not params.get("service"):
            raise BadRequest("parameter 'service' is required")
        end = (unix_from_param(params["end"], integer_unit=1e-6) if params.get("end")
               else epoch + now)
        start = (unix_from_param(params["start"], integer_unit=1e-6) if params.get("start")
                 else end - DEFAULT_LOOKBACK_S)
        minimum, maximum = _durations(params, "minDuration", "maxDuration")
        search = _Search(params["service"], start - epoch, end - epoch,
                         _int(params, "limit", 20), minimum, maximum,
                         params.get("operation") or None)
        refs = _found(scenario, search, now)
        return _legacy([jaeger_trace(scenario.traces.build(ref, epoch)) for ref in refs])

    return _guarded(work, lambda message: _legacy(None, [{"code": 400, "msg": message}], 400))


def jaeger_legacy_trace(scenario: Scenario, now: float, epoch: float, trace_id: str) -> Answer:
    """``GET /api/traces/{id}``."""
    ref = _ref(scenario, trace_id, now)
    if ref is None:
        return _legacy(None, [{"code": 404, "msg": "trace not found"}], 404)
    return _legacy([jaeger_trace(scenario.traces.build(ref, epoch))])


def jaeger_services(scenario: Scenario) -> Answer:
    """``GET /api/services``."""
    return _legacy([scenario.traces.service])


def _traceql(text: str, search: _Search) -> _Search:
    body = text.strip()
    if not (body.startswith("{") and body.endswith("}")):
        raise BadRequest(f"invalid TraceQL query: parse error at line 1, col 1: {body[:40]!r}")
    inner = body[1:-1].strip()
    for part in (p.strip() for p in inner.split("&&")) if inner else ():
        match = _CONDITION.match(part)
        if match is None:
            raise BadRequest(f"invalid TraceQL query: {part!r} is not supported by the "
                             "service stand-in")
        search = _apply(search, match.group(1), match.group(2), match.group(3))
    return search


def _apply(search: _Search, name: str, op: str, value: str) -> _Search:
    if name in ("resource.service.name", ".service.name", "name"):
        if op != "=" or not value.startswith('"'):
            raise BadRequest(f'invalid TraceQL query: only {name} = "..." is supported')
        literal = value[1:-1].replace('\\"', '"')
        if name == "name":
            return replace(search, operation=literal)
        return replace(search, service=literal)
    if name == "status":
        return replace(search, errors_only=value == "error" and op == "=")
    if op in (">", ">="):
        return replace(search, min_s=go_duration_seconds(value))
    if op in ("<", "<="):
        return replace(search, max_s=go_duration_seconds(value))
    raise BadRequest(f"invalid TraceQL query: {name} {op} is not supported")


def tempo_search(scenario: Scenario, now: float, epoch: float,
                 params: Mapping[str, str]) -> Answer:
    """``GET /api/search`` (``q`` TraceQL, ``start``/``end`` in Unix seconds)."""
    def work() -> Answer:
        end = (unix_from_param(params["end"], integer_unit=1.0) if params.get("end")
               else epoch + now)
        start = (unix_from_param(params["start"], integer_unit=1.0) if params.get("start")
                 else end - DEFAULT_LOOKBACK_S)
        minimum, maximum = _durations(params, "minDuration", "maxDuration")
        search = _Search("", start - epoch, end - epoch, _int(params, "limit", 20),
                         minimum, maximum)
        search = _traceql(params.get("q") or "{}", search)
        refs = _found(scenario, search, now) if search.service else []
        hits = [tempo_search_hit(ref, scenario.traces.service, epoch) for ref in refs]
        return Answer.json({"traces": hits, "metrics": {"inspectedTraces": len(hits),
                                                        "inspectedBytes": "0"}})

    return _guarded(work, lambda message: Answer.text(message, 400))


def tempo_trace(scenario: Scenario, now: float, epoch: float, trace_id: str) -> Answer:
    """``GET /api/v2/traces/{id}``: ``{"trace": {...}}`` with base64 ids."""
    ref = _ref(scenario, trace_id, now)
    if ref is None:
        return Answer.text("trace not found", 404)
    return Answer.json({"trace": otlp_document([scenario.traces.build(ref, epoch)], "base64")})
