"""The silence client against a real Alertmanager 0.25 (Debian's prometheus-alertmanager)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest

from bot.errors import QueryRejected, SourceUnavailable
from bot.models.silence import Matcher
from bot.sources.alertmanager import AlertmanagerClient, alerts_page_url
from tests.support.alertmanager_fixture import needs_alertmanager, running_alertmanager
from tests.support.redis_server import free_port

pytestmark = needs_alertmanager


@pytest.fixture
async def client() -> AsyncIterator[AlertmanagerClient]:
    async for url in running_alertmanager():
        async with aiohttp.ClientSession() as session:
            yield AlertmanagerClient.create(url, session, timeout=5, max_concurrency=2)


async def test_create_read_and_expire_a_silence(client: AlertmanagerClient) -> None:
    now = datetime.now(UTC)
    matchers = [Matcher(name="service", value="checkout"),
                Matcher(name="alertname", value="High.*", is_regex=True)]
    silence_id = await client.create_silence(matchers, now, now + timedelta(hours=1),
                                             "alice", "deploy rollback in progress")
    state = await client.silence(silence_id)
    assert (state.state, state.created_by, state.comment) == (
        "active", "alice", "deploy rollback in progress")
    await client.expire_silence(silence_id)
    assert (await client.silence(silence_id)).state == "expired"


async def test_alertmanager_refusals_are_shown_in_its_own_words(
        client: AlertmanagerClient) -> None:
    now = datetime.now(UTC)
    with pytest.raises(QueryRejected) as refused:
        # Ends before it starts: Alertmanager validates and says why.
        await client.create_silence([Matcher(name="service", value="checkout")], now,
                                    now - timedelta(hours=1), "alice", "backwards")
    assert "end time" in str(refused.value).lower() or "before" in str(refused.value).lower()
    with pytest.raises(QueryRejected) as unknown:
        await client.expire_silence("0b9d6bd5-0000-0000-0000-000000000000")
    assert str(unknown.value) == "alertmanager: silence not found"


async def test_an_unreachable_alertmanager_is_named() -> None:
    async with aiohttp.ClientSession() as session:
        client = AlertmanagerClient.create(f"http://127.0.0.1:{free_port()}", session,
                                           timeout=2, max_concurrency=1)
        with pytest.raises(SourceUnavailable, match="alertmanager: cannot connect"):
            await client.expire_silence("0b9d6bd5-0000-0000-0000-000000000000")


def test_alerts_page_url_filters_on_the_group_labels() -> None:
    url = alerts_page_url("http://am:9093/", {"service": "checkout", "alertname": "P99"})
    assert url == ("http://am:9093/#/alerts?filter="
                   "%7Balertname%3D%22P99%22%2Cservice%3D%22checkout%22%7D")
