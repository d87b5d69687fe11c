"""Through a real Alertmanager: groups of 1, 1,000 and 5,000 alerts are all stored and carded.

Alertmanager treats a 4xx as unrecoverable and drops the notification: a 5,000-alert group
(about 1.6 MB) must fit the default body limit and be read whole however it arrives.
"""

from __future__ import annotations

import asyncio
import json
import os
import urllib.request
from datetime import UTC, datetime

import pytest

from bot.app import Runtime
from tests.handlers.test_alerts import INTAKE_ONLY
from tests.handlers.test_outbox import cards_by_incident
from tests.support.alertmanager_server import AlertmanagerServer, alertmanager_binary
from tests.support.bot_harness import ALERT_TOKEN, running_bot

pytestmark = pytest.mark.skipif(
    not alertmanager_binary() and not os.environ.get("CI"),
    reason="prometheus-alertmanager is not installed (.ci/run installs it)",
)

SIZES = {"one": 1, "thousand": 1000, "five-thousand": 5000}


def post_alerts(address: str) -> None:
    """Every group's alerts into Alertmanager's API, as Prometheus would send them."""
    now = datetime.now(UTC).isoformat()
    alerts = [{"labels": {"alertname": "Flood", "service": "checkout", "batch": name,
                          "instance": f"host-{i:05d}"},
               "annotations": {"summary": f"flood in batch {name}"}, "startsAt": now}
              for name, size in SIZES.items() for i in range(size)]
    request = urllib.request.Request(
        f"http://{address}/api/v2/alerts", data=json.dumps(alerts).encode(),
        headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200


async def test_groups_of_1_1000_and_5000_alerts_are_stored(redis_url: str,
                                                           key_prefix: str) -> None:
    runtime = Runtime(channel_interval_s=0.01, drain_seconds=5, scheduler=False)
    async with running_bot(redis_url, key_prefix, overrides=INTAKE_ONLY, runtime=runtime) as bot:
        alertmanager = AlertmanagerServer(f"{bot.base_url}/alerts/alertmanager", ALERT_TOKEN,
                                          group_by=["alertname", "batch"])
        try:
            await asyncio.to_thread(alertmanager.start)
            await asyncio.to_thread(post_alerts, alertmanager.address)
            triage = bot.services.triage

            async def stored() -> dict[int, str] | None:
                found = {}
                for incident in await triage.list_open():
                    found[len(await triage.alert_states.states(incident.id))] = incident.id
                return found if sorted(found) == sorted(SIZES.values()) else None

            loop = asyncio.get_running_loop()
            deadline = loop.time() + 60
            while (found := await stored()) is None:
                assert loop.time() < deadline, alertmanager.log_tail()
                await asyncio.sleep(0.2)
            await bot.idle(within=30)
            cards = cards_by_incident(bot.slack)
            assert sorted(cards) == sorted(found.values()) and set(cards.values()) == {1}
            assert "unrecoverable" not in alertmanager.log_tail(200)
        finally:
            alertmanager.cleanup()
