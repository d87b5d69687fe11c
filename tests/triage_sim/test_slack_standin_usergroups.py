"""The stand-in's usergroups.users.list, driven by slack_sdk as the bot drives it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from triage_sim.slack.standin import SlackStandIn


@pytest.fixture
async def slack() -> AsyncIterator[SlackStandIn]:
    async with SlackStandIn() as standin:
        standin.add_usergroup("S0ONCALL", "oncall", ["U0ALICE", "W0BOB"])
        standin.add_usergroup("S0OLD", "old", ["U0CAROL"], disabled=True)
        yield standin


@pytest.fixture
def client(slack: SlackStandIn) -> AsyncWebClient:
    return AsyncWebClient(token="xoxb-test-token", base_url=slack.api_url)


async def error_of(client: AsyncWebClient, **args: str) -> dict[str, object]:
    with pytest.raises(SlackApiError) as raised:
        await client.usergroups_users_list(**args)  # type: ignore[arg-type]
    return dict(raised.value.response.data)  # type: ignore[arg-type]


async def test_members_of_a_group(client: AsyncWebClient) -> None:
    answer = await client.usergroups_users_list(usergroup="S0ONCALL")
    assert answer["ok"] and answer["users"] == ["U0ALICE", "W0BOB"]


async def test_unknown_and_disabled_groups(client: AsyncWebClient) -> None:
    assert (await error_of(client, usergroup="S0NOPE"))["error"] == "no_such_subteam"
    assert (await error_of(client, usergroup="S0OLD"))["error"] == "no_such_subteam"
    kept = await client.usergroups_users_list(usergroup="S0OLD", include_disabled=True)
    assert kept["users"] == ["U0CAROL"]


async def test_documented_errors(slack: SlackStandIn, client: AsyncWebClient) -> None:
    assert (await error_of(client, usergroup=""))["error"] == "invalid_arguments"
    wrong = AsyncWebClient(token="xoxb-wrong", base_url=slack.api_url)
    assert (await error_of(wrong, usergroup="S0ONCALL"))["error"] == "invalid_auth"
    slack.ws.usergroups_enabled = False
    assert (await error_of(client, usergroup="S0ONCALL"))["error"] == "plan_upgrade_required"
    slack.ws.usergroups_enabled = True
    slack.ws.granted_scopes.discard("usergroups:read")
    missing = await error_of(client, usergroup="S0ONCALL")
    assert missing["error"] == "missing_scope" and missing["needed"] == "usergroups:read"
    assert "chat:write" in str(missing["provided"])
