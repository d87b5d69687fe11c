"""Per-channel pacing: Slack allows about one message per second per channel.

Writes to a channel take turns a second apart instead of bursting into 429s; an alert storm
then arrives as an orderly stream, and the retry handler is left for true surprises.
"""

from __future__ import annotations

import asyncio


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

    def _forget_past(self, now: float) -> None:
        for channel in [c for c, t in self._next_slot.items() if t < now]:
            del self._next_slot[channel]
