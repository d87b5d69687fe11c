"""The scheduled jobs: what runs, how often, and which period ("bucket") a tick belongs to.

Every job is a *sweep* over current state (open incidents, catalog services, channels) that
calls a per-id job function, ``bot.jobs.reminders:remind(incident_id)`` and the like. Nothing
about a job lives outside Redis's incident state, so a replica that becomes leader rebuilds
the job table from the configuration (``job_specs``) and carries on.

A tick's bucket is derived from wall-clock time, not from when this process started: every
replica computes the same bucket for the same period, which is what makes the Redis tick
claim (``tick:<job>:<bucket>``) deduplicate a tick across a takeover.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import math
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.config import ScheduleConfig
from bot.errors import ConfigError

__all__ = [
    "Cadence",
    "DailyAt",
    "Every",
    "JobFunction",
    "JobSpec",
    "Period",
    "Sweep",
    "job_specs",
    "resolve",
    "run_each",
]

log = logging.getLogger(__name__)

#: Reminders are checked at least this often, and four times per ``reminder_after``.
REMINDER_SWEEP_MAX_S = 60.0
#: A daily job may still run this late (a leader taking over at 09:40 sends the 09:00 digest).
DAILY_GRACE_S = 3600.0
#: How many ids one sweep works on at once.
SWEEP_CONCURRENCY = 4

Sweep = Callable[[], Awaitable[object]]
#: A job function as named by reference: it takes the bot's ``JobContext``.
JobFunction = Callable[[Any], Awaitable[object]]


@dataclass(frozen=True)
class Period:
    """The period a tick belongs to: its bucket name and when it started."""

    bucket: str
    start: datetime


@dataclass(frozen=True)
class Every:
    """Every ``seconds``, aligned on multiples of ``seconds`` since the Unix epoch."""

    seconds: float

    @property
    def grace_s(self) -> float:
        """A tick may run any time within its period."""
        return self.seconds

    @property
    def claim_ttl_ms(self) -> int:
        """Long enough to outlive the period, plus clock skew between replicas."""
        return math.ceil((2 * self.seconds + 10) * 1000)

    def period(self, now: datetime) -> Period:
        """The period containing ``now``; the tiny nudge absorbs float error at boundaries."""
        index = math.floor(now.timestamp() / self.seconds + 1e-6)
        return Period(str(index), datetime.fromtimestamp(index * self.seconds, UTC))


@dataclass(frozen=True)
class DailyAt:
    """Once a day at ``hour:minute`` in ``timezone``."""

    hour: int
    minute: int
    timezone: str
    grace_s: float = DAILY_GRACE_S

    @property
    def zone(self) -> ZoneInfo:
        """The time zone; ConfigError naming the setting when it is unknown."""
        try:
            return ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(
                f"schedule.digest_timezone: unknown time zone {self.timezone!r} "
                "(use an IANA name such as Europe/Berlin or UTC)"
            ) from None

    @property
    def claim_ttl_ms(self) -> int:
        """The claim has to outlive the grace period only; a day's bucket is never reused."""
        return math.ceil((self.grace_s + 600) * 1000)

    def period(self, now: datetime) -> Period:
        """The latest ``hour:minute`` at or before ``now``; the bucket is its local date."""
        zone = self.zone
        local = now.astimezone(zone)
        at = time(self.hour, self.minute)
        start = datetime.combine(local.date(), at, tzinfo=zone)
        if start > local:
            start = datetime.combine(local.date() - timedelta(days=1), at, tzinfo=zone)
        return Period(start.date().isoformat(), start.astimezone(UTC))


Cadence = Every | DailyAt


@dataclass(frozen=True)
class JobSpec:
    """One job: its name, when it runs, the sweep it calls (``module:function``), its deadline."""

    name: str
    cadence: Cadence
    sweep: str
    timeout_s: float


def job_specs(schedule: ScheduleConfig) -> list[JobSpec]:
    """The job table for a configuration (pure; raises ConfigError for a bad time zone)."""
    reminder_every = min(schedule.reminder_after / 4, REMINDER_SWEEP_MAX_S)
    status_every = min(schedule.status_every / 4, REMINDER_SWEEP_MAX_S)
    specs = [
        JobSpec("reminders", Every(reminder_every), "bot.jobs.reminders:sweep",
                _sweep_timeout(reminder_every)),
        JobSpec("vitals", Every(schedule.refresh_every), "bot.jobs.vitals:sweep",
                _sweep_timeout(schedule.refresh_every)),
        JobSpec("memory-watch", Every(schedule.memory_watch_every),
                "bot.jobs.memory_watch:sweep", _sweep_timeout(schedule.memory_watch_every)),
        JobSpec("status-updates", Every(status_every), "bot.jobs.status_updates:sweep",
                _sweep_timeout(status_every)),
    ]
    if schedule.profile_baseline_every is not None:
        every = schedule.profile_baseline_every
        specs.append(JobSpec("profile-baseline", Every(every),
                             "bot.jobs.profile_baseline:sweep", _sweep_timeout(every)))
    if schedule.digest_at is not None:
        hour, minute = (int(part) for part in schedule.digest_at.split(":"))
        daily = DailyAt(hour, minute, schedule.digest_timezone)
        daily.period(datetime.now(UTC))  # fail at startup, not at 09:00, on a bad time zone
        specs.append(JobSpec("digest", daily, "bot.jobs.digest:sweep", 300.0))
    return specs


def _sweep_timeout(every: float) -> float:
    """A sweep may take about its interval (then the next tick is skipped), 30 s to 10 min."""
    return min(max(every, 30.0), 600.0)


def resolve(ref: str) -> JobFunction:
    """The job function a ``module:function`` reference names (as APScheduler's textual refs)."""
    module_name, _, attribute = ref.partition(":")
    if not module_name or not attribute:
        raise ValueError(f"not a module:function reference: {ref!r}")
    found = getattr(importlib.import_module(module_name), attribute)
    if not callable(found):
        raise TypeError(f"{ref} is not callable")
    function: JobFunction = found
    return function


async def run_each(
    what: str, ids: Iterable[str], work: Callable[[str], Awaitable[object]], *,
    timeout_s: float, concurrency: int = SWEEP_CONCURRENCY,
) -> int:
    """Run ``work(id)`` for each id, a few at a time, each under ``timeout_s``.

    One id failing (a backend down, a deleted incident, Slack refusing) is logged and does not
    stop the others. Returns how many finished without error. Cancellation passes through.
    """
    slots = asyncio.Semaphore(concurrency)

    async def one(ident: str) -> bool:
        async with slots:
            try:
                async with asyncio.timeout(timeout_s):
                    await work(ident)
            except TimeoutError:
                log.warning("job item timed out", extra={"job": what, "id": ident,
                                                         "timeout_s": timeout_s})
                return False
            except Exception:
                log.exception("job item failed", extra={"job": what, "id": ident})
                return False
            return True

    results = await asyncio.gather(*(one(i) for i in ids))
    return sum(results)
