"""The stand-in's conversations.open / create / invite and files.info, with Slack's errors."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from tests.support.bot_harness import populate
from triage_sim.slack.standin import SlackStandIn


@pytest.fixture
async def client() -> AsyncIterator[tuple[SlackStandIn, AsyncWebClient]]:
    standin = await SlackStandIn().start()
    populate(standin)
    try:
        yield standin, AsyncWebClient(token="xoxb-test-token", base_url=standin.api_url)
    finally:
        await standin.stop()


async def error_of(call: object) -> str:
    with pytest.raises(SlackApiError) as raised:
        await call  # type: ignore[misc]
    return str(raised.value.response["error"])


async def test_open_a_dm_twice_gives_the_same_channel(
        client: tuple[SlackStandIn, AsyncWebClient]) -> None:
    standin, web = client
    first = await web.conversations_open(users="U0BOB")
    again = await web.conversations_open(users="U0BOB")
    assert first["channel"]["id"] == again["channel"]["id"] and again["already_open"]
    await web.chat_postMessage(channel=first["channel"]["id"], text="you were assigned")
    assert standin.messages(first["channel"]["id"])[0].text == "you were assigned"
    assert await error_of(web.conversations_open(users="U0NOBODY")) == "user_not_found"
    assert await error_of(web.api_call("conversations.open", params={})) == (
        "users_list_not_supplied")


async def test_create_and_invite(client: tuple[SlackStandIn, AsyncWebClient]) -> None:
    standin, web = client
    created = await web.conversations_create(name="inc-7-checkout")
    channel = created["channel"]["id"]
    assert await error_of(web.conversations_create(name="inc-7-checkout")) == "name_taken"
    assert await error_of(web.conversations_create(name="Inc 7!")) == "invalid_name_specials"
    assert await error_of(web.conversations_create(name="x" * 81)) == "invalid_name_maxlength"
    await web.conversations_invite(channel=channel, users="U0ALICE,U0BOB")
    assert standin.ws.members[channel] >= {"U0ALICE", "U0BOB"}
    with pytest.raises(SlackApiError) as again:
        await web.conversations_invite(channel=channel, users="U0BOB")
    assert again.value.response["error"] == "already_in_channel"
    assert again.value.response["errors"][0]["user"] == "U0BOB"
    standin.add_channel("C0OUTSIDE", "outside", is_member=False)
    assert await error_of(web.conversations_invite(channel="C0OUTSIDE",
                                                   users="U0BOB")) == "not_in_channel"


async def test_files_info_errors(client: tuple[SlackStandIn, AsyncWebClient]) -> None:
    _, web = client
    assert await error_of(web.files_info(file="F0NOPE")) == "file_not_found"
