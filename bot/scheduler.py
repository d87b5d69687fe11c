"""Scheduled jobs on exactly one replica: a leader lease in Redis around an AsyncIOScheduler.

APScheduler 3 must never share a job store between schedulers, so with several replicas on one
Redis only the replica holding the lease runs a scheduler at all. The lease is
``SET lease token NX PX lease``, renewed every lease/3 by compare-and-pexpire; a standby polls
for it at the same rate, so when the leader dies (even ``kill -9``) another replica leads within
about one lease period. A replica that cannot renew in time, or finds its lease taken, stops
its scheduler at once and cancels its running ticks; on shutdown it gives the lease back
(compare-and-del) so its successor starts without waiting for the expiry.

Jobs are not persisted as APScheduler jobs: each is a sweep over incident state, so a new
leader rebuilds the table from configuration (``bot.jobs.job_specs``) and runs each job once
at once for the current period ("catch-up"), then on its cadence. Every tick first claims
``tick:<job>:<period>`` in Redis; the claim, not the process, decides that a period's tick runs
once, across takeovers and restarts. A leader dying mid-tick leaves only a claim with a TTL:
that period's sweep is lost, the next one runs.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import secrets
import socket
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from contextlib import suppress
from datetime import UTC, datetime
from functools import partial
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.errors import SourceError, StoreError
from bot.jobs import Cadence, DailyAt, JobSpec, Sweep, resolve
from bot.models import utcnow
from bot.store.leases import JobRun, LeaseStore

__all__ = ["JobScheduler", "LeaderLease"]

log = logging.getLogger(__name__)

LEASE_NAME = "scheduler"
#: On shutdown, running ticks get this long to finish before they are cancelled.
TICK_DRAIN_S = 5.0

Callback = Callable[[], Awaitable[None]]


def replica_id() -> str:
    """Who this process is, in the lease and the run log: host, pid and a random suffix."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class LeaderLease:
    """Holds, or waits for, one named lease; calls back when leadership is gained or lost."""

    def __init__(self, store: LeaseStore, name: str, token: str, *, lease_s: float,
                 on_gain: Callback, on_loss: Callback) -> None:
        self._store = store
        self.name = name
        self.token = token
        self.lease_s = lease_s
        self._on_gain = on_gain
        self._on_loss = on_loss
        self._held = False
        self._valid_until = 0.0
        self._stop = asyncio.Event()

    @property
    def held(self) -> bool:
        """Whether this replica leads (as far as it can know)."""
        return self._held

    @property
    def interval_s(self) -> float:
        """How often the leader renews and a standby polls: three chances per lease."""
        return self.lease_s / 3

    @property
    def ttl_ms(self) -> int:
        """The lease's time to live in Redis."""
        return max(1, math.ceil(self.lease_s * 1000))

    async def run(self) -> None:
        """Poll until :meth:`stop` (or cancellation).

        Stopping is an event, not only a cancel: on Python 3.11 a cancel arriving just as
        ``poll``'s own timeout fires can be swallowed by ``asyncio.timeout``, leaving the loop
        asleep with the cancel lost and the shutdown waiting for ever (seen in the tests).
        """
        self._stop.clear()
        while not self._stop.is_set():
            await self.poll()
            with suppress(TimeoutError):
                async with asyncio.timeout(self.interval_s):
                    await self._stop.wait()

    def stop(self) -> None:
        """Make :meth:`run` return after the poll under way."""
        self._stop.set()

    async def poll(self) -> None:
        """Renew the lease if held, else try to take it; act on the outcome."""
        loop = asyncio.get_running_loop()
        sent = loop.time()
        try:
            async with asyncio.timeout(self.interval_s):
                if self._held:
                    ok = await self._store.renew(self.name, self.token, self.ttl_ms)
                else:
                    ok = await self._store.acquire(self.name, self.token, self.ttl_ms)
        except (StoreError, TimeoutError) as exc:
            log.warning("leader lease: Redis did not answer", extra={"error": str(exc)})
            # Stop before the lease can have expired: another replica may lead by then.
            if self._held and loop.time() + self.interval_s >= self._valid_until:
                await self._demote("the lease could not be renewed in time")
            return
        if ok:
            self._valid_until = sent + self.lease_s
            if not self._held:
                await self._promote()
        elif self._held:
            await self._demote("another replica holds the lease")

    async def give_up(self) -> None:
        """Stop leading and give the lease back (only if it is still ours)."""
        if not self._held:
            return
        await self._demote("shutting down")
        try:
            async with asyncio.timeout(max(self.interval_s, 1.0)):
                await self._store.release(self.name, self.token)
        except (StoreError, TimeoutError) as exc:
            log.warning("leader lease not released; it expires by itself",
                        extra={"error": str(exc)})

    async def _promote(self) -> None:
        self._held = True
        log.info("became leader", extra={"lease": self.name, "replica": self.token})
        try:
            await self._on_gain()
        except Exception:
            log.exception("could not start leading; giving the lease back")
            await self.give_up()

    async def _demote(self, reason: str) -> None:
        self._held = False
        log.warning("stopped leading", extra={"lease": self.name, "reason": reason})
        try:
            await self._on_loss()
        except Exception:
            log.exception("error while stopping the scheduler")


def trigger_for(cadence: Cadence) -> Any:
    """The APScheduler trigger of a cadence; intervals are aligned on the epoch."""
    if isinstance(cadence, DailyAt):
        return CronTrigger(hour=cadence.hour, minute=cadence.minute, timezone=cadence.zone)
    start = cadence.period(datetime.now(UTC)).start
    return IntervalTrigger(seconds=cadence.seconds, start_date=start, timezone=UTC)


class JobScheduler:
    """The jobs of ``specs``, run by an AsyncIOScheduler while this replica holds the lease."""

    def __init__(self, leases: LeaseStore, specs: Sequence[JobSpec], *, lease_s: float,
                 context: object = None, replica: str | None = None,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.replica = replica or replica_id()
        self._leases = leases
        self._specs = {spec.name: spec for spec in specs}
        # Resolved now, so a wrong reference fails at startup rather than at the first tick;
        # each sweep gets ``context`` (the bot's JobContext) as its argument.
        self._sweeps: dict[str, Sweep] = {spec.name: partial(resolve(spec.sweep), context)
                                          for spec in specs}
        self._clock = clock
        self.lease = LeaderLease(leases, LEASE_NAME, self.replica, lease_s=lease_s,
                                 on_gain=self._gain, on_loss=self._lose)
        self._scheduler: AsyncIOScheduler | None = None
        self._running: dict[str, asyncio.Task[Any]] = {}
        self._loop_task: asyncio.Task[None] | None = None
        self._stopping = False
        #: (job, outcome) -> ticks: done, failed, timeout, cancelled, ran-already, late, no-redis.
        self.outcomes: Counter[tuple[str, str]] = Counter()

    @property
    def is_leader(self) -> bool:
        """Whether this replica runs the jobs now."""
        return self._scheduler is not None

    async def start(self) -> None:
        """Start competing for the lease."""
        loop = asyncio.get_running_loop()
        self._loop_task = loop.create_task(self.lease.run(), name="scheduler-lease")

    async def stop(self, drain_s: float = TICK_DRAIN_S) -> None:
        """Stop polling, let running ticks finish for ``drain_s``, then give the lease back."""
        # First: a promotion finishing during the wait below must start no tick.
        self._stopping = True
        if self._loop_task is not None:
            self.lease.stop()
            done, _ = await asyncio.wait({self._loop_task}, timeout=self.lease.interval_s + 1)
            while not done:  # a poll stuck past its own timeout: cancel until it ends
                self._loop_task.cancel()
                done, _ = await asyncio.wait({self._loop_task}, timeout=1.0)
            self._loop_task = None
        if self._scheduler is not None:
            # Pause, not shut down: APScheduler's shutdown cancels running ticks at once.
            self._scheduler.pause()
        if self._running:
            await asyncio.wait(set(self._running.values()), timeout=drain_s)
        await self.lease.give_up()
        await self._lose()

    async def _gain(self) -> None:
        scheduler = AsyncIOScheduler(timezone=UTC)
        now = datetime.now(UTC)
        for spec in self._specs.values():
            period = spec.cadence.period(now)
            extra: dict[str, Any] = {}
            if (now - period.start).total_seconds() <= spec.cadence.grace_s:
                extra["next_run_time"] = period.start  # catch up: this period's tick, now
            scheduler.add_job(self._tick, trigger_for(spec.cadence), args=[spec.name],
                              id=spec.name, name=spec.name, coalesce=True, max_instances=1,
                              misfire_grace_time=max(1, math.ceil(spec.cadence.grace_s)),
                              **extra)
        self._scheduler = scheduler
        scheduler.start()
        log.info("scheduler started", extra={"jobs": sorted(self._specs)})

    async def _lose(self) -> None:
        """Stop at once: no new ticks, running ones cancelled."""
        self._stop_scheduler()
        running = list(self._running.values())
        for task in running:
            task.cancel()
        if running:
            await asyncio.wait(running)

    def _stop_scheduler(self) -> None:
        scheduler, self._scheduler = self._scheduler, None
        if scheduler is not None and scheduler.running:
            scheduler.shutdown(wait=False)

    async def _tick(self, name: str) -> None:
        """One tick of job ``name`` (APScheduler's job function)."""
        if not self.is_leader or self._stopping or name in self._running:
            return
        task = asyncio.current_task()
        if task is not None:
            self._running[name] = task
        outcome = "cancelled"
        try:
            outcome = await self._claimed_tick(self._specs[name])
        except asyncio.CancelledError:
            # APScheduler reports a cancelled coroutine job as a crash with a traceback; here a
            # cancellation only ever means "this replica stopped leading", so end quietly.
            log.warning("tick cut short: no longer leading", extra={"job": name})
        finally:
            self._running.pop(name, None)
            self.outcomes[(name, outcome)] += 1

    async def _claimed_tick(self, spec: JobSpec) -> str:
        """Claim this period's tick and run the sweep; returns what happened."""
        now = self._clock()
        period = spec.cadence.period(now)
        if (now - period.start).total_seconds() > spec.cadence.grace_s:
            return "late"
        try:
            won = await self._leases.claim_tick(spec.name, period.bucket, self.replica,
                                                spec.cadence.claim_ttl_ms)
        except StoreError as exc:
            log.warning("tick skipped: Redis unavailable", extra={"job": spec.name,
                                                                  "error": str(exc)})
            return "no-redis"
        if not won:
            return "ran-already"  # by the previous leader, or by this one before a restart
        outcome = await self._sweep(spec, self._sweeps[spec.name])
        run = JobRun(job=spec.name, bucket=period.bucket, replica=self.replica,
                     started_at=now, finished_at=self._clock(), outcome=outcome)
        try:
            await self._leases.record_run(run)
        except StoreError as exc:
            log.warning("job run not recorded", extra={"job": spec.name, "error": str(exc)})
        return outcome

    @staticmethod
    async def _sweep(spec: JobSpec, sweep: Sweep) -> str:
        try:
            async with asyncio.timeout(spec.timeout_s):
                await sweep()
        except TimeoutError:
            log.error("job timed out", extra={"job": spec.name, "timeout_s": spec.timeout_s})
            return "timeout"
        except StoreError as exc:
            log.warning("job skipped: Redis unavailable", extra={"job": spec.name,
                                                                 "error": str(exc)})
            return "no-redis"
        except SourceError as exc:  # a backend being down is news, not a bug: no traceback
            log.warning("job could not reach a backend", extra={"job": spec.name,
                                                                "error": str(exc)})
            return "failed"
        except Exception:
            log.exception("job failed", extra={"job": spec.name})
            return "failed"
        return "done"
