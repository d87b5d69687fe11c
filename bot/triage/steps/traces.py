"""Step 3, traces: the slowest requests of the window, and where their time went.

Trace ids come from the P99 histogram's exemplars when the service records them (the very
requests that made the P99), else from a trace search for slow traces of the service in the
window. Up to ten traces are fetched, a few at a time; each span gets a category and its self
time, and the shares of self time per category become ``Signals.span_categories``: "72% of
slow-trace time is in database spans" is the sentence a responder needs from this step.

Trace ids only ever come from Prometheus or the trace backend, never from what a user typed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from bot.errors import SourceError
from bot.models import Evidence, Finding, Link, Severity, Signals, StepName
from bot.sources.jaeger import JaegerClient
from bot.sources.selectors import prom_selector
from bot.sources.tempo import traceql_for
from bot.sources.traces import Trace, TraceBackend, TraceSearch, decode_id, go_duration
from bot.triage.steps.base import StepContext, StepDeps, StepOutput, stored_window
from bot.triage.steps.span_categories import TraceAnalysis, analyse

__all__ = ["DEFAULT_MIN_DURATION", "EXEMPLAR_ROLE", "Picked", "fetch_traces", "pick_traces", "run",
           "seconds_text", "top_exemplar_ids"]

EXEMPLAR_ROLE = "request_duration_bucket"
MAX_TRACES = 10
SEARCH_LIMIT = 20
FETCH_CONCURRENCY = 4
SLOWEST_SPANS = 5
DEFAULT_MIN_DURATION = timedelta(milliseconds=500)


@dataclass(frozen=True)
class Picked:
    """The traces examined, how they were chosen, and the query that chose them.

    ``source`` is the trace backend the traces were read from; ``query`` the search, or the
    PromQL whose exemplars named them.
    """

    traces: list[Trace]
    how: str
    source: str
    query: str
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Exemplars:
    ids: list[str] = field(default_factory=list)
    query: str = ""
    note: str | None = None


def top_exemplar_ids(values: Sequence[tuple[float, str | None]], limit: int = MAX_TRACES
                     ) -> list[str]:
    """Distinct trace ids of the highest-valued exemplars, as lower-case hex.

    Ids that are not trace ids (16 or 32 hex digits, or their base64 forms) are skipped.
    """
    ids: list[str] = []
    for _, raw in sorted(values, key=lambda item: -item[0]):
        try:
            tid = decode_id(raw) if raw else None
        except ValueError:
            tid = None
        if tid and tid not in ids:
            ids.append(tid)
        if len(ids) == limit:
            break
    return ids


async def _exemplar_ids(ctx: StepContext, deps: StepDeps) -> _Exemplars:
    bucket = ctx.roles.get(EXEMPLAR_ROLE)
    if not bucket or not ctx.service.prometheus:
        return _Exemplars()
    promql = bucket + prom_selector(ctx.service.prometheus)
    try:
        found = await deps.sources.prometheus.exemplars(promql, ctx.window)
    except SourceError as exc:
        # Exemplars only choose which traces to read; without them a search still works.
        return _Exemplars(query=promql, note=f"exemplars unavailable ({exc}); searched instead")
    values = [(ex.value, ex.trace_id) for series in found for ex in series.exemplars]
    return _Exemplars(top_exemplar_ids(values), promql)


async def fetch_traces(backend: TraceBackend, ids: Sequence[str],
                       concurrency: int = FETCH_CONCURRENCY) -> list[Trace]:
    """The traces with ``ids`` (those the backend knows), at most ``concurrency`` at a time.

    The first failure cancels the other fetches and is raised as itself (a SourceError), not
    as an exception group, so the walk reports the backend's own words.
    """
    slots = asyncio.Semaphore(concurrency)

    async def one(tid: str) -> Trace | None:
        async with slots:
            return await backend.trace(tid)

    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(one(tid)) for tid in ids]
    except* SourceError as failed:
        raise failed.exceptions[0] from None
    return [trace for task in tasks if (trace := task.result()) is not None]


def _search(ctx: StepContext) -> TraceSearch:
    leader = ctx.leader
    minimum = (timedelta(seconds=leader.steps.traces.min_duration) if leader is not None
               else DEFAULT_MIN_DURATION)
    return TraceSearch(ctx.service.traces or ctx.service.name, ctx.window,
                       min_duration=minimum, limit=SEARCH_LIMIT)


def _describe(backend: TraceBackend, query: TraceSearch) -> str:
    if backend.name == "tempo":
        return traceql_for(query)
    minimum = go_duration(query.min_duration) if query.min_duration else "0us"
    return (f"service={query.service} minDuration={minimum} limit={query.limit} "
            f"(slowest {MAX_TRACES})")


async def _searched(ctx: StepContext, backend: TraceBackend, notes: tuple[str, ...]) -> Picked:
    query = _search(ctx)
    if isinstance(backend, JaegerClient):
        # Jaeger's search answers with whole traces: no need to fetch them again one by one.
        found = await backend.search_traces(query)
        traces = sorted(found, key=lambda t: t.duration, reverse=True)[:MAX_TRACES]
    else:
        hits = await backend.search(query)
        traces = await fetch_traces(backend, [hit.trace_id for hit in hits[:MAX_TRACES]])
    traces.sort(key=lambda t: t.duration, reverse=True)
    return Picked(traces, "a search for slow traces", backend.name, _describe(backend, query),
                  notes)


async def pick_traces(ctx: StepContext, deps: StepDeps) -> Picked:
    """Exemplar traces of the P99 when there are any, else the slowest traces a search finds."""
    backend = deps.sources.traces
    exemplars = await _exemplar_ids(ctx, deps)
    notes = (exemplars.note,) if exemplars.note else ()
    if exemplars.ids:
        traces = await fetch_traces(backend, exemplars.ids)
        if traces:
            traces.sort(key=lambda t: t.duration, reverse=True)
            # The traces come from the trace backend; Prometheus only chose which ones.
            return Picked(traces, "the P99 histogram's exemplars", backend.name,
                          f"exemplars of {exemplars.query}", notes)
        notes = (*notes, f"none of the {len(exemplars.ids)} exemplar traces were found in "
                         f"{backend.name}; searched instead")
    return await _searched(ctx, backend, notes)


async def run(ctx: StepContext, deps: StepDeps) -> StepOutput:
    """Pick the slow traces, categorise their spans, report the slowest and the dominant kind.

    The span analysis is CPU work (10-20 µs per span: ten traces of a thousand spans take
    about 0.15 s), so it runs in ``deps.executor``.
    """
    picked = await pick_traces(ctx, deps)
    loop = asyncio.get_running_loop()
    analysis = await loop.run_in_executor(deps.executor, analyse, picked.traces,
                                          SLOWEST_SPANS)
    links_base = deps.sources.backends.jaeger if deps.sources.traces.name == "jaeger" else None
    report = _Report(ctx, picked, analysis, links_base)
    return StepOutput(findings=report.findings(), signals=report.signals())


def seconds_text(seconds: float) -> str:
    """``0.042`` -> ``42 ms``, ``2.4`` -> ``2.40 s``."""
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


@dataclass(frozen=True)
class _Report:
    """Signals and findings of the examined traces."""

    ctx: StepContext
    picked: Picked
    analysis: TraceAnalysis
    links_base: str | None

    @property
    def traces(self) -> list[Trace]:
        return self.picked.traces

    def signals(self) -> Signals:
        numbers = {"traces.slow_count": float(len(self.traces))}
        if self.traces:
            numbers["traces.max_seconds"] = self.traces[0].duration.total_seconds()
            errors = sum(1 for t in self.traces if t.error_spans)
            numbers["traces.error_ratio"] = errors / len(self.traces)
        return Signals(numbers=numbers, span_categories=self.analysis.shares)

    def findings(self) -> list[Finding]:
        if not self.traces:
            return [self._none()]
        return [self._slowest(), self._dominant(), self._slowest_spans()]

    def _evidence(self, label: str, value: str, number: float | None = None,
                  unit: str | None = None) -> Evidence:
        return Evidence(label=label, value=value, number=number, unit=unit,
                        source=self.picked.source, query=self.picked.query,
                        window=stored_window(self.ctx.window))

    def _notes(self) -> str:
        return "".join(f" Note: {note}." for note in self.picked.notes)

    def _none(self) -> Finding:
        return Finding(
            key="traces.none", step=StepName.TRACES, severity=Severity.INFO,
            title="No slow traces found in the window",
            summary=f"Nothing came back from {self.picked.how}.{self._notes()}",
            evidence=[self._evidence("query", self.picked.query)],
        )

    def _slowest(self) -> Finding:
        evidence, links = [], []
        for trace in self.traces:
            seconds = trace.duration.total_seconds()
            failed = " · error" if trace.error_spans else ""
            evidence.append(self._evidence(
                f"{trace.root_service}: {trace.root_operation}",
                f"{seconds_text(seconds)} · trace {trace.trace_id}{failed}", seconds, "s"))
            if self.links_base:
                links.append(Link(title=f"{seconds_text(seconds)} {trace.root_operation}",
                                  url=f"{self.links_base}/trace/{trace.trace_id}"))
        errors = sum(1 for t in self.traces if t.error_spans)
        top = self.traces[0]
        return Finding(
            key="traces.slowest", step=StepName.TRACES, severity=Severity.INFO,
            title=(f"Slowest trace {seconds_text(top.duration.total_seconds())}: "
                   f"{top.root_operation}"),
            summary=(f"{len(self.traces)} traces from {self.picked.how}; {errors} with an "
                     f"error span.{self._notes()}"),
            evidence=evidence, links=links,
        )

    def _dominant(self) -> Finding:
        shares = self.analysis.shares
        name, share = next(iter(shares.items()), ("internal", 0.0))
        notable = name != "internal" and share >= 0.5
        return Finding(
            key="traces.dominant_category", step=StepName.TRACES,
            severity=Severity.WARNING if notable else Severity.INFO,
            title=f"{share:.0%} of slow-trace time is in {name} spans",
            summary="Share of the slow traces' self time (a span's duration minus its "
                    "children's) per kind of span.",
            evidence=[self._evidence(category, f"{value:.0%}", value, "ratio")
                      for category, value in shares.items()],
        )

    def _slowest_spans(self) -> Finding:
        slow = self.analysis.slowest_spans
        count = len(self.traces)
        evidence = [
            self._evidence(
                f"{row.item.span.operation} ({row.item.span.service})",
                f"{seconds_text(row.item.span.duration.total_seconds())}, self "
                f"{seconds_text(row.item.self_time.total_seconds())}, {row.item.category}; "
                f"in {row.traces} of {count} traces",
                row.item.span.duration.total_seconds(), "s")
            for row in slow
        ]
        title = (f"Slowest span: {slow[0].item.span.operation} ({slow[0].item.span.service}) "
                 f"{seconds_text(slow[0].item.span.duration.total_seconds())}"
                 if slow else "No spans below the traces' roots")
        return Finding(key="traces.slowest_spans", step=StepName.TRACES,
                       severity=Severity.INFO, title=title,
                       summary="The longest operations below each trace's root (slowest "
                               "instance of each), with their own (self) time and category.",
                       evidence=evidence)
