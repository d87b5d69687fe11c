"""The real thing: Prometheus evaluates a rule, Alertmanager routes it, the bot posts a card."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
import yaml

from tests.handlers.test_commands import texts
from tests.support.alertmanager_server import AlertmanagerServer, alertmanager_binary
from tests.support.bot_harness import ALERT_TOKEN, running_bot
from tests.support.prometheus_server import (
    PROMETHEUS_TEXT,
    MetricsTarget,
    PrometheusServer,
    ScrapeTarget,
    prometheus_binary,
)

pytestmark = pytest.mark.skipif(
    not (prometheus_binary() and alertmanager_binary()) and not os.environ.get("CI"),
    reason="prometheus and prometheus-alertmanager are not installed (.ci/run installs them)",
)


def backlog(depth: int) -> str:
    return ("# TYPE checkout_queue_depth gauge\n"
            f'checkout_queue_depth{{service="checkout"}} {depth}\n')


def rules(tmp_path: Path) -> Path:
    path = tmp_path / "rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "checkout", "rules": [{
        "alert": "QueueBacklog", "expr": "checkout_queue_depth > 50", "for": "0s",
        "labels": {"severity": "critical"},
        "annotations": {"summary": "checkout queue is backing up"}}]}]}))
    return path


async def test_prometheus_alertmanager_bot_card(
    redis_url: str, key_prefix: str, tmp_path: Path
) -> None:
    target = MetricsTarget(backlog(0), content_type=PROMETHEUS_TEXT).start()
    async with running_bot(redis_url, key_prefix) as bot:
        alertmanager = AlertmanagerServer(f"{bot.base_url}/alerts/alertmanager", ALERT_TOKEN,
                                          group_by=["alertname", "service"])
        prometheus = PrometheusServer([ScrapeTarget("checkout", target.address)],
                                      rule_files=[rules(tmp_path)],
                                      alertmanagers=[alertmanager.address])
        try:
            await asyncio.to_thread(alertmanager.start)
            await asyncio.to_thread(prometheus.start)
            await asyncio.to_thread(prometheus.wait_for, "checkout_queue_depth", 30)
            target.body = backlog(120)
            card = await bot.slack.wait_for_message("C0CHECKOUT", timeout=60)
            shown = texts(card.blocks)
            assert "INC-1 · checkout" in shown and "checkout queue is backing up" in shown
            assert "critical" in shown and "1 firing" in shown
            target.body = backlog(0)
            await bot.slack.wait_for(
                lambda: "All 1 alerts have resolved"
                in texts(bot.slack.message("C0CHECKOUT", card.ts).blocks),
                timeout=60, what="the card to say the alert resolved")
            await bot.idle()
            assert len(bot.slack.messages("C0CHECKOUT", include_replies=False)) == 1
            timeline = await bot.services.triage.incidents.store.timeline("INC-1")
            events = [e.kind.value for e in timeline]
            assert events.count("alert_fired") == 1 and events.count("alert_resolved") == 1
        finally:
            prometheus.cleanup()
            alertmanager.cleanup()
            target.stop()
