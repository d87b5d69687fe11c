"""Charts as PNG: valid pictures at Slack's preview size, drawn off the event loop."""

from __future__ import annotations

import io
import itertools
import math
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import TypeVar

import pytest
from PIL import Image

from bot.models import Chart, ChartSeries
from bot.slack import charts
from bot.slack.charts import (
    chart_filename,
    render_chart,
    render_charts,
    time_ticks,
    unit_scale,
)
from tests.support.loop_lag import LagProbe

T = TypeVar("T")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
T0 = 1_772_359_200.0  # 2026-03-01 10:00 UTC
MAX_LAG_S = 0.2


def series(label: str, n: int, *, base: float = 100.0, step_s: float = 15.0) -> ChartSeries:
    return ChartSeries(label=label, points=[(T0 + step_s * k, base + k + 20 * math.sin(k / 25))
                                            for k in range(n)])


def three_by_500() -> Chart:
    return Chart(title="RSS of checkout", unit="bytes",
                 series=[series(f'pod="checkout-{i}"', 500, base=2e8 * (i + 1)) for i in range(3)],
                 threshold=1.5e9, threshold_label="memory limit",
                 marker=datetime.fromtimestamp(T0 + 3000, UTC))


def assert_png(png: bytes) -> None:
    assert png[:8] == PNG_MAGIC
    with Image.open(io.BytesIO(png)) as image:
        assert image.format == "PNG"
        assert image.size == (800, 320)


@pytest.mark.parametrize("chart", [
    three_by_500(),
    Chart(title="no series at all", unit="s", series=[]),
    Chart(title="empty series", unit="s", series=[ChartSeries(label="a", points=[])]),
    Chart(title="only NaN", unit="ratio",
          series=[ChartSeries(label="a", points=[(T0, math.nan), (T0 + 60, math.nan)])]),
    Chart(title="NaN gaps and inf", unit="ratio", threshold=0.9, threshold_label="busy",
          series=[ChartSeries(label="busy", points=[(T0 + 60 * k, math.nan if k % 7 == 0 else
                                                     (math.inf if k == 3 else k / 100))
                                                    for k in range(60)])]),
    Chart(title="single point", unit="count", marker=datetime.fromtimestamp(T0, UTC),
          series=[ChartSeries(label="tasks", points=[(T0, 42.0)])]),
    Chart(title="unsorted, negative", unit="bytes/s",
          series=[ChartSeries(label="slope", points=[(T0 + 60, -5e6), (T0, 3e6), (T0 + 30, 0)])]),
    Chart(title="marker far outside the data", unit="s",
          marker=datetime.fromtimestamp(T0 - 86_400 * 3, UTC), series=[series("p99", 50)]),
    Chart(title="NaN threshold", unit="s", threshold=math.nan, series=[series("p99", 10)]),
    Chart(title="naive marker", unit="s", marker=datetime(2026, 3, 1, 10, 5),
          series=[series("p99", 40)]),
])
def test_renders_a_png_at_preview_size(chart: Chart) -> None:
    assert_png(render_chart(chart))


def test_hostile_labels_and_many_series_draw_without_warnings() -> None:
    # pytest turns warnings into errors: a missing glyph or a mathtext parse error would fail
    labels = ["$x_1$ half $", "_leading underscore", "日本語 😀 ✓", "a" * 500, "\\frac{1}{0}"]
    chart = Chart(title="$$ P99 ^{by} route 😀 " * 10, unit="weird/unit", threshold=120,
                  threshold_label="$SLO$ 日本",
                  series=[series(labels[i % len(labels)], 40, base=10 * i) for i in range(25)])
    assert_png(render_chart(chart))


@pytest.mark.parametrize(("unit", "peak", "factor", "label"), [
    ("bytes", 3 * 1024**3, 1 / 1024**3, "GiB"),
    ("bytes", 300 * 1024**2, 1 / 1024**2, "MiB"),
    ("bytes", 3000, 1 / 1024, "KiB"),
    ("bytes", 0, 1.0, "bytes"),
    ("bytes/s", 2 * 1024**2, 1 / 1024**2, "MiB/s"),
    ("s", 0.25, 1000.0, "ms"),
    ("s", 45.0, 1.0, "s"),
    ("ratio", 0.97, 100.0, "%"),
    ("cores", 3.5, 1.0, "cores"),
    ("", 1.0, 1.0, ""),
])
def test_unit_scale(unit: str, peak: float, factor: float, label: str) -> None:
    scale = unit_scale(unit, peak)
    assert scale.label == label
    assert scale.factor == pytest.approx(factor)


@pytest.mark.parametrize(("low", "high"), [
    (T0, T0 + 600), (T0, T0 + 3600), (T0 - 7, T0 + 3 * 3600 + 11), (T0, T0 + 86_400 * 2),
    (T0, T0 + 86_400 * 30), (T0, T0 + 1),
])
def test_time_ticks_fall_on_round_utc_times(low: float, high: float) -> None:
    ticks = time_ticks(low, high)
    assert 1 <= len(ticks) <= 9
    assert all(low <= t <= high for t in ticks)
    assert all(t % 60 == 0 for t in ticks)
    if len(ticks) > 1:
        gaps = {b - a for a, b in itertools.pairwise(ticks)}
        assert len(gaps) == 1


def test_chart_filenames_are_safe_and_unique() -> None:
    assert chart_filename(0, "P99 latency (checkout)") == "01-p99-latency-checkout.png"
    assert chart_filename(1, "../../etc/passwd") == "02-etc-passwd.png"
    assert chart_filename(2, "日本語") == "03-chart.png"
    assert chart_filename(3, "Ünïcödé RSS") == "04-unicode-rss.png"
    long = chart_filename(9, "x" * 500)
    assert len(long) <= 70 and long.endswith(".png")


async def test_render_charts_names_them_in_order() -> None:
    batch = [three_by_500(), Chart(title="P99 / route", unit="s", series=[series("p99", 30)])]
    with ThreadPoolExecutor(max_workers=2) as executor:
        rendered = await render_charts(batch, executor)
    assert [name for name, _ in rendered] == ["01-rss-of-checkout.png", "02-p99-route.png"]
    for _, png in rendered:
        assert_png(png)


async def test_a_chart_that_fails_is_left_out_and_logged(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:
    real = charts.render_chart

    def flaky(chart: Chart) -> bytes:
        if chart.title == "broken":
            raise ValueError("cannot draw")
        return real(chart)

    monkeypatch.setattr(charts, "render_chart", flaky)
    batch = [Chart(title="broken", series=[]), Chart(title="fine", series=[series("a", 5)])]
    with ThreadPoolExecutor(max_workers=2) as executor:
        rendered = await render_charts(batch, executor)
    assert [name for name, _ in rendered] == ["02-fine.png"]
    assert "chart could not be drawn" in caplog.text


def test_threads_draw_the_same_picture_as_one_thread() -> None:
    """No shared figure state: charts drawn side by side come out byte for byte the same."""
    batch = [three_by_500(), Chart(title="P99", unit="s", series=[series("p99", 300)],
                                   threshold=150, threshold_label="SLO")] * 2
    alone = [render_chart(c) for c in batch]
    with ThreadPoolExecutor(max_workers=4) as executor:
        together = list(executor.map(render_chart, batch))
    assert together == alone






async def test_the_loop_stays_responsive_while_charts_render() -> None:
    batch = [three_by_500() for _ in range(8)]
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="charts") as executor:
        render_chart(batch[0])  # warm up outside the measurement
        probe = LagProbe()
        started = time.monotonic()
        rendered = await probe.around(render_charts(batch, executor))
        elapsed = time.monotonic() - started
    assert len(rendered) == 8
    assert probe.ticks > 20
    print(f"\n8 charts (3x500) through a 2-thread pool in {elapsed:.2f} s: worst loop lag "
          f"{probe.worst * 1000:.1f} ms over {probe.ticks} ticks")
    assert probe.worst < MAX_LAG_S, f"event loop stalled for {probe.worst * 1000:.0f} ms"
