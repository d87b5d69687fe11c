"""Reminders: due after ``reminder_after`` of no activity, once per interval, none after resolve."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import datetime, timedelta

from bot.app import JOB_CONTEXT, SCHEDULER
from bot.jobs.context import JobContext
from bot.jobs.reminders import remind, reminder_text
from bot.models import EventKind, Incident, StepName, StepResult, StepStatus, TimelineEvent, utcnow
from bot.store.leases import JobRun
from tests.jobs.conftest import open_incident, schedule
from tests.support.bot_harness import BotHarness, running_bot
from tests.support.polling import eventually
from triage_sim.slack.state import Message


def is_reminder(message: Message) -> bool:
    return message.text.startswith(":alarm_clock:")


def reminders(bot: BotHarness, channel: str = "C0CHECKOUT") -> list[Message]:
    return [m for m in bot.slack.messages(channel) if is_reminder(m)]


async def reminder_runs_since(bot: BotHarness, since: datetime, at_least: int = 1
                              ) -> list[JobRun] | None:
    runs = await bot.app[JOB_CONTEXT].leases.runs()
    found = [r for r in runs if r.job == "reminders" and r.started_at > since]
    return found if len(found) >= at_least else None


async def test_reminders_post_once_per_interval_and_stop_after_resolve(
    redis_url: str, key_prefix: str
) -> None:
    fast = {"schedule": schedule(reminder_after=0.6)}  # swept every 0.15 s
    async with running_bot(redis_url, key_prefix, overrides=fast) as bot:
        incident = await open_incident(bot.services)
        first = await bot.slack.wait_for_message("C0CHECKOUT", is_reminder, timeout=5)
        assert first.thread_ts == incident.card_ts
        assert first.text.endswith("Suggested next: Metrics (`/triage metrics INC-1`)")
        await bot.slack.wait_for(lambda: len(reminders(bot)) >= 3, timeout=5, what="3 reminders")
        stamps = [float(m.ts) for m in reminders(bot)]
        gaps = [b - a for a, b in itertools.pairwise(stamps)]
        assert min(gaps) >= 0.55, gaps  # the marker lives reminder_after: no storm

        resolved_at = utcnow()
        await bot.services.triage.incidents.resolve(incident, "U0ALICE", "fixed")
        # Whatever was in flight at the resolve has landed once a tick has finished since.
        await eventually(lambda: reminder_runs_since(bot, resolved_at), what="a tick after resolve")
        settled = len(reminders(bot))
        since = utcnow()
        await eventually(lambda: reminder_runs_since(bot, since, 8), what="eight more ticks")
        assert len(reminders(bot)) == settled


async def quiet_bot_context(bot: BotHarness, now: datetime) -> JobContext:
    """The bot's job context with a clock of our own, its scheduler stopped."""
    await bot.app[SCHEDULER].stop()
    return replace(bot.app[JOB_CONTEXT], clock=lambda: now)


async def test_no_reminder_while_there_is_recent_activity(
    redis_url: str, key_prefix: str
) -> None:
    async with running_bot(redis_url, key_prefix,
                           overrides={"schedule": schedule(reminder_after=1800)}) as bot:
        incident = await open_incident(bot.services)
        created = incident.created_at
        store = bot.services.triage.incidents.store
        clock = [created + timedelta(minutes=10)]
        ctx = replace(await quiet_bot_context(bot, created), clock=lambda: clock[0])
        assert not await remind(ctx, incident.id)  # declared 10 min ago
        await store.add_event(incident.id, TimelineEvent(
            kind=EventKind.NOTE, actor="U0ALICE", text="looking at the pool",
            at=created + timedelta(minutes=25)))
        clock[0] = created + timedelta(minutes=40)
        assert not await remind(ctx, incident.id)  # the note was 15 min ago
        await store.add_event(incident.id, TimelineEvent(  # not activity: no effect
            kind=EventKind.ALERT_FIRED, at=created + timedelta(minutes=45)))
        clock[0] = created + timedelta(minutes=56)
        assert await remind(ctx, incident.id)
        assert not await remind(ctx, incident.id)  # once per interval
        [message] = reminders(bot)
        assert message.text.startswith(":alarm_clock: No step or note on INC-1 for 31 min.")
        timeline = await store.timeline(incident.id)
        assert not any("No step" in e.text for e in timeline)  # a reminder is not activity


async def test_the_reminder_names_the_suggested_next_step(
    redis_url: str, key_prefix: str
) -> None:
    async with running_bot(redis_url, key_prefix,
                           overrides={"schedule": schedule(reminder_after=1800)}) as bot:
        incident = await open_incident(bot.services)
        walk = bot.services.triage.walk.stores
        ctx = await quiet_bot_context(bot, incident.created_at + timedelta(hours=1))
        await walk.walk.save_result(incident.id, StepResult(step=StepName.METRICS,
                                                            status=StepStatus.DONE))
        await walk.walk.save_result(incident.id, StepResult(step=StepName.LOGS,
                                                            status=StepStatus.RUNNING))
        await walk.claims.claim("step-run", f"{incident.id}:logs", ttl_seconds=60)
        assert not await remind(ctx, incident.id)  # logs is running: someone is at work
        await walk.claims.release("step-run", f"{incident.id}:logs")
        assert await remind(ctx, incident.id)  # a stale "running" without its claim: not work
        [message] = reminders(bot)
        assert message.text.endswith("Suggested next: Traces (`/triage traces INC-1`)")


async def test_resolved_deleted_and_unmapped_incidents(redis_url: str, key_prefix: str) -> None:
    async with running_bot(redis_url, key_prefix,
                           overrides={"schedule": schedule(reminder_after=1800)}) as bot:
        resolved = await open_incident(bot.services)
        await bot.services.triage.incidents.resolve(resolved, "U0ALICE", "done")
        unmapped = await open_incident(bot.services, service=None, summary="Something odd")
        ctx = await quiet_bot_context(bot, utcnow() + timedelta(hours=2))
        assert not await remind(ctx, resolved.id)
        assert not await remind(ctx, "INC-999")  # deleted (or never there): quietly nothing
        assert await remind(ctx, unmapped.id)
        [message] = reminders(bot, "C0INCIDENTS")
        assert "Add what you know (`/triage note INC-2 …`)" in message.text


def test_reminder_text_once_every_step_is_done() -> None:
    incident = Incident(id="INC-7", number=7, service="checkout", summary="x", channel="C0X")
    steps = dict.fromkeys(StepName, StepStatus.DONE)
    text = reminder_text(incident, 3600, steps, command="/triage", walkable=True)
    assert text == (":alarm_clock: No step or note on INC-7 for 60 min. Every step is done: "
                    "draft the RCA (`/triage rca INC-7`) or resolve it "
                    "(`/triage resolve INC-7`).")
