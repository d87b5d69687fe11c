"""Scenario time against wall time.

A scenario happens over ``history_s`` seconds of *scenario time* ``t`` (0 = the start of its
history). The *anchor* is the Unix time at which the history ends: with the anchor at "now",
the anomaly is recent (started 90 minutes ago in a 3-hour history) and the live stand-in goes on
from there. The anchor is explicit so a backfilled Prometheus, a live stand-in and a replay of
recordings agree on what happened when, and so tests can stop the clock.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

__all__ = ["ScenarioClock"]


@dataclass(frozen=True)
class ScenarioClock:
    """Maps Unix time to scenario time: ``t = unix - anchor + history_s``.

    ``wall`` gives the current Unix time (``time.time`` unless a test freezes it).
    """

    anchor: float
    history_s: float
    wall: Callable[[], float] = field(default=time.time, compare=False)

    @classmethod
    def ending_now(cls, history_s: float, wall: Callable[[], float] = time.time
                   ) -> ScenarioClock:
        """A clock whose history ends at the current (whole) second."""
        return cls(float(int(wall())), history_s, wall)

    @classmethod
    def frozen(cls, anchor: float, history_s: float, offset_s: float = 0.0) -> ScenarioClock:
        """A clock stopped ``offset_s`` seconds after the anchor."""
        moment = anchor + offset_s
        return cls(anchor, history_s, lambda: moment)

    @property
    def epoch(self) -> float:
        """The Unix time of scenario time 0 (the start of the history)."""
        return self.anchor - self.history_s

    def scenario_time(self, unix: float) -> float:
        """Scenario seconds at Unix time ``unix``."""
        return unix - self.epoch

    def unix(self, t: float) -> float:
        """Unix time at scenario time ``t``."""
        return self.epoch + t

    def now(self) -> float:
        """The current scenario time."""
        return self.scenario_time(self.wall())

    def at(self, t: float) -> datetime:
        """Scenario time ``t`` as an aware UTC datetime."""
        return datetime.fromtimestamp(self.unix(t), UTC)
