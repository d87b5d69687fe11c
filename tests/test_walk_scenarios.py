"""The whole walk on every scenario: a real Prometheus with the scenario's history, the
service stand-in for logs, traces and profiles, the bot over HTTP with the Slack stand-in.

The alert opens the incident and runs step 1; a responder clicks the other three steps; the
right playbook must lead and the scenario's decisive findings must be there.
"""

from __future__ import annotations

import math
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from bot.app import Runtime
from bot.models import Section, StepName, StepResult, StepStatus
from bot.triage.walk import merge_signals
from tests.support.bot_harness import BotHarness, populate, running_bot
from tests.support.scenario_prometheus import ScenarioPrometheus, scenario_prometheus
from triage_sim.service.scenarios import SCENARIOS, Scenario
from triage_sim.service.standin import ServiceStandIn
from triage_sim.slack.standin import SlackStandIn

__all__ = ["scenario_prometheus"]


@asynccontextmanager
async def scenario_bot(scenario: Scenario, prometheus: ScenarioPrometheus, redis_url: str,
                       key_prefix: str) -> AsyncIterator[tuple[BotHarness, ServiceStandIn]]:
    """The bot configured for the scenario's service, against its stand-ins."""
    clock = prometheus.clock(scenario.name)
    async with ServiceStandIn(scenario, clock, time_scale=0.0) as service, \
            SlackStandIn() as slack:
        populate(slack)
        slack.add_channel(scenario.channel, "shop-ops")
        entry = service.catalog_entry(scenario.channel).model_dump(exclude_none=True)
        overrides: dict[str, Any] = {
            "backends": {"prometheus": prometheus.url, "loki": service.base_url,
                         "jaeger": service.base_url, "timeout_seconds": 20},
            # No calm-period profiling of the stand-in while the walk profiles it.
            "schedule": {"digest_at": None, "profile_baseline_every": None},
            "services": [entry]}
        runtime = Runtime(channel_interval_s=0.01, drain_seconds=5, profile_seconds=1)
        async with running_bot(redis_url, key_prefix, slack=slack, runtime=runtime,
                               overrides=overrides) as bot:
            yield bot, service


async def walk_all_steps(bot: BotHarness, scenario: Scenario) -> dict[StepName, StepResult]:
    """Alert in, step 1 on its own, then the responder clicks logs, traces, profile."""
    clock_payload = scenario.alertmanager_payload(
        scenario.clock(bot.services.triage.walk.clock().timestamp()))
    assert (await bot.post_alert(clock_payload)).status == 200
    card = await bot.slack.wait_for_message(scenario.channel, timeout=20)
    await bot.idle(within=60)
    for step in ("logs", "traces", "profile"):
        latest = bot.slack.message(scenario.channel, card.ts)
        await bot.sender.click(scenario.channel, latest.ts, f"walk.step.{step}")
        await bot.idle(within=60)
    return await bot.services.triage.walk.stores.walk.results("INC-1")


def dump_signals(name: str, results: dict[StepName, StepResult]) -> None:
    """With TRIAGE_DUMP_SIGNALS=<dir>, keep the walk's merged signals for the accuracy bench.

    bench/diagnosis_accuracy.py ranks these (and variants of them): signals the real step code
    produced over the scenario's telemetry.
    """
    target = os.environ.get("TRIAGE_DUMP_SIGNALS")
    if not target:
        return
    merged = merge_signals(results[step].signals for step in StepName if step in results)
    os.makedirs(target, exist_ok=True)
    with open(os.path.join(target, f"{name}.json"), "w", encoding="utf-8") as out:
        out.write(merged.model_dump_json(indent=1) + "\n")


def _in_range(value: float | None, bounds: tuple[float | None, float | None]) -> bool:
    low, high = bounds
    return value is not None and math.isfinite(value) and (low is None or value >= low) and (
        high is None or value <= high)


def _all_text(result: StepResult) -> str:
    return "\n".join(f"{f.title}\n{f.summary}\n" + "\n".join(
        f"{e.label}: {e.value}" for e in f.evidence) + "\n".join(f.hints)
        for f in result.findings)


@pytest.mark.parametrize("name", list(SCENARIOS))
async def test_walk_finds_the_scenario(name: str, scenario_prometheus: ScenarioPrometheus,
                                       redis_url: str, key_prefix: str) -> None:
    scenario = SCENARIOS[name]
    async with scenario_bot(scenario, scenario_prometheus, redis_url, key_prefix) as (bot, _):
        results = await walk_all_steps(bot, scenario)
        diagnosis = await bot.services.triage.walk.stores.walk.diagnosis("INC-1")
        incident = await bot.services.triage.incidents.store.get("INC-1")
        assert incident is not None
        rca = await bot.services.triage.rca.current(incident)
        thread = bot.slack.thread(scenario.channel, bot.slack.messages(scenario.channel)[0].ts)
    assert {s: r.status for s, r in results.items()} == {s: StepStatus.DONE for s in StepName}, \
        {s: r.error for s, r in results.items()}
    assert diagnosis is not None and diagnosis.leader is not None
    assert diagnosis.leader.playbook == scenario.playbook, diagnosis.candidates[:3]
    assert diagnosis.leader.cause == scenario.cause, diagnosis.candidates[:3]
    assert diagnosis.verdict == "leading", diagnosis.reasons
    dump_signals(name, results)
    numbers = {k: v for r in results.values() for k, v in r.signals.numbers.items()}
    for signal, bounds in {**scenario.expect.numbers, **scenario.expect.discovered}.items():
        assert _in_range(numbers.get(signal), bounds), (signal, numbers.get(signal), bounds)
    # The decisive log lines are shown as examples, or counted under a playbook's category
    # (the examples are only the newest few lines of each, so which appear varies with time).
    logs_text = _all_text(results[StepName.LOGS])
    shown = [line for line in scenario.expect.log_lines if line in logs_text]
    patterns = bot.services.triage.walk.playbooks.log_patterns()
    counts = results[StepName.LOGS].signals.log_patterns
    counted = [line for line in scenario.expect.log_lines
               if any(counts.get(category, 0) > 0 for category, regexes in patterns.items()
                      if any(r.search(line) for r in regexes))]
    assert shown or counted or not scenario.expect.log_lines, (scenario.expect.log_lines, counts)
    traces = results[StepName.TRACES].signals.span_categories
    if scenario.expect.span_category:
        assert max(traces, key=lambda c: traces[c]) == scenario.expect.span_category, traces
    profile = results[StepName.PROFILE].signals
    if profile.frames_kind == "cpu" and scenario.expect.cpu_frame:
        top = max(profile.frames, key=lambda f: f.flat)
        assert top.function == scenario.expect.cpu_frame
        assert top.under_worker is scenario.expect.under_worker
    if profile.frames_kind == "heap_diff" and scenario.expect.heap_frame:
        assert scenario.expect.heap_frame in _all_text(results[StepName.PROFILE])
    assert profile.frames_kind == ("heap_diff" if scenario.expect.heap_frame else "cpu")
    if scenario.expect.own_frame:
        assert scenario.expect.own_frame in _all_text(results[StepName.PROFILE])
    if scenario.cause:
        assert any(f.key == f"{scenario.playbook}/{scenario.cause}.reproduce"
                   for f in results[StepName.PROFILE].findings)
    assert any(m.files for m in thread), "charts were uploaded to the thread"
    # The RCA drafted from this evidence names the scenario's cause and cites its numbers.
    playbook = bot.services.triage.walk.playbooks.get(scenario.playbook)
    assert playbook is not None and rca.playbook == scenario.playbook
    root = rca.text(Section.ROOT_CAUSE)
    assert f"Most likely: {playbook.title}" in root
    assert any(cause in root for cause in playbook.rca.root_causes)
    if scenario.cause:
        assert "Reproduce locally:" in root
    assert rca.citations and "[1]" in rca.text(Section.SYMPTOM)
