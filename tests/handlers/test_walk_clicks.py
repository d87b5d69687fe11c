"""Step buttons: two people clicking the same step at once run it once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from aiohttp import web

from bot.models import EventKind
from tests.handlers.test_commands import start
from tests.support.bot_harness import running_bot


async def slow_prometheus(delay: float) -> AsyncIterator[str]:
    """A Prometheus that takes ``delay`` seconds to say it knows nothing."""

    async def answer(request: web.Request) -> web.Response:
        await asyncio.sleep(delay)
        return web.json_response({"status": "success", "data": []})

    app = web.Application()
    app.router.add_route("*", "/api/v1/{tail:.*}", answer)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


async def test_concurrent_clicks_on_one_step_run_it_once(redis_url: str, key_prefix: str
                                                         ) -> None:
    async for prometheus in slow_prometheus(0.5):
        overrides = {"backends": {"prometheus": prometheus}}
        async with running_bot(redis_url, key_prefix, overrides=overrides) as bot:
            await start(bot, "start checkout p99 above 2s")
            card = bot.slack.messages("C0CHECKOUT", include_replies=False)[0]
            first, second = await asyncio.gather(
                bot.sender.click("C0CHECKOUT", card.ts, "walk.step.metrics"),
                bot.sender.click("C0CHECKOUT", card.ts, "walk.step.metrics", user_id="U0BOB"))
            assert (first.status, second.status) == (200, 200)
            await bot.idle(within=30)
            events = await bot.services.triage.incidents.store.timeline("INC-1")
            steps = [e for e in events if e.kind in (EventKind.STEP_DONE, EventKind.STEP_FAILED)]
            assert len(steps) == 1
            reports = [m for m in bot.slack.thread("C0CHECKOUT", card.ts)[1:]
                       if m.text.startswith("INC-1 · checkout · Metrics")]
            assert len(reports) == 1
            told = [p.payload.get("text", "") for p in bot.slack.response_posts()]
            assert any("already running for INC-1" in text for text in told), told
