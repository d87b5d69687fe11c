"""Silence from the card and from ``/triage silence``, against a real Alertmanager 0.25."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.models import EventKind
from bot.slack.silence_blocks import ACTION_EXPIRE, ACTION_SILENCE
from tests.handlers.test_commands import reply, texts
from tests.support.alert_payloads import alert, notification
from tests.support.alertmanager_fixture import needs_alertmanager, running_alertmanager
from tests.support.bot_harness import BotHarness, running_bot

pytestmark = needs_alertmanager


@pytest.fixture
async def alertmanager() -> AsyncIterator[str]:
    async for url in running_alertmanager():
        yield url


@pytest.fixture
async def bot(redis_url: str, key_prefix: str, alertmanager: str) -> AsyncIterator[BotHarness]:
    overrides = {"backends": {"alertmanager": alertmanager},
                 "alerts": {"run_metrics_on_open": False}}
    async with running_bot(redis_url, key_prefix, overrides=overrides) as harness:
        yield harness


def silences(alertmanager: str) -> list[dict[str, Any]]:
    with urllib.request.urlopen(f"{alertmanager}/api/v2/silences", timeout=5) as answer:
        found: list[dict[str, Any]] = json.loads(answer.read())
        return found


async def open_incident(bot: BotHarness) -> Any:
    payload = notification("{}:{alertname=\"HighP99\"}", [
        alert("HighP99", service="checkout", severity="critical", instance="a")])
    assert (await bot.post_alert(payload)).status == 200
    await bot.idle()
    return bot.slack.messages("C0CHECKOUT", include_replies=False)[0]


def form(duration: str, comment: str, matchers: str, custom: str = "") -> dict[str, Any]:
    return {"duration": {"duration": duration}, "comment": {"comment": comment},
            "matchers": {"matchers": matchers},
            "custom_duration": {"custom_duration": custom or None}}


async def test_silence_from_the_card_then_expire_it(bot: BotHarness, alertmanager: str) -> None:
    card = await open_incident(bot)
    links = texts(card.blocks)
    assert f"<{alertmanager}/#/alerts?filter=" in links and "|Alertmanager>" in links
    assert "<http://prometheus:9090/graph?g0.expr=up|Alert rule>" in links
    await bot.sender.click("C0CHECKOUT", card.ts, ACTION_SILENCE, user_id="U0ALICE")
    await bot.idle()
    modal = bot.slack.views(open_only=True)[-1]
    prefilled = next(b for b in modal.view["blocks"] if b["block_id"] == "matchers")
    assert 'service="checkout"' in prefilled["element"]["initial_value"]
    saved = await bot.sender.submit_view(modal.id, form(
        "1h", "rolling back <!channel>", 'service="checkout"\nalertname="HighP99"'),
        user_id="U0ALICE")
    assert saved.status == 200 and not saved.ack()
    await bot.idle()
    [made] = silences(alertmanager)
    assert (made["status"]["state"], made["createdBy"]) == ("active", "alice")
    assert {m["name"]: m["value"] for m in made["matchers"]} == {
        "service": "checkout", "alertname": "HighP99"}
    shown = texts(bot.slack.message("C0CHECKOUT", card.ts).blocks)
    assert "*Silenced*" in shown and "Expire silence" in shown
    thread = "\n".join(m.text for m in bot.slack.thread("C0CHECKOUT", card.ts)[1:])
    assert "silenced" in thread and "&lt;!channel&gt;" in thread and "<!channel>" not in thread

    await bot.sender.click("C0CHECKOUT", card.ts, ACTION_EXPIRE, user_id="U0BOB")
    await bot.idle()
    assert silences(alertmanager)[0]["status"]["state"] == "expired"
    assert "Expire silence" not in texts(bot.slack.message("C0CHECKOUT", card.ts).blocks)
    kinds = [e.kind for e in await bot.services.triage.timeline(
        await bot.services.triage.find("INC-1"))]
    assert EventKind.SILENCED in kinds and EventKind.SILENCE_EXPIRED in kinds


async def test_alertmanager_refusal_is_shown_under_the_matchers(
        bot: BotHarness, alertmanager: str) -> None:
    card = await open_incident(bot)
    await bot.sender.click("C0CHECKOUT", card.ts, ACTION_SILENCE)
    await bot.idle()
    modal = bot.slack.views(open_only=True)[-1]
    refused = await bot.sender.submit_view(modal.id, form("30m", "x", 'service=~"(unclosed"'))
    ack = refused.ack()
    assert ack is not None and ack["response_action"] == "errors"
    assert ack["errors"]["matchers"].startswith("alertmanager: ")
    assert "(unclosed" in ack["errors"]["matchers"]
    bad = await bot.sender.submit_view(modal.id, form("custom", "x", 'service="a"', "9y"))
    assert "not a duration" in (bad.ack() or {}).get("errors", {}).get("custom_duration", "")
    assert silences(alertmanager) == []


async def test_slash_silence_uses_the_group_labels(bot: BotHarness, alertmanager: str) -> None:
    card = await open_incident(bot)
    answer = await reply(bot, await bot.sender.slash_command(
        "/triage", "silence INC-1 4h noisy during the migration", channel_id="C0CHECKOUT"))
    assert "Silenced the alerts of INC-1 until" in answer
    await bot.idle()
    [made] = silences(alertmanager)
    assert made["comment"] == "noisy during the migration"
    assert {m["name"] for m in made["matchers"]} >= {"service", "alertname", "severity"}
    assert "*Silenced*" in texts(bot.slack.message("C0CHECKOUT", card.ts).blocks)
    refused = await reply(bot, await bot.sender.slash_command(
        "/triage", "silence INC-1 forever", channel_id="C0CHECKOUT"))
    assert "not a duration" in refused


async def test_without_alertmanager_the_card_offers_no_silence(
        redis_url: str, key_prefix: str) -> None:
    async with running_bot(redis_url, key_prefix,
                           overrides={"alerts": {"run_metrics_on_open": False}}) as bot:
        card = await open_incident(bot)
        assert "Silence" not in texts(card.blocks)
        answer = await reply(bot, await bot.sender.slash_command(
            "/triage", "silence INC-1 1h", channel_id="C0CHECKOUT"))
        assert "no Alertmanager configured (backends.alertmanager)" in answer
