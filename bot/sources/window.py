"""The time window every query is asked about.

A window is the span of time an incident is looked at through: metrics, logs and traces are
all asked about the same one, so it lives beside the clients that take it. Both ends are
timezone-aware, because a naive datetime is read as local time by some libraries and as UTC by
others, and an hour's shift is exactly the kind of mistake nobody notices during an incident.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

__all__ = ["TimeWindow"]


@dataclass(frozen=True)
class TimeWindow:
    """A half-open interval ``[start, end)`` of aware datetimes, ``start`` strictly first."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        for which, value in (("start", self.start), ("end", self.end)):
            if value.tzinfo is None or value.utcoffset() is None:
                raise ValueError(f"time window {which} must be timezone-aware: {value!r}")
        if self.start >= self.end:
            raise ValueError(
                f"time window start {self.start.isoformat()} is not before end "
                f"{self.end.isoformat()}"
            )

    @classmethod
    def last(cls, duration: timedelta, now: datetime | None = None) -> TimeWindow:
        """The ``duration`` ending at ``now`` (the current time when omitted)."""
        end = now if now is not None else datetime.now(UTC)
        return cls(end - duration, end)

    @classmethod
    def around(cls, at: datetime, before: timedelta, after: timedelta) -> TimeWindow:
        """A window from ``before`` ahead of ``at`` to ``after`` past it (an alert's start)."""
        return cls(at - before, at + after)

    @property
    def duration(self) -> timedelta:
        """How long the window is."""
        return self.end - self.start

    def contains(self, moment: datetime) -> bool:
        """Whether ``moment`` falls inside ``[start, end)``."""
        return self.start <= moment < self.end
