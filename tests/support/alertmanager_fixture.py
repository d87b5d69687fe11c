"""A running Alertmanager for tests that only talk to its API (silences), not its webhook."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from tests.support.alertmanager_server import AlertmanagerServer, alertmanager_binary

needs_alertmanager = pytest.mark.skipif(
    alertmanager_binary() is None,
    reason="prometheus-alertmanager is not installed (apt-get install prometheus-alertmanager)")


async def running_alertmanager() -> AsyncIterator[str]:
    """Start Alertmanager (its webhook pointing nowhere), yield its URL, stop it."""
    server = AlertmanagerServer("http://127.0.0.1:9/unused", "unused", group_by=["alertname"])
    await asyncio.to_thread(server.start)
    try:
        yield f"http://{server.address}"
    finally:
        await asyncio.to_thread(server.cleanup)
