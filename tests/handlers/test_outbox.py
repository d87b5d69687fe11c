"""The outbox: every card, redraw and thread line reaches Slack once, whatever Slack does.

Real Redis, the Slack stand-in with its fault injection, the bot in-process. Cards are counted
by their message metadata (one per incident), so a duplicate cannot hide.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import aiohttp
import pytest

from bot.app import Runtime
from bot.triage.delivery import DrainerOptions
from tests.handlers.test_alerts import INTAKE_ONLY
from tests.support.alert_payloads import alert, notification
from tests.support.bot_harness import ALERT_TOKEN, BotHarness, running_bot
from tests.support.polling import eventually
from tests.support.redis_server import RedisServer
from triage_sim.slack.standin import SlackStandIn

FAST = Runtime(channel_interval_s=0.01, drain_seconds=5,
               outbox=DrainerOptions(lease_s=2.0, backoff_s=0.1, backoff_cap_s=1.0))


def cards_by_incident(slack: SlackStandIn, channel: str = "C0CHECKOUT") -> Counter[str]:
    """How many card messages each incident has (by the card's metadata)."""
    seen: Counter[str] = Counter()
    for message in slack.messages(channel, include_replies=False):
        metadata = message.extra.get("metadata") or {}
        if metadata.get("event_type") == "triage_card":
            seen[metadata["event_payload"]["incident"]] += 1
    return seen


def group(n: int) -> dict[str, object]:
    return notification(f'{{}}:{{alertname="Err{n}", service="checkout"}}',
                        [alert(f"Err{n}", service="checkout", instance=f"i{n}")])


@pytest.fixture
async def bot(redis_url: str, key_prefix: str) -> AsyncIterator[BotHarness]:
    async with running_bot(redis_url, key_prefix, overrides=INTAKE_ONLY, runtime=FAST) as h:
        yield h


async def test_slack_429_ten_times_then_ok_every_card_once(bot: BotHarness) -> None:
    bot.slack.fail_next("chat.postMessage", status=429, retry_after=0, times=10)
    for n in range(10):
        assert (await bot.post_alert(group(n))).status == 200
    await bot.idle(within=60)
    cards = cards_by_incident(bot.slack)
    assert len(cards) == 10 and set(cards.values()) == {1}, cards
    assert len(bot.slack.calls_to("chat.postMessage", ok=False)) == 10


async def test_slack_posts_then_answers_500_one_card(bot: BotHarness) -> None:
    bot.slack.fail_next("chat.postMessage", status=500, times=1, after=True)
    assert (await bot.post_alert(group(1))).status == 200
    await bot.idle(within=30)
    assert cards_by_incident(bot.slack) == {"INC-1": 1}
    incident = await bot.services.triage.get("INC-1")
    [card] = bot.slack.messages("C0CHECKOUT", include_replies=False)
    assert incident is not None and incident.card_ts == card.ts  # the found card is recorded
    assert bot.slack.calls_to("conversations.history")  # looked before posting again


async def test_several_lost_answers_still_one_card(bot: BotHarness) -> None:
    bot.slack.fail_next("chat.postMessage", status=500, times=3, after=True)
    assert (await bot.post_alert(group(1))).status == 200
    await bot.idle(within=30)
    assert cards_by_incident(bot.slack) == {"INC-1": 1}


async def test_failed_update_on_resolve_is_retried_until_the_card_says_resolved(
    bot: BotHarness,
) -> None:
    assert (await bot.post_alert(group(1))).status == 200
    await bot.idle()
    triage = bot.services.triage
    incident = await triage.get("INC-1")
    assert incident is not None
    # More failures than the client's own retries: only the outbox gets it through.
    bot.slack.fail_next("chat.update", status=500, times=8)
    assert await triage.resolve(incident, "U0ALICE", "rolled back")
    await bot.idle(within=30)
    card = bot.slack.message("C0CHECKOUT", incident.card_ts or "")
    assert "resolved" in card.text.lower(), card.text
    thread = bot.slack.thread("C0CHECKOUT", incident.card_ts or "")
    assert sum("rolled back" in m.text for m in thread) == 1


async def test_a_stored_note_always_reaches_the_thread(bot: BotHarness) -> None:
    assert (await bot.post_alert(group(1))).status == 200
    await bot.idle()
    triage = bot.services.triage
    incident = await triage.get("INC-1")
    assert incident is not None
    bot.slack.fail_next("chat.postMessage", status=503, times=4)
    await triage.note(incident, "U0ALICE", "suspect the 14:02 deploy")
    await bot.idle(within=30)
    thread = bot.slack.thread("C0CHECKOUT", incident.card_ts or "")
    assert sum("suspect the 14:02 deploy" in m.text for m in thread) == 1


async def test_metrics_show_the_outbox_depth(bot: BotHarness) -> None:
    assert (await bot.post_alert(group(1))).status == 200
    await bot.idle()

    async def depth_shown() -> str:
        async with bot.http.get(f"{bot.base_url}/metrics") as response:
            text = await response.text()
        return next((line for line in text.splitlines()
                     if line.startswith("triage_outbox_depth ")), "")

    # The gauge is what the drainer saw at its last look: 0 within one idle poll.
    assert await eventually(lambda: _zero(depth_shown), within=5, what="depth 0 on /metrics")


async def _zero(shown: Callable[[], Awaitable[str]]) -> bool:
    return await shown() == "triage_outbox_depth 0.0"


async def test_a_body_in_two_segments_is_read_whole(bot: BotHarness) -> None:
    body = json.dumps(group(7)).encode()
    host, port = bot.base_url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    head = (f"POST /alerts/alertmanager HTTP/1.1\r\nHost: {host}\r\n"
            f"Authorization: Bearer {ALERT_TOKEN}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()
    writer.write(head + body[:100])
    await writer.drain()
    await asyncio.sleep(0.05)  # the second segment, 50 ms later (the scenario, not a wait)
    writer.write(body[100:])
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    assert answer.startswith(b"HTTP/1.1 200"), answer[:200]


async def test_zoned_and_zoneless_times_in_one_group(bot: BotHarness) -> None:
    alerts = [alert("Mixed", service="checkout", instance="a", starts_at="2026-11-27T10:00:00Z"),
              alert("Mixed", service="checkout", instance="b", starts_at="2026-11-27T10:01:00")]
    first = notification('{}:{alertname="Mixed"}', alerts[:1])
    assert (await bot.post_alert(first)).status == 200
    assert (await bot.post_alert(notification('{}:{alertname="Mixed"}', alerts))).status == 200
    await bot.idle()
    states = await bot.services.triage.alert_states.states("INC-1")
    assert [s.starts_at.tzinfo is not None for s in states] == [True, True]
    assert cards_by_incident(bot.slack) == {"INC-1": 1}


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    server = RedisServer(appendonly=True)
    server.start()
    yield server
    server.cleanup()


async def deliver_like_alertmanager(http: aiohttp.ClientSession, url: str,
                                    payload: dict[str, object], deadline_s: float) -> int:
    """POST until 2xx, retrying 5xx and connection errors as Alertmanager does; attempts."""
    body = json.dumps(payload).encode()
    headers = {"Authorization": f"Bearer {ALERT_TOKEN}", "Content-Type": "application/json"}
    end = time.monotonic() + deadline_s
    attempts = 0
    while True:
        attempts += 1
        try:
            async with http.post(url, data=body, headers=headers) as response:
                if response.status < 300:
                    return attempts
                assert response.status >= 500, await response.text()
        except aiohttp.ClientConnectionError:
            pass
        assert time.monotonic() < end, "notification never accepted"
        await asyncio.sleep(0.25)  # Alertmanager's backoff between attempts


async def test_redis_down_ten_seconds_during_100_notifications_100_cards(
    own_redis: RedisServer, key_prefix: str
) -> None:
    async with running_bot(own_redis.url, key_prefix, overrides=INTAKE_ONLY,
                           runtime=FAST) as bot:
        url = f"{bot.base_url}/alerts/alertmanager"

        async def sender(n: int) -> int:
            await asyncio.sleep(n * 0.1)  # spread over 10 s, as alerts arrive
            return await deliver_like_alertmanager(bot.http, url, group(n), 90)

        senders = asyncio.gather(*(sender(n) for n in range(100)))
        await asyncio.sleep(2)
        own_redis.stop()
        await asyncio.sleep(10)  # the outage
        own_redis.start()
        attempts = await senders
        await bot.idle(within=90)
        cards = cards_by_incident(bot.slack)
        assert len(cards) == 100 and set(cards.values()) == {1}, cards
        assert max(attempts) > 1  # some notifications were refused 503 and retried
