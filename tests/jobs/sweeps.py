"""Sweeps for scheduler tests, importable by reference like the real ones.

Each gets the scheduler's context: here the name of the replica that runs it.
"""

from __future__ import annotations

import asyncio

RUNS: list[str] = []
CANCELLED: list[str] = []
FINISHED: list[str] = []


async def count(who: str) -> None:
    """Record who ran this tick."""
    RUNS.append(who)


async def slow(who: str) -> None:
    """A tick that takes far longer than a lease: only cancellation ends it early."""
    RUNS.append(who)
    try:
        await asyncio.sleep(60)
    except asyncio.CancelledError:
        CANCELLED.append(who)
        raise


async def failing(who: str) -> None:
    """A tick whose sweep fails: recorded as failed, the next tick runs anyway."""
    RUNS.append(who)
    raise RuntimeError("sweep broke")


async def brief(who: str) -> None:
    """A tick that takes a moment: a clean shutdown lets it finish."""
    RUNS.append(who)
    await asyncio.sleep(0.3)
    FINISHED.append(who)
