"""The walk's Prometheus queries for one scenario, run so ``triage-bot sim record`` can
record the answers the demo replays.

Only the steps that ask Prometheus run (metrics, then traces for its exemplars), exactly as the
walk runs them, so a recording holds every query the demo will ask and nothing else.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import aiohttp

from bot.config import BackendsConfig
from bot.sources.pprof.client import PprofClient, profile_executor
from bot.sources.registry import Sources
from bot.sources.window import TimeWindow
from bot.triage.diagnosis import rank
from bot.triage.playbook_loader import PlaybookSet, load_playbook_set
from bot.triage.steps import metrics, traces
from bot.triage.steps.base import StepContext, StepDeps
from bot.triage.walk import DEFAULT_LOOKBACK
from triage_sim.service.scenarios import get as get_scenario


async def record_walk(scenario_name: str, prometheus_url: str, service_base_url: str,
                      playbooks: PlaybookSet | None = None) -> None:
    """Run the metrics and traces steps' queries for the scenario against ``prometheus_url``."""
    scenario = get_scenario(scenario_name)
    service = scenario.catalog_entry(service_base_url)
    chosen = playbooks or load_playbook_set(None)
    backends = BackendsConfig(prometheus=prometheus_url, loki=service_base_url,
                              jaeger=service_base_url, timeout_seconds=30)
    now = datetime.now(UTC)
    labels = scenario.alert_labels()
    processes = profile_executor(1)
    async with await Sources.open(backends) as sources, aiohttp.ClientSession() as session:
        deps = StepDeps(sources=sources, pprof=PprofClient(session, processes),
                        executor=processes)
        ctx = StepContext(incident_id="RECORDING", service=service, now=now,
                          window=TimeWindow(now - DEFAULT_LOOKBACK, now), playbooks=chosen,
                          alertname=labels["alertname"], labels=labels,
                          anomaly_start=now - timedelta(seconds=scenario.history_s
                                                        - scenario.alert_at))
        found = await metrics.run(ctx, deps)
        leader = rank(chosen, found.signals, ctx.alertname, labels).leader
        after = replace(ctx, window=found.window or ctx.window, roles=found.roles,
                        anomaly_start=found.anomaly_start, signals=found.signals,
                        leader=chosen.get(leader.playbook) if leader else None)
        await traces.run(after, deps)
    processes.shutdown(wait=True)
