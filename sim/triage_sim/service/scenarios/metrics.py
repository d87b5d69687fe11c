"""Metric families of a scenario: gauges, counters and histograms as functions of time.

A family is rendered twice from the same functions: as the live exposition a scrape reads
(``triage_sim.replay.history.exposition``) and as the hours of history ``promtool`` backfills
(``triage_sim.replay.history.write_openmetrics``). Counters are built from rates (see
:class:`~triage_sim.service.scenarios.curves.Cumulative`) and restart from zero when the
process restarts, as in-process counters do; histogram buckets are cumulative in ``le`` because
each bucket is the request count times a distribution's CDF at its bound.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

from triage_sim.service.scenarios.curves import Cumulative, Fn, LogNormal, since_reset

__all__ = [
    "OTEL_BUCKETS",
    "PROMETHEUS_BUCKETS",
    "ExemplarSlot",
    "Family",
    "HistogramStream",
    "Series",
    "counter",
    "event_counter",
    "gauges",
    "histogram",
    "info",
    "untyped_counter",
]

FamilyType = Literal["counter", "gauge", "histogram", "unknown"]
ALWAYS = (-math.inf, math.inf)

#: OpenTelemetry's recommended boundaries for http.server.request.duration (seconds).
OTEL_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)
#: The Prometheus client default, used by axum-prometheus and actix-web-prom.
PROMETHEUS_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def _labels(raw: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType(dict(raw))


@dataclass(frozen=True)
class ExemplarSlot:
    """Which traces may serve as exemplar of one histogram bucket: a route, a status, a range.

    ``low < duration <= high`` in seconds, the bucket's own interval (OpenMetrics requires an
    exemplar's value to fall inside its bucket).
    """

    method: str
    route: str
    status: int
    low: float
    high: float


@dataclass(frozen=True)
class Series:
    """One sample stream: its name (``foo_bucket``, ``foo_total``), labels and value at ``t``.

    ``active`` bounds when the series exists (a build_info series of an old version ends at
    the deploy). ``since_epoch`` marks values that are seconds since the history start and
    become Unix times when rendered (``process_start_time_seconds``).
    """

    sample: str
    labels: Mapping[str, str]
    value: Fn
    active: tuple[float, float] = ALWAYS
    since_epoch: bool = False
    exemplar: ExemplarSlot | None = None

    def exists_at(self, t: float) -> bool:
        """Whether the series has a value at scenario time ``t``."""
        return self.active[0] <= t < self.active[1]


@dataclass(frozen=True)
class Family:
    """A metric family as OpenMetrics declares it (``# TYPE name type``) and its series."""

    name: str
    type: FamilyType
    help: str
    series: tuple[Series, ...]

    @property
    def sample_names(self) -> frozenset[str]:
        """Every sample name the family emits (what Prometheus calls metric names)."""
        return frozenset(s.sample for s in self.series)


def gauges(name: str, help_text: str, streams: Sequence[tuple[Mapping[str, str], Fn]],
           *, integer: bool = False) -> Family:
    """A gauge family with one series per (labels, level)."""
    def level(fn: Fn) -> Fn:
        return (lambda t: float(round(fn(t)))) if integer else fn

    series = tuple(Series(name, _labels(labels), level(fn)) for labels, fn in streams)
    return Family(name, "gauge", help_text, series)


def info(name: str, help_text: str, versions: Sequence[tuple[float, float, Mapping[str, str]]]
         ) -> Family:
    """A ``*_info`` style gauge of value 1 whose labels change over time (a deploy)."""
    series = tuple(Series(name, _labels(labels), lambda t: 1.0, (begin, end))
                   for begin, end, labels in versions)
    return Family(name, "gauge", help_text, series)


def counter(name: str, help_text: str, streams: Sequence[tuple[Mapping[str, str], Fn]],
            *, resets: Sequence[float] = (), integer: bool = False) -> Family:
    """A counter family (samples ``<name>_total``) integrating each stream's rate per second."""
    series = tuple(
        Series(f"{name}_total", _labels(labels), _counted(rate, resets, integer))
        for labels, rate in streams
    )
    return Family(name, "counter", help_text, series)


def untyped_counter(name: str, help_text: str, streams: Sequence[tuple[Mapping[str, str], Fn]],
                    *, resets: Sequence[float] = ()) -> Family:
    """A counter exported without the ``_total`` suffix (metrics-rs does), typed ``unknown``.

    OpenMetrics insists counters end in ``_total``; tokio-metrics' ``tokio_total_busy_duration``
    does not, so it is declared ``unknown``, which Prometheus stores as it is.
    """
    series = tuple(Series(name, _labels(labels), _counted(rate, resets, False))
                   for labels, rate in streams)
    return Family(name, "unknown", help_text, series)


def event_counter(name: str, help_text: str, labels: Mapping[str, str],
                  events: Sequence[float]) -> Family:
    """A counter of discrete events (kube-state-metrics' restart count): +1 at each time."""
    ordered = sorted(events)
    series = Series(f"{name}_total", _labels(labels),
                    lambda t: float(sum(1 for e in ordered if e <= t)))
    return Family(name, "counter", help_text, (series,))


def _counted(rate: Fn, resets: Sequence[float], integer: bool) -> Fn:
    value = since_reset(Cumulative(rate), resets)
    return (lambda t: float(math.floor(value(t)))) if integer else value


@dataclass(frozen=True)
class HistogramStream:
    """Requests of one label set: their rate, and latencies from a two-part mixture.

    A share ``slow_share(t)`` of requests follows ``slow``, the rest ``fast``; that is how an
    incident looks from a histogram (most requests fine, a growing tail). ``route`` ties the
    stream's buckets to the scenario's traces, for exemplars.
    """

    labels: Mapping[str, str]
    rate: Fn
    fast: LogNormal
    slow: LogNormal
    slow_share: Fn
    route: tuple[str, str, int] | None = None


def histogram(name: str, help_text: str, buckets: Sequence[float],
              streams: Sequence[HistogramStream], *, resets: Sequence[float] = ()) -> Family:
    """A histogram family: ``_bucket`` (cumulative, with ``le``), ``_sum`` and ``_count``."""
    series: list[Series] = []
    for stream in streams:
        series.extend(_histogram_series(name, tuple(buckets), stream, resets))
    return Family(name, "histogram", help_text, tuple(series))


def _histogram_series(name: str, buckets: tuple[float, ...], stream: HistogramStream,
                      resets: Sequence[float]) -> list[Series]:
    rate, share = stream.rate, stream.slow_share
    total = _memo(since_reset(Cumulative(rate), resets))
    slow_total = since_reset(Cumulative(lambda t: rate(t) * share(t)), resets)
    slow_t = _memo(lambda t: min(slow_total(t), total(t)))

    def bucket_count(fast_p: float, slow_p: float) -> Fn:
        return lambda t: float(math.floor(fast_p * total(t) + (slow_p - fast_p) * slow_t(t)))

    out: list[Series] = []
    low = 0.0
    for bound in (*buckets, math.inf):
        labels = _labels({**stream.labels, "le": _le(bound)})
        slot = (ExemplarSlot(*stream.route, low, bound) if stream.route is not None else None)
        fn = (bucket_count(stream.fast.cdf(bound), stream.slow.cdf(bound))
              if bound != math.inf else (lambda t: float(math.floor(total(t)))))
        out.append(Series(f"{name}_bucket", labels, fn, exemplar=slot))
        low = bound
    fast_mean, slow_mean = stream.fast.mean, stream.slow.mean
    out.append(Series(f"{name}_sum", _labels(stream.labels),
                      lambda t: fast_mean * total(t) + (slow_mean - fast_mean) * slow_t(t)))
    out.append(Series(f"{name}_count", _labels(stream.labels),
                      lambda t: float(math.floor(total(t)))))
    return out


def _memo(fn: Fn, size: int = 4096) -> Fn:
    """``fn`` remembering recent times: every bucket of a stream reads the same totals."""
    seen: dict[float, float] = {}

    def remembered(t: float) -> float:
        value = seen.get(t)
        if value is None:
            if len(seen) >= size:
                seen.clear()
            value = seen[t] = fn(t)
        return value

    return remembered


def _le(bound: float) -> str:
    """``le`` as OpenMetrics writes it: a float text, ``+Inf`` for the last bucket."""
    return "+Inf" if bound == math.inf else repr(float(bound))

