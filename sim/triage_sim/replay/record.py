"""Record the walk's Prometheus queries for a scenario: what ``triage-bot sim record`` does.

For each scenario it backfills a real Prometheus, starts the service stand-in for it to
scrape, puts a :class:`RecordingProxy` in front and runs the walk's queries through it
(:func:`triage_sim.replay.walk.record_walk`), then saves what Prometheus answered into
``triage_sim/replay/recordings`` for the demo to replay. Needs ``prometheus`` and
``promtool`` (Debian package ``prometheus``).
"""

from __future__ import annotations

import asyncio
import inspect
import json
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from triage_sim.replay.history import backfill, scenario_fingerprint
from triage_sim.replay.prom_replay import RecordingProxy, recording_path
from triage_sim.replay.prometheus_process import BackfilledPrometheus, ScrapeTarget
from triage_sim.service.scenarios import Scenario, ScenarioClock
from triage_sim.service.standin import ServiceStandIn

__all__ = ["RecordWalk", "record_scenario"]

#: ``walk(scenario name, Prometheus URL, service stand-in URL)``; may be a coroutine function.
RecordWalk = Callable[[str, str, str], Any]


async def record_scenario(scenario: Scenario, walk: RecordWalk, out: Path, *,
                          step_s: float = 15.0) -> Path:
    """Record ``walk``'s Prometheus queries for one scenario; return the file written.

    Each scenario gets its own Prometheus with the history ending at the moment recording
    starts, so every recording's times are equally close to its anchor.
    """
    anchor = float(int(time.time()))
    with tempfile.TemporaryDirectory(prefix="triage-record-") as tmp:
        tsdb = Path(tmp) / "data"
        await asyncio.to_thread(backfill, [scenario], anchor, tsdb, step_s=step_s)
        # Scraped every second (the first scrape comes soon) but stamped on the history's
        # step, so the series keep one resolution past the anchor.
        standin = await ServiceStandIn(scenario, ScenarioClock(anchor, scenario.history_s),
                                       time_scale=0.05, metrics_step_s=step_s).start()
        target = ScrapeTarget(scenario.service.name, standin.base_url.removeprefix("http://"),
                              {"instance": scenario.service.target_labels()["instance"]})
        prometheus = BackfilledPrometheus(tsdb, [target])
        proxy = RecordingProxy(prometheus.url, anchor)
        try:
            await asyncio.to_thread(prometheus.start)
            await asyncio.to_thread(prometheus.wait_for,
                                    f'up{{job="{scenario.service.name}"}} == 1')
            await proxy.start()
            # A plain function may block (or run its own loop): a thread keeps this loop,
            # which serves the stand-in and the proxy, free. A coroutine runs here.
            done = await asyncio.to_thread(walk, scenario.name, proxy.base_url,
                                           standin.base_url)
            if inspect.isawaitable(done):
                await done
            version = await asyncio.to_thread(_version, prometheus.url)
            recording = proxy.recording(scenario.name, scenario_fingerprint(scenario), version)
        finally:
            await proxy.stop()
            await standin.stop()
            await asyncio.to_thread(prometheus.cleanup)
    path = recording_path(scenario.name, out)
    recording.save(path)
    return path


def _version(url: str) -> str:
    """Prometheus's version from ``/api/v1/status/buildinfo`` ("" when it will not say)."""
    try:
        with urllib.request.urlopen(url + "/api/v1/status/buildinfo", timeout=5) as answer:
            return str(json.loads(answer.read())["data"]["version"])
    except (OSError, ValueError, KeyError):
        return ""
