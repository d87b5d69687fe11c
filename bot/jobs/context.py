"""How job functions that take only ids reach the running bot's services.

Job functions are importable by reference and take only ids (``remind("INC-3")``), so the
services they need cannot be arguments. The scheduler binds a :class:`JobContext` to a
``contextvars`` variable in the context its lease loop runs in; every tick APScheduler starts
from there inherits it, and ``current()`` reads it. A context variable rather than a module
global: two bots in one process (tests) each see their own services, and a function called
outside any bot fails with a clear error instead of reaching someone else's Redis.
"""

from __future__ import annotations

import contextvars
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from bot.config import ScheduleConfig, Settings
from bot.errors import TriageError
from bot.models import Incident, utcnow
from bot.slack.publisher import CardPublisher
from bot.store.leases import LeaseStore
from bot.store.vitals import VitalsStore
from bot.triage.incidents import IncidentService
from bot.triage.walk import Walk

__all__ = ["JobContext", "JobContextMissing", "bound", "current", "using"]


class JobContextMissing(TriageError):
    """A job function ran outside a bot (no scheduler bound its services)."""


@dataclass(frozen=True)
class JobContext:
    """The services job functions use, typed (not a dict)."""

    settings: Settings
    incidents: IncidentService
    publisher: CardPublisher
    walk: Walk
    vitals: VitalsStore
    leases: LeaseStore
    clock: Callable[[], datetime] = utcnow
    #: Called for an incident a job opened, after its card is posted (the bot runs step 1
    #: there, as for an alert); jobs cannot import the Slack handlers themselves.
    on_opened: Callable[[Incident], Awaitable[None]] | None = None

    @property
    def schedule(self) -> ScheduleConfig:
        """The ``schedule`` section of the configuration."""
        return self.settings.file.schedule


_CURRENT: contextvars.ContextVar[JobContext] = contextvars.ContextVar("triage_job_context")


def current() -> JobContext:
    """The services of the bot whose scheduler started this work."""
    try:
        return _CURRENT.get()
    except LookupError:
        raise JobContextMissing(
            "job functions run inside a bot's scheduler (or under bot.jobs.context.using)"
        ) from None


def bound(ctx: JobContext) -> contextvars.Context:
    """A copy of the current context with ``ctx`` bound: run the scheduler's tasks in it."""
    context = contextvars.copy_context()
    context.run(_CURRENT.set, ctx)
    return context


@contextmanager
def using(ctx: JobContext) -> Iterator[JobContext]:
    """Bind ``ctx`` for the duration of a ``with`` block (tests, the CLI)."""
    token = _CURRENT.set(ctx)
    try:
        yield ctx
    finally:
        _CURRENT.reset(token)
