"""Telemetry sources: one async client per backend, typed results, typed errors.

``bot.sources`` is the only package that talks to Prometheus, Loki, Jaeger and Tempo (pprof
lives in ``bot.sources.pprof``). It knows nothing of Slack. Everything it returns is a frozen
dataclass; everything it raises is a ``bot.errors.SourceError``.

Typical use::

    async with await Sources.open(settings.backends, executor) as sources:
        series = await sources.prometheus.query_range(
            render_promql("rate(http_requests_total{selector}[5m])", service.prometheus),
            window,
        )
"""

from bot.sources.jaeger import JaegerClient
from bot.sources.loki import LogLine, LokiClient
from bot.sources.prometheus import PrometheusClient, QueryResult, step_for
from bot.sources.registry import Sources
from bot.sources.selectors import (
    Matcher,
    logql_selector,
    matcher_list,
    prom_selector,
    quote,
    render_logql,
    render_promql,
)
from bot.sources.series import Exemplar, ExemplarSeries, Sample, Series
from bot.sources.tempo import TempoClient
from bot.sources.traces import (
    Span,
    SpanKind,
    Trace,
    TraceBackend,
    TraceSearch,
    TraceSummary,
    parse_trace_id,
)
from bot.sources.window import TimeWindow

__all__ = [
    "Exemplar",
    "ExemplarSeries",
    "JaegerClient",
    "LogLine",
    "LokiClient",
    "Matcher",
    "PrometheusClient",
    "QueryResult",
    "Sample",
    "Series",
    "Sources",
    "Span",
    "SpanKind",
    "TempoClient",
    "TimeWindow",
    "Trace",
    "TraceBackend",
    "TraceSearch",
    "TraceSummary",
    "logql_selector",
    "matcher_list",
    "parse_trace_id",
    "prom_selector",
    "quote",
    "render_logql",
    "render_promql",
    "step_for",
]
