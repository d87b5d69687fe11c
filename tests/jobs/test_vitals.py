"""Vitals: each open incident's key metrics refreshed on its card, with "as of HH:MM UTC"."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from bot.app import JOB_CONTEXT
from bot.jobs.vitals import refresh, vital_queries
from bot.models import Incident, Vital, Vitals, WalkContextState
from bot.slack.cards import incident_card
from bot.slack.vitals_blocks import vitals_section
from tests.jobs.conftest import open_incident, schedule
from tests.jobs.fake_prometheus import FakePrometheus
from tests.support.bot_harness import BotHarness, running_bot, without_scheduler
from triage_sim.slack.blockkit import validate_blocks

ROLES = {"requests_total": "axum_http_requests_total",
         "request_duration_bucket": "axum_http_requests_duration_seconds_bucket",
         "rss": "process_resident_memory_bytes"}


def with_prometheus(prometheus: FakePrometheus, **changes: Any) -> dict[str, Any]:
    return {"backends": {"prometheus": prometheus.url, "timeout_seconds": 2},
            "schedule": schedule(**changes)}


def answer_vitals(prometheus: FakePrometheus, p99: float) -> None:
    prometheus.answer("sum(rate(axum_http_requests_total", 250.0)  # request rate
    prometheus.answer('=~"5.."', 0.12)  # the error ratio's numerator selects 5xx
    prometheus.answer("histogram_quantile", p99)
    prometheus.answer("process_resident_memory_bytes", 1.5 * 1024**3)


def card_text(bot: BotHarness, ts: str) -> str:
    return json.dumps(bot.slack.message("C0CHECKOUT", ts).blocks)


def test_vitals_section_shows_values_and_their_time() -> None:
    vitals = Vitals(at=datetime(2026, 8, 10, 14, 5, 42, tzinfo=UTC), values=[
        Vital(key="p99", title="P99 latency", value=1.8, unit="s"),
        Vital(key="error_ratio", title="Error ratio (5xx)", value=0.12, unit="ratio"),
        Vital(key="rss", title="Resident memory", value=1.5 * 1024**3, unit="bytes")])
    [block] = vitals_section(vitals)
    assert block["text"]["text"] == ":heartbeat: *Key metrics* · as of 14:05 UTC"
    assert [f["text"] for f in block["fields"]] == [
        "*P99 latency*\n1.8 s", "*Error ratio (5xx)*\n12%", "*Resident memory*\n1.5 GiB"]
    incident = Incident(id="INC-1", number=1, service="checkout", summary="slow", channel="C0X")
    assert validate_blocks(incident_card(incident, extra=vitals_section(vitals))) == []
    assert vitals_section(None) == []
    assert vitals_section(Vitals(at=vitals.at)) == []


def test_vital_queries_reuse_the_metrics_step_builders() -> None:
    queries = vital_queries(ROLES, {"job": "checkout"})
    assert [q.key for q in queries] == ["request_rate", "error_ratio", "p99", "rss"]
    assert queries[2].promql == ('histogram_quantile(0.99, sum by (le) (rate('
                                 'axum_http_requests_duration_seconds_bucket{job="checkout"}'
                                 '[5m])))')
    assert vital_queries({}, {"job": "checkout"}) == []


async def test_the_card_shows_key_metrics_and_follows_them(
    redis_url: str, key_prefix: str, prometheus: FakePrometheus
) -> None:
    answer_vitals(prometheus, p99=1.8)
    overrides = with_prometheus(prometheus, refresh_every=0.2)
    async with running_bot(redis_url, key_prefix, overrides=overrides) as bot:
        incident = await open_incident(bot.services)
        assert incident.card_ts is not None
        await bot.services.triage.walk.stores.walk.save_context(incident.id,
                                                         WalkContextState(roles=ROLES))
        await bot.slack.wait_for(lambda: "Key metrics" in card_text(bot, incident.card_ts),
                                 timeout=5, what="key metrics on the card")
        blocks = list(bot.slack.message("C0CHECKOUT", incident.card_ts).blocks)
        assert validate_blocks(blocks) == []
        shown = card_text(bot, incident.card_ts)
        assert all(v in shown for v in ("250/s", "12%", "1.8 s", "1.5 GiB", "as of "))
        prometheus.answer("histogram_quantile", 0.25)
        await bot.slack.wait_for(lambda: "250 ms" in card_text(bot, incident.card_ts),
                                 timeout=5, what="the new P99 on the card")
        stored = await bot.app[JOB_CONTEXT].vitals.get(incident.id)
        assert stored is not None and [v.key for v in stored.values] == [
            "request_rate", "error_ratio", "p99", "rss"]


async def test_refresh_skips_what_it_cannot_measure(
    redis_url: str, key_prefix: str, prometheus: FakePrometheus
) -> None:
    async with running_bot(redis_url, key_prefix,
                           overrides=with_prometheus(prometheus),
                           runtime=without_scheduler()) as bot:
        ctx = bot.app[JOB_CONTEXT]
        walk = bot.services.triage.walk.stores.walk
        before_step_1 = await open_incident(bot.services)
        unmapped = await open_incident(bot.services, service=None)
        measured = await open_incident(bot.services, service="search")
        await walk.save_context(measured.id, WalkContextState(roles=ROLES))
        assert not await refresh(ctx, before_step_1.id)  # no roles until step 1 ran
        assert not await refresh(ctx, unmapped.id)
        assert not await refresh(ctx, "INC-404")
        assert not await refresh(ctx, measured.id)  # Prometheus has no such series: nothing
        assert await ctx.vitals.get(measured.id) is None
        answer_vitals(prometheus, p99=0.5)
        assert await refresh(ctx, measured.id)
        first = await ctx.vitals.get(measured.id)
        prometheus.rules.clear()  # the series vanish (or Prometheus is down)
        assert not await refresh(ctx, measured.id)
        assert await ctx.vitals.get(measured.id) == first  # the last reading stays
        await bot.services.triage.incidents.resolve(measured, "U0ALICE", "ok")
        answer_vitals(prometheus, p99=0.5)
        assert not await refresh(ctx, measured.id)  # resolved: left alone
