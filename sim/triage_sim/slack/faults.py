"""Injected failures and Slack's per-channel posting limit, for the stand-in.

``fail_next`` queues HTTP 429 (with ``Retry-After``) or 5xx answers for a method. The channel
limit emulates chat.postMessage's documented "about one message per second per channel,
short bursts allowed" as a token bucket: a burst of ``burst`` messages, refilled at
``per_second``; past it Slack answers 429 with ``Retry-After`` in whole seconds.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["ChannelRateLimit", "Fault", "FaultPlan"]

_DEFAULT_ERRORS = {429: "ratelimited", 500: "internal_error", 503: "service_unavailable"}


@dataclass(frozen=True)
class Fault:
    """One queued failure: the status, its ``error`` word and, for 429, ``Retry-After``."""

    status: int
    error: str
    retry_after: int | None
    #: Do the call, then answer with the failure (a reply lost after Slack acted on it).
    after: bool = False


class FaultPlan:
    """Failures queued per method (``"*"`` matches every method)."""

    def __init__(self) -> None:
        self._queued: dict[str, list[Fault]] = {}

    def add(
        self, method: str, *, status: int, retry_after: int | None, times: int, error: str | None,
        after: bool = False,
    ) -> None:
        """Queue ``times`` failures for ``method``."""
        word = error or _DEFAULT_ERRORS.get(status, "fatal_error")
        wait = retry_after if status == 429 else None
        self._queued.setdefault(method, []).extend(
            Fault(status, word, wait, after) for _ in range(times))

    def take(self, method: str) -> Fault | None:
        """The next failure for ``method``, if one is queued."""
        for key in (method, "*"):
            queue = self._queued.get(key)
            if queue:
                return queue.pop(0)
        return None

    def clear(self) -> None:
        """Forget every queued failure."""
        self._queued.clear()


class ChannelRateLimit:
    """A token bucket per channel; ``take`` returns seconds to wait, or ``None`` when allowed."""

    def __init__(self, per_second: float, burst: int, clock: Callable[[], float]) -> None:
        if per_second <= 0 or burst < 1:
            raise ValueError("per_second must be > 0 and burst >= 1")
        self._rate = per_second
        self._burst = float(burst)
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}

    def take(self, channel: str) -> int | None:
        """Spend one token for ``channel``; when empty, the ``Retry-After`` in seconds."""
        now = self._clock()
        tokens, last = self._buckets.get(channel, (self._burst, now))
        tokens = min(self._burst, tokens + (now - last) * self._rate)
        if tokens >= 1.0:
            self._buckets[channel] = (tokens - 1.0, now)
            return None
        self._buckets[channel] = (tokens, now)
        return max(1, math.ceil((1.0 - tokens) / self._rate))
