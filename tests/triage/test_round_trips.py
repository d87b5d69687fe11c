"""The lighter card path: what one card post and one step click cost in Redis round trips.

Before the use-case layer, posting a card took about 13 round trips (the card rendered twice,
each render reading alerts, vitals, steps and the ranking apart, then a WATCH/MULTI to record
the message) and one step click read the ranking three times.
"""

from __future__ import annotations

from bot.app import Runtime
from bot.models import Severity, StepName
from bot.store.keys import Keys
from bot.triage.incidents import Declaration
from tests.support.bot_harness import running_bot
from tests.support.redis_count import RoundTrips, counting_client


async def test_posting_a_card_takes_three_round_trips(redis_url: str, key_prefix: str) -> None:
    trips = RoundTrips()
    redis = counting_client(redis_url, trips)
    runtime = Runtime(channel_interval_s=0.01, drain_seconds=5, redis=redis, scheduler=False)
    try:
        async with running_bot(redis_url, key_prefix, runtime=runtime) as bot:
            triage = bot.services.triage
            first, second = [await triage.incidents.declare(Declaration(
                service=triage.service(name), summary="P99 above 2 s", severity=Severity.ERROR,
                actor="U0ALICE")) for name in ("search", "checkout")]
            # The first card of a process also loads the recording script into Redis.
            await triage.cards.post(first.incident)
            trips.reset()
            posted = await triage.cards.post(second.incident)
            assert posted.card_ts is not None
            assert trips.count() <= 3, [s.split(" ", 2)[:2] for s in trips.sent]
            assert len(bot.slack.messages("C0CHECKOUT", include_replies=False)) == 1
            trips.reset()
            assert (await triage.cards.post(posted)).card_ts == posted.card_ts
            assert trips.count() == 0  # already posted: nothing to ask Redis
    finally:
        await redis.aclose()


async def test_a_step_reads_the_ranking_once(redis_url: str, key_prefix: str) -> None:
    trips = RoundTrips()
    redis = counting_client(redis_url, trips)
    runtime = Runtime(channel_interval_s=0.01, drain_seconds=5, redis=redis, scheduler=False)
    try:
        async with running_bot(redis_url, key_prefix, runtime=runtime) as bot:
            triage = bot.services.triage
            incident = await triage.declare(Declaration(
                service=triage.service("checkout"), summary="P99 above 2 s",
                severity=Severity.ERROR, actor="U0ALICE"))
            await bot.idle()
            trips.reset()
            run = await triage.run_step(incident, StepName.LOGS, "U0ALICE")
            assert run is not None
            ranking_key = Keys(key_prefix).diagnosis(incident.id)
            # The card's redraws read it too, inside their one pipelined read of the card.
            reads = [s for s in trips.sent if s == f"GET {ranking_key}"]
            assert len(reads) == 1, reads
    finally:
        await redis.aclose()

