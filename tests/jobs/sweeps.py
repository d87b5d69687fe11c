"""Sweeps for scheduler tests, importable by reference like the real ones."""

from __future__ import annotations

import asyncio
import contextvars

#: Which scheduler (replica) runs the sweep: bound in the context the scheduler is given.
WHO: contextvars.ContextVar[str] = contextvars.ContextVar("who", default="?")
RUNS: list[str] = []
CANCELLED: list[str] = []
FINISHED: list[str] = []


async def count() -> None:
    """Record who ran this tick."""
    RUNS.append(WHO.get())


async def slow() -> None:
    """A tick that takes far longer than a lease: only cancellation ends it early."""
    RUNS.append(WHO.get())
    try:
        await asyncio.sleep(60)
    except asyncio.CancelledError:
        CANCELLED.append(WHO.get())
        raise


async def failing() -> None:
    """A tick whose sweep fails: recorded as failed, the next tick runs anyway."""
    RUNS.append(WHO.get())
    raise RuntimeError("sweep broke")


async def brief() -> None:
    """A tick that takes a moment: a clean shutdown lets it finish."""
    RUNS.append(WHO.get())
    await asyncio.sleep(0.3)
    FINISHED.append(WHO.get())
