"""Nothing from outside reaches Slack as live mrkdwn.

An incident whose alert labels and annotations, declaration summary, notes, resolution note,
log lines and profile frame names all carry ``<!channel>``, ``<!here>``, ``<@U…>``,
``<!subteam^…>`` and a disguised link is walked through the real server; then every Slack
call the bot made (messages, updates, files, ephemeral answers) is searched for any of them
still live.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

from aiohttp import web

from bot.sources.pprof.encode import encode
from bot.sources.pprof.model import Profile, Sample, ValueType
from tests.handlers.test_commands import start
from tests.support.alert_payloads import alert, notification
from tests.support.bot_harness import running_bot

LIVE = ("<!channel>", "<!here>", "<@U0EVIL>", "<!subteam^S0EVIL>", "<http://evil.example")
HOSTILE = "<!channel> <!here> <@U0EVIL> <!subteam^S0EVIL|@oncall> <http://evil.example|docs>"


def hostile_profile() -> bytes:
    frames = (f"checkout::render::{HOSTILE}", "checkout::main", "std::rt::lang_start")
    samples = tuple(Sample(frames, (10, 100_000_000)) for _ in range(5))
    profile = Profile(
        sample_types=(ValueType("samples", "count"), ValueType("cpu", "nanoseconds")),
        samples=samples, period=10_000_000, period_type=ValueType("cpu", "nanoseconds"),
        duration_nanos=1_000_000_000, time_nanos=1_700_000_000_000_000_000,
        main_binary="/usr/local/bin/checkout")
    return encode(profile)


async def hostile_backends() -> AsyncIterator[str]:
    """Loki answering hostile log lines (and counts), a pprof endpoint with hostile frames."""

    async def loki(request: web.Request) -> web.Response:
        query = request.query.get("query", "")
        now_ns = time.time_ns()
        if "count_over_time" in query or "sum" in query:
            data: dict[str, Any] = {"resultType": "matrix", "result": [
                {"metric": {"pattern": HOSTILE}, "values": [[now_ns / 1e9, "40"]]}]}
        else:
            data = {"resultType": "streams", "result": [
                {"stream": {"app": "checkout", "level": f"error {HOSTILE}"},
                 "values": [[str(now_ns - i), f"panic: pool timed out {HOSTILE}"]
                            for i in range(20)]}]}
        return web.json_response({"status": "success", "data": data})

    async def pprof(request: web.Request) -> web.Response:
        return web.Response(body=hostile_profile(), content_type="application/octet-stream")

    app = web.Application()
    app.router.add_get("/loki/api/v1/{tail:.*}", loki)
    app.router.add_get("/debug/pprof/profile", pprof)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


def strings(value: Any) -> Iterator[str]:
    """Every string inside a call's arguments (JSON-encoded blocks included)."""
    if isinstance(value, str):
        yield value
        if value[:1] in "[{":
            with contextlib.suppress(ValueError):
                yield from strings(json.loads(value))
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from strings(item)


async def test_outside_text_is_never_live(redis_url: str, key_prefix: str) -> None:
    async for backend in hostile_backends():
        overrides = {"backends": {"loki": backend},
                     "services": [{"name": "checkout", "channel": "C0CHECKOUT",
                                   "loki": {"app": "checkout"}, "pprof": backend}]}
        async with running_bot(redis_url, key_prefix, overrides=overrides) as bot:
            group = notification('{}:{alertname="HighLatency"}', [
                alert("HighLatency", service="checkout", pod=HOSTILE)])
            group["alerts"][0]["annotations"] = {"summary": HOSTILE, "description": HOSTILE}
            group["commonAnnotations"] = {"summary": HOSTILE}
            assert (await bot.post_alert(group)).status == 200
            await bot.idle(within=30)
            card = bot.slack.messages("C0CHECKOUT", include_replies=False)[0]
            for step in ("logs", "profile"):
                await bot.sender.click("C0CHECKOUT", card.ts, f"walk.step.{step}")
                await bot.idle(within=60)
            await bot.sender.slash_command("/triage", f"note INC-1 {HOSTILE}",
                                           channel_id="C0CHECKOUT")
            await start(bot, f"start checkout {HOSTILE}")
            await bot.sender.slash_command("/triage", f"resolve INC-1 {HOSTILE}",
                                           channel_id="C0CHECKOUT")
            await bot.idle(within=30)
            sent = [s for call in bot.slack.calls for s in strings(dict(call.args))]
            sent += [s for post in bot.slack.response_posts() for s in strings(post.payload)]
            assert any("pool timed out" in s for s in sent), "the log step found nothing"
            assert any("checkout::render" in s for s in sent), "the profile step found nothing"
            live = sorted({token for s in sent for token in LIVE if token in s})
            assert live == [], [s for s in sent if any(t in s for t in live)][:5]
