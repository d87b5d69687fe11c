"""Text reports: ``go tool pprof -top`` to the character, and a growth report for two profiles.

:func:`top_report` reproduces pprof's text report (pprof as vendored in Go 1.19+, default
options): nodes whose cumulative value is below ``node_fraction`` of the total are dropped and
counted in a "Dropped N nodes" line; ``node_count`` keeps the first N after sorting and says
"Showing top N nodes out of M"; one output unit is chosen for the whole table from the smallest
shown value; a function is marked ``(inline)`` when every call edge into it that survives the
``edge_fraction`` cut is an inlined call, ``(partial-inline)`` when only some are. Times are
printed in UTC (pprof uses the local zone; they agree on a UTC machine).
"""

from __future__ import annotations

import posixpath
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from itertools import chain, compress, repeat
from operator import not_

from bot.sources.pprof.analysis import (
    FunctionTotal,
    ProfileDiff,
    frame_totals,
)
from bot.sources.pprof.model import Profile, Sample, ValueType
from bot.sources.pprof.units import auto_label, percentage, scale, scaled_label

_URL_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_SLICE = 4096
_Edge = tuple[str, str]


@dataclass(frozen=True)
class TopOptions:
    """pprof's knobs for a text report (``-sample_index``, ``-nodecount``, ``-cum``, ...)."""

    sample: str | int | None = None
    node_count: int = 0
    cum: bool = False
    node_fraction: float = 0.005
    edge_fraction: float = 0.001


@dataclass(frozen=True)
class TopRow:
    """One line of the table; ``inline`` is "", "(inline)" or "(partial-inline)"."""

    name: str
    flat: int
    cum: int
    inline: str = ""


@dataclass(frozen=True)
class TopReport:
    """The header lines and rows of a ``-top`` report, with raw values kept for callers."""

    labels: tuple[str, ...]
    rows: tuple[TopRow, ...]
    total: int
    sample_type: ValueType
    output_unit: str

    def format_value(self, value: int) -> str:
        """A value in the report's unit, as the table prints it."""
        return scaled_label(value, self.sample_type.unit, self.output_unit)

    def render(self) -> str:
        """The report as ``go tool pprof -top`` prints it (ends with a newline)."""
        lines = [*self.labels, f"{'flat':>10} {'flat':>5}% {'sum':>5}% {'cum':>10} {'cum':>5}%"]
        running = 0
        for row in self.rows:
            running += row.flat
            suffix = f" {row.inline}" if row.inline else ""
            lines.append(
                f"{self.format_value(row.flat):>10} {percentage(row.flat, self.total)} "
                f"{percentage(running, self.total)} {self.format_value(row.cum):>10} "
                f"{percentage(row.cum, self.total)}  {row.name}{suffix}"
            )
        return "\n".join(lines) + "\n"


def top_report(profile: Profile, options: TopOptions = TopOptions()) -> TopReport:
    """Compute what ``go tool pprof -top`` shows for ``profile`` with ``options``."""
    index = profile.sample_index(options.sample)
    totals = frame_totals(profile, index)
    flat_sum = sum(f.flat for f in totals.functions)
    node_cutoff = abs(int(float(flat_sum) * options.node_fraction))
    edge_cutoff = abs(int(float(flat_sum) * options.edge_fraction))
    nodes = list(totals.functions)
    dropped = 0
    if node_cutoff > 0:
        kept = [n for n in nodes if abs(n.cum) >= node_cutoff]
        dropped, nodes = len(nodes) - len(kept), kept
    shown_before_count = len(nodes)
    if options.cum:
        nodes.sort(key=lambda n: (-abs(n.cum), n.name, -abs(n.flat)))
    if options.node_count > 0:
        nodes = nodes[: options.node_count]
    inline = _inline_labels(profile.samples, index, {n.name for n in nodes}, edge_cutoff)
    sample_type = profile.sample_types[index]
    unit = _output_unit(nodes, totals.total, sample_type.unit)
    report = TopReport((), tuple(TopRow(n.name, n.flat, n.cum, inline.get(n.name, ""))
                                 for n in nodes), totals.total, sample_type, unit)
    labels = _header(profile, report) + _legend(report, options, dropped, shown_before_count)
    return replace(report, labels=tuple(labels))


def render_top(profile: Profile, options: TopOptions = TopOptions()) -> str:
    """``go tool pprof -top`` output for ``profile``."""
    return top_report(profile, options).render()


def _output_unit(nodes: Sequence[FunctionTotal], total: int, sample_unit: str) -> str:
    """pprof's "minimum" unit: fit the smallest shown value, unless that wastes 100x."""
    if not nodes:
        return "minimum"
    smallest = 0
    for node in nodes:
        value = abs(node.flat) or abs(node.cum)
        if value > 0 and (smallest == 0 or value < smallest):
            smallest = value
    smallest = smallest or total
    _, min_unit = scale(smallest, sample_unit, "minimum")
    _, max_unit = scale(total, sample_unit, "minimum")
    unit = min_unit
    if min_unit != max_unit and smallest * 100 < total:
        _, unit = scale(100 * smallest, sample_unit, "minimum")
    return unit or sample_unit


def _inline_labels(
    samples: Iterable[Sample], index: int, shown: set[str], edge_cutoff: int,
) -> dict[str, str]:
    """Which shown functions are reached only (or partly) through inlined calls.

    pprof walks each stack from the root and links every shown frame to the previous shown
    one; an edge counts once per sample, and stays "inline" only if, in every sample, its
    first occurrence from the root was an inlined call. The same is computed here with
    C-level tools per sample (``compress``, ``dict(zip(...))``) rather than a loop per frame.
    """
    live = [s for s in samples if s.values[index]]
    candidates = set(chain.from_iterable(
        compress(s.stack, s.inlined) for s in live if s.inlined
    )) & shown
    if not candidates:
        return {}
    by_value: defaultdict[int, list[_Edge]] = defaultdict(list)
    called: set[_Edge] = set()
    for sample in live:
        if not candidates.isdisjoint(sample.stack):
            edges, calls = _sample_edges(sample, shown)
            called.update(calls)
            by_value[sample.values[index]].extend(edges)
    inline_into: set[str] = set()
    called_into: set[str] = set()
    for edge, weight in _edge_weights(by_value).items():
        caller, callee = edge
        if caller != callee and callee in candidates and abs(weight) >= edge_cutoff:
            (called_into if edge in called else inline_into).add(callee)
    return {name: "(partial-inline)" if name in called_into else "(inline)"
            for name in inline_into}


def _sample_edges(sample: Sample, shown: set[str]) -> tuple[list[_Edge], Iterable[_Edge]]:
    """A sample's (caller, callee) edges between shown frames, and those that were calls."""
    names, flags = sample.stack, sample.inlined
    if not shown.issuperset(names):
        mask = tuple(map(shown.__contains__, names))
        names, flags = tuple(compress(names, mask)), tuple(compress(flags, mask))
    edges = list(zip(names[1:], names, strict=False))  # leaf first
    if len(set(names)) < len(names):
        # A repeated function may repeat an edge: keep one per sample, and the flag of the
        # occurrence closest to the root (later keys win in dict()).
        first = dict(zip(edges, flags or repeat(False), strict=False))
        edges, flags = list(first), tuple(first.values())
    return edges, (compress(edges, map(not_, flags)) if flags else edges)


def _edge_weights(by_value: dict[int, list[_Edge]]) -> Counter[_Edge]:
    weights: Counter[_Edge] = Counter()
    for value, edges in by_value.items():
        counts: Counter[_Edge] = Counter()
        for start in range(0, len(edges), _SLICE):  # short C calls: the GIL changes hands
            counts.update(edges[start : start + _SLICE])
        for edge, count in counts.items():
            weights[edge] += count * value
    return weights


def _header(profile: Profile, report: TopReport) -> list[str]:
    labels = []
    main = profile.main_binary
    if not profile.build_id and _URL_SCHEME.match(main):
        main = ""  # pprof drops mapping file names that are URLs without a build id
    if main:
        labels.append(f"File: {posixpath.basename(main)}")
    if profile.build_id:
        labels.append(f"Build ID: {profile.build_id}")
    labels += [c for c in profile.comments if not c.startswith("#")]
    labels.append(f"Type: {report.sample_type.type}")
    if profile.time_nanos:
        labels.append(f"Time: {_pprof_time(profile.time_nanos)}")
    if profile.duration_nanos:
        total_nanos, total_unit = scale(report.total, report.sample_type.unit, "nanoseconds")
        ratio = ""
        if total_unit == "ns" and total_nanos:
            ratio = f"({percentage(int(total_nanos), profile.duration_nanos)})"
        labels.append(f"Duration: {auto_label(profile.duration_nanos, 'nanoseconds')}, "
                      f"Total samples = {report.format_value(report.total)} {ratio}")
    return labels


def _legend(report: TopReport, options: TopOptions, dropped: int, before_count: int) -> list[str]:
    shown = sum(row.flat for row in report.rows)
    legend = [
        f"Showing nodes accounting for {report.format_value(shown)}, "
        f"{percentage(shown, report.total).strip()} of {report.format_value(report.total)} total"
    ]
    if report.total:
        if dropped:
            cutoff = abs(int(float(report.total) * options.node_fraction))
            noun = "nodes" if dropped > 1 else "node"
            legend.append(f"Dropped {dropped} {noun} (cum <= {report.format_value(cutoff)})")
        if 0 < len(report.rows) < before_count:
            legend.append(f"Showing top {len(report.rows)} nodes out of {before_count}")
    return legend


def _pprof_time(nanos: int) -> str:
    """Go's "Jan 2, 2006 at 3:04pm (MST)" layout, in UTC."""
    moment = datetime.fromtimestamp(nanos // 1_000_000_000, tz=UTC)
    hour = moment.hour % 12 or 12
    meridian = "pm" if moment.hour >= 12 else "am"
    return (f"{moment:%b} {moment.day}, {moment.year} at "
            f"{hour}:{moment.minute:02d}{meridian} (UTC)")


def render_diff(diff: ProfileDiff, n: int = 10, max_frames: int = 8) -> str:
    """The functions and stacks that grew most between two profiles, as text."""
    unit = diff.sample_type.unit

    def signed(value: int) -> str:
        text = auto_label(value, unit)
        return text if text.startswith("-") or text == "0" else "+" + text

    lines = [
        f"Type: {diff.sample_type.type}",
        f"Total: {auto_label(diff.base_total, unit)} -> {auto_label(diff.new_total, unit)} "
        f"({signed(diff.new_total - diff.base_total)})",
        "",
        "Functions that grew most:",
        f"{'flat Δ':>12} {'cum Δ':>12} {'new flat':>12} {'new cum':>12}  function",
    ]
    functions = diff.grown_functions(n)
    lines += [
        f"{signed(f.flat_delta):>12} {signed(f.cum_delta):>12} {auto_label(f.new_flat, unit):>12} "
        f"{auto_label(f.new_cum, unit):>12}  {f.name}"
        for f in functions
    ] or ["  (none)"]
    lines += ["", "Stacks that grew most (leaf first):"]
    for stack in diff.grown_stacks(n):
        lines.append(f"{signed(stack.delta):>12}  {stack.stack[0] if stack.stack else '<empty>'}")
        callers = stack.stack[1:max_frames]
        lines += [f"{'':>12}    <- {name}" for name in callers]
        hidden = len(stack.stack) - max_frames
        if hidden > 0:
            lines.append(f"{'':>12}    ... {hidden} more frame{'s' if hidden > 1 else ''}")
    if not diff.grown_stacks(1):
        lines.append("  (none)")
    return "\n".join(lines) + "\n"
