"""Charts as PNG for the incident thread, drawn off the event loop.

Drawing is CPU work (100-200 ms a chart on a small machine), so :func:`render_charts` runs it in the
executor it is given. :func:`render_chart` touches no global matplotlib state: no pyplot (whose
figure registry and backend switch are process-wide), a fresh ``Figure`` with its own Agg canvas
per call, and matplotlib keys its font cache by thread; so several charts can be drawn at once.

The picture is sized for Slack's preview (800x320 px): UTC times on the x axis, the y axis in a
unit a person reads (MiB, ms, %), the threshold and the anomaly's start marked.
"""

from __future__ import annotations

import asyncio
import io
import logging
import re
import unicodedata
from collections.abc import Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache

import numpy as np
import numpy.typing as npt
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties, findfont, get_font
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter
from matplotlib.transforms import blended_transform_factory

from bot.models import Chart, ChartSeries

__all__ = ["DPI", "HEIGHT_IN", "WIDTH_IN", "chart_filename", "render_chart", "render_charts",
           "time_ticks", "unit_scale"]

log = logging.getLogger(__name__)

WIDTH_IN, HEIGHT_IN, DPI = 8.0, 3.2, 100
MAX_LEGEND = 6
MAX_DRAWN = 20
LABEL_CHARS = 40
TITLE_CHARS = 90
_KIB, _MIB, _GIB = 1024.0, 1024.0**2, 1024.0**3
_THRESHOLD_COLOR = "#d62728"
_MARKER_COLOR = "#555555"
_Floats = npt.NDArray[np.float64]
# Tick steps in seconds: round minutes, then round hours, then a day.
_TICK_STEPS = (60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400)


@dataclass(frozen=True)
class Scale:
    """How to show a unit: multiply values by ``factor`` and call the result ``label``."""

    factor: float
    label: str


def _byte_scale(peak: float, suffix: str) -> Scale:
    if peak >= _GIB:
        return Scale(1 / _GIB, f"GiB{suffix}")
    if peak >= _MIB:
        return Scale(1 / _MIB, f"MiB{suffix}")
    if peak >= _KIB:
        return Scale(1 / _KIB, f"KiB{suffix}")
    return Scale(1.0, f"bytes{suffix}")


def unit_scale(unit: str, peak: float) -> Scale:
    """The display scale for ``unit`` given the largest absolute value to be drawn."""
    unit = unit.strip()
    if unit in ("bytes", "By", "B"):
        return _byte_scale(peak, "")
    if unit in ("bytes/s", "By/s", "B/s"):
        return _byte_scale(peak, "/s")
    if unit in ("s", "seconds"):
        return Scale(1000.0, "ms") if peak < 10 else Scale(1.0, "s")
    if unit == "ratio":
        return Scale(100.0, "%")
    return Scale(1.0, unit)


def chart_filename(index: int, title: str) -> str:
    """``03-p99-latency.png``: ASCII, no path separators, unique by its index."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")[:60].strip("-")
    return f"{index + 1:02d}-{slug or 'chart'}.png"


@cache
def _font_codepoints() -> frozenset[int]:
    """Characters the default font can draw (matplotlib warns on any other)."""
    path = findfont(FontProperties(family=["sans-serif"]))
    return frozenset(get_font(path).get_charmap())


def _text(text: str, limit: int) -> str:
    """Text safe for a matplotlib label: clipped, drawable, never read as mathtext."""
    clipped = text if len(text) <= limit else text[: limit - 1] + "…"
    drawable = _font_codepoints()
    shown = "".join(c if ord(c) in drawable or c in "\n " else "?" for c in clipped)
    return shown.replace("$", r"\$")


def _compact(value: float, _pos: int | None = None) -> str:
    magnitude = abs(value)
    for limit, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if magnitude >= limit:
            return f"{value / limit:.4g}{suffix}"
    return f"{value:.4g}"


def _arrays(series: ChartSeries) -> tuple[_Floats, _Floats]:
    """Times (unix seconds) and values, sorted by time; non-finite values as NaN."""
    if not series.points:
        return np.empty(0), np.empty(0)
    data = np.asarray(series.points, dtype=np.float64).reshape(-1, 2)
    data = data[np.isfinite(data[:, 0])]
    data = data[np.argsort(data[:, 0], kind="stable")]
    values = np.where(np.isfinite(data[:, 1]), data[:, 1], np.nan)
    return data[:, 0], values


def _peak(arrays: Sequence[tuple[_Floats, _Floats]], threshold: float | None) -> float:
    finite = [np.nanmax(np.abs(v)) for _, v in arrays if np.isfinite(v).any()]
    if threshold is not None and np.isfinite(threshold):
        finite.append(abs(threshold))
    return float(max(finite, default=0.0))


def _legend_label(series: ChartSeries) -> str:
    label = _text(series.label or "series", LABEL_CHARS)
    return f" {label}" if label.startswith("_") else label  # a leading _ hides it from legends


def _draw_series(ax: Axes, chart: Chart, arrays: list[tuple[_Floats, _Floats]],
                 scale: Scale) -> int:
    """Plot the lines (the first ``MAX_DRAWN``); return how many had a finite value."""
    drawn = 0
    listed = MAX_LEGEND if len(chart.series) <= MAX_LEGEND else MAX_LEGEND - 1
    for index, (series, (times, values)) in enumerate(
            zip(chart.series[:MAX_DRAWN], arrays[:MAX_DRAWN], strict=True)):
        if not np.isfinite(values).any():
            continue
        few = np.isfinite(values).sum() < 3
        ax.plot(times, values * scale.factor, linewidth=1.4, marker="o" if few else None,
                markersize=4, label=_legend_label(series) if index < listed else "_hidden")
        drawn += 1
    return drawn


def _draw_legend(ax: Axes, chart: Chart) -> int:
    """A legend under the plot (never over the data); return its number of rows."""
    handles, labels = ax.get_legend_handles_labels()
    if not handles:
        return 0
    if len(chart.series) > MAX_LEGEND:
        more = len(chart.series) - len(handles)
        hidden = len(chart.series) - MAX_DRAWN
        note = f"+{more} more" + (f" ({hidden} not drawn)" if hidden > 0 else "")
        handles = [*handles, Line2D([], [], linestyle="none")]
        labels = [*labels, note]
    columns = min(len(handles), 3)
    ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(0.0, -0.1), ncol=columns,
              fontsize=8, frameon=False, borderaxespad=0.0, handlelength=1.5)
    return -(-len(handles) // columns)


def _draw_threshold(ax: Axes, chart: Chart, scale: Scale) -> None:
    if chart.threshold is None or not np.isfinite(chart.threshold):
        return
    level = chart.threshold * scale.factor
    ax.axhline(level, color=_THRESHOLD_COLOR, linestyle="--", linewidth=1.1)
    label = _text(chart.threshold_label or "threshold", LABEL_CHARS)
    ax.text(0.995, level, label, transform=blended_transform_factory(ax.transAxes, ax.transData),
            ha="right", va="bottom", fontsize=8, color=_THRESHOLD_COLOR)


def _seconds(moment: datetime) -> float:
    """Unix seconds; a naive time is taken as UTC (stored times are UTC), never as local."""
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def _draw_marker(ax: Axes, chart: Chart) -> None:
    if chart.marker is None:
        return
    at = _seconds(chart.marker)
    ax.axvline(at, color=_MARKER_COLOR, linestyle=":", linewidth=1.2)
    ax.text(at, 0.97, " anomaly start ", transform=blended_transform_factory(ax.transData,
                                                                            ax.transAxes),
            ha="left", va="top", fontsize=8, color=_MARKER_COLOR,
            bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 1.0})


def time_ticks(low: float, high: float) -> list[float]:
    """Tick positions (unix seconds) on round UTC minutes, hours or days; at most nine."""
    span = max(high - low, 1.0)
    step = next((s for s in _TICK_STEPS if span / s <= 8), _TICK_STEPS[-1])
    while span / step > 8:  # spans of more than a week: whole multiples of a day
        step += _TICK_STEPS[-1]
    first = -(-low // step) * step
    return [float(t) for t in np.arange(first, high + 1e-9, step)]


def _time_label(seconds: float, _pos: int | None = None, *, with_date: bool = False) -> str:
    moment = datetime.fromtimestamp(seconds, UTC)
    return moment.strftime("%m-%d %H:%M" if with_date else "%H:%M")


def _time_axis(ax: Axes, arrays: list[tuple[_Floats, _Floats]], chart: Chart) -> None:
    times = [t for t, _ in arrays if t.size]
    if chart.marker is not None:
        times.append(np.array([_seconds(chart.marker)]))
    if not times:
        ax.set_xticks([])
        ax.set_yticks([])
        return
    joined = np.concatenate(times)
    low, high = float(joined.min()), float(joined.max())
    pad = max((high - low) * 0.02, 300.0)  # a lone point gets ±5 minutes around it
    ax.set_xlim(low - pad, high + pad)
    ax.set_xticks(time_ticks(low - pad, high + pad))
    with_date = high - low > 86400
    ax.xaxis.set_major_formatter(FuncFormatter(
        lambda x, pos: _time_label(x, pos, with_date=with_date)))


def render_chart(chart: Chart) -> bytes:
    """One chart as PNG bytes (800x320 px). Thread-safe: no pyplot, no shared figure."""
    figure = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI)
    FigureCanvasAgg(figure)  # attaches itself: this figure draws with Agg, whatever the default
    ax = figure.add_subplot()
    arrays = [_arrays(s) for s in chart.series]
    scale = unit_scale(chart.unit, _peak(arrays, chart.threshold))
    if not _draw_series(ax, chart, arrays, scale):
        ax.text(0.5, 0.5, "no data in this window", transform=ax.transAxes, ha="center",
                va="center", fontsize=10, color="#777777")
    rows = _draw_legend(ax, chart)
    _draw_threshold(ax, chart, scale)
    _draw_marker(ax, chart)
    ax.margins(y=0.12)  # room above the threshold's label
    _time_axis(ax, arrays, chart)
    ax.yaxis.set_major_formatter(FuncFormatter(_compact))
    ax.set_ylabel(_text(scale.label, 20), fontsize=8)
    ax.tick_params(labelsize=8)
    ax.grid(True, alpha=0.3)
    ax.set_title(_text(chart.title, TITLE_CHARS), loc="left", fontsize=10, fontweight="bold")
    ax.set_title("times in UTC", loc="right", fontsize=8, color="#777777")
    figure.subplots_adjust(left=0.08, right=0.985, top=0.9, bottom=0.11 + 0.065 * rows)
    out = io.BytesIO()
    figure.savefig(out, format="png", dpi=DPI)
    return out.getvalue()


async def render_charts(charts: Sequence[Chart], executor: Executor) -> list[tuple[str, bytes]]:
    """Each chart as ``(filename, png)``, drawn in ``executor`` so the loop stays free.

    A chart that fails to draw is logged and left out: the findings still reach the thread.
    """
    loop = asyncio.get_running_loop()
    jobs = [loop.run_in_executor(executor, render_chart, chart) for chart in charts]
    outcomes = await asyncio.gather(*jobs, return_exceptions=True)
    rendered: list[tuple[str, bytes]] = []
    for index, (chart, outcome) in enumerate(zip(charts, outcomes, strict=True)):
        if isinstance(outcome, bytes):
            rendered.append((chart_filename(index, chart.title), outcome))
        elif isinstance(outcome, Exception):
            log.warning("chart could not be drawn", extra={"chart": chart.title},
                        exc_info=outcome)
        else:
            raise outcome
    return rendered
