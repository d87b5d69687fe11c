"""Early warning of an OOM: RSS, its slope, and the time left before the memory limit.

For each catalog service with a ``memory_limit`` and Prometheus matchers, the RSS now and its
slope over the last 30 minutes are read with the very expressions the metrics step uses; when
RSS grows and would reach the limit within ``memory_watch_horizon``, the bot opens an incident
(deduplicated per service and UTC day) or warns in the service's channel (once per horizon).
Only while there is time left: a service already at its limit is a post-mortem, not this job.
"""

from __future__ import annotations

import asyncio
import logging
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from bot.config import ServiceConfig
from bot.errors import SourceUnavailable
from bot.jobs import run_each
from bot.jobs.context import JobContext
from bot.models import Incident, Severity, StepName
from bot.models.units import human_bytes, human_seconds
from bot.slack.blocks import escape
from bot.sources.prometheus import PrometheusClient
from bot.sources.window import TimeWindow
from bot.triage.exporters import ROLES
from bot.triage.incidents import Declaration
from bot.triage.steps.metric_queries import instant_queries, series_queries

__all__ = ["MemoryForecast", "forecast", "read_forecast", "rss_metric", "sweep", "watch"]

log = logging.getLogger(__name__)

ACTOR = "memory-watch"
DETECTION_LOOKBACK = timedelta(hours=1)
SLACK_TIMEOUT_S = 20.0


@dataclass(frozen=True)
class MemoryForecast:
    """RSS now, its growth per second, the limit, and the queries that said so."""

    service: str
    rss: float
    slope: float
    limit: int
    at: datetime
    queries: tuple[str, ...] = ()

    @property
    def tto_s(self) -> float:
        """Seconds until RSS reaches the limit at the current slope."""
        return (self.limit - self.rss) / self.slope

    def summary(self) -> str:
        """``RSS 1.6 GiB growing 120 MiB/h: the 2 GiB limit is reached in ~1.4 h``."""
        return (f"RSS {human_bytes(self.rss)} growing {human_bytes(self.slope * 3600)}/h: the "
                f"{human_bytes(self.limit)} limit is reached in ~{human_seconds(self.tto_s)}")

    def details(self) -> str:
        """The thread line: the figures, when the limit is hit, the queries behind them."""
        when = (self.at + timedelta(seconds=self.tto_s)).strftime("%H:%M UTC")
        used = 100 * self.rss / self.limit
        queries = ", ".join(f"`{escape(q)}`" for q in self.queries)
        return (f":chart_with_upwards_trend: *Memory watch* · {self.service}: RSS "
                f"{human_bytes(self.rss)} ({used:.0f}% of the {human_bytes(self.limit)} limit), "
                f"growing {human_bytes(self.slope * 3600)}/h over the last 30 min: the limit "
                f"is reached in ~{human_seconds(self.tto_s)}, around {when}."
                + (f"\nQueries: {queries}" if queries else ""))


def forecast(service: str, rss: float, slope: float, limit: int, at: datetime, *,
             queries: tuple[str, ...] = ()) -> MemoryForecast | None:
    """A forecast only while RSS grows and is still below the limit (pure)."""
    if not (math.isfinite(rss) and math.isfinite(slope)) or slope <= 0 or rss >= limit:
        return None
    return MemoryForecast(service, rss, slope, limit, at, queries)


async def rss_metric(prom: PrometheusClient, service: ServiceConfig, now: datetime
                     ) -> str | None:
    """The catalog's explicit RSS metric, else the first known exporter name the service has."""
    explicit = service.metrics.get("rss")
    if explicit:
        return explicit
    names = [c.name for c in ROLES["rss"]]
    found = await prom.existing_metrics(names, service.prometheus,
                                        TimeWindow(now - DETECTION_LOOKBACK, now))
    return next((name for name in names if name in found), None)


async def read_forecast(prom: PrometheusClient, service: ServiceConfig, now: datetime
                        ) -> MemoryForecast | None:
    """RSS and its 30-minute slope for ``service``, as a forecast (None when not growing)."""
    if service.memory_limit is None:
        return None
    name = await rss_metric(prom, service, now)
    if name is None:
        return None
    roles = {"rss": name}
    rss_q = next(q.promql for q in series_queries(roles, service.prometheus) if q.key == "rss")
    slope_q = instant_queries(roles, service.prometheus, "1h")["rss_slope"]
    rss, slope = await asyncio.gather(prom.query(rss_q, at=now), prom.query(slope_q, at=now))
    if not rss or not slope or rss[0].last is None or slope[0].last is None:
        return None
    return forecast(service.name, rss[0].last.value, slope[0].last.value, service.memory_limit,
                    now, queries=(rss_q, slope_q))


async def watch(ctx: JobContext, service_name: str) -> MemoryForecast | None:
    """Check one service; act when its limit is near. Returns the forecast acted on, if any."""
    service = ctx.catalog.get(service_name)
    if service is None or service.memory_limit is None or not service.prometheus:
        return None
    try:
        prom = ctx.sources.prometheus
    except SourceUnavailable:
        return None
    found = await read_forecast(prom, service, ctx.clock())
    if found is None or found.tto_s > ctx.schedule.memory_watch_horizon:
        return None
    log.warning("memory limit ahead", extra={"service": service.name, "tto_s": found.tto_s})
    if ctx.schedule.memory_watch_action == "incident":
        await _raise_incident(ctx, service, found)
    else:
        await _warn_channel(ctx, service, found)
    return found


async def _raise_incident(ctx: JobContext, service: ServiceConfig, found: MemoryForecast
                          ) -> None:
    """Open an incident (one per service and UTC day), or add to the one already open."""
    already = [i for i in await ctx.triage.list_open() if i.service == service.name]
    if already:
        incident = already[0]
    else:
        opened = await ctx.triage.declare_new(Declaration(
            service=service, summary=found.summary(), severity=Severity.WARNING, actor=ACTOR,
            source=ACTOR, dedupe_key=f"{ACTOR}:{service.name}:{found.at:%Y-%m-%d}",
            labels={"alertname": "MemoryWatch", "service": service.name}))
        if opened is None:
            return  # raised earlier today and resolved since: a human decided, no storm
        incident = opened
    if incident.card_ts is None:
        incident = await ctx.triage.cards.post(incident)
    await _note_once(ctx, incident, found)
    if not already:  # step 1 runs for an incident the watch opened, as for an alert's
        await ctx.triage.run_step(incident, StepName.METRICS, ACTOR)


async def _note_once(ctx: JobContext, incident: Incident, found: MemoryForecast) -> None:
    scope, ident = ACTOR, f"{found.service}:{incident.id}"
    if not await ctx.leases.mark(scope, ident, _horizon_ms(ctx)):
        return
    try:
        await ctx.triage.say(incident, found.details())
    except Exception:
        await ctx.leases.unmark(scope, ident)
        raise


async def _warn_channel(ctx: JobContext, service: ServiceConfig, found: MemoryForecast
                        ) -> None:
    """One message in the service's channel per horizon."""
    channel = service.channel or ctx.settings.file.slack.default_channel
    if channel is None:
        log.warning("memory watch has no channel to warn", extra={"service": service.name})
        return
    scope = f"{ACTOR}-warn"
    if not await ctx.leases.mark(scope, service.name, _horizon_ms(ctx)):
        return
    command = ctx.settings.file.slack.command
    text = (f":warning: {found.details()}\n`{command} start {service.name}` opens an incident.")
    try:
        async with asyncio.timeout(SLACK_TIMEOUT_S):
            await ctx.outbound.post_channel(channel, text)
    except Exception:
        await ctx.leases.unmark(scope, service.name)
        raise


def _horizon_ms(ctx: JobContext) -> int:
    return max(1, int(ctx.schedule.memory_watch_horizon * 1000))


async def sweep(ctx: JobContext) -> int:
    """Watch every catalog service with a memory limit; returns how many were checked."""
    names = [s.name for s in ctx.catalog.services
             if s.memory_limit is not None and s.prometheus]
    timeout_s = 2 * ctx.settings.backends.timeout_seconds + 10
    return await run_each("memory-watch", names, partial(watch, ctx), timeout_s=timeout_s)
