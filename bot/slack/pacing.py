"""Per-channel pacing: Slack allows about one message per second per channel.

Writes to a channel take turns a second apart instead of bursting into 429s; an alert storm
then arrives as an orderly stream, and the retry handler is left for true surprises.
"""

from __future__ import annotations

import asyncio
import contextvars
import random

from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

#: The channel the current task is writing to, for the retry handler to defer its turns.
WRITING_TO: contextvars.ContextVar[str | None] = contextvars.ContextVar("writing_to",
                                                                        default=None)


class ChannelPacer:
    """Hands out send slots per channel, ``interval`` seconds apart."""

    def __init__(self, interval: float = 1.0) -> None:
        self.interval = interval
        self._next_slot: dict[str, float] = {}

    async def wait_turn(self, channel: str) -> None:
        """Return when this channel may receive the next message."""
        loop = asyncio.get_running_loop()
        now = loop.time()
        slot = max(now, self._next_slot.get(channel, 0.0))
        self._next_slot[channel] = slot + self.interval
        if len(self._next_slot) > 10_000:
            self._forget_past(now)
        if slot > now:
            await asyncio.sleep(slot - now)

    def defer(self, channel: str, seconds: float) -> None:
        """A write to ``channel`` will be retried in ``seconds``: the next turn comes after."""
        loop = asyncio.get_running_loop()
        after = loop.time() + seconds + self.interval
        self._next_slot[channel] = max(self._next_slot.get(channel, 0.0), after)

    def _forget_past(self, now: float) -> None:
        for channel in [c for c, t in self._next_slot.items() if t < now]:
            del self._next_slot[channel]


class PacedRateLimitRetryHandler(AsyncRetryHandler):
    """Retries a 429 after its Retry-After, and moves the channel's next turn past the retry.

    slack_sdk's own handler sleeps Retry-After plus up to a second of jitter, unseen by the
    pacer: the retry then landed beside the next paced write, and that burst drew a second
    429. Here the channel's turns wait for the retry (the channel comes from ``WRITING_TO``,
    set by the outbound module around each write).
    """

    def __init__(self, pacer: ChannelPacer, max_retry_count: int = 5) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self._pacer = pacer

    async def _can_retry_async(self, *, state: RetryState, request: HttpRequest,
                               response: HttpResponse | None = None,
                               error: Exception | None = None) -> bool:
        return response is not None and response.status_code == 429

    async def prepare_for_next_attempt_async(
        self, *, state: RetryState, request: HttpRequest, response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        """Wait out Retry-After (plus a little jitter), having deferred the channel's turns."""
        if response is None:
            raise error or RuntimeError("a 429 retry without a response")
        state.next_attempt_requested = True
        values = next((v for k, v in response.headers.items() if k.lower() == "retry-after"),
                      ["1"])
        try:
            delay = float(values[0]) + random.uniform(0, 0.2)
        except (ValueError, IndexError):
            delay = 1.0 + random.uniform(0, 0.2)
        channel = WRITING_TO.get()
        if channel is not None:
            self._pacer.defer(channel, delay)
        await asyncio.sleep(delay)
        state.increment_current_attempt()
