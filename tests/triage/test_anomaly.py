"""Change points on shapes the scenarios produce."""

from __future__ import annotations

import math

from bot.triage.anomaly import growth_start, least_squares_slope, mean_shift


def test_level_shift_is_found_where_it_happens() -> None:
    values = [0.1 + 0.005 * (i % 3) for i in range(60)] + [1.2 + 0.01 * (i % 4) for i in range(40)]
    shift = mean_shift(values)
    assert shift is not None and shift.index == 60
    assert shift.ratio > 10


def test_nans_are_ignored_and_short_series_give_none() -> None:
    assert mean_shift([1.0, 2.0, math.nan]) is None
    assert mean_shift([math.nan] * 20) is None


def test_growth_start_of_a_linear_ramp() -> None:
    flat = [100.0 + (i % 2) for i in range(50)]
    ramp = [flat[-1] + 5.0 * (i + 1) for i in range(50)]
    shift = growth_start(flat + ramp)
    assert shift is not None and abs(shift.index - 50) <= 1
    assert shift.after > 4


def test_slope() -> None:
    assert least_squares_slope([(0, 1.0), (10, 21.0), (20, 41.0)]) == 2.0
    assert least_squares_slope([(0, 1.0)]) == 0.0
