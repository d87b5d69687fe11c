"""Profiles dropped into an incident's thread: fetched with files.info and url_private,
analysed in the worker pool, reported, ranked and cited in the RCA with the file as source."""

from __future__ import annotations

import gzip
from typing import Any

from bot.models import StepName, StepStatus
from bot.sources.pprof.encode import encode
from tests.conftest import FIXTURES
from tests.handlers.test_commands import start
from tests.support.bot_harness import BotHarness
from tests.triage.steps.test_frames import STARVATION


def card_ts(bot: BotHarness) -> str:
    return bot.slack.messages("C0CHECKOUT", include_replies=False)[0].ts


async def share(bot: BotHarness, name: str, content: bytes, *, thread_ts: str | None) -> str:
    file = bot.slack.share_file("C0CHECKOUT", "U0ALICE", name, content, thread_ts=thread_ts)
    event: dict[str, Any] = {"type": "file_shared", "file_id": file.id, "user_id": "U0ALICE",
                             "file": {"id": file.id}, "channel_id": "C0CHECKOUT",
                             "event_ts": "1700000000.000100"}
    await deliver(bot, event)
    return file.id


async def deliver(bot: BotHarness, event: dict[str, Any]) -> None:
    """Send the event; Bolt runs the listener after its ack, so wait for its files.info."""
    def infos() -> int:
        return sum(1 for c in bot.slack.ws.calls
                   if c.method == "files.info" and c.args.get("file") == event["file_id"])
    before = infos()
    assert (await bot.sender.event(event)).status == 200
    await bot.slack.wait_for(lambda: infos() > before, what="files.info for the file")
    await bot.idle(within=60)


def bot_replies(bot: BotHarness) -> list[str]:
    return [m.text for m in bot.slack.thread("C0CHECKOUT", card_ts(bot))[1:]
            if m.user == bot.slack.ws.bot_user_id]


async def test_a_pprof_shared_in_the_thread_joins_the_ranking_and_the_rca(
        bot: BotHarness) -> None:
    await start(bot, "start checkout p99 above 2s")
    await share(bot, "checkout-cpu.pb.gz", encode(STARVATION),
                thread_ts=card_ts(bot))
    triage = bot.services.triage
    result = (await triage.walk.stores.walk.results("INC-1"))[StepName.PROFILE]
    assert result.status is StepStatus.DONE and result.ran_by == "U0ALICE"
    top = result.findings[0]
    assert top.title == ("Hottest function: std::thread::sleep (65% flat, from "
                         "checkout-cpu.pb.gz)")
    assert top.evidence[0].source == "file checkout-cpu.pb.gz"
    assert result.signals.frames_kind == "cpu"
    diagnosis = await triage.walk.stores.walk.diagnosis("INC-1")
    assert diagnosis is not None and diagnosis.leader is not None
    assert diagnosis.leader.playbook == "tokio-starvation"
    assert any("std::thread::sleep" in t for t in bot_replies(bot))
    rca = await triage.draft_rca(await triage.find("INC-1"))
    assert any(c.evidence.source == "file checkout-cpu.pb.gz" for c in rca.citations)
    token_used = {token for _, token in bot.slack.private_downloads}
    assert token_used == {"xoxb-test-token"}


async def test_each_file_once_and_only_profiles_in_an_incident_thread(bot: BotHarness) -> None:
    await start(bot, "start checkout p99 above 2s")
    thread = card_ts(bot)
    data = encode(STARVATION)
    file_id = await share(bot, "cpu.pb.gz", data, thread_ts=thread)
    event = {"type": "file_shared", "file_id": file_id, "channel_id": "C0CHECKOUT",
             "user_id": "U0ALICE", "file": {"id": file_id}, "event_ts": "1700000000.000200"}
    await deliver(bot, event)  # Slack says it again, with a new event id
    await share(bot, "screenshot.png", b"\x89PNG not a profile", thread_ts=thread)
    await share(bot, "cpu-outside.pb.gz", data, thread_ts=None)  # not in an incident's thread
    assert len(bot.slack.private_downloads) == 1
    events = await bot.services.triage.incidents.store.timeline("INC-1")
    assert sum(1 for e in events if e.data.get("file")) == 1


async def test_a_flamegraph_svg_and_an_uncompressed_pprof_are_read_too(
        bot: BotHarness) -> None:
    await start(bot, "start checkout p99 above 2s")
    await share(bot, "raw.pprof", encode(STARVATION, compress=False), thread_ts=card_ts(bot))
    raw = (await bot.services.triage.walk.stores.walk.results("INC-1"))[StepName.PROFILE]
    assert raw.status is StepStatus.DONE and "std::thread::sleep" in raw.findings[0].title
    svg = (FIXTURES / "real" / "flamegraph" / "flamegraph-pl_demos_cpu-grep.svg").read_bytes()
    await share(bot, "grep.svg", svg, thread_ts=card_ts(bot))
    result = (await bot.services.triage.walk.stores.walk.results("INC-1"))[StepName.PROFILE]
    assert result.status is StepStatus.DONE
    assert result.findings[0].evidence[0].source == "file grep.svg"


async def test_a_file_that_is_not_a_profile_fails_the_step_plainly(bot: BotHarness) -> None:
    await start(bot, "start checkout p99 above 2s")
    await share(bot, "broken.pb.gz", gzip.compress(b"this is no protobuf at all"),
                thread_ts=card_ts(bot))
    result = (await bot.services.triage.walk.stores.walk.results("INC-1"))[StepName.PROFILE]
    assert result.status is StepStatus.FAILED
    assert result.error is not None
    assert result.error.startswith("broken.pb.gz is not a usable profile: ")
    assert any("broken.pb.gz is not a usable profile" in t for t in bot_replies(bot))
