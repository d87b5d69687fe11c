"""Tracked background work: the only way the bot runs anything after an ack.

Every task is named, counted, bounded in number, given a deadline, and cancelled on shutdown;
``drain`` lets in-flight work finish for a grace period and reports what it had to cut short.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

from bot.errors import TriageError

log = logging.getLogger(__name__)
#: How long cancelled tasks get to unwind at shutdown.
CANCEL_GRACE_S = 5.0


class SupervisorBusy(TriageError):
    """Too much work is already queued; the caller should tell the user to try again."""


@dataclass
class TaskSupervisor:
    """Runs coroutines as tracked tasks with a concurrency bound and a per-task timeout."""

    max_concurrent: int = 32
    max_pending: int = 1000
    default_timeout: float = 120.0
    _tasks: set[asyncio.Task[None]] = field(default_factory=set, init=False)
    _slots: asyncio.Semaphore = field(init=False)
    _closing: bool = field(default=False, init=False)
    cut_short: list[str] = field(default_factory=list, init=False)

    def __post_init__(self) -> None:
        self._slots = asyncio.Semaphore(self.max_concurrent)

    @property
    def closing(self) -> bool:
        """Whether :meth:`drain` has begun (no new work is accepted)."""
        return self._closing

    @property
    def in_flight(self) -> int:
        """Tasks started and not yet finished (running or waiting for a slot)."""
        return len(self._tasks)

    def spawn(
        self, work: Coroutine[Any, Any, None], *, name: str, timeout: float | None = None
    ) -> asyncio.Task[None]:
        """Start ``work`` in the background under a deadline; raises SupervisorBusy when full."""
        if self._closing or len(self._tasks) >= self.max_pending:
            work.close()
            raise SupervisorBusy("the bot is busy or shutting down; try again in a moment")
        task = asyncio.get_running_loop().create_task(
            self._run(work, name, timeout or self.default_timeout), name=name
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _run(self, work: Coroutine[Any, Any, None], name: str, limit_s: float) -> None:
        try:
            async with self._slots, asyncio.timeout(limit_s):
                await work
        except TimeoutError:
            log.error("task timed out", extra={"task": name, "timeout_s": limit_s})
        except asyncio.CancelledError:
            self.cut_short.append(name)
            log.warning("task cancelled", extra={"task": name})
            raise
        except Exception:
            log.exception("task failed", extra={"task": name})
        finally:
            work.close()

    async def wait_idle(self, within: float) -> bool:
        """Wait until no task is in flight (for tests and the demo); False on timeout."""
        try:
            async with asyncio.timeout(within):
                while self._tasks:
                    await asyncio.wait(set(self._tasks))
        except TimeoutError:
            return False
        return True

    async def drain(self, grace: float) -> list[str]:
        """Stop accepting work, let running tasks finish for ``grace`` s, cancel the rest."""
        self._closing = True
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=grace)
            for task in pending:
                task.cancel()
            if pending:
                # Bounded too: a task that will not end must not hold the shutdown for ever.
                _, stuck = await asyncio.wait(pending, timeout=CANCEL_GRACE_S)
                for task in stuck:
                    log.error("task ignored cancellation", extra={"task": task.get_name()})
        if self.cut_short:
            log.warning("shutdown cut work short", extra={"tasks": list(self.cut_short)})
        return list(self.cut_short)
