"""An alert storm: 500 alerts in 50 groups, paced to Slack's per-channel limit."""

from __future__ import annotations

import asyncio
from collections import defaultdict

from bot.app import Runtime
from tests.support.alert_payloads import alert, notification
from tests.support.bot_harness import running_bot
from triage_sim.slack.standin import SlackStandIn

SERVICES = 25
GROUPS_PER_SERVICE = 2
ALERTS_PER_GROUP = 10


def storm_config() -> dict[str, object]:
    # Intake alone is under test here: step 1 does not run on its own for these incidents.
    return {"alerts": {"run_metrics_on_open": False},
            "services": [{"name": f"svc-{i}", "channel": f"C0SVC{i:02d}"}
                         for i in range(SERVICES)]}


def wave(alerts_per_group: int) -> list[dict[str, object]]:
    payloads = []
    for s in range(SERVICES):
        for g in range(GROUPS_PER_SERVICE):
            name = f"Rule{g}"
            alerts = [alert(name, service=f"svc-{s}", severity="warning", instance=f"pod-{i}")
                      for i in range(alerts_per_group)]
            payloads.append(notification(f'{{}}:{{alertname="{name}",service="svc-{s}"}}',
                                         alerts))
    return payloads


async def test_storm_one_card_per_group_paced_per_channel(redis_url: str, key_prefix: str
                                                         ) -> None:
    async with SlackStandIn() as slack:
        for i in range(SERVICES):
            slack.add_channel(f"C0SVC{i:02d}", f"svc-{i}")
        slack.limit_channel_posts(per_second=1.0, burst=2)
        slack.fail_next("chat.postMessage", status=429, retry_after=1)
        async with running_bot(redis_url, key_prefix, slack=slack, overrides=storm_config(),
                               runtime=Runtime(channel_interval_s=1.0)) as bot:
            first = await asyncio.gather(*(bot.post_alert(p) for p in wave(5)))
            second = await asyncio.gather(*(bot.post_alert(p) for p in wave(ALERTS_PER_GROUP)))
            assert {r.status for r in first + second} == {200}
            await bot.idle(within=60)
            incidents = await bot.services.triage.incidents.store.list_open()
        cards = [m for i in range(SERVICES)
                 for m in slack.messages(f"C0SVC{i:02d}", include_replies=False)]
        assert len(cards) == len(incidents) == SERVICES * GROUPS_PER_SERVICE
        for card in cards:
            # The second wave either arrived before the card was posted (the card shows it) or
            # after (one change line in the thread); the card ends up current either way.
            assert len(slack.thread(card.channel, card.ts)) <= 2
            final = slack.message(card.channel, card.ts)
            assert "10 firing, 0 resolved" in str(final.blocks), final
        rate_limited = [c for c in slack.calls if c.status == 429]
        assert len(rate_limited) == 1  # only the injected one: pacing kept within the limit
        assert len(slack.calls_to("chat.update", ok=True)) <= len(cards)
        writes: dict[str, list[float]] = defaultdict(list)
        for call in slack.calls:
            if call.ok and call.method in ("chat.postMessage", "chat.update"):
                writes[str(call.args["channel"])].append(call.at)
        retried = {str(c.args.get("channel")) for c in rate_limited}
        for channel, times in writes.items():
            if channel in retried:
                continue  # the 429's retry lands beside the next paced write (a short burst)
            # About one write per second: never three within one second.
            spans = [c - a for a, c in zip(times, times[2:], strict=False)]
            assert all(span > 0.9 for span in spans), (channel, spans)
