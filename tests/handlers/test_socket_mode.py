"""``serve --socket-mode``: the same listeners, reached over the stand-in's Socket Mode link."""

from __future__ import annotations

from bot.app import Runtime
from tests.handlers.test_commands import texts
from tests.support.bot_harness import populate, running_bot
from triage_sim.slack.sender import SlackSender
from triage_sim.slack.standin import SlackStandIn


async def test_commands_and_clicks_over_socket_mode(redis_url: str, key_prefix: str) -> None:
    async with SlackStandIn() as slack:
        populate(slack)
        runtime = Runtime(socket_mode=True, channel_interval_s=0.01, drain_seconds=5)
        async with running_bot(redis_url, key_prefix, slack=slack, runtime=runtime) as bot:
            await slack.wait_for_socket()
            sender = SlackSender(slack)
            helped = await sender.slash_command("/triage", "help", channel_id="C0RANDOM")
            assert helped.acked_in_time
            ack = helped.ack()
            assert ack is not None and "/triage start <service>" in texts(ack["blocks"])
            await sender.slash_command("/triage", "start search slow", channel_id="C0SEARCH")
            card = await slack.wait_for_message("C0SEARCH")
            await sender.click("C0SEARCH", card.ts, "incident.resolve")
            await bot.idle()
            assert "Resolved by <@U0ALICE>" in texts(slack.message("C0SEARCH", card.ts).blocks)
            async with bot.http.get(f"{bot.base_url}/metrics") as metrics:
                assert 'triage_slack_ack_seconds_count{kind="command"}' in await metrics.text()
