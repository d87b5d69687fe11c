"""What "normal" looks like in each service's CPU profile, kept from calm periods.

A frame is evidence only by how far its share is above normal: serde_json at 15% of CPU is
ordinary for a JSON API and alarming for a proxy. So, for every catalog service with a pprof
endpoint and no open incident (a calm period), this job takes a short CPU profile, reduces it to
frame shares in a worker process, and blends them into the service's baseline in Redis
(``bot.triage.baseline``). The walk ranks with that baseline once it has seen
``MIN_PROFILES`` calm profiles, and with rules of thumb before.
"""

from __future__ import annotations

import logging
from functools import partial

from bot.jobs import run_each
from bot.jobs.context import JobContext
from bot.models import ProfileBaseline
from bot.triage.baseline import blend
from bot.triage.steps.frames import TOP_FRAMES, cpu_report_from_bytes
from bot.triage.steps.ownership import code_prefixes, own_code_pattern

__all__ = ["PROFILE_SECONDS", "calm_services", "refresh", "sweep"]

log = logging.getLogger(__name__)

#: Long enough for a few hundred samples at pprof-rs's usual 100 Hz, short for the service.
PROFILE_SECONDS = 10


async def calm_services(ctx: JobContext) -> list[str]:
    """Catalog services with a pprof endpoint and no open incident."""
    busy = {incident.service for incident in await ctx.triage.list_open()}
    return [s.name for s in ctx.catalog.services if s.pprof is not None and s.name not in busy]


async def refresh(ctx: JobContext, service_name: str, seconds: int = PROFILE_SECONDS
                  ) -> ProfileBaseline | None:
    """Take one calm-period profile of the service and blend it into its baseline."""
    walk = ctx.triage.walk
    service = ctx.catalog.get(service_name)
    store = walk.stores.baselines
    if service is None or service.pprof is None or store is None:
        return None
    raw = await walk.deps.pprof.fetch_cpu_raw(service, seconds)
    own = own_code_pattern(code_prefixes(service.name, service.code_prefixes))
    report = await walk.deps.pprof.analyze(raw, cpu_report_from_bytes, TOP_FRAMES, own)
    baseline = blend(await store.get(service.name), service.name, report.shares(), ctx.clock())
    await store.save(baseline)
    log.info("profile baseline refreshed", extra={"service": service.name,
                                                  "profiles": baseline.profiles})
    return baseline


async def sweep(ctx: JobContext) -> int:
    """Refresh the baseline of every calm service; returns how many were refreshed."""
    seconds = ctx.triage.walk.deps.profile_seconds or PROFILE_SECONDS
    timeout_s = seconds + 2 * ctx.settings.backends.timeout_seconds + 10
    return await run_each("profile-baseline", await calm_services(ctx),
                          partial(refresh, ctx, seconds=seconds), timeout_s=timeout_s)
