"""How responsive the event loop stays while some work is awaited."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")


class LagProbe:
    """Measures how late a 5 ms ticker on the loop wakes up while ``work`` runs."""

    def __init__(self, interval: float = 0.005) -> None:
        self.interval = interval
        self.worst = 0.0
        self.ticks = 0

    async def around(self, work: Awaitable[T]) -> T:
        """Await ``work`` with the ticker running; ``worst`` is the largest lag seen."""
        stop = asyncio.Event()

        async def tick() -> None:
            loop = asyncio.get_running_loop()
            while not stop.is_set():
                before = loop.time()
                await asyncio.sleep(self.interval)
                self.worst = max(self.worst, loop.time() - before - self.interval)
                self.ticks += 1

        ticker = asyncio.create_task(tick())
        try:
            return await work
        finally:
            stop.set()
            await ticker
