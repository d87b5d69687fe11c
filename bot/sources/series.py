"""Typed numeric results: series of samples, and exemplars pointing at traces.

Prometheus answers and Loki metric queries share one JSON shape (vector, matrix, scalar), so
the parsing of that shape lives here, next to the types it produces, and both clients use it.
Values arrive as strings ("1", "NaN", "+Inf"); they leave as floats.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

__all__ = [
    "Exemplar",
    "ExemplarSeries",
    "Sample",
    "Series",
    "frozen_labels",
    "parse_exemplars",
    "parse_result",
]

# Label names under which instrumentation libraries put the trace id of an exemplar.
TRACE_ID_LABELS = ("trace_id", "traceID", "traceId", "trace-id", "TraceID")


def frozen_labels(raw: Mapping[str, Any]) -> Mapping[str, str]:
    """A read-only copy of a label set, every value as a string."""
    return MappingProxyType({str(k): str(v) for k, v in raw.items()})


def _utc(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)


@dataclass(frozen=True)
class Sample:
    """One point: a Unix timestamp in seconds and a float value (NaN and ±Inf kept)."""

    timestamp: float
    value: float

    @property
    def time(self) -> datetime:
        """The timestamp as an aware UTC datetime."""
        return _utc(self.timestamp)


@dataclass(frozen=True)
class Series:
    """A label set and its samples in time order (one sample for an instant query)."""

    labels: Mapping[str, str]
    samples: tuple[Sample, ...]

    @property
    def name(self) -> str | None:
        """The metric name (``__name__``), absent after most functions and aggregations."""
        return self.labels.get("__name__")

    @property
    def values(self) -> list[float]:
        """The sample values in time order."""
        return [s.value for s in self.samples]

    @property
    def last(self) -> Sample | None:
        """The latest sample, or None for a series without samples."""
        return self.samples[-1] if self.samples else None

    def __iter__(self) -> Iterator[Sample]:
        return iter(self.samples)


@dataclass(frozen=True)
class Exemplar:
    """One exemplar: its own labels (usually a trace id), the observed value, when."""

    labels: Mapping[str, str]
    value: float
    timestamp: float

    @property
    def time(self) -> datetime:
        """The timestamp as an aware UTC datetime."""
        return _utc(self.timestamp)

    @property
    def trace_id(self) -> str | None:
        """The trace id as the instrumentation wrote it, under any of the usual label names."""
        for key in TRACE_ID_LABELS:
            if self.labels.get(key):
                return self.labels[key]
        return None


@dataclass(frozen=True)
class ExemplarSeries:
    """The exemplars recorded for one series (``seriesLabels`` in Prometheus's answer)."""

    labels: Mapping[str, str]
    exemplars: tuple[Exemplar, ...]


def _sample(pair: Any) -> Sample:
    timestamp, value = pair
    return Sample(float(timestamp), float(value))


def parse_result(result_type: str, result: Any) -> list[Series]:
    """Turn ``data.result`` of a query answer into series.

    ``vector`` gives one sample per series, ``matrix`` many, ``scalar`` one series without
    labels. Native-histogram samples (``histogram``/``histograms``) carry no float and are
    left out. Raises ValueError for result types that are not numbers (``string``, ``streams``).
    """
    if result_type == "scalar":
        return [Series(frozen_labels({}), (_sample(result),))]
    if result_type == "vector":
        return [
            Series(frozen_labels(item.get("metric", {})),
                   (_sample(item["value"]),) if "value" in item else ())
            for item in result
        ]
    if result_type == "matrix":
        return [
            Series(frozen_labels(item.get("metric", {})),
                   tuple(_sample(pair) for pair in item.get("values", ())))
            for item in result
        ]
    raise ValueError(f"result type {result_type!r} is not a vector, matrix or scalar")


def result_type_of(result: Any) -> str:
    """Guess the result type from the shape of ``data.result`` alone.

    prometheus-api-client hands back only ``data.result``, dropping ``resultType``; the shapes
    are distinct enough to tell apart: ``[t, "v"]`` is a scalar (or string), a list of objects
    with ``value`` a vector, with ``values`` a matrix.
    """
    if isinstance(result, list) and len(result) == 2 and not isinstance(result[0], dict):
        return "scalar" if _is_number_text(result[1]) else "string"
    if isinstance(result, list) and result and isinstance(result[0], dict):
        return "matrix" if "values" in result[0] or "histograms" in result[0] else "vector"
    if isinstance(result, list):
        return "vector"
    raise ValueError(f"unexpected query result shape: {type(result).__name__}")


def _is_number_text(text: Any) -> bool:
    try:
        float(text)
    except (TypeError, ValueError):
        return False
    return True


def parse_exemplars(data: Any) -> list[ExemplarSeries]:
    """Turn ``data`` of a ``/api/v1/query_exemplars`` answer (a list) into exemplar series."""
    return [
        ExemplarSeries(
            frozen_labels(item.get("seriesLabels", {})),
            tuple(
                Exemplar(frozen_labels(ex.get("labels", {})), float(ex["value"]),
                         float(ex["timestamp"]))
                for ex in item.get("exemplars") or ()
            ),
        )
        for item in data or ()
    ]
