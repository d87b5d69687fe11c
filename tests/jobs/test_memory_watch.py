"""Memory watch: an incident (or a warning) while RSS is still on its way to the limit."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from bot.app import JOB_CONTEXT
from bot.jobs.memory_watch import forecast, watch
from bot.models import StepName, StepStatus
from bot.store.leases import JobRun
from tests.jobs.conftest import open_incident, schedule
from tests.jobs.fake_prometheus import FakePrometheus
from tests.support.bot_harness import BotHarness, running_bot, without_scheduler
from tests.support.polling import eventually
from triage_sim.slack.state import Message

GIB, MIB = 1024**3, 1024**2
LIMIT = 2 * GIB  # checkout's memory_limit in the test catalog
RSS_NAME = "process_resident_memory_bytes"


def growing(prometheus: FakePrometheus, rss: float, per_hour: float) -> None:
    prometheus.names.add(RSS_NAME)
    prometheus.answer(f"sum({RSS_NAME}", rss)
    prometheus.answer("deriv(", per_hour / 3600)  # the slope query also names the metric


def overrides(prometheus: FakePrometheus, **changes: Any) -> dict[str, Any]:
    return {"backends": {"prometheus": prometheus.url, "timeout_seconds": 2},
            "schedule": schedule(**changes)}


def is_watch_line(message: Message) -> bool:
    return "*Memory watch*" in message.text


async def watch_runs(bot: BotHarness, at_least: int) -> list[JobRun] | None:
    runs = [r for r in await bot.app[JOB_CONTEXT].leases.runs() if r.job == "memory-watch"]
    return runs if len(runs) >= at_least else None


def test_forecast_only_while_there_is_time_left() -> None:
    at = datetime(2026, 8, 10, 14, 0, tzinfo=UTC)
    found = forecast("checkout", 1.6 * GIB, 120 * MIB / 3600, LIMIT, at)
    assert found is not None
    assert found.summary() == ("RSS 1.6 GiB growing 120 MiB/h: the 2 GiB limit is reached in "
                               "~3.41 h")
    assert "around 17:24 UTC" in found.details()
    assert forecast("checkout", 1.6 * GIB, 0.0, LIMIT, at) is None  # flat
    assert forecast("checkout", 1.6 * GIB, -5e4, LIMIT, at) is None  # shrinking
    assert forecast("checkout", 2.1 * GIB, 5e4, LIMIT, at) is None  # too late: a post-mortem
    assert forecast("checkout", float("nan"), 5e4, LIMIT, at) is None


async def test_growth_toward_the_limit_opens_one_incident_early(
    redis_url: str, key_prefix: str, prometheus: FakePrometheus
) -> None:
    growing(prometheus, rss=1.8 * GIB, per_hour=120 * MIB)  # limit in ~1.7 h, horizon 2 h
    fast = overrides(prometheus, memory_watch_every=0.2, memory_watch_horizon=7200)
    async with running_bot(redis_url, key_prefix, overrides=fast) as bot:
        line = await bot.slack.wait_for_message("C0CHECKOUT", is_watch_line, timeout=5)
        [incident] = await bot.services.triage.incidents.store.list_open()
        assert incident.service == "checkout" and incident.severity.value == "warning"
        assert incident.source == "memory-watch"
        assert incident.summary == ("RSS 1.8 GiB growing 120 MiB/h: the 2 GiB limit is "
                                    "reached in ~102 min")
        assert incident.labels["alertname"] == "MemoryWatch"
        assert line.thread_ts == incident.card_ts is not None
        assert 'deriv(sum(process_resident_memory_bytes{job="checkout"})[30m:1m])' in line.text
        runs = len(await bot.app[JOB_CONTEXT].leases.runs())
        await eventually(lambda: watch_runs(bot, runs + 5), what="five more memory-watch ticks")
        assert len(await bot.services.triage.incidents.store.list_open()) == 1
        assert len([m for m in bot.slack.messages("C0CHECKOUT") if is_watch_line(m)]) == 1


async def test_flat_memory_or_a_far_limit_does_nothing(
    redis_url: str, key_prefix: str, prometheus: FakePrometheus
) -> None:
    growing(prometheus, rss=1.8 * GIB, per_hour=0.0)
    fast = overrides(prometheus, memory_watch_every=0.2, memory_watch_horizon=7200)
    async with running_bot(redis_url, key_prefix, overrides=fast) as bot:
        await eventually(lambda: watch_runs(bot, 5), what="five memory-watch ticks")
        growing(prometheus, rss=0.5 * GIB, per_hour=120 * MIB)  # the limit is ~12.8 h away
        seen = len((await watch_runs(bot, 0)) or [])
        await eventually(lambda: watch_runs(bot, seen + 5), what="five more ticks")
        assert await bot.services.triage.incidents.store.list_open() == []
        assert bot.slack.messages("C0CHECKOUT") == []
        assert any(f"sum({RSS_NAME}" in q for q in prometheus.queries)


async def test_an_open_incident_of_the_service_gets_the_figures_instead(
    redis_url: str, key_prefix: str, prometheus: FakePrometheus
) -> None:
    growing(prometheus, rss=1.8 * GIB, per_hour=120 * MIB)
    async with running_bot(redis_url, key_prefix, overrides=overrides(prometheus),
                           runtime=without_scheduler()) as bot:
        existing = await open_incident(bot.services, summary="MemoryGrowth firing")
        assert await watch(bot.app[JOB_CONTEXT], "checkout") is not None
        # The figures are posted once:
        assert await watch(bot.app[JOB_CONTEXT], "checkout") is not None
        assert await watch(bot.app[JOB_CONTEXT], "search") is None  # no memory limit in the catalog
        assert await watch(bot.app[JOB_CONTEXT], "nonexistent") is None
        open_now = await bot.services.triage.incidents.store.list_open()
        assert [i.id for i in open_now] == [existing.id]
        [line] = [m for m in bot.slack.messages("C0CHECKOUT") if is_watch_line(m)]
        assert line.thread_ts == existing.card_ts


async def test_warn_action_posts_one_message_per_horizon(
    redis_url: str, key_prefix: str, prometheus: FakePrometheus
) -> None:
    growing(prometheus, rss=1.8 * GIB, per_hour=120 * MIB)
    fast = overrides(prometheus, memory_watch_every=0.2, memory_watch_action="warn")
    async with running_bot(redis_url, key_prefix, overrides=fast) as bot:
        warning = await bot.slack.wait_for_message("C0CHECKOUT", is_watch_line, timeout=5)
        assert warning.text.startswith(":warning: :chart_with_upwards_trend: *Memory watch*")
        assert "`/triage start checkout` opens an incident." in warning.text
        assert warning.thread_ts is None
        runs = len(await bot.app[JOB_CONTEXT].leases.runs())
        await eventually(lambda: watch_runs(bot, runs + 5), what="five more memory-watch ticks")
        assert len(bot.slack.messages("C0CHECKOUT")) == 1
        assert await bot.services.triage.incidents.store.list_open() == []


async def test_a_resolved_watch_incident_is_not_reopened_the_same_day(
    redis_url: str, key_prefix: str, prometheus: FakePrometheus
) -> None:
    growing(prometheus, rss=1.8 * GIB, per_hour=120 * MIB)
    async with running_bot(redis_url, key_prefix, overrides=overrides(prometheus),
                           runtime=without_scheduler()) as bot:
        await watch(bot.app[JOB_CONTEXT], "checkout")
        [incident] = await bot.services.triage.incidents.store.list_open()
        await bot.services.triage.incidents.resolve(incident, "U0ALICE", "restarted checkout")
        await watch(bot.app[JOB_CONTEXT], "checkout")
        assert await bot.services.triage.incidents.store.list_open() == []


@pytest.mark.parametrize(("horizon_s", "raised"), [(7200, True), (1200, False)])
async def test_memory_scenario_raises_an_early_warning(
    redis_url: str, key_prefix: str, horizon_s: float, raised: bool,
    scenario_prometheus: str,
) -> None:
    """The memory-growth scenario in a real Prometheus: ~45 min left, so raised at 2 h only."""
    config = {"backends": {"prometheus": scenario_prometheus, "timeout_seconds": 5},
              "schedule": schedule(memory_watch_horizon=horizon_s),
              "services": [{"name": "checkout", "channel": "C0CHECKOUT",
                            "prometheus": {"job": "checkout"}, "memory_limit": "1GiB"}]}
    async with running_bot(redis_url, key_prefix, overrides=config,
                           runtime=without_scheduler()) as bot:
        found = await watch(bot.app[JOB_CONTEXT], "checkout")
        assert found is not None if raised else found is None
        if found is not None:
            assert 1500 < found.tto_s < 4500
            assert 75_000 < found.slope < 110_000
            [incident] = await bot.services.triage.incidents.store.list_open()
            assert "1 GiB limit is reached in ~" in incident.summary
            # As for an alert, the bot runs step 1 on the incident it opened.
            statuses = await bot.services.triage.walk.stores.walk.statuses(incident.id)
            assert statuses[StepName.METRICS] is StepStatus.DONE
            replies = [m.text for m in bot.slack.messages("C0CHECKOUT")[1:]]
            assert any("Metrics" in text for text in replies), replies
