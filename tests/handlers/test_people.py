"""People in: owners paged once for the chosen severities, the assignee told by DM, status
updates to the thread and the stakeholders' channel, and a reminder when none was posted."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from bot.app import JOB_CONTEXT, SCHEDULER
from bot.jobs.status_updates import remind
from bot.models import EventKind, Severity, TimelineEvent
from bot.triage.incidents import Declaration
from tests.handlers.test_commands import reply, start
from tests.jobs.conftest import schedule
from tests.support.alert_payloads import alert, notification
from tests.support.bot_harness import BotHarness, running_bot
from triage_sim.slack.api_conversations import dm_channel_id

QUIET: dict[str, Any] = {"alerts": {"run_metrics_on_open": False}, "schedule": schedule()}


def high_p99(severity: str) -> dict[str, Any]:
    return notification(f'{{}}:{{alertname="HighP99",severity="{severity}"}}', [
        alert("HighP99", service="checkout", severity=severity, instance="a")])


def thread_texts(bot: BotHarness, channel: str = "C0CHECKOUT") -> list[str]:
    card = bot.slack.messages(channel, include_replies=False)[0]
    return [m.text for m in bot.slack.thread(channel, card.ts)[1:]]


async def test_owners_are_paged_once_for_critical_incidents(redis_url: str,
                                                            key_prefix: str) -> None:
    overrides = {**QUIET, "notify": {"mention_on": ["critical"]}}
    async with running_bot(redis_url, key_prefix, overrides=overrides) as bot:
        for _ in range(2):  # Alertmanager redelivers: still one page
            assert (await bot.post_alert(high_p99("critical"))).status == 200
            await bot.idle()
        pages = [t for t in thread_texts(bot) if "<@U0ALICE>" in t]
        assert len(pages) == 1 and "INC-1 opened for checkout (critical)" in pages[0]
        events = await bot.services.triage.incidents.store.timeline("INC-1")
        assert [e.kind for e in events].count(EventKind.OWNERS_PAGED) == 1

        assert (await bot.post_alert(high_p99("warning"))).status == 200
        await bot.idle()
        warning = [m for m in bot.slack.messages("C0CHECKOUT") if "INC-2" in m.text]
        assert warning and not any("<@U0ALICE>" in m.text for m in warning)


async def test_nobody_is_paged_unless_the_team_opts_in(redis_url: str, key_prefix: str) -> None:
    async with running_bot(redis_url, key_prefix, overrides=QUIET) as bot:
        assert (await bot.post_alert(high_p99("critical"))).status == 200
        await bot.idle()
        assert not any("<@U0ALICE>" in t for t in thread_texts(bot))


async def test_mention_on_is_configurable_and_a_declaration_pages_too(
        redis_url: str, key_prefix: str) -> None:
    overrides = {**QUIET, "notify": {"mention_on": ["warning"]}}
    async with running_bot(redis_url, key_prefix, overrides=overrides) as bot:
        await start(bot, "start checkout --severity=warning queue backing up")
        assert any("<@U0ALICE>" in t for t in thread_texts(bot))


async def test_assign_dms_the_assignee_but_taking_it_does_not(bot: BotHarness) -> None:
    await start(bot, "start checkout p99 above 2s")
    answer = await reply(bot, await bot.sender.slash_command(
        "/triage", "assign INC-1 <@U0BOB|bob>", channel_id="C0CHECKOUT", user_id="U0ALICE"))
    assert "Assigned INC-1" in answer
    await bot.idle()
    [dm] = bot.slack.messages(dm_channel_id("U0BOB"))
    assert dm.text.startswith(":bust_in_silhouette: <@U0ALICE> assigned you INC-1 (checkout")
    assert "<#C0CHECKOUT>" in dm.text
    incident = await bot.services.triage.find("INC-1")
    await bot.services.triage.take(incident, "U0ALICE")
    assert dm_channel_id("U0ALICE") not in bot.slack.ws.channels


async def test_status_update_goes_to_the_thread_and_the_status_channel(
        redis_url: str, key_prefix: str) -> None:
    overrides = {**QUIET, "slack": {"default_channel": "C0INCIDENTS",
                                    "status_channel": "C0RANDOM"}}
    async with running_bot(redis_url, key_prefix, overrides=overrides) as bot:
        await start(bot, "start checkout p99 above 2s")
        answer = await reply(bot, await bot.sender.slash_command(
            "/triage", "update INC-1 rolled back <!channel>, errors falling",
            channel_id="C0CHECKOUT"))
        assert "Posted the status of INC-1 to its thread and <#C0RANDOM>" in answer
        await bot.idle()
        assert any("Status update on INC-1" in t for t in thread_texts(bot))
        [posted] = bot.slack.messages("C0RANDOM")
        text = str(posted.blocks)
        assert "INC-1 · checkout" in text and "rolled back &lt;!channel&gt;" in text
        assert "<!channel>" not in text
        events = await bot.services.triage.incidents.store.timeline("INC-1")
        assert any(e.kind is EventKind.STATUS_UPDATE for e in events)
        empty = await reply(bot, await bot.sender.slash_command(
            "/triage", "update INC-1", channel_id="C0CHECKOUT"))
        assert "needs the text of the status" in empty


async def test_critical_incidents_without_an_update_remind_the_assignee(
        redis_url: str, key_prefix: str) -> None:
    async with running_bot(redis_url, key_prefix,
                           overrides={**QUIET, "schedule": schedule(status_every=1800)}) as bot:
        await bot.app[SCHEDULER].stop()
        triage = bot.services.triage
        incident = await triage.declare(Declaration(
            service=triage.service("checkout"), summary="checkout down",
            severity=Severity.CRITICAL, actor="U0ALICE"))
        await triage.assign(incident, "U0ALICE", "U0BOB")
        created = incident.created_at
        clock = [created + timedelta(minutes=20)]
        ctx = replace(bot.app[JOB_CONTEXT], clock=lambda: clock[0])
        assert not await remind(ctx, incident.id)  # 20 min: not yet
        await triage.incidents.store.add_event(incident.id, TimelineEvent(
            kind=EventKind.STATUS_UPDATE, actor="U0BOB", text="investigating",
            at=created + timedelta(minutes=25)))
        clock[0] = created + timedelta(minutes=50)
        assert not await remind(ctx, incident.id)  # the update was 25 min ago
        clock[0] = created + timedelta(minutes=56)
        assert await remind(ctx, incident.id)
        assert not await remind(ctx, incident.id)  # once per interval
        await bot.idle()
        nudges = [t for t in thread_texts(bot) if t.startswith(":alarm_clock:")]
        assert nudges == [":alarm_clock: <@U0BOB>: no status update on INC-1 for 31 min. "
                          "Stakeholders are waiting: `/triage update INC-1 …` with what is "
                          "known and what is next."]
