"""``serve --socket-mode``: the same listeners, reached over the stand-in's Socket Mode link."""

from __future__ import annotations

from bot.app import Runtime
from tests.handlers.test_commands import texts
from tests.support.bot_harness import populate, running_bot
from triage_sim.slack.payloads import event_callback
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


async def test_an_event_redelivered_to_another_replica_is_answered_once(
        redis_url: str, key_prefix: str) -> None:
    """Two replicas, each with its own Socket Mode connection, on one Redis: Slack delivers an
    event to one and its retry to the other; the event_id claim makes one answer."""
    async with SlackStandIn() as slack:
        populate(slack)
        runtime = Runtime(socket_mode=True, channel_interval_s=0.01, drain_seconds=5)
        async with running_bot(redis_url, key_prefix, slack=slack, runtime=runtime) as first, \
                running_bot(redis_url, key_prefix, slack=slack, runtime=runtime) as second:
            await slack.wait_for(lambda: slack.socket.connected >= 2, timeout=10,
                                 what="both replicas' connections")
            root = slack.add_user_message("C0CHECKOUT", "<@U0TRIAGEBOT> list", "U0ALICE")
            envelope = event_callback(
                SlackSender(slack).actor, bot_user_id=slack.ws.bot_user_id,
                event_id="Ev0LIST1", event={
                    "type": "app_mention", "user": "U0ALICE", "text": "<@U0TRIAGEBOT> list",
                    "ts": root.ts, "channel": "C0CHECKOUT", "event_ts": root.ts})
            await slack.socket_send("events_api", envelope, connection=0)
            await slack.socket_send("events_api", envelope, retry_attempt=1,
                                    retry_reason="timeout", connection=1)
            await first.idle()
            await second.idle()
            assert len(slack.thread("C0CHECKOUT", root.ts)[1:]) == 1
