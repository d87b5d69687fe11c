"""Redis behind Sentinel: a failover during alert traffic loses no alert and doubles no card.

A real primary, a replica and three sentinels; the bot connects with
``redis+sentinel://…/<master>/<db>``; notifications are sent as Alertmanager sends them
(retrying 503s), and the primary is failed over (SENTINEL FAILOVER) while they arrive.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest

from bot.errors import ConfigError
from bot.store.connection import parse_sentinel_url
from tests.handlers.test_alerts import INTAKE_ONLY
from tests.handlers.test_outbox import FAST, cards_by_incident, deliver_like_alertmanager, group
from tests.support.bot_harness import running_bot
from tests.support.sentinel_servers import SentinelGroup


def test_sentinel_urls_are_parsed_or_refused_with_the_expected_form() -> None:
    parsed = parse_sentinel_url("redis+sentinel://:s3cret@h1:26379,h2:26380/triage/2")
    assert parsed.sentinels == (("h1", 26379), ("h2", 26380))
    assert (parsed.master, parsed.db, parsed.password) == ("triage", 2, "s3cret")
    assert parse_sentinel_url("redis+sentinel://h1:26379/triage").db == 0
    for bad in ("redis+sentinel://h1:26379/", "redis+sentinel://h1/triage/0",
                "redis+sentinel://h1:26379/triage/zero"):
        with pytest.raises(ConfigError, match="REDIS_URL"):
            parse_sentinel_url(bad)


@pytest.fixture
def sentinels() -> Iterator[SentinelGroup]:
    group_ = SentinelGroup()
    group_.start()
    yield group_
    group_.cleanup()


async def test_failover_during_alert_traffic_every_alert_stored_every_card_once(
    sentinels: SentinelGroup, key_prefix: str
) -> None:
    async with running_bot(sentinels.url, key_prefix, overrides=INTAKE_ONLY,
                           runtime=FAST) as bot:
        url = f"{bot.base_url}/alerts/alertmanager"

        async def sender(n: int) -> int:
            await asyncio.sleep(n * 0.05)
            return await deliver_like_alertmanager(bot.http, url, group(n), 60)

        senders = asyncio.gather(*(sender(n) for n in range(100)))
        await asyncio.sleep(1.5)
        before = sentinels.primary_port()
        took = await asyncio.to_thread(sentinels.failover)
        assert sentinels.primary_port() != before
        started = time.monotonic()
        attempts = await senders
        print(f"failover: {took:.2f} s; retried notifications: "
              f"{sum(a > 1 for a in attempts)}; all accepted {time.monotonic() - started:.1f} s "
              "after it")
        await bot.idle(within=60)
        triage = bot.services.triage
        incidents = await triage.list_open()
        assert len(incidents) == 100
        for incident in incidents:
            assert len(await triage.alert_states.states(incident.id)) == 1
        cards = cards_by_incident(bot.slack)
        assert len(cards) == 100 and set(cards.values()) == {1}, cards
