"""POST /alerts/alertmanager over HTTP, with the Slack stand-in and a real Redis."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator

import pytest

from bot.models import StepName, StepStatus
from tests.handlers.test_commands import texts
from tests.support.alert_payloads import alert, notification, real
from tests.support.bot_harness import ALERT_TOKEN, BotHarness, running_bot

GROUP = '{}:{alertname="HighLatency", service="checkout"}'
INTAKE_ONLY = {"alerts": {"run_metrics_on_open": False}}


@pytest.fixture
async def bot(redis_url: str, key_prefix: str) -> AsyncIterator[BotHarness]:
    """The bot with step 1 not started on its own: these tests look at intake alone."""
    async with running_bot(redis_url, key_prefix, overrides=INTAKE_ONLY) as harness:
        yield harness


async def test_an_alert_opened_incident_runs_step_one_and_reports_a_missing_backend(
    redis_url: str, key_prefix: str
) -> None:
    async with running_bot(redis_url, key_prefix) as bot:
        await bot.post_alert(notification(GROUP, [latency("a:9000")]))
        card = await bot.slack.wait_for_message("C0CHECKOUT")
        await bot.idle()
        replies = bot.slack.thread("C0CHECKOUT", card.ts)[1:]
        assert "Metrics failed: prometheus: no Prometheus configured" in replies[0].text
        assert "Metrics" in texts(bot.slack.message("C0CHECKOUT", card.ts).blocks)
        statuses = await bot.services.triage.walk.stores.walk.statuses("INC-1")
        assert statuses[StepName.METRICS] is StepStatus.FAILED


def latency(instance: str, status: str = "firing", **extra: str) -> dict[str, object]:
    return alert("HighLatency", status=status, service="checkout", severity="critical",
                 instance=instance, **extra)


async def test_first_notification_posts_one_card_and_a_repeat_posts_nothing(
    bot: BotHarness,
) -> None:
    payload = notification(GROUP, [latency("a:9000"), latency("b:9000")])
    first = await bot.post_alert(payload)
    assert first.status == 200
    await bot.idle()
    again = await bot.post_alert(payload)
    assert again.status == 200
    await bot.idle()
    messages = bot.slack.messages("C0CHECKOUT")
    assert len(messages) == 1
    shown = texts(messages[0].blocks)
    assert "INC-1 · checkout" in shown and "2 firing, 0 resolved" in shown
    assert "critical" in shown and "HighLatency" in shown
    assert bot.slack.calls_to("chat.update") == []
    events = await bot.services.triage.incidents.store.timeline("INC-1")
    fired = [e for e in events if e.kind.value == "alert_fired"]
    assert len(fired) == 2
    assert fired[0].data["labels"]["instance"] == "a:9000"
    assert fired[0].data["startsAt"] == "2026-11-27T10:00:00+00:00"


async def test_changes_update_the_card_and_say_so_in_the_thread(bot: BotHarness) -> None:
    await bot.post_alert(notification(GROUP, [latency("a:9000")]))
    await bot.idle()
    card = bot.slack.messages("C0CHECKOUT")[0]
    await bot.post_alert(notification(GROUP, [latency("a:9000"), latency("c:9000")]))
    await bot.idle()
    await bot.post_alert(notification(GROUP, [
        latency("a:9000", "resolved", ), latency("c:9000", "resolved")]))
    await bot.idle()
    thread = [m.text for m in bot.slack.thread("C0CHECKOUT", card.ts)[1:]]
    assert len(thread) == 2
    assert thread[0].startswith(":fire: 1 firing: HighLatency")
    assert "c:9000" in thread[0]
    assert "2 resolved" in thread[1] and "all alerts of this group have resolved" in thread[1]
    final = texts(bot.slack.message("C0CHECKOUT", card.ts).blocks)
    assert "All 2 alerts have resolved" in final
    incident = await bot.services.triage.incidents.store.get("INC-1")
    assert incident is not None and incident.is_open
    assert any(b["type"] == "actions" for b in bot.slack.message("C0CHECKOUT", card.ts).blocks)


async def test_unmapped_alert_goes_to_the_default_channel_naming_its_labels(
    bot: BotHarness,
) -> None:
    response = await bot.post_alert(real("prometheus-msteams_prom_post_request.json"))
    assert response.status == 200
    await bot.idle()
    card = bot.slack.messages("C0INCIDENTS")[0]
    shown = texts(card.blocks)
    assert "unknown (unmapped alert)" in shown  # service `unknown`, its labels below
    assert "no catalog service matched labels" in shown and "monitor=master" in shown
    assert "warning" in shown


async def test_real_payloads_are_accepted(bot: BotHarness) -> None:
    for name in ("alertmonitor_webhook_firing_captured.json",
                 "prometheus-msteams_large_prom_post_request.json"):
        response = await bot.post_alert(real(name))
        assert response.status == 200, name
    await bot.idle()
    # Cards of different incidents are delivered side by side: found by their incident.
    cards = sorted(bot.slack.messages("C0INCIDENTS"), key=lambda m: m.text)
    assert len(cards) == 2
    assert "3 firing" in texts(cards[0].blocks)
    assert "19 firing" in texts(cards[1].blocks) and "…and 11 more alerts" in texts(cards[1].blocks)
    resolved = await bot.post_alert(real("alertmonitor_webhook_resolved_edited.json"))
    assert resolved.status == 200
    await bot.idle()
    first = bot.slack.message("C0INCIDENTS", cards[0].ts)
    assert "All 3 alerts have resolved" in texts(first.blocks)


async def test_authentication(bot: BotHarness) -> None:
    payload = notification(GROUP, [latency("a:9000")])
    basic = base64.b64encode(f"alertmanager:{ALERT_TOKEN}".encode()).decode()
    for auth, status in [(None, 401), ("Bearer wrong", 401), ("Basic bm9wZQ==", 401),
                         (f"Token {ALERT_TOKEN}", 401)]:
        response = await bot.post_alert(payload, auth=auth)
        assert response.status == status, auth
    await bot.idle()
    assert await bot.services.triage.incidents.store.list_open() == []
    ok = await bot.post_alert(payload, auth=f"Basic {basic}")
    assert ok.status == 200


async def test_malformed_wrong_schema_and_oversized_bodies(bot: BotHarness) -> None:
    cases = [(b"{not json", 400, "Invalid JSON"),
             (json.dumps({"status": "firing", "alerts": []}).encode(), 400, "groupKey"),
             (json.dumps({**notification(GROUP, [latency("a")]), "version": "3"}).encode(), 400,
              "version"),
             (b"x" * (4 * 1024 * 1024 + 1), 413, "larger than the limit")]
    for body, status, words in cases:
        response = await bot.post_alert(body)
        assert response.status == status
        assert words in response.body["error"]
    await bot.idle()
    assert await bot.services.triage.incidents.store.list_open() == []


async def test_resolved_only_group_opens_nothing(bot: BotHarness) -> None:
    response = await bot.post_alert(notification(GROUP, [latency("a", "resolved")]))
    assert response.status == 200 and response.body["incident"] is None
    await bot.idle()
    assert await bot.services.triage.incidents.store.list_open() == []
    assert bot.slack.calls_to("chat.postMessage") == []


async def test_concurrent_duplicates_make_one_incident_and_one_card(bot: BotHarness) -> None:
    payload = notification(GROUP, [latency("a:9000")])
    responses = await asyncio.gather(*(bot.post_alert(payload) for _ in range(10)))
    assert {r.status for r in responses} == {200}
    await bot.idle()
    assert len(bot.slack.messages("C0CHECKOUT")) == 1
    assert len(await bot.services.triage.incidents.store.list_open()) == 1


async def test_new_alert_after_human_resolve_opens_a_successor(bot: BotHarness) -> None:
    await bot.post_alert(notification(GROUP, [latency("a:9000")]))
    await bot.idle()
    card = bot.slack.messages("C0CHECKOUT")[0]
    await bot.sender.click("C0CHECKOUT", card.ts, "incident.resolve")
    await bot.idle()
    await bot.post_alert(notification(GROUP, [latency("a:9000")]))  # a repeat: nothing new
    await bot.idle()
    assert len(bot.slack.messages("C0CHECKOUT", include_replies=False)) == 1
    await bot.post_alert(notification(GROUP, [latency("a:9000"), latency("d:9000")]))
    await bot.idle()
    cards = bot.slack.messages("C0CHECKOUT", include_replies=False)
    assert len(cards) == 2 and "INC-2" in texts(cards[1].blocks)
