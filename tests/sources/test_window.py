from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from bot.sources import TimeWindow

T0 = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def test_window_keeps_aware_ends_and_measures_duration() -> None:
    window = TimeWindow(T0, T0 + timedelta(minutes=30))
    assert window.duration == timedelta(minutes=30)
    assert window.contains(T0) and not window.contains(window.end)


def test_window_rejects_naive_datetimes() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        TimeWindow(datetime(2026, 11, 27, 12, 0), T0 + timedelta(hours=1))


def test_window_rejects_empty_or_reversed() -> None:
    with pytest.raises(ValueError, match="not before"):
        TimeWindow(T0, T0)
    with pytest.raises(ValueError, match="not before"):
        TimeWindow(T0, T0 - timedelta(seconds=1))


def test_window_constructors_and_other_offsets() -> None:
    assert TimeWindow.last(timedelta(hours=1), now=T0) == TimeWindow(T0 - timedelta(hours=1), T0)
    around = TimeWindow.around(T0, timedelta(minutes=15), timedelta(minutes=5))
    assert around.duration == timedelta(minutes=20)
    paris = timezone(timedelta(hours=1))
    assert TimeWindow(T0.astimezone(paris), T0 + timedelta(seconds=1)).duration.total_seconds() == 1
