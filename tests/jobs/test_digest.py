"""The daily digest: one message per channel with open incidents, once per day."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.app import JOB_CONTEXT, SCHEDULER
from bot.jobs.digest import DigestRow, digest_blocks, post_digest, sweep
from bot.models import Incident, StepName, StepResult, StepStatus
from tests.jobs.conftest import open_incident, schedule
from tests.support.bot_harness import populate, running_bot, without_scheduler
from tests.support.polling import eventually
from triage_sim.slack.blockkit import validate_blocks
from triage_sim.slack.standin import SlackStandIn

NOW = datetime(2026, 8, 10, 9, 0, tzinfo=UTC)


def incident(number: int, **fields: object) -> Incident:
    values: dict[str, object] = {
        "id": f"INC-{number}", "number": number, "service": "checkout",
        "summary": "P99 above 2 s", "channel": "C0CHECKOUT",
        "created_at": NOW - timedelta(hours=2, minutes=30), **fields}
    return Incident.model_validate(values)


def test_digest_lists_each_incident_with_what_a_responder_needs() -> None:
    rows = [DigestRow(incident(1, assignee="U0ALICE"), 2),
            DigestRow(incident(2, summary="<!channel> & more", service=None), 0)]
    blocks = digest_blocks(rows, NOW, "/triage")
    assert validate_blocks(blocks) == []
    assert blocks[0]["text"]["text"] == ":sunrise: Open incidents · 2"
    assert blocks[1]["text"]["text"] == (
        "*INC-1* · checkout · unknown\nP99 above 2 s\n"
        "open 2.5 h · <@U0ALICE> · steps 2/4 done · `/triage status INC-1`")
    assert "&lt;!channel&gt; &amp; more" in blocks[2]["text"]["text"]  # no @channel from data
    assert "_unassigned_" in blocks[2]["text"]["text"]


def test_a_long_digest_stays_within_slack_limits() -> None:
    rows = [DigestRow(incident(n), 1) for n in range(1, 80)]
    blocks = digest_blocks(rows, NOW, "/triage")
    assert len(blocks) == 50 and validate_blocks(blocks) == []
    assert blocks[-2]["elements"][0]["text"] == "…and 32 more: `/triage list`"


async def test_one_message_per_channel_with_open_incidents(
    redis_url: str, key_prefix: str
) -> None:
    async with running_bot(redis_url, key_prefix, overrides={"schedule": schedule()},
                           runtime=without_scheduler()) as bot:
        first = await open_incident(bot.services, "checkout", card=False)
        await open_incident(bot.services, "payments", "Pool timeouts", card=False)
        done = await open_incident(bot.services, "search", card=False)
        await bot.services.triage.incidents.resolve(done, "U0ALICE", "fine")
        await bot.services.triage.walk.stores.walk.save_result(
            first.id, StepResult(step=StepName.METRICS, status=StepStatus.DONE))
        assert await sweep(bot.app[JOB_CONTEXT]) == 1
        # Only a resolved incident there:
        assert not await post_digest(bot.app[JOB_CONTEXT], "C0SEARCH")
        [digest] = bot.slack.messages("C0CHECKOUT")
        assert digest.text == "2 open incidents: INC-1, INC-2"
        lines = [b["text"]["text"] for b in digest.blocks if b["type"] == "section"]
        assert lines[0].startswith("*INC-1* · checkout · error\nP99 above 2 s\nopen ")
        assert "steps 1/4 done" in lines[0] and "steps 0/4 done" in lines[1]
        assert bot.slack.messages("C0SEARCH") == []


async def test_digest_time_passed_at_startup_is_caught_up_once_across_restarts(
    redis_url: str, key_prefix: str
) -> None:
    """A leader starting at 09:40 still sends the 09:00 digest; the next one does not repeat."""
    earlier = (datetime.now(UTC) - timedelta(minutes=1)).strftime("%H:%M")
    config = {"schedule": schedule(digest_at=earlier, digest_timezone="UTC")}
    # The first bot only opens the incident: without a scheduler, or its own start-up catch-up
    # could claim today's digest (with nothing open).
    async with running_bot(redis_url, key_prefix, overrides=config,
                           runtime=without_scheduler()) as bot:
        await open_incident(bot.services, card=False)
    # One Slack for the two leaders: each bot checks Slack's auth.test at start.
    async with SlackStandIn() as slack:
        populate(slack)
        async with running_bot(redis_url, key_prefix, slack=slack, overrides=config) as bot:
            digest = await slack.wait_for_message(
                "C0CHECKOUT", lambda m: m.text.startswith("1 open incident"), timeout=5)
            async def digest_runs() -> list[str]:
                return [r.outcome for r in await bot.app[JOB_CONTEXT].leases.runs()
                        if r.job == "digest"]

            assert await eventually(digest_runs, what="the digest run recorded") == ["done"]
        async with running_bot(redis_url, key_prefix, slack=slack, overrides=config) as bot:
            async def digest_tick_skipped() -> bool:
                return bot.app[SCHEDULER].outcomes[("digest", "ran-already")] == 1

            await eventually(digest_tick_skipped, what="the new leader's catch-up digest tick")
            digests = [m for m in slack.messages("C0CHECKOUT") if m.text.startswith("1 open")]
            assert digests == [digest]  # today's digest tick was claimed by the previous leader
