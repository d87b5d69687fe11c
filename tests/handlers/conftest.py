from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.support.bot_harness import BotHarness, running_bot


@pytest.fixture
async def bot(redis_url: str, key_prefix: str) -> AsyncIterator[BotHarness]:
    async with running_bot(redis_url, key_prefix) as harness:
        yield harness
