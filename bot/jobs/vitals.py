"""Keep each open incident's key metrics on its card current.

The metrics step already found which metric names the service exports (its *roles*, saved
with the walk); this job re-asks Prometheus for a handful of them as instant queries built by
the same builders (``bot.triage.steps.metric_queries``), stores the values with their time and
asks the publisher to redraw the card. Before step 1 has run there are no roles: nothing to do.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import partial

from bot.errors import SourceError, SourceUnavailable
from bot.jobs import run_each
from bot.jobs.context import JobContext
from bot.models import Vital, Vitals
from bot.sources.prometheus import PrometheusClient
from bot.triage.steps.metric_queries import SeriesQuery, series_queries

__all__ = ["VITAL_KEYS", "read_vitals", "refresh", "sweep", "vital_queries"]

log = logging.getLogger(__name__)

#: The metrics shown on the card, in this order (keys of ``series_queries``).
VITAL_KEYS = ("request_rate", "error_ratio", "p99", "cpu", "rss")


def vital_queries(roles: Mapping[str, str], matchers: Mapping[str, str]) -> list[SeriesQuery]:
    """The step-1 queries for the key metrics the detected roles allow, in card order."""
    found = {q.key: q for q in series_queries(roles, matchers) if q.key in VITAL_KEYS}
    return [found[key] for key in VITAL_KEYS if key in found]


async def read_vitals(prom: PrometheusClient, queries: Sequence[SeriesQuery], at: datetime
                      ) -> list[Vital]:
    """Each query's value at ``at``; a query that fails or has no finite value is left out."""
    results = await asyncio.gather(*(prom.query(q.promql, at=at) for q in queries),
                                   return_exceptions=True)
    values: list[Vital] = []
    for query, result in zip(queries, results, strict=True):
        if isinstance(result, SourceError):
            log.info("vital not refreshed", extra={"query": query.key, "error": str(result)})
        elif isinstance(result, BaseException):
            raise result
        elif result and result[0].last is not None and math.isfinite(result[0].last.value):
            values.append(Vital(key=query.key, title=query.title, value=result[0].last.value,
                                unit=query.unit, promql=query.promql))
    return values


async def refresh(ctx: JobContext, incident_id: str) -> bool:
    """Re-read the incident's key metrics and redraw its card; True when they were stored."""
    incident = await ctx.triage.get(incident_id)
    if incident is None or not incident.is_open:
        return False
    service = ctx.catalog.get(incident.service or "")
    if service is None or not service.prometheus:
        return False
    roles = await ctx.triage.roles(incident_id)
    queries = vital_queries(roles, service.prometheus)
    if not queries:
        return False
    try:
        prom = ctx.sources.prometheus
    except SourceUnavailable:
        return False
    now = ctx.clock()
    values = await read_vitals(prom, queries, now)
    if not values:
        return False  # Prometheus down: the card keeps the last values and their older time
    await ctx.vitals.save(incident_id, Vitals(at=now, values=values))
    ctx.triage.cards.request_refresh(incident_id)
    return True


async def sweep(ctx: JobContext) -> int:
    """Refresh every open incident; returns how many were handled without error."""
    incidents = await ctx.triage.list_open()
    timeout_s = ctx.settings.backends.timeout_seconds + 5
    return await run_each("vitals", [i.id for i in incidents], partial(refresh, ctx),
                          timeout_s=timeout_s)
