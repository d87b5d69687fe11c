"""A real Prometheus holding scenarios' backfilled history, for tests (session-scoped).

``start_scenario_prometheus`` backfills the chosen scenarios (``promtool``) into one TSDB with
the history ending at one anchor (the current second), starts ``prometheus`` over it and, with
``scrape=True``, scrapes each scenario's live exposition every second, its samples stamped on
the history's step (``step_s``), so the series continue past the anchor at the same resolution
and exemplars arrive (the first scrape lands about 5 s after start).

The ``scenario_prometheus`` fixture starts one for the whole session, shared by every module
that imports it (the instance is cached here), with every scenario. Tests asking its clock
get the same anchor: ``server.clock("memory-growth")``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from triage_sim.replay.history import OPENMETRICS_CONTENT_TYPE, BackfillResult, backfill, exposition
from triage_sim.replay.prometheus_process import (
    BackfilledPrometheus,
    ScrapeTarget,
    prometheus_binary,
)
from triage_sim.service.scenarios import SCENARIOS, Scenario, ScenarioClock

STEP_S = 30.0


class LiveExposition:
    """A scrape target serving a scenario's ``/metrics`` at its clock's current time.

    A thread server rather than the aiohttp stand-in, so it outlives any test's event loop.
    """

    def __init__(self, scenario: Scenario, clock: ScenarioClock, step_s: float) -> None:
        self.scrapes = 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.scrapes += 1
                body = exposition(scenario, clock.now(), clock.epoch, step_s=step_s).encode()
                self.send_response(200 if self.path.startswith("/metrics") else 404)
                self.send_header("Content-Type", OPENMETRICS_CONTENT_TYPE)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        daemon=True)
        self._thread.start()

    @property
    def address(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{host!s}:{port}"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@dataclass
class ScenarioPrometheus:
    """A started Prometheus with scenarios' history, and what it took to get there."""

    anchor: float
    scenarios: tuple[Scenario, ...]
    server: BackfilledPrometheus
    backfill: BackfillResult
    start_seconds: float
    tsdb: Path
    targets: list[LiveExposition] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.server.url

    def clock(self, name: str) -> ScenarioClock:
        """The clock every part of this session uses for scenario ``name``."""
        return SCENARIOS[name].clock(self.anchor)

    def wait_for_scrapes(self, deadline_s: float = 20.0) -> None:
        """Wait until every scenario has been scraped at least once."""
        for scenario in self.scenarios:
            self.server.wait_for(f'up{{job="{scenario.service.name}"}} == 1', deadline_s)

    def cleanup(self) -> None:
        self.server.cleanup(graceful=False)  # the TSDB is deleted anyway
        for target in self.targets:
            target.stop()
        shutil.rmtree(self.tsdb.parent, ignore_errors=True)


def start_scenario_prometheus(scenarios: Sequence[Scenario] | None = None, *,
                              scrape: bool = True, step_s: float = STEP_S) -> ScenarioPrometheus:
    """Backfill ``scenarios`` (all by default), start Prometheus over them; caller cleans up."""
    chosen = tuple(scenarios or SCENARIOS.values())
    anchor = float(int(time.time()))
    tsdb = Path(tempfile.mkdtemp(prefix="triage-scenario-tsdb-")) / "data"
    result = backfill(chosen, anchor, tsdb, step_s=step_s)
    targets, jobs = [], []
    for scenario in chosen if scrape else ():
        live = LiveExposition(scenario, scenario.clock(anchor), step_s)
        targets.append(live)
        jobs.append(ScrapeTarget(scenario.service.name, live.address,
                                 {"instance": scenario.service.target_labels()["instance"]}))
    server = BackfilledPrometheus(tsdb, jobs)
    try:
        seconds = server.start()
    except RuntimeError:
        server.cleanup()
        for target in targets:
            target.stop()
        raise
    return ScenarioPrometheus(anchor, chosen, server, result, seconds, tsdb, targets)


_SHARED: dict[str, ScenarioPrometheus] = {}


def require_prometheus() -> None:
    """Skip (fail in CI) when prometheus or promtool is missing."""
    if prometheus_binary() is None or shutil.which("promtool") is None:
        reason = "prometheus/promtool are not installed (Debian package `prometheus`)"
        if os.environ.get("CI"):
            pytest.fail(reason + "; CI must install it")
        pytest.skip(reason)


@pytest.fixture(scope="session")
def scenario_prometheus() -> Iterator[ScenarioPrometheus]:
    """Every scenario backfilled into one real Prometheus that also scrapes them live."""
    require_prometheus()
    if "all" not in _SHARED:
        _SHARED["all"] = start_scenario_prometheus()
    try:
        yield _SHARED["all"]
    finally:
        shared = _SHARED.pop("all", None)
        if shared is not None:
            shared.cleanup()
