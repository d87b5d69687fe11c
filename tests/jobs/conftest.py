"""Fixtures of the job tests: a fast schedule, a fake Prometheus, polling with a deadline."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from bot.models import Incident, Severity
from bot.triage.incidents import Declaration
from handlers.services import Services
from tests.jobs.fake_prometheus import FakePrometheus
from triage_sim.replay.history import backfill, promtool_binary
from triage_sim.replay.prometheus_process import BackfilledPrometheus, prometheus_binary
from triage_sim.service import scenarios

#: Nothing fires on its own during a test (a day between sweeps) unless a test says so.
QUIET: dict[str, Any] = {"reminder_after": 86400, "refresh_every": 86400,
                         "memory_watch_every": 86400, "status_every": 86400, "digest_at": None,
                         "lease": 1.0}


def schedule(**changes: Any) -> dict[str, Any]:
    """The ``schedule`` section: quiet, with ``changes``."""
    return {**QUIET, **changes}


@pytest.fixture
async def prometheus() -> AsyncIterator[FakePrometheus]:
    fake = await FakePrometheus().start()
    try:
        yield fake
    finally:
        await fake.stop()


async def open_incident(services: Services, service: str | None = "checkout",
                        summary: str = "P99 above 2 s", *, card: bool = True) -> Incident:
    """Declare an incident as a responder would, and post its card."""
    catalog_service = services.triage.incidents.catalog.get(service) if service else None
    created = await services.triage.incidents.declare(Declaration(
        service=catalog_service, summary=summary, severity=Severity.ERROR, actor="U0ALICE"))
    incident = created.incident
    return await services.triage.cards.post(incident) if card else incident


@pytest.fixture(scope="module")
def scenario_prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Prometheus holding the memory-growth scenario's last three hours (anchor: now)."""
    if prometheus_binary() is None or promtool_binary() is None:
        pytest.skip("prometheus and promtool are not installed (Debian package `prometheus`)")
    tsdb = tmp_path_factory.mktemp("memory-growth") / "tsdb"
    backfill([scenarios.get("memory-growth")], time.time(), tsdb)
    server = BackfilledPrometheus(tsdb)
    try:
        server.start()
        yield server.url
    finally:
        server.cleanup()
