"""``triage-bot sim serve``: the service stand-in for one scenario, until interrupted."""

from __future__ import annotations

import asyncio

from triage_sim.service.scenarios import Scenario
from triage_sim.service.standin import ServiceStandIn


async def serve_scenario(scenario: Scenario, host: str, port: int, time_scale: float) -> None:
    """Serve the scenario on ``host:port``, print where and its catalog entry, run until
    cancelled (Ctrl-C or SIGTERM through ``asyncio.run``), then stop cleanly."""
    standin = await ServiceStandIn(scenario, time_scale=time_scale).start(host, port)
    entry = standin.catalog_entry()
    print(f"{scenario.name}: {scenario.title}\n  serving on {standin.base_url} "
          f"(metrics, pprof, Loki, Jaeger, Tempo)\n  catalog: name={entry.name} "
          f"prometheus={dict(entry.prometheus)} loki={dict(entry.loki)} traces={entry.traces}",
          flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await standin.stop()
