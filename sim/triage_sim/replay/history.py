"""A scenario's metrics as OpenMetrics text: live (``/metrics``) and as hours of history.

The live exposition is what the stand-in answers a scrape with at the scenario's current
time, with exemplars (trace ids of recent requests) on the OpenTelemetry latency buckets. The
history is the same series every ``step_s`` seconds from the start of the scenario to its
anchor, each sample with its timestamp, for ``promtool tsdb create-blocks-from openmetrics``:
a real Prometheus then holds three hours of the incident without waiting three hours. Both
read the same functions, so a scrape after the anchor continues the backfilled series exactly.

Exemplars are live only: promtool's backfill ignores them, and Prometheus stores exemplars
from scrapes.
"""

from __future__ import annotations

import hashlib
import math
import shutil
import subprocess
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from triage_sim.service.scenarios.metrics import ExemplarSlot, Series
from triage_sim.service.scenarios.model import Scenario
from triage_sim.service.scenarios.traces import TraceRef

__all__ = [
    "EXEMPLAR_LOOKBACK_S",
    "OPENMETRICS_CONTENT_TYPE",
    "BackfillResult",
    "backfill",
    "create_blocks",
    "exposition",
    "history_text",
    "promtool_binary",
    "scenario_fingerprint",
    "write_openmetrics",
]

OPENMETRICS_CONTENT_TYPE = "application/openmetrics-text; version=1.0.0; charset=utf-8"
EXEMPLAR_LOOKBACK_S = 600.0
_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": "\\n"})


def _number(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def _labels(labels: Mapping[str, str]) -> str:
    if not labels:
        return ""
    inner = ",".join(f'{name}="{str(value).translate(_ESCAPES)}"'
                     for name, value in labels.items())
    return "{" + inner + "}"


def _value(series: Series, t: float, epoch: float) -> float:
    value = series.value(t)
    return epoch + value if series.since_epoch else value


def _header(name: str, kind: str, help_text: str) -> Iterator[str]:
    yield f"# HELP {name} {help_text}"
    yield f"# TYPE {name} {kind}"


def exposition(scenario: Scenario, t: float, epoch: float, *, exemplars: bool = True,
               step_s: float | None = None) -> str:
    """The ``/metrics`` answer at scenario time ``t`` (OpenMetrics, ending ``# EOF``).

    ``epoch`` is the Unix time of scenario time 0 (``ScenarioClock.epoch``). With ``step_s``,
    values are those of the next multiple of ``step_s`` and carry its timestamp: scraped every
    second, Prometheus still stores one sample per step, the resolution of the backfilled
    history, so rates over a window reaching "now" are not skewed by a change of resolution.
    (The next multiple, not the last: the last one is the anchor right after a backfill, which
    the head refuses as too old, and a refused sample drops its exemplar too. Queries see a
    sample only once its time has come.)
    """
    picks = _exemplar_index(scenario, t) if exemplars else {}
    stamp = ""
    if step_s is not None:
        t = math.floor(t / step_s + 1) * step_s
        stamp = f" {epoch + t:.3f}"
    lines: list[str] = []
    for family in scenario.families:
        present = [s for s in family.series if s.exists_at(t)]
        if not present:
            continue
        lines.extend(_header(family.name, family.type, family.help))
        for series in present:
            value = _number(_value(series, t, epoch))
            line = f"{series.sample}{_labels(series.labels)} {value}{stamp}"
            ref = _exemplar_for(series.exemplar, picks)
            if ref is not None:
                trace = scenario.traces.build(ref, epoch)
                line += (f' # {{trace_id="{ref.trace_id}",span_id="{trace.root.span_id}"}} '
                         f"{_number(round(ref.duration, 6))} {epoch + ref.end:.3f}")
            lines.append(line)
    lines.append("# EOF")
    return "\n".join(lines) + "\n"


def _exemplar_index(scenario: Scenario, t: float) -> dict[tuple[str, str, int], list[TraceRef]]:
    """Recent finished requests by (method, route, status), newest first."""
    index: dict[tuple[str, str, int], list[TraceRef]] = {}
    for ref in scenario.traces.finished(t - EXEMPLAR_LOOKBACK_S, t, t):
        shape = ref.shape
        index.setdefault((shape.method, shape.route, shape.status), []).append(ref)
    return index


def _exemplar_for(slot: ExemplarSlot | None,
                  index: Mapping[tuple[str, str, int], list[TraceRef]]) -> TraceRef | None:
    if slot is None:
        return None
    for ref in index.get((slot.method, slot.route, slot.status), ()):
        if slot.low < ref.duration <= slot.high:
            return ref
    return None


def history_text(scenario: Scenario, epoch: float, times: Sequence[float]) -> Iterator[str]:
    """OpenMetrics lines of every series at each of ``times`` (scenario seconds), with
    timestamps and the target labels a scrape would add; the last line is ``# EOF``.

    OpenMetrics wants each metric point's samples together, timestamps ascending: a
    histogram's buckets, sum and count for one label set at one time, then the next time.
    """
    target = scenario.service.target_labels()
    for family in scenario.families:
        yield from _header(family.name, family.type, family.help)
        for group in _groups(family.series):
            rendered = [(s, _labels({**s.labels, **target})) for s in group]
            for t in times:
                stamp = f"{epoch + t:.3f}"
                for series, labels in rendered:
                    if series.exists_at(t):
                        value = _number(_value(series, t, epoch))
                        yield f"{series.sample}{labels} {value} {stamp}"
    yield "# EOF"


def _groups(series: Sequence[Series]) -> list[list[Series]]:
    """Series sharing labels apart from ``le`` (one histogram label set), in order."""
    groups: dict[tuple[tuple[str, str], ...], list[Series]] = {}
    for one in series:
        key = tuple(sorted((k, v) for k, v in one.labels.items() if k != "le"))
        groups.setdefault(key, []).append(one)
    return list(groups.values())


def _grid(history_s: float, step_s: float) -> list[float]:
    count = int(history_s // step_s)
    return [history_s - step_s * (count - i) for i in range(count + 1)]


def write_openmetrics(scenario: Scenario, anchor: float, path: Path, step_s: float = 15.0
                      ) -> int:
    """Write the scenario's history ending at ``anchor`` (Unix seconds) to ``path``.

    Samples are ``step_s`` apart and the last one is at the anchor itself. Returns the number
    of samples written.
    """
    if step_s <= 0:
        raise ValueError("step_s must be positive")
    epoch = anchor - scenario.history_s
    samples = 0
    with path.open("w", encoding="utf-8") as out:
        for line in history_text(scenario, epoch, _grid(scenario.history_s, step_s)):
            samples += not line.startswith("#")
            out.write(line + "\n")
    return samples


def scenario_fingerprint(scenario: Scenario) -> str:
    """A short hash of the scenario's series, for telling stale recordings apart.

    Computed on a coarse grid at a fixed epoch: any change to a series' name, labels or
    values over the history changes it; the anchor does not.
    """
    digest = hashlib.sha256()
    for line in history_text(scenario, 0.0, _grid(scenario.history_s, 300.0)):
        digest.update(line.encode())
        digest.update(b"\n")
    return digest.hexdigest()[:16]


def promtool_binary() -> str | None:
    """``promtool`` (Debian package ``prometheus``), or None when it is not installed."""
    found = shutil.which("promtool")
    if found:
        return found
    return "/usr/bin/promtool" if Path("/usr/bin/promtool").exists() else None


def create_blocks(openmetrics: Path, tsdb_dir: Path, *, promtool: str | None = None,
                  timeout_s: float = 120.0) -> str:
    """Run ``promtool tsdb create-blocks-from openmetrics`` into ``tsdb_dir``; its output.

    Blocking (a subprocess): call it from a thread when an event loop is running.
    """
    binary = promtool or promtool_binary()
    if binary is None:
        raise RuntimeError("promtool is not installed (Debian package `prometheus`)")
    tsdb_dir.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [binary, "tsdb", "create-blocks-from", "openmetrics", str(openmetrics), str(tsdb_dir)],
        capture_output=True, text=True, timeout=timeout_s, check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"promtool failed ({done.returncode}): "
                           f"{(done.stderr or done.stdout).strip()[-2000:]}")
    return done.stdout


@dataclass(frozen=True)
class BackfillResult:
    """What a backfill did: samples written and how long writing and promtool took."""

    samples: int
    write_seconds: float
    promtool_seconds: float


def backfill(scenarios: Iterable[Scenario], anchor: float, tsdb_dir: Path, *,
             step_s: float = 15.0, promtool: str | None = None) -> BackfillResult:
    """Backfill each scenario's history (ending at ``anchor``) into one TSDB directory.

    The OpenMetrics files are written next to ``tsdb_dir`` and removed afterwards. Blocking.
    """
    samples, writing, blocks = 0, 0.0, 0.0
    for scenario in scenarios:
        source = tsdb_dir.parent / f"{tsdb_dir.name}-{scenario.name}.om"
        began = time.monotonic()
        samples += write_openmetrics(scenario, anchor, source, step_s)
        written = time.monotonic()
        try:
            create_blocks(source, tsdb_dir, promtool=promtool)
        finally:
            source.unlink(missing_ok=True)
        writing += written - began
        blocks += time.monotonic() - written
    return BackfillResult(samples, writing, blocks)
