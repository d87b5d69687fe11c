"""A scenario's log lines: sources of lines at rates that change over time.

Each source emits events at ``rate(t)`` per second; event ``k`` happens where the integral of the
rate reaches ``k``, and its text is a template filled from hashes of ``k``. So any window,
asked forwards or backwards, in whatever pieces, sees exactly the same lines, and the decisive
lines of an incident sit where its anomaly is. Lines are formatted the way Rust services write
them: tracing-subscriber's default ``fmt`` layout, its JSON layout, or raw stderr text (panic
messages, which the standard library prints itself).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Literal

from triage_sim.service.scenarios.curves import Cumulative, Fn, mix64, unit_float

__all__ = ["LogLine", "LogModel", "LogSource"]

LogFormat = Literal["fmt", "json", "raw"]
Fields = Callable[[float, float], Mapping[str, object]]
CHUNK_S = 600.0


@dataclass(frozen=True)
class LogSource:
    """One kind of line: its rate over time, level, target (module path) and text templates.

    Templates are ``str.format`` strings; they may use ``{k}`` (event number), ``{ms}`` (a
    plausible duration), ``{id}`` (8 hex digits), ``{n}`` (a small count) and whatever
    ``fields(t, u)`` returns. ``span`` is tracing's span context, a template too
    (``request{{method={method}}}``). Messages are picked by hash, or in turn with
    ``in_order`` (a startup sequence).
    """

    key: int
    rate: Fn
    level: str
    target: str
    messages: tuple[str, ...]
    fields: Fields | None = None
    format: LogFormat = "fmt"
    stream: str = "stdout"
    span: str = ""
    in_order: bool = False
    count: Cumulative = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "count", Cumulative(self.rate))

    def events(self, t0: float, t1: float) -> Iterator[tuple[float, int]]:
        """(time, number) of every event in ``[t0, t1)``, oldest first."""
        grid = self.count.grid
        # An event landing exactly on a cell's end belongs to that cell: start a cell early.
        first, last = max(0, math.floor(t0 / grid) - 1), math.ceil(t1 / grid)
        for cell in range(first, last):
            a = cell * grid
            ca, cb = self.count(a), self.count(a + grid)
            for k in range(math.floor(ca) + 1, math.floor(cb) + 1):
                when = a + (k - ca) / (cb - ca) * grid
                if t0 <= when < t1:
                    yield when, k

    def render(self, when: float, k: int, epoch: float) -> list[str]:
        """The line(s) of event ``k`` (a panic message spans several lines)."""
        u = unit_float(self.key, k)
        values: dict[str, object] = {
            "k": k, "ms": int(4 + 60 * u * u), "n": 1 + int(9 * u),
            "id": f"{mix64(self.key, k, 3) & 0xFFFFFFFF:08x}",
        }
        if self.fields is not None:
            values.update(self.fields(when, u))
        choice = ((k - 1) % len(self.messages) if self.in_order
                  else int(unit_float(self.key, k, 7) * len(self.messages)))
        text = self.messages[choice].format(**values)
        stamp = datetime.fromtimestamp(epoch + when, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        if self.format == "raw":
            return text.split("\n")
        if self.format == "json":
            doc = {"timestamp": stamp, "level": self.level, "fields": {"message": text},
                   "target": self.target}
            if self.span:
                doc["span"] = {"name": self.span.split("{{", 1)[0]}
            return [json.dumps(doc, separators=(",", ":"))]
        context = f"{self.span.format(**values)}: " if self.span else ""
        return [f"{stamp} {self.level:>5} {context}{self.target}: {text}"]


@dataclass(frozen=True)
class LogLine:
    """A line as Loki returns it: nanosecond timestamp, text, and its stream (stdout/stderr)."""

    ns: int
    line: str
    stream: str


@dataclass(frozen=True)
class LogModel:
    """Every log source of a service, and the labels of its streams."""

    sources: tuple[LogSource, ...]
    labels: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    def stream_labels(self, stream: str) -> dict[str, str]:
        """The Loki labels of the ``stdout`` or ``stderr`` stream."""
        return {**self.labels, "stream": stream}

    def lines(self, t0: float, t1: float, epoch: float, *, backward: bool = True
              ) -> Iterator[LogLine]:
        """Lines in ``[t0, t1)`` (scenario seconds), newest first unless ``backward`` is false.

        Generated a chunk at a time, so a reader that stops at its limit pays for a chunk,
        not for the whole window.
        """
        starts = _chunks(t0, t1)
        for begin in (reversed(starts) if backward else starts):
            chunk = self._chunk(begin, min(t1, begin + CHUNK_S), epoch)
            yield from (reversed(chunk) if backward else chunk)

    def _chunk(self, t0: float, t1: float, epoch: float) -> list[LogLine]:
        out: list[LogLine] = []
        for source in self.sources:
            for when, k in source.events(t0, t1):
                base = round((epoch + when) * 1e9)
                for offset, text in enumerate(source.render(when, k, epoch)):
                    out.append(LogLine(base + offset * 1000, text, source.stream))
        out.sort(key=lambda line: line.ns)
        return out


def _chunks(t0: float, t1: float) -> list[float]:
    starts = []
    begin = max(0.0, t0)
    while begin < t1:
        starts.append(begin)
        begin += CHUNK_S
    return starts
