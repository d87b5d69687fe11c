"""/healthz, /readyz and /metrics of a running bot."""

from __future__ import annotations

from tests.support.bot_harness import BotHarness


async def test_health_ready_and_metrics(bot: BotHarness) -> None:
    async with bot.http.get(f"{bot.base_url}/healthz") as r:
        assert r.status == 200
    async with bot.http.get(f"{bot.base_url}/readyz") as r:
        assert r.status == 200 and (await r.json())["redis"] == "ok"
    await bot.sender.slash_command("/triage", "help", channel_id="C0CHECKOUT")
    async with bot.http.get(f"{bot.base_url}/metrics") as r:
        text = await r.text()
    assert 'triage_slack_ack_seconds_count{kind="command"} 1.0' in text
    assert "triage_event_loop_lag_seconds" in text
    assert "triage_slack_api_calls_total" in text
