"""Step 1, metrics: what changed, when, and by how much.

Finds the service's series without per-service configuration by asking Prometheus which known
exporter names exist for its selector, runs the standard queries over a long look-back, picks
the anomaly's start (the earliest clear change among the symptom series) and derives the
signals the playbooks read. The window it decides is the one later steps look at.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta

from bot.errors import QueryRejected, SourceError
from bot.models import Finding, Signals
from bot.sources.selectors import matcher_list
from bot.sources.series import Series
from bot.sources.window import TimeWindow
from bot.triage.anomaly import Shift, growth_start, mean_shift
from bot.triage.discovery import DISCOVERABLE, Discovered, discover
from bot.triage.exporters import ROLES, all_names
from bot.triage.playbook_values import MissingRoleError
from bot.triage.playbook_values import render_promql as render_playbook_promql
from bot.triage.steps.base import StepContext, StepDeps, StepOutput
from bot.triage.steps.metric_findings import MetricsReport, build_findings, series_used
from bot.triage.steps.metric_queries import SeriesQuery, instant_queries, series_queries

log = logging.getLogger(__name__)

LOOKBACK = timedelta(hours=3)
LEAD_IN = timedelta(minutes=5)
_MIN_SCORE = 6.0


async def run(ctx: StepContext, deps: StepDeps) -> StepOutput:
    """Detect, query, locate the anomaly, derive signals and findings."""
    prom = deps.sources.prometheus
    full = TimeWindow(ctx.now - LOOKBACK, ctx.now)
    roles = await detect_roles(ctx, deps, full)
    queries = series_queries(roles, ctx.service.prometheus)
    results = await asyncio.gather(*(prom.query_range(q.promql, full) for q in queries),
                                   return_exceptions=True)
    series, failed = _collect(queries, results)
    instants = {**instant_queries(roles, ctx.service.prometheus,
                                  f"{int(LOOKBACK.total_seconds())}s"),
                **playbook_queries(ctx, roles)}
    values = await _instant_values(deps, instants, ctx.now)
    start = anomaly_start(queries, series) or ctx.anomaly_start or ctx.now - timedelta(minutes=30)
    start = min(max(start, full.start), ctx.now - timedelta(minutes=1))
    window = TimeWindow(start - LEAD_IN, ctx.now)
    report = MetricsReport(ctx.service, full, window, start, roles, queries, series, values,
                           instants, failed)
    signals, findings = derive(report)
    findings.append(series_used(roles, ctx.service.metrics))
    return StepOutput(findings=findings, signals=signals, window=window, anomaly_start=start,
                      roles=roles)


def playbook_queries(ctx: StepContext, roles: Mapping[str, str]) -> dict[str, str]:
    """Every playbook's extra queries that the detected metrics allow, by signal name.

    They run for all playbooks, not only the alert's: the evidence ranks the patterns, and a
    pattern the alert did not name still needs its signals measured.
    """
    selector = matcher_list(ctx.service.prometheus)
    queries: dict[str, str] = {}
    for playbook in ctx.playbooks.all:
        for query in playbook.steps.metrics.queries:
            try:
                queries[query.signal] = render_playbook_promql(query.promql, selector, roles)
            except MissingRoleError:
                continue
    return queries


async def detect_roles(ctx: StepContext, deps: StepDeps, window: TimeWindow) -> dict[str, str]:
    """role -> metric name: the catalog's explicit names, then the first known name found,
    then what discovery finds among the service's metrics for the roles still empty."""
    found = await deps.sources.prometheus.existing_metrics(
        sorted(all_names()), ctx.service.prometheus, window)
    roles: dict[str, str] = {}
    for role, candidates in ROLES.items():
        for candidate in candidates:
            if candidate.name in found:
                roles[role] = candidate.name
                break
    pinned = {r: n for r, n in ctx.service.metrics.items() if r in ROLES or r in DISCOVERABLE}
    roles.update(pinned)
    discovered = await discover_roles(ctx, deps, window, roles)
    return {**roles, **{role: d.name for role, d in discovered.items()}}


async def discover_roles(ctx: StepContext, deps: StepDeps, window: TimeWindow,
                         roles: Mapping[str, str]) -> dict[str, Discovered]:
    """Roles no known exporter name filled, found among the service's metrics (best effort:
    a Prometheus without the metadata endpoint, or a failure, leaves them empty)."""
    missing = [r for r in DISCOVERABLE if r not in roles]
    if "pool_connections" in roles:  # OpenTelemetry's pool gauge already gives "in use"
        missing = [r for r in missing if r != "pool_in_use"]
    if not missing:
        return {}
    prom = deps.sources.prometheus
    try:
        names = await prom.metric_names(ctx.service.prometheus, window)
        types = await prom.metadata()
    except SourceError as exc:
        log.info("metric discovery skipped: %s", exc)
        return {}
    return discover(names, types, missing)


def _collect(queries: Sequence[SeriesQuery], results: Sequence[object]
             ) -> tuple[dict[str, Series], dict[str, str]]:
    """Series by query key; a rejected query is noted, any other failure fails the step."""
    series: dict[str, Series] = {}
    failed: dict[str, str] = {}
    for query, result in zip(queries, results, strict=True):
        if isinstance(result, QueryRejected):
            failed[query.key] = result.message
        elif isinstance(result, BaseException):
            raise result
        elif isinstance(result, list) and result:
            series[query.key] = result[0]
    return series, failed


async def _instant_values(deps: StepDeps, queries: Mapping[str, str], now: datetime
                          ) -> dict[str, float]:
    prom = deps.sources.prometheus
    results = await asyncio.gather(*(prom.query(q, at=now) for q in queries.values()),
                                   return_exceptions=True)
    values: dict[str, float] = {}
    for key, result in zip(queries, results, strict=True):
        if isinstance(result, list) and result and result[0].last is not None:
            value = result[0].last.value
            if math.isfinite(value):
                values[key] = value
        elif isinstance(result, BaseException) and not isinstance(result, QueryRejected):
            raise result
    return values


def shift_of(query: SeriesQuery, series: Series) -> Shift | None:
    """The clearest change of one series, in the sense its shape calls for.

    Each side must hold a tenth of the points at least: a "change" in the first minutes of
    the look-back is usually where the data (or a rate() window) begins, not an anomaly.
    """
    values = series.values
    edge = max(4, len(values) // 10)
    return growth_start(values, edge) if query.shape == "growth" else mean_shift(values, edge)


def significant(query: SeriesQuery, shift: Shift) -> bool:
    """Whether a change is an anomaly rather than noise."""
    if shift.score < _MIN_SCORE:
        return False
    if query.shape == "growth":
        return shift.after > 0 and shift.after > 3 * abs(shift.before)
    if query.shape == "drop":
        return shift.ratio < 0.6
    return shift.ratio > 1.5


def anomaly_start(queries: list[SeriesQuery], series: Mapping[str, Series]) -> datetime | None:
    """The earliest significant change among the symptom series."""
    starts = []
    for query in queries:
        found = series.get(query.key)
        if found is None or not query.symptom:
            continue
        shift = shift_of(query, found)
        finite_samples = [s for s in found.samples if math.isfinite(s.value)]
        if shift is not None and significant(query, shift) and shift.index < len(finite_samples):
            starts.append(datetime.fromtimestamp(finite_samples[shift.index].timestamp, UTC))
    return min(starts) if starts else None


def derive(report: MetricsReport) -> tuple[Signals, list[Finding]]:
    """Signals and findings from the queried data (pure)."""
    return build_findings(report)
