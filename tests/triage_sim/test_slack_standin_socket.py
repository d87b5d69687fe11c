"""Socket Mode against the stand-in, with Bolt's own AsyncSocketModeHandler (aiohttp)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncSay
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from triage_sim.slack.sender import SlackSender
from triage_sim.slack.standin import SlackStandIn

CHANNEL = "C0CHECKOUT"


@pytest.fixture
async def slack() -> AsyncIterator[SlackStandIn]:
    async with SlackStandIn() as standin:
        standin.add_channel(CHANNEL, "checkout")
        standin.add_user("U0ALICE", "alice", "Alice Example")
        yield standin


@pytest.fixture
async def socket_app(slack: SlackStandIn) -> AsyncIterator[AsyncSocketModeHandler]:
    bolt = AsyncApp(client=AsyncWebClient(token="xoxb-test-token", base_url=slack.api_url))

    @bolt.command("/triage")
    async def triage(ack: AsyncAck, command: dict[str, Any]) -> None:
        await ack(f"got {command['text']}")

    @bolt.event("app_mention")
    async def mentioned(event: dict[str, Any], say: AsyncSay) -> None:
        await say(text="on it", thread_ts=event["ts"])

    @bolt.view("declare")
    async def submitted(ack: AsyncAck) -> None:
        await ack(response_action="errors", errors={"service": "unknown service"})

    handler = AsyncSocketModeHandler(bolt, app_token="xapp-test-token")
    await handler.connect_async()
    try:
        await slack.wait_for_socket(timeout=5)
        yield handler
    finally:
        await handler.close_async()


async def test_bolt_socket_mode_connects_and_acks_a_slash_command(
    slack: SlackStandIn, socket_app: AsyncSocketModeHandler
) -> None:
    assert slack.calls_to("apps.connections.open")[0].ok
    sender = SlackSender(slack)
    delivery = await sender.slash_command("/triage", "status", channel_id=CHANNEL)
    assert delivery.json() == {"text": "got status"}
    assert delivery.envelope["envelope_id"] == slack.socket.acks[-1].envelope_id
    assert delivery.latency < 1.0
    (shown,) = slack.ephemerals(CHANNEL, "U0ALICE")
    assert shown.text == "got status"


async def test_socket_events_and_view_submissions(
    slack: SlackStandIn, socket_app: AsyncSocketModeHandler
) -> None:
    sender = SlackSender(slack)
    human = slack.add_user_message(CHANNEL, "<@U0TRIAGEBOT> hi", "U0ALICE")
    event = {
        "type": "app_mention",
        "text": human.text,
        "user": "U0ALICE",
        "ts": human.ts,
        "channel": CHANNEL,
    }
    ack = await sender.event(event, retry_num=1, retry_reason="timeout")
    assert ack.body == b""
    reply = await slack.wait_for_message(CHANNEL, lambda m: m.thread_ts == human.ts)
    assert reply.text == "on it"
    client = AsyncWebClient(token="xoxb-test-token", base_url=slack.api_url)
    view = {
        "type": "modal",
        "callback_id": "declare",
        "title": {"type": "plain_text", "text": "Declare"},
        "submit": {"type": "plain_text", "text": "Go"},
        "blocks": [
            {
                "type": "input",
                "block_id": "service",
                "label": {"type": "plain_text", "text": "Service"},
                "element": {"type": "plain_text_input", "action_id": "name"},
            }
        ],
    }
    opened = await client.views_open(trigger_id=slack.issue_trigger_id("U0ALICE"), view=view)
    submitted = await sender.submit_view(opened["view"]["id"], {"service": {"name": "x"}})
    assert submitted.json()["response_action"] == "errors"
    assert not slack.view(opened["view"]["id"]).closed


async def test_unhandled_envelope_is_not_acked_and_tickets_are_checked(
    slack: SlackStandIn, socket_app: AsyncSocketModeHandler
) -> None:
    payload = {
        "type": "shortcut",
        "callback_id": "nothing-listens",
        "trigger_id": "1.2.3",
        "user": {"id": "U0ALICE"},
        "team": {"id": slack.ws.team_id},
    }
    with pytest.raises(TimeoutError):  # Bolt does not ack what no listener handles
        await slack.socket_send("interactive", payload, timeout=0.5)
    assert slack.socket.hellos_sent == 1
    async with aiohttp.ClientSession() as http:
        with pytest.raises(aiohttp.WSServerHandshakeError):
            await http.ws_connect(slack.base_url.replace("http", "ws") + "/link/?ticket=forged")
    bot_client = AsyncWebClient(token="xoxb-test-token", base_url=slack.api_url)
    with pytest.raises(SlackApiError) as exc:
        await bot_client.apps_connections_open(app_token="xoxb-test-token")
    assert exc.value.response["error"] == "not_allowed_token_type"


async def test_disconnect_makes_the_client_reconnect(
    slack: SlackStandIn, socket_app: AsyncSocketModeHandler
) -> None:
    await slack.socket.disconnect()
    await slack.wait_for(lambda: len(slack.calls_to("apps.connections.open")) >= 2, timeout=5)
    await slack.wait_for(lambda: slack.socket.hellos_sent >= 2, timeout=5)
    await slack.wait_for(lambda: slack.socket.connected == 1, timeout=5)
    ack = await SlackSender(slack).slash_command("/triage", "again", channel_id=CHANNEL)
    assert json.loads(ack.body) == {"text": "got again"}


async def test_socket_send_without_a_connection_fails_fast(slack: SlackStandIn) -> None:
    with pytest.raises(ConnectionError):
        await slack.socket_send("events_api", {"type": "event_callback"}, timeout=1)
