"""Slack's client side of the stand-in: signed requests to a bot, as Slack sends them.

A tiny Bolt app mounted in our own aiohttp app (as the bot will be) receives what
``SlackSender`` sends; a bare capture server checks the wire format against bolt-python's
recorded payloads (``tests/fixtures/real/slack``).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond, AsyncSay
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from triage_sim.slack.sender import SlackSender, slack_signature
from triage_sim.slack.standin import SlackStandIn

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
CHANNEL = "C0CHECKOUT"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "real" / "slack"


@dataclass
class Captured:
    """Requests a bare server received, for wire-format checks."""

    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)


async def serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    return runner, f"http://{host}:{port}/slack/events"


@pytest.fixture
async def slack() -> AsyncIterator[SlackStandIn]:
    async with SlackStandIn() as standin:
        standin.add_channel(CHANNEL, "checkout")
        standin.add_user("U0ALICE", "alice", "Alice Example")
        yield standin


@pytest.fixture
async def capture(slack: SlackStandIn) -> AsyncIterator[tuple[Captured, SlackSender]]:
    captured = Captured()

    async def record(request: web.Request) -> web.Response:
        captured.requests.append((dict(request.headers), await request.read()))
        return web.Response(text="")

    app = web.Application()
    app.router.add_post("/slack/events", record)
    runner, url = await serve(app)
    async with SlackSender(slack, url, SECRET) as sender:
        yield captured, sender
    await runner.cleanup()


def modal(title: str = "Declare incident") -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": "declare",
        "title": {"type": "plain_text", "text": title},
        "submit": {"type": "plain_text", "text": "Declare"},
        "blocks": [
            {
                "type": "input",
                "block_id": "service",
                "label": {"type": "plain_text", "text": "Service"},
                "element": {"type": "plain_text_input", "action_id": "name"},
            }
        ],
    }


CARD_BLOCKS = [
    {"type": "section", "text": {"type": "mrkdwn", "text": "*checkout* P99 high"}},
    {
        "type": "actions",
        "block_id": "steps",
        "elements": [
            {
                "type": "button",
                "action_id": "declare",
                "text": {"type": "plain_text", "text": "Declare"},
                "value": "checkout",
            }
        ],
    },
]


def build_bolt(slack: SlackStandIn, **kwargs: Any) -> AsyncApp:
    """A tiny Bolt app talking to the stand-in, as the bot will."""
    client = AsyncWebClient(token="xoxb-test-token", base_url=slack.api_url)
    bolt = AsyncApp(client=client, **kwargs)

    @bolt.command("/triage")
    async def triage(ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond) -> None:
        if command["text"] == "help":
            await ack("Usage: /triage start <service>")
            return
        await ack()
        await respond({"response_type": "in_channel", "text": f"starting {command['text']}"})

    @bolt.action("declare")
    async def declare(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        await client.views_open(trigger_id=body["trigger_id"], view=modal())

    @bolt.action("dismiss")
    async def dismiss(ack: AsyncAck, respond: AsyncRespond) -> None:
        await ack()
        await respond(replace_original=True, text="dismissed")

    @bolt.view("declare")
    async def submitted(ack: AsyncAck, view: dict[str, Any], say: AsyncSay) -> None:
        name = view["state"]["values"]["service"]["name"]["value"]
        if name != "checkout":
            await ack(response_action="errors", errors={"service": "unknown service"})
            return
        await ack()

    @bolt.event("app_mention")
    async def mentioned(event: dict[str, Any], say: AsyncSay) -> None:
        await say(text=f"heard {event['text']}", thread_ts=event["ts"])

    return bolt


@pytest.fixture
async def bolt_sender(slack: SlackStandIn) -> AsyncIterator[SlackSender]:
    bolt = build_bolt(slack, signing_secret=SECRET)

    async def events(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await bolt.async_dispatch(await to_bolt_request(request)))

    app = web.Application()
    app.router.add_post("/slack/events", events)
    runner, url = await serve(app)
    async with SlackSender(slack, url, SECRET) as sender:
        yield sender
    await runner.cleanup()


def fixture_keys(name: str) -> set[str]:
    return set(json.loads((FIXTURES / name).read_text()))


async def test_signature_verifies_with_slack_sdk(capture: tuple[Captured, SlackSender]) -> None:
    captured, sender = capture
    verifier = SignatureVerifier(SECRET)
    await sender.slash_command("/triage", "status", channel_id=CHANNEL)
    await sender.slash_command("/triage", "status", channel_id=CHANNEL, bad_signature=True)
    await sender.slash_command("/triage", "status", channel_id=CHANNEL, timestamp_offset=-600)
    verdicts = [
        verifier.is_valid(body, headers["X-Slack-Request-Timestamp"], headers["X-Slack-Signature"])
        for headers, body in captured.requests
    ]
    assert verdicts == [True, False, False]
    headers, body = captured.requests[0]
    timestamp = headers["X-Slack-Request-Timestamp"]
    expected = verifier.generate_signature(timestamp=timestamp, body=body)
    assert slack_signature(SECRET, timestamp, body) == expected


async def test_slash_command_has_the_real_field_set(
    slack: SlackStandIn, capture: tuple[Captured, SlackSender]
) -> None:
    captured, sender = capture
    delivery = await sender.slash_command("/triage", "start checkout", channel_id=CHANNEL)
    headers, body = captured.requests[0]
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    fields = {k: v[0] for k, v in parse_qs(body.decode(), keep_blank_values=True).items()}
    real = parse_qs((FIXTURES / "bolt-python_slash_command_body.urlencoded.txt").read_text())
    assert set(real) - {"enterprise_id", "enterprise_name"} <= set(fields)
    assert fields["command"] == "/triage"
    assert fields["text"] == "start checkout"
    assert fields["channel_name"] == "checkout"
    assert fields["api_app_id"] == slack.ws.app_id
    assert fields["trigger_id"] == delivery.trigger_id
    assert fields["response_url"] == delivery.response_url
    assert delivery.response_url is not None
    assert delivery.response_url.startswith(slack.base_url + "/response/")


async def test_interaction_payloads_have_the_real_shapes(
    slack: SlackStandIn, capture: tuple[Captured, SlackSender]
) -> None:
    captured, sender = capture
    client = AsyncWebClient(token="xoxb-test-token", base_url=slack.api_url)
    card = await client.chat_postMessage(channel=CHANNEL, text="card", blocks=CARD_BLOCKS)
    await sender.click(CHANNEL, card["ts"], "declare")
    await client.views_open(trigger_id=slack.issue_trigger_id("U0ALICE"), view=modal())
    (view,) = slack.views()
    await sender.submit_view(view.id, {"service": {"name": "checkout"}})
    await sender.event(
        {"type": "app_mention", "text": "<@U0TRIAGEBOT> hi", "user": "U0ALICE", "channel": CHANNEL},
        retry_num=1,
        retry_reason="http_timeout",
    )
    (h1, click), (_, submit), (h3, event) = captured.requests
    click_payload = json.loads(parse_qs(click.decode())["payload"][0])
    assert fixture_keys("bolt-python_block_actions_payload.json") <= set(click_payload)
    assert click_payload["actions"][0] | {"action_ts": "x"} == {
        "action_id": "declare",
        "block_id": "steps",
        "type": "button",
        "text": {"type": "plain_text", "text": "Declare"},
        "value": "checkout",
        "action_ts": "x",
    }
    assert click_payload["container"]["message_ts"] == card["ts"]
    submit_payload = json.loads(parse_qs(submit.decode())["payload"][0])
    real_submit = json.loads((FIXTURES / "bolt-python_view_submission_payload.json").read_text())
    assert set(real_submit) <= set(submit_payload)
    assert set(real_submit["view"]) <= set(submit_payload["view"])
    assert submit_payload["view"]["state"]["values"] == {
        "service": {"name": {"type": "plain_text_input", "value": "checkout"}}
    }
    envelope = json.loads(event)
    assert fixture_keys("bolt-python_events_api_app_mention_envelope.json") - {
        "enterprise_id",
        "authed_users",
    } <= set(envelope)
    assert h3["Content-Type"] == "application/json"
    assert (h3["X-Slack-Retry-Num"], h3["X-Slack-Retry-Reason"]) == ("1", "http_timeout")
    assert "X-Slack-Retry-Num" not in h1


async def test_bolt_acks_signed_slash_command(
    slack: SlackStandIn, bolt_sender: SlackSender
) -> None:
    delivery = await bolt_sender.slash_command("/triage", "help", channel_id=CHANNEL)
    assert delivery.acked_in_time
    assert delivery.latency < 1.0
    assert delivery.text == "Usage: /triage start <service>"
    (shown,) = slack.ephemerals(CHANNEL, "U0ALICE")
    assert shown.text == "Usage: /triage start <service>"
    started = await bolt_sender.slash_command("/triage", "start checkout", channel_id=CHANNEL)
    assert started.status == 200
    assert started.body == b""
    message = await slack.wait_for_message(CHANNEL, lambda m: m.via == "response_url")
    assert message.text == "starting start checkout"


async def test_bad_signature_and_stale_timestamp_get_401(
    slack: SlackStandIn, bolt_sender: SlackSender
) -> None:
    bad = await bolt_sender.slash_command("/triage", "help", channel_id=CHANNEL, bad_signature=True)
    stale = await bolt_sender.slash_command(
        "/triage", "help", channel_id=CHANNEL, timestamp_offset=-600
    )
    unsigned = await bolt_sender.send_raw(b"command=%2Ftriage", "text/plain", unsigned=True)
    assert [bad.status, stale.status, unsigned.status] == [401, 401, 401]
    assert slack.ephemerals() == []


async def test_click_opens_modal_and_submission_closes_it(
    slack: SlackStandIn, bolt_sender: SlackSender
) -> None:
    client = AsyncWebClient(token="xoxb-test-token", base_url=slack.api_url)
    card = await client.chat_postMessage(channel=CHANNEL, text="card", blocks=CARD_BLOCKS)
    clicked = await bolt_sender.click(CHANNEL, card["ts"], "declare")
    assert clicked.status == 200
    opened = await slack.wait_for_call("views.open")
    assert opened.ok, opened.response
    (view,) = slack.views(open_only=True)
    rejected = await bolt_sender.submit_view(view.id, {"service": {"name": "nope"}})
    assert rejected.json() == {
        "response_action": "errors",
        "errors": {"service": "unknown service"},
    }
    assert not slack.view(view.id).closed
    accepted = await bolt_sender.submit_view(view.id, {"service": {"name": "checkout"}})
    assert accepted.status == 200
    assert slack.view(view.id).closed
    with pytest.raises(LookupError):
        await bolt_sender.click(CHANNEL, card["ts"], "not-on-the-card")


async def test_event_reaches_bolt_and_reply_lands_in_thread(
    slack: SlackStandIn, bolt_sender: SlackSender
) -> None:
    human = slack.add_user_message(CHANNEL, "<@U0TRIAGEBOT> status?", "U0ALICE")
    event = {
        "type": "app_mention",
        "text": human.text,
        "user": "U0ALICE",
        "ts": human.ts,
        "channel": CHANNEL,
        "event_ts": human.ts,
    }
    delivery = await bolt_sender.event(event, event_id="Ev0001")
    assert delivery.status == 200
    reply = await slack.wait_for_message(CHANNEL, lambda m: m.thread_ts == human.ts)
    assert reply.text == "heard <@U0TRIAGEBOT> status?"
    assert [m.ts for m in slack.thread(CHANNEL, human.ts)] == [human.ts, reply.ts]


async def test_click_on_ephemeral_replaced_through_response_url(
    slack: SlackStandIn, bolt_sender: SlackSender
) -> None:
    client = AsyncWebClient(token="xoxb-test-token", base_url=slack.api_url)
    blocks = [
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "action_id": "dismiss",
                    "text": {"type": "plain_text", "text": "OK"},
                }
            ],
        }
    ]
    sent = await client.chat_postEphemeral(
        channel=CHANNEL, user="U0ALICE", text="hint", blocks=blocks
    )
    clicked = await bolt_sender.click_ephemeral(CHANNEL, sent["message_ts"], "dismiss")
    assert clicked.payload["container"]["is_ephemeral"] is True
    (post,) = await slack.wait_for(lambda: slack.response_posts(clicked.response_url))
    assert post.status == 200
    (shown,) = slack.ephemerals(CHANNEL, "U0ALICE")
    assert (shown.text, shown.replaced) == ("dismissed", True)
