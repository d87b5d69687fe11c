"""Incident channels: created once with the owners and the assignee, the card copied there and
kept in step with the original."""

from __future__ import annotations

from typing import Any

from bot.models import EventKind
from tests.handlers.test_commands import reply, start, texts
from tests.support.bot_harness import BotHarness, running_bot

QUIET: dict[str, Any] = {"alerts": {"run_metrics_on_open": False},
                         "schedule": {"digest_at": None}}


def channel_named(bot: BotHarness, name: str) -> str:
    [found] = [c.id for c in bot.slack.ws.channels.values() if c.name == name]
    return found


async def test_channel_command_opens_it_once_and_keeps_the_cards_in_step(
        bot: BotHarness) -> None:
    await start(bot, "start checkout p99 above 2s")
    await reply(bot, await bot.sender.slash_command(
        "/triage", "assign INC-1 <@U0BOB|bob>", channel_id="C0CHECKOUT", user_id="U0ALICE"))
    answer = await reply(bot, await bot.sender.slash_command(
        "/triage", "channel INC-1", channel_id="C0CHECKOUT"))
    channel = channel_named(bot, "inc-1-checkout")
    assert f"Opened <#{channel}> for INC-1." in answer
    await bot.idle()
    assert bot.slack.ws.members[channel] >= {"U0ALICE", "U0BOB"}
    [copy] = bot.slack.messages(channel, include_replies=False)
    original = bot.slack.messages("C0CHECKOUT", include_replies=False)[0]
    assert texts(copy.blocks) == texts(bot.slack.message("C0CHECKOUT", original.ts).blocks)
    thread = [m.text for m in bot.slack.thread("C0CHECKOUT", original.ts)]
    assert f":hash: Incident channel: <#{channel}>" in thread

    again = await reply(bot, await bot.sender.slash_command(
        "/triage", "channel INC-1", channel_id="C0CHECKOUT"))
    assert f"INC-1 already has its channel: <#{channel}>." in again

    await reply(bot, await bot.sender.slash_command(
        "/triage", "resolve INC-1 rolled back", channel_id="C0CHECKOUT"))
    await bot.idle()
    shown = texts(bot.slack.message(channel, copy.ts).blocks)
    assert "Resolved by" in shown
    assert shown == texts(bot.slack.message("C0CHECKOUT", original.ts).blocks)
    events = await bot.services.triage.incidents.store.timeline("INC-1")
    assert [e.kind for e in events].count(EventKind.CHANNEL_OPENED) == 1


async def test_incident_channels_true_opens_one_for_every_new_incident(
        redis_url: str, key_prefix: str) -> None:
    overrides = {**QUIET, "incident_channels": True}
    async with running_bot(redis_url, key_prefix, overrides=overrides) as bot:
        await start(bot, "start checkout queue backing up")
        channel = channel_named(bot, "inc-1-checkout")
        assert "U0ALICE" in bot.slack.ws.members[channel]  # checkout's owner
        assert len(bot.slack.messages(channel, include_replies=False)) == 1
        bot.slack.add_channel("C0TAKEN", "inc-2-search")  # someone took the name
        answer = await start(bot, "start search slow queries")
        assert "Declared INC-2" in answer  # the incident stands without its channel
        declared = await bot.services.triage.find("INC-2")
        assert declared.card_ts and not await bot.services.triage.incident_channels_of(declared)
        retry = await reply(bot, await bot.sender.slash_command(
            "/triage", "channel INC-2", channel_id="C0SEARCH"))
        assert "Slack refused the update: `name_taken`" in retry
