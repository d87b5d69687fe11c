"""Step 2, logs: error patterns in the anomaly's window, counted, dated and shown.

The service's log stream (its catalog ``loki`` labels, narrowed by the leading playbook's
line filter) is read over the window, newest first, up to 2,000 lines. Each line is tested
against every playbook's log patterns (the union: a pool-timeout line is evidence for the
latency playbook even when memory growth leads), counting a line once per category. A
responder gets one finding per category, most frequent first, with when it was first and
last seen, a few exemplary lines and a per-minute chart; the playbooks get the counts.
"""

from __future__ import annotations

import asyncio
import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from bot.errors import SourceUnavailable
from bot.models import Chart, ChartSeries, Evidence, Finding, Severity, Signals, StepName, Window
from bot.sources.loki import LogLine
from bot.sources.selectors import logql_selector, quote
from bot.sources.window import TimeWindow
from bot.triage.steps.base import StepContext, StepDeps, StepOutput, stored_window

__all__ = ["LINE_LIMIT", "Entry", "LogTally", "build_logql", "entries", "error_level",
           "error_text", "run", "tally"]

LINE_LIMIT = 2000
EXAMPLES = 3
EXAMPLE_CHARS = 300
MAX_BUCKETS = 360
#: Pseudo-category for error-level lines no playbook pattern recognises (not a signal).
UNMATCHED = "error (no known pattern)"

_LEVEL_LABELS = ("level", "detected_level", "severity", "severity_text", "lvl")
_ERROR_LEVELS = frozenset({"error", "err", "fatal", "critical", "crit", "panic", "emerg"})
# logfmt (level=error) and JSON ("level":"ERROR") fields, any case.
_ERROR_FIELD = re.compile(
    r"""\b(?:level|lvl|severity)"?\s*[=:]\s*"?(?:error|err|fatal|critical)\b""", re.I)
# tracing-subscriber / env_logger text: "2025-11-27T10:30:01Z ERROR checkout::db: ...".
_ERROR_WORD = re.compile(r"^\[?(?:\S+\s+){0,2}(?:ERROR|FATAL|CRITICAL)\b")


#: What the tally needs of a log line, as plain picklable data: (timestamp ns, text, whether
#: its labels or structured metadata already say it is at error level).
Entry = tuple[int, str, bool]


def error_level(labels: Mapping[str, str], metadata: Mapping[str, str]) -> bool:
    """Whether a line's labels or structured metadata put it at error level."""
    return any(source.get(key, "").lower() in _ERROR_LEVELS
               for source in (labels, metadata) for key in _LEVEL_LABELS)


def error_text(text: str) -> bool:
    """Whether the line's own text says error level (logfmt, JSON or tracing's format)."""
    return bool(_ERROR_FIELD.search(text) or _ERROR_WORD.search(text))


def entries(lines: Sequence[LogLine]) -> list[Entry]:
    """Log lines as the tally takes them (plain tuples: they may cross to a worker process)."""
    return [(line.timestamp_ns, line.line, error_level(line.labels, line.metadata))
            for line in lines]


@dataclass
class CategoryTally:
    """What was seen of one category: count, first and last time, examples, per-bucket counts."""

    count: int = 0
    first_ns: int = 0
    last_ns: int = 0
    examples: list[tuple[int, str]] = field(default_factory=list)
    buckets: Counter[int] = field(default_factory=Counter)

    def add(self, ns: int, text: str, bucket_seconds: int) -> None:
        """Count one line (lines arrive newest first, so the first examples are the latest)."""
        self.count += 1
        self.first_ns = ns if self.count == 1 else min(self.first_ns, ns)
        self.last_ns = max(self.last_ns, ns)
        if len(self.examples) < EXAMPLES:
            self.examples.append((ns, text))
        self.buckets[ns // 1_000_000_000 // bucket_seconds * bucket_seconds] += 1


@dataclass
class LogTally:
    """Counts over the lines read: per category, error lines, unmatched error lines."""

    lines: int = 0
    error_lines: int = 0
    categories: dict[str, CategoryTally] = field(default_factory=dict)
    unmatched: CategoryTally = field(default_factory=CategoryTally)

    def ranked(self) -> list[tuple[str, CategoryTally]]:
        """Categories with at least one line, most frequent first (then by name)."""
        found = [(name, t) for name, t in self.categories.items() if t.count]
        return sorted(found, key=lambda item: (-item[1].count, item[0]))


def bucket_seconds(window: TimeWindow) -> int:
    """One minute, widened to whole minutes so a long window stays under MAX_BUCKETS points."""
    minutes = math.ceil(window.duration.total_seconds() / 60 / MAX_BUCKETS)
    return 60 * max(1, minutes)


def tally(
    lines: Sequence[Entry],
    patterns: Mapping[str, Sequence[re.Pattern[str]]],
    bucket: int = 60,
) -> LogTally:
    """Count ``lines`` per category (a line counts once per category it matches).

    CPU work: 2,000 lines against the playbooks' fifteen regexes take about 0.1 s, so the
    step runs this in the executor; inputs and result are picklable for a process pool.
    """
    result = LogTally(lines=len(lines), categories={name: CategoryTally() for name in patterns})
    for ns, text, error_by_label in lines:
        matched = [name for name, regexes in patterns.items()
                   if any(regex.search(text) for regex in regexes)]
        for name in matched:
            result.categories[name].add(ns, text, bucket)
        error = error_by_label or error_text(text)
        if matched or error:
            result.error_lines += 1
        if error and not matched:
            result.unmatched.add(ns, text, bucket)
    return result


def build_logql(ctx: StepContext) -> str:
    """The stream selector from the catalog, plus the leading playbook's line filter."""
    service = ctx.service
    if not service.loki:
        raise SourceUnavailable("loki", f"{service.name} has no loki labels in the catalog")
    try:
        selector = logql_selector(service.loki)
    except ValueError as exc:
        raise SourceUnavailable("loki", f"{service.name}: {exc}") from None
    line_filter = ctx.leader.steps.logs.line_filter if ctx.leader is not None else None
    if line_filter is None:
        return selector
    return f"{selector} |~ {quote(line_filter.pattern)}"


async def run(ctx: StepContext, deps: StepDeps) -> StepOutput:
    """Read the window's log lines, count them per category, report the patterns found."""
    logql = build_logql(ctx)
    lines = await deps.sources.loki.query_range(logql, ctx.window, limit=LINE_LIMIT,
                                                direction="backward")
    bucket = bucket_seconds(ctx.window)
    loop = asyncio.get_running_loop()
    counts = await loop.run_in_executor(deps.executor, tally, entries(lines),
                                        ctx.playbooks.log_patterns(), bucket)
    report = _Report(logql, ctx.window, bucket, counts)
    signals = Signals(
        numbers={"logs.lines": float(counts.lines), "logs.error_lines": float(counts.error_lines)},
        # Zero counts are kept: "looked, found none" differs from "logs not read".
        log_patterns={name: t.count for name, t in
                      sorted(counts.categories.items(), key=lambda kv: (-kv[1].count, kv[0]))},
    )
    return StepOutput(findings=report.findings(), signals=signals)


def _clip(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= EXAMPLE_CHARS else flat[: EXAMPLE_CHARS - 1] + "…"


def _time(ns: int) -> datetime:
    return datetime.fromtimestamp(ns / 1e9, UTC)


def _severity(category: str) -> Severity:
    """Critical for panics and OOM kills (``panic``, ``oom_kill``, ``tokio_panics``...)."""
    words = category.split("_")
    return Severity.CRITICAL if any(w.startswith(("panic", "oom")) for w in words) \
        else Severity.WARNING


@dataclass(frozen=True)
class _Report:
    """Turns a tally into findings; every piece of evidence cites the LogQL and the window."""

    logql: str
    window: TimeWindow
    bucket: int
    counts: LogTally

    @property
    def stored(self) -> Window:
        return stored_window(self.window)

    def findings(self) -> list[Finding]:
        found = [self._category(name, t) for name, t in self.counts.ranked()]
        if self.counts.unmatched.count:
            found.append(self._unmatched())
        if found:
            found[0] = found[0].model_copy(update={"charts": [self._chart()]})
        if not self.counts.ranked():
            found.append(self._nothing())
        return found

    def _evidence(self, label: str, value: str, number: float | None = None,
                  unit: str | None = None) -> Evidence:
        return Evidence(label=label, value=value, number=number, unit=unit, source="loki",
                        query=self.logql, window=self.stored)

    def _details(self, tally_: CategoryTally) -> list[Evidence]:
        first, last = _time(tally_.first_ns), _time(tally_.last_ns)
        evidence = [
            self._evidence("lines", str(tally_.count), tally_.count, "count"),
            self._evidence("first seen", first.isoformat(timespec="seconds"),
                           first.timestamp(), "s"),
            self._evidence("last seen", last.isoformat(timespec="seconds"),
                           last.timestamp(), "s"),
        ]
        evidence.extend(
            self._evidence(f"line at {_time(ns):%H:%M:%S}", _clip(text))
            for ns, text in tally_.examples
        )
        return evidence

    def _read(self) -> str:
        read = f"{self.counts.lines} lines read"
        if self.counts.lines >= LINE_LIMIT:
            read += f" (the {LINE_LIMIT}-line limit: only the newest part of the window)"
        return read

    def _category(self, name: str, tally_: CategoryTally) -> Finding:
        first, last = _time(tally_.first_ns), _time(tally_.last_ns)
        return Finding(
            key=f"logs.pattern.{name}",
            step=StepName.LOGS,
            title=f"{tally_.count} log lines match {name}",
            severity=_severity(name),
            summary=(f"{name}: first seen {first:%H:%M:%S}, last seen {last:%H:%M:%S} UTC; "
                     f"{self._read()}."),
            evidence=self._details(tally_),
        )

    def _unmatched(self) -> Finding:
        unmatched = self.counts.unmatched
        return Finding(
            key="logs.unmatched_errors",
            step=StepName.LOGS,
            title=f"{unmatched.count} error lines match no known pattern",
            severity=Severity.WARNING,
            summary=f"Error-level lines no playbook recognises; {self._read()}.",
            evidence=self._details(unmatched),
        )

    def _nothing(self) -> Finding:
        lines = self.counts.lines
        title = (f"{lines} lines, no error pattern" if lines
                 else "No log lines in the window")
        return Finding(
            key="logs.summary",
            step=StepName.LOGS,
            title=title,
            severity=Severity.INFO,
            summary=f"{self._read()}; {self.counts.error_lines} at error level.",
            evidence=[self._evidence("lines read", str(lines), lines, "count"),
                      self._evidence("error lines", str(self.counts.error_lines),
                                     self.counts.error_lines, "count")],
        )

    def _chart(self) -> Chart:
        start = int(self.window.start.timestamp()) // self.bucket * self.bucket
        end = int(self.window.end.timestamp())
        groups = [(name, t) for name, t in self.counts.ranked()]
        if self.counts.unmatched.count:
            groups.append((UNMATCHED, self.counts.unmatched))
        series = [
            ChartSeries(label=name, points=[(float(at), float(t.buckets.get(at, 0)))
                                            for at in range(start, end, self.bucket)])
            for name, t in groups
        ]
        per = "minute" if self.bucket == 60 else f"{self.bucket // 60} minutes"
        return Chart(title=f"Matching log lines per {per}", unit="lines", series=series)
