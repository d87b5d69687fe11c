"""``triage-bot triage <service>``: the walk in a terminal against real backends."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import yaml

from bot.sim.scenarios import SCENARIOS
from bot.sim.service import ServiceStandIn
from tests.conftest import ROOT
from tests.support.scenario_prometheus import ScenarioPrometheus, scenario_prometheus

__all__ = ["scenario_prometheus"]


async def test_terminal_walk_prints_findings_ranking_and_rca(
    scenario_prometheus: ScenarioPrometheus, tmp_path: Path
) -> None:
    scenario = SCENARIOS["memory-growth"]
    clock = scenario_prometheus.clock(scenario.name)
    async with ServiceStandIn(scenario, clock, time_scale=0.0) as service:
        config = tmp_path / "triage.yaml"
        config.write_text(yaml.safe_dump({
            "backends": {"prometheus": scenario_prometheus.url, "loki": service.base_url,
                         "jaeger": service.base_url},
            "services": [service.catalog_entry().model_dump(exclude_none=True)]}))
        child = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "triage", scenario.service.name, "--since", "90m",
            "--config", str(config), "--profile-seconds", "1", cwd=ROOT,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(child.communicate(), timeout=120)
    text = out.decode()
    assert child.returncode == 0, err.decode()[-2000:]
    for step in ("metrics", "logs", "traces", "profile"):
        assert f"== {step} · done" in text, text[-3000:]
    assert "RSS" in text and "limit reached in" in text
    assert "1. Memory growth" in text
    assert "# RCA INC-1: terminal triage of checkout" in text
    assert "## Root cause" in text and "Most likely: Memory growth" in text


def test_unknown_service_is_refused(tmp_path: Path) -> None:
    import subprocess

    config = tmp_path / "triage.yaml"
    config.write_text(yaml.safe_dump({"services": [{"name": "checkout"}]}))
    done = subprocess.run([sys.executable, "-m", "bot.cli", "triage", "nosuch", "--config",
                           str(config)], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          check=False)
    assert done.returncode == 2
    assert "unknown service 'nosuch'; the catalog has: checkout" in done.stderr
