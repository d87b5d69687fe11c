"""The profile-baseline job: calm services' CPU profiles kept in Redis, used by the walk."""

from __future__ import annotations

from typing import Any

from bot.app import JOB_CONTEXT, Runtime
from bot.jobs.profile_baseline import calm_services, refresh
from bot.triage.baseline import MIN_PROFILES
from tests.jobs.conftest import open_incident, schedule
from tests.support.bot_harness import running_bot
from triage_sim.service.scenarios import get
from triage_sim.service.standin import ServiceStandIn


async def test_calm_profiles_build_a_baseline_the_walk_then_uses(
        redis_url: str, key_prefix: str) -> None:
    scenario = get("cpu-spike")
    async with ServiceStandIn(scenario, scenario.clock(), time_scale=0.0) as service:
        entry = service.catalog_entry("C0SEARCH").model_dump(mode="json", exclude_none=True)
        overrides: dict[str, Any] = {"schedule": schedule(), "services": [entry]}
        async with running_bot(redis_url, key_prefix, overrides=overrides,
                               runtime=Runtime(channel_interval_s=0.01, drain_seconds=5,
                                               scheduler=False)) as bot:
            ctx = bot.app[JOB_CONTEXT]
            walk = bot.services.triage.walk
            assert await calm_services(ctx) == ["search"]
            assert await walk.baseline("search") is None
            for _ in range(MIN_PROFILES):
                baseline = await refresh(ctx, "search", seconds=1)
            assert baseline is not None and baseline.profiles == MIN_PROFILES
            frames = await walk.baseline("search")
            assert frames is not None and frames == baseline.frames
            assert any(f.function == "core::fmt::write" for f in frames)
            assert any(f.owner and "search::" in f.owner for f in frames), frames[:8]
            await open_incident(bot.services, "search")
            assert await calm_services(ctx) == []
            assert await refresh(ctx, "nowhere") is None
