"""Fetching a shared file: files.info, then url_private with the bot token, size-capped."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import SourceUnavailable
from bot.slack.files import SlackFiles
from tests.support.bot_harness import populate
from triage_sim.slack.standin import SlackStandIn


@pytest.fixture
async def slack() -> AsyncIterator[SlackStandIn]:
    standin = await SlackStandIn().start()
    populate(standin)
    try:
        yield standin
    finally:
        await standin.stop()


async def files_for(slack: SlackStandIn, token: str, max_bytes: int = 1024
                    ) -> AsyncIterator[SlackFiles]:
    async with aiohttp.ClientSession() as session:
        client = AsyncWebClient(token=token, base_url=slack.api_url, session=session)
        yield SlackFiles(client, max_bytes=max_bytes, timeout_s=5)


async def test_info_names_the_thread_and_download_uses_the_bot_token(
        slack: SlackStandIn) -> None:
    root = slack.add_user_message("C0CHECKOUT", "card", "U0BOB")
    file = slack.share_file("C0CHECKOUT", "U0ALICE", "cpu.pb.gz", b"\x1f\x8bprofile",
                            thread_ts=root.ts)
    async for files in files_for(slack, "xoxb-test-token"):
        shared = await files.info(file.id, "C0CHECKOUT")
        assert (shared.name, shared.size, shared.user, shared.thread_ts) == (
            "cpu.pb.gz", 9, "U0ALICE", root.ts)
        assert await files.download(shared) == b"\x1f\x8bprofile"
    assert slack.private_downloads[-1][1] == "xoxb-test-token"


async def test_a_sign_in_page_and_an_oversized_file_are_refused_by_name(
        slack: SlackStandIn) -> None:
    file = slack.share_file("C0CHECKOUT", "U0ALICE", "big.pb.gz", b"x" * 2048)
    async for files in files_for(slack, "xoxb-test-token"):
        shared = await files.info(file.id, "C0CHECKOUT")
        assert shared.thread_ts is None
        with pytest.raises(SourceUnavailable, match=r"big\.pb\.gz is larger than the 1,024 bytes"):
            await files.download(shared)
        with pytest.raises(SlackApiError, match="file_not_found"):
            await files.info("F0NOPE", "C0CHECKOUT")
    async for revoked in files_for(slack, "xoxb-revoked", max_bytes=4096):
        # Slack serves its sign-in page (HTTP 200, HTML) to a request without a valid token.
        with pytest.raises(SourceUnavailable, match="sign-in page"):
            await revoked.download(shared)
