"""The Slack stand-in's Web API, driven by slack_sdk's AsyncWebClient as the bot will."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from triage_sim.slack.standin import SlackStandIn

CHANNEL = "C0CHECKOUT"
USER = "U0ALICE"


class FakeClock:
    """A monotonic clock tests move by hand (trigger_id and response_url expiry)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def slack(clock: FakeClock) -> AsyncIterator[SlackStandIn]:
    async with SlackStandIn(clock=clock) as standin:
        standin.add_channel(CHANNEL, "checkout")
        standin.add_user(USER, "alice", "Alice Example")
        yield standin


@pytest.fixture
async def client(slack: SlackStandIn) -> AsyncIterator[AsyncWebClient]:
    web = AsyncWebClient(token="xoxb-test-token", base_url=slack.api_url)
    yield web
    if web.session is not None:
        await web.session.close()


def section(text: str) -> dict[str, object]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


async def test_auth_test_answers_bot_identity(slack: SlackStandIn, client: AsyncWebClient) -> None:
    resp = await client.auth_test()
    assert resp["ok"] is True
    assert resp["user_id"] == slack.ws.bot_user_id
    assert resp["bot_id"] == slack.ws.bot_id
    assert slack.calls_to("auth.test")[0].status == 200


async def test_unknown_and_missing_tokens(slack: SlackStandIn) -> None:
    wrong = AsyncWebClient(token="xoxb-wrong", base_url=slack.api_url)
    with pytest.raises(SlackApiError) as bad:
        await wrong.chat_postMessage(channel=CHANNEL, text="x")
    assert bad.value.response["error"] == "invalid_auth"
    anonymous = AsyncWebClient(base_url=slack.api_url)
    with pytest.raises(SlackApiError) as missing:
        await anonymous.auth_test()
    assert missing.value.response["error"] == "not_authed"
    app_level = AsyncWebClient(token="xapp-test-token", base_url=slack.api_url)
    with pytest.raises(SlackApiError) as kind:
        await app_level.chat_postMessage(channel=CHANNEL, text="x")
    assert kind.value.response["error"] == "not_allowed_token_type"
    assert slack.messages(CHANNEL) == []


async def test_token_as_form_argument_and_unknown_method(slack: SlackStandIn) -> None:
    async with aiohttp.ClientSession() as http:
        form = {"token": "xoxb-test-token", "channel": CHANNEL, "text": "form-encoded"}
        async with http.post(slack.api_url + "chat.postMessage", data=form) as resp:
            assert (await resp.json())["ok"] is True
        async with http.post(slack.api_url + "chat.nope", data={"token": "x"}) as resp:
            body = await resp.json()
    assert resp.status == 404
    assert body == {"ok": False, "error": "unknown_method", "req_method": "chat.nope"}
    assert slack.messages(CHANNEL)[0].text == "form-encoded"
    assert slack.calls_to("chat.postMessage")[0].content_type == "application/x-www-form-urlencoded"


async def test_post_update_thread_and_delete(slack: SlackStandIn, client: AsyncWebClient) -> None:
    card = await client.chat_postMessage(channel=CHANNEL, text="card", blocks=[section("*card*")])
    reply = await client.chat_postMessage(channel="#checkout", text="step 1", thread_ts=card["ts"])
    assert reply["channel"] == CHANNEL
    assert float(reply["ts"]) > float(card["ts"])
    updated = await client.chat_update(channel=CHANNEL, ts=card["ts"], text="card v2")
    assert updated["message"]["blocks"][0]["text"]["text"] == "*card*"  # blocks kept
    stored = slack.message(CHANNEL, card["ts"])
    assert stored.text == "card v2"
    assert [e.text for e in stored.edits] == ["card"]
    assert [m.text for m in slack.thread(CHANNEL, card["ts"])] == ["card v2", "step 1"]
    await client.chat_delete(channel=CHANNEL, ts=reply["ts"])
    assert [m.text for m in slack.messages(CHANNEL)] == ["card v2"]
    with pytest.raises(SlackApiError) as gone:
        await client.chat_update(channel=CHANNEL, ts="1.000001", text="x")
    assert gone.value.response["error"] == "message_not_found"


async def test_argument_errors_use_slack_words(slack: SlackStandIn, client: AsyncWebClient) -> None:
    cases = [
        ({"channel": "C0NOPE", "text": "x"}, "channel_not_found"),
        ({"channel": CHANNEL, "text": "x" * 40001}, "msg_too_long"),
        ({"channel": CHANNEL, "text": "x", "blocks": "not json"}, "invalid_blocks_format"),
    ]
    for kwargs, error in cases:
        with pytest.raises(SlackApiError) as exc:
            await client.chat_postMessage(**kwargs)  # type: ignore[arg-type]
        assert exc.value.response["error"] == error
    with pytest.raises(SlackApiError) as no_text:
        await client.api_call("chat.postMessage", json={"channel": CHANNEL})
    assert no_text.value.response["error"] == "no_text"
    with pytest.raises(SlackApiError) as ephemeral:
        await client.chat_postEphemeral(channel=CHANNEL, user="U0NOBODY", text="x")
    assert ephemeral.value.response["error"] == "user_not_found"
    slack.add_channel("C0ARCHIVE", "old", is_archived=True)
    with pytest.raises(SlackApiError) as archived:
        await client.chat_postMessage(channel="C0ARCHIVE", text="x")
    assert archived.value.response["error"] == "is_archived"
    assert slack.messages(CHANNEL) == []


@pytest.mark.parametrize(
    ("blocks", "pointer"),
    [
        ([section("x")] * 51, "no more than 50 items allowed [json-pointer:/blocks]"),
        (
            [{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}],
            "must be less than 151 characters [json-pointer:/blocks/0/text/text]",
        ),
        (
            [
                {
                    "type": "actions",
                    "elements": [
                        {
                            "type": "button",
                            "text": {"type": "plain_text", "text": "Go"},
                            "action_id": "a" * 256,
                        }
                    ],
                }
            ],
            "must be less than 256 characters [json-pointer:/blocks/0/elements/0/action_id]",
        ),
        ([{"type": "carousel"}], "unsupported type: carousel [json-pointer:/blocks/0/type]"),
    ],
)
async def test_invalid_blocks_answer_like_slack(
    slack: SlackStandIn, client: AsyncWebClient, blocks: list[object], pointer: str
) -> None:
    with pytest.raises(SlackApiError) as exc:
        await client.chat_postMessage(channel=CHANNEL, text="fallback", blocks=blocks)
    body = exc.value.response.data
    assert isinstance(body, dict)
    assert body["error"] == "invalid_blocks"
    assert pointer in body["errors"]
    assert f"[ERROR] {pointer}" in body["response_metadata"]["messages"]
    assert slack.messages(CHANNEL) == []


async def test_ratelimited_post_is_retried_after_retry_after_once(
    slack: SlackStandIn, client: AsyncWebClient
) -> None:
    client.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=2))
    slack.fail_next("chat.postMessage", status=429, retry_after=1)
    loop = asyncio.get_running_loop()
    started = loop.time()
    resp = await client.chat_postMessage(channel=CHANNEL, text="after the limit")
    waited = loop.time() - started
    assert resp["ok"] is True
    assert waited >= 1.0  # slack_sdk slept Retry-After (+ jitter)
    statuses = [c.status for c in slack.calls_to("chat.postMessage")]
    assert statuses == [429, 200]
    assert [m.text for m in slack.messages(CHANNEL)] == ["after the limit"]


async def test_429_without_retry_handler_surfaces_retry_after(
    slack: SlackStandIn, client: AsyncWebClient
) -> None:
    slack.fail_next("chat.update", status=429, retry_after=7)
    with pytest.raises(SlackApiError) as exc:
        await client.chat_update(channel=CHANNEL, ts="1.0", text="x")
    assert exc.value.response.status_code == 429
    assert exc.value.response["error"] == "ratelimited"
    assert exc.value.response.headers["Retry-After"] == "7"


async def test_server_errors_then_success(slack: SlackStandIn, client: AsyncWebClient) -> None:
    slack.fail_next("chat.postMessage", status=503, times=2)
    with pytest.raises(SlackApiError) as exc:
        await client.chat_postMessage(channel=CHANNEL, text="x")
    assert exc.value.response.status_code == 503
    client.retry_handlers.append(AsyncServerErrorRetryHandler(max_retry_count=1))
    resp = await client.chat_postMessage(channel=CHANNEL, text="x")
    assert resp["ok"] is True
    assert [c.status for c in slack.calls_to("chat.postMessage")] == [503, 503, 200]
    assert len(slack.messages(CHANNEL)) == 1


async def test_channel_rate_limit_allows_a_burst_then_429(
    slack: SlackStandIn, client: AsyncWebClient, clock: FakeClock
) -> None:
    slack.limit_channel_posts(per_second=1.0, burst=3)
    for i in range(3):
        await client.chat_postMessage(channel=CHANNEL, text=f"burst {i}")
    with pytest.raises(SlackApiError) as exc:
        await client.chat_postMessage(channel=CHANNEL, text="one too many")
    assert exc.value.response.status_code == 429
    assert exc.value.response.headers["Retry-After"] == "1"
    clock.now += 1.0
    await client.chat_postMessage(channel=CHANNEL, text="refilled")
    assert len(slack.messages(CHANNEL)) == 4


async def test_files_upload_v2_shares_in_thread(
    slack: SlackStandIn, client: AsyncWebClient
) -> None:
    card = await client.chat_postMessage(channel=CHANNEL, text="card")
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    resp = await client.files_upload_v2(
        channel=CHANNEL,
        thread_ts=card["ts"],
        content=png,
        filename="p99.png",
        title="P99 latency",
        initial_comment="Step 1: metrics",
    )
    assert resp["file"]["title"] == "P99 latency"
    methods = [c.method for c in slack.calls]
    assert methods[-2:] == ["files.getUploadURLExternal", "files.completeUploadExternal"]
    (stored,) = slack.files()
    assert stored.content == png
    assert stored.completed
    shared = slack.thread(CHANNEL, card["ts"])[-1]
    assert shared.text == "Step 1: metrics"
    assert shared.files[0]["name"] == "p99.png"


async def test_complete_upload_needs_the_bytes(slack: SlackStandIn, client: AsyncWebClient) -> None:
    url = await client.files_getUploadURLExternal(filename="a.txt", length=3)
    with pytest.raises(SlackApiError) as exc:
        await client.files_completeUploadExternal(
            files=[{"id": url["file_id"], "title": "a"}], channel_id=CHANNEL
        )
    assert exc.value.response["error"] == "file_not_found"
    with pytest.raises(SlackApiError) as missing:
        await client.api_call("files.getUploadURLExternal", params={"filename": "a.txt"})
    assert missing.value.response["error"] == "invalid_arguments"


def modal(title: str = "Declare incident", **extra: object) -> dict[str, object]:
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
        **extra,
    }


async def test_views_open_update_and_hash_conflict(
    slack: SlackStandIn, client: AsyncWebClient
) -> None:
    trigger = slack.issue_trigger_id(USER)
    opened = await client.views_open(trigger_id=trigger, view=modal())
    view_id, first_hash = opened["view"]["id"], opened["view"]["hash"]
    updated = await client.views_update(view_id=view_id, hash=first_hash, view=modal("Loading…"))
    assert updated["view"]["hash"] != first_hash
    assert slack.view(view_id).view["title"]["text"] == "Loading…"
    with pytest.raises(SlackApiError) as stale:
        await client.views_update(view_id=view_id, hash=first_hash, view=modal("Late"))
    assert stale.value.response["error"] == "hash_conflict"
    with pytest.raises(SlackApiError) as unknown:
        await client.views_update(view_id="V0NOPE", view=modal())
    assert unknown.value.response["error"] == "not_found"


async def test_trigger_id_once_and_within_three_seconds(
    slack: SlackStandIn, client: AsyncWebClient, clock: FakeClock
) -> None:
    trigger = slack.issue_trigger_id(USER)
    await client.views_open(trigger_id=trigger, view=modal())
    with pytest.raises(SlackApiError) as again:
        await client.views_open(trigger_id=trigger, view=modal())
    assert again.value.response["error"] == "exchanged_trigger_id"
    late = slack.issue_trigger_id(USER)
    clock.now += 3.5
    with pytest.raises(SlackApiError) as expired:
        await client.views_open(trigger_id=late, view=modal())
    assert expired.value.response["error"] == "expired_trigger_id"
    with pytest.raises(SlackApiError) as invalid:
        await client.views_open(trigger_id="12345.98765.abcdef", view=modal())
    assert invalid.value.response["error"] == "invalid_trigger_id"


async def test_invalid_view_is_invalid_arguments_with_pointers(
    slack: SlackStandIn, client: AsyncWebClient
) -> None:
    trigger = slack.issue_trigger_id(USER)
    too_many = modal(blocks=[section("x")] * 101, private_metadata="m" * 3001)
    with pytest.raises(SlackApiError) as exc:
        await client.views_open(trigger_id=trigger, view=too_many)
    messages = exc.value.response["response_metadata"]["messages"]
    assert exc.value.response["error"] == "invalid_arguments"
    assert "[ERROR] no more than 100 items allowed [json-pointer:/view/blocks]" in messages
    assert "[ERROR] must be less than 3001 characters [json-pointer:/view/private_metadata]" in (
        messages
    )
    with pytest.raises(SlackApiError) as title:
        await client.views_open(trigger_id=trigger, view=modal("t" * 25))
    assert "must be less than 25 characters [json-pointer:/view/title/text]" in str(
        title.value.response["response_metadata"]
    )
    await client.views_open(trigger_id=trigger, view=modal())  # not consumed by the failures


async def test_views_push_stacks_at_most_three(slack: SlackStandIn, client: AsyncWebClient) -> None:
    await client.views_open(trigger_id=slack.issue_trigger_id(USER), view=modal())
    for _ in range(2):
        await client.views_push(trigger_id=slack.issue_trigger_id(USER), view=modal())
    with pytest.raises(SlackApiError) as exc:
        await client.views_push(trigger_id=slack.issue_trigger_id(USER), view=modal())
    assert exc.value.response["error"] == "push_limit_reached"
    assert len(slack.views(open_only=True)) == 3


async def test_conversations_and_users_info(slack: SlackStandIn, client: AsyncWebClient) -> None:
    channel = await client.conversations_info(channel=CHANNEL)
    assert channel["channel"]["name"] == "checkout"
    user = await client.users_info(user=USER)
    assert user["user"]["real_name"] == "Alice Example"
    with pytest.raises(SlackApiError) as no_user:
        await client.users_info(user="U0NOBODY")
    assert no_user.value.response["error"] == "user_not_found"
    with pytest.raises(SlackApiError) as no_channel:
        await client.conversations_info(channel="C0NOPE")
    assert no_channel.value.response["error"] == "channel_not_found"


async def post_json(url: str, payload: object) -> tuple[int, str]:
    async with aiohttp.ClientSession() as http, http.post(url, json=payload) as resp:
        return resp.status, await resp.text()


async def test_response_url_modes_and_use_limit(slack: SlackStandIn, clock: FakeClock) -> None:
    url = slack.issue_response_url(CHANNEL, USER)
    assert await post_json(url, {"text": "only you"}) == (200, "ok")
    assert await post_json(url, {"response_type": "in_channel", "text": "all"}) == (200, "ok")
    assert (await post_json(url, {"text": "x", "blocks": [{"type": "nope"}]}))[0] == 400
    for _ in range(2):
        assert (await post_json(url, {"text": "more"}))[0] == 200
    assert await post_json(url, {"text": "sixth"}) == (404, "used_url")
    assert [e.text for e in slack.ephemerals(CHANNEL, USER)] == ["only you", "more", "more"]
    assert [m.text for m in slack.messages(CHANNEL)] == ["all"]
    assert [p.status for p in slack.response_posts(url)] == [200, 200, 400, 200, 200, 404]
    late = slack.issue_response_url(CHANNEL, USER)
    clock.now += 30 * 60 + 1
    assert await post_json(late, {"text": "too late"}) == (404, "expired_url")


async def test_response_url_replaces_and_deletes_the_original(
    slack: SlackStandIn, client: AsyncWebClient
) -> None:
    card = await client.chat_postMessage(channel=CHANNEL, text="card")
    url = slack.issue_response_url(CHANNEL, USER, message_ts=card["ts"])
    assert (await post_json(url, {"replace_original": True, "text": "card v2"}))[0] == 200
    assert slack.message(CHANNEL, card["ts"]).text == "card v2"
    assert (await post_json(url, {"delete_original": True}))[0] == 200
    assert slack.messages(CHANNEL) == []


async def test_wait_for_sees_later_changes_and_dumps_on_timeout(
    slack: SlackStandIn, client: AsyncWebClient
) -> None:
    async def post_later() -> None:
        await asyncio.sleep(0)
        await client.chat_postMessage(channel=CHANNEL, text="eventually")

    task = asyncio.create_task(post_later())
    message = await slack.wait_for_message(CHANNEL, lambda m: m.text == "eventually", timeout=2)
    await task
    assert message.user == slack.ws.bot_user_id
    with pytest.raises(AssertionError, match=r"chat.postMessage -> 200 ok"):
        await slack.wait_for_call("views.open", timeout=0.05)


async def test_json_body_token_is_ignored_like_slack(slack: SlackStandIn) -> None:
    payload = {"token": "xoxb-test-token", "channel": CHANNEL, "text": "x"}
    async with aiohttp.ClientSession() as http:
        async with http.post(slack.api_url + "chat.postMessage", json=payload) as resp:
            body = await resp.json()
        async with http.post(
            slack.api_url + "chat.postMessage",
            data=json.dumps(payload)[:-3],
            headers={"Content-Type": "application/json", "Authorization": "Bearer xoxb-test-token"},
        ) as resp:
            broken = await resp.json()
    assert body["error"] == "not_authed"
    assert broken["error"] == "invalid_json"
