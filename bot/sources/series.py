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

from bot.sources.shape import (
    ShapeError,
    as_float,
    as_list,
    as_mapping,
    as_timestamp,
    field,
)

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


def _sample(pair: Any, where: str) -> Sample:
    items = as_list(pair, where)
    if len(items) != 2:
        raise ShapeError(f"{where}: expected [timestamp, value], got {len(items)} items")
    return Sample(as_timestamp(items[0], where), as_float(items[1], where))


def _labels(item: Mapping[str, Any], key: str, where: str) -> Mapping[str, str]:
    return frozen_labels(as_mapping(item.get(key) or {}, f"{where}.{key}"))


def _vector_item(raw: Any, where: str) -> Series:
    item = as_mapping(raw, where)
    samples = (_sample(item["value"], f"{where}.value"),) if "value" in item else ()
    return Series(_labels(item, "metric", where), samples)


def _matrix_item(raw: Any, where: str) -> Series:
    item = as_mapping(raw, where)
    pairs = as_list(item.get("values"), f"{where}.values", null_is_empty=True)
    return Series(_labels(item, "metric", where),
                  tuple(_sample(pair, f"{where}.values[{i}]") for i, pair in enumerate(pairs)))


def parse_result(result_type: str, result: Any) -> list[Series]:
    """Turn ``data.result`` of a query answer into series.

    ``vector`` gives one sample per series, ``matrix`` many, ``scalar`` one series without
    labels. Native-histogram samples (``histogram``/``histograms``) carry no float and are
    left out. Raises ShapeError for anything else, including result types that are not
    numbers (``string``, ``streams``).
    """
    where = "data.result"
    if result_type == "scalar":
        return [Series(frozen_labels({}), (_sample(result, where),))]
    if result_type == "vector":
        return [_vector_item(raw, f"{where}[{i}]")
                for i, raw in enumerate(as_list(result, where, null_is_empty=True))]
    if result_type == "matrix":
        return [_matrix_item(raw, f"{where}[{i}]")
                for i, raw in enumerate(as_list(result, where, null_is_empty=True))]
    raise ShapeError(f"result type {str(result_type)[:40]!r} is not a vector, matrix or scalar")


def result_type_of(result: Any) -> str:
    """Guess the result type from the shape of ``data.result`` alone.

    For answers whose ``resultType`` was lost: ``[t, "v"]`` is a scalar (or string), a list
    of objects with ``value`` a vector, with ``values`` a matrix.
    """
    if isinstance(result, list) and len(result) == 2 and not isinstance(result[0], dict):
        return "scalar" if _is_number_text(result[1]) else "string"
    if isinstance(result, list) and result and isinstance(result[0], dict):
        return "matrix" if "values" in result[0] or "histograms" in result[0] else "vector"
    if isinstance(result, list):
        return "vector"
    raise ShapeError(f"unexpected query result shape: {type(result).__name__}")


def _is_number_text(text: Any) -> bool:
    try:
        float(text)
    except (TypeError, ValueError):
        return False
    return True


def _exemplar(raw: Any, where: str) -> Exemplar:
    item = as_mapping(raw, where)
    return Exemplar(_labels(item, "labels", where),
                    as_float(field(item, "value", where), f"{where}.value"),
                    as_timestamp(field(item, "timestamp", where), f"{where}.timestamp"))


def _exemplar_series(raw: Any, where: str) -> ExemplarSeries:
    item = as_mapping(raw, where)
    found = as_list(item.get("exemplars"), f"{where}.exemplars", null_is_empty=True)
    return ExemplarSeries(_labels(item, "seriesLabels", where),
                          tuple(_exemplar(ex, f"{where}.exemplars[{i}]")
                                for i, ex in enumerate(found)))


def parse_exemplars(data: Any) -> list[ExemplarSeries]:
    """Turn ``data`` of a ``/api/v1/query_exemplars`` answer (a list) into exemplar series."""
    items = as_list(data, "data", null_is_empty=True)
    return [_exemplar_series(raw, f"data[{i}]") for i, raw in enumerate(items)]
