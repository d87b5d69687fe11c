"""``triage-bot triage <service>``: the walk in a terminal against real backends."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest
import redis.asyncio as aioredis
import yaml

from bot.cli import triage as triage_command
from bot.errors import InputError
from tests.conftest import ROOT
from tests.support.redis_server import free_port
from tests.support.scenario_prometheus import ScenarioPrometheus, scenario_prometheus
from triage_sim.service.scenarios import SCENARIOS
from triage_sim.service.standin import ServiceStandIn

__all__ = ["scenario_prometheus"]


async def test_terminal_walk_prints_findings_ranking_and_rca(
    scenario_prometheus: ScenarioPrometheus, tmp_path: Path, redis_url: str,
    redis_client: aioredis.Redis, key_prefix: str
) -> None:
    scenario = SCENARIOS["memory-growth"]
    clock = scenario_prometheus.clock(scenario.name)
    async with ServiceStandIn(scenario, clock, time_scale=0.0) as service:
        config = tmp_path / "triage.yaml"
        config.write_text(yaml.safe_dump({
            "backends": {"prometheus": scenario_prometheus.url, "loki": service.base_url,
                         "jaeger": service.base_url},
            "redis": {"key_prefix": key_prefix},
            "services": [service.catalog_entry().model_dump(exclude_none=True)]}))
        child = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "triage", scenario.service.name, "--since", "90m",
            "--config", str(config), "--profile-seconds", "1", cwd=ROOT,
            env={**os.environ, "REDIS_URL": redis_url},
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(child.communicate(), timeout=120)
    text = out.decode()
    assert child.returncode == 0, err.decode()[-2000:]
    for step in ("metrics", "logs", "traces", "profile"):
        assert f"== {step} · done" in text, text[-3000:]
    assert "RSS" in text and "limit reached in" in text
    assert "1. Memory growth" in text
    assert "# RCA INC-1: terminal triage of checkout" in text
    assert "## Root cause" in text and "Most likely: Memory growth" in text
    # The real Redis was used (no fallback) and the walk's throwaway keys are gone.
    assert "in-memory" not in err.decode()
    assert [k async for k in redis_client.scan_iter(match=f"{key_prefix}*")] == []


def test_unknown_service_is_refused(tmp_path: Path) -> None:
    import subprocess

    config = tmp_path / "triage.yaml"
    config.write_text(yaml.safe_dump({"services": [{"name": "checkout"}]}))
    done = subprocess.run([sys.executable, "-m", "bot.cli", "triage", "nosuch", "--config",
                           str(config)], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          check=False)
    assert done.returncode == 2
    assert "unknown service 'nosuch'; the catalog has: checkout" in done.stderr


async def test_no_redis_falls_back_to_the_demo_extras_in_memory_redis(
        capsys: pytest.CaptureFixture[str]) -> None:
    url = f"redis://:secret@127.0.0.1:{free_port()}/0"
    redis = await triage_command.walk_redis(url)
    try:
        assert type(redis).__module__.startswith("fakeredis")
        assert await redis.ping()
    finally:
        await redis.aclose()
    err = capsys.readouterr().err
    assert "no Redis answers at redis://:***@127.0.0.1:" in err and "in-memory" in err
    assert "secret" not in err


async def test_no_redis_and_no_demo_extra_says_what_to_do(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(triage_command, "in_memory_redis_or_none", lambda: None)
    url = f"redis://127.0.0.1:{free_port()}/0"
    with pytest.raises(InputError) as refused:
        await triage_command.walk_redis(url)
    message = str(refused.value)
    assert f"no Redis answers at {url}" in message
    assert "REDIS_URL" in message and "pip install 'triage-bot[demo]'" in message


async def _terminal_triage(config: Path, redis_url: str) -> tuple[int, str, str]:
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "triage", "checkout", "--config", str(config),
        "--profile-seconds", "1", cwd=ROOT, env={**os.environ, "REDIS_URL": redis_url},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(child.communicate(), timeout=120)
    assert child.returncode is not None
    return child.returncode, out.decode(), err.decode()


def _catalog(tmp_path: Path, key_prefix: str, prometheus: str, other: str) -> Path:
    config = tmp_path / "triage.yaml"
    config.write_text(yaml.safe_dump({
        "backends": {"prometheus": prometheus, "loki": "http://loki.invalid:3100",
                     "jaeger": other, "timeout_seconds": 5},
        "redis": {"key_prefix": key_prefix},
        "services": [{"name": "checkout", "prometheus": {"job": "checkout"},
                      "loki": {"app": "checkout"}, "traces": "checkout", "pprof": other}]}))
    return config


async def test_every_backend_down_fails_each_step_with_its_cause_and_exits_1(
        tmp_path: Path, redis_url: str, key_prefix: str) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    config = _catalog(tmp_path, key_prefix, closed, closed)
    code, text, err = await _terminal_triage(config, redis_url)
    assert code == 1, text + err
    where = closed.removeprefix("http://")
    assert f"== metrics · failed\n  prometheus: cannot connect to {where}: Connection refused" \
        in text
    assert "== logs · failed\n  loki: cannot resolve loki.invalid: " in text
    assert f"== traces · failed\n  jaeger: cannot connect to {where}: Connection refused" in text
    assert f"== profile · failed\n  pprof: checkout /debug/pprof/profile: cannot connect to " \
           f"{where}: Connection refused" in text
    assert "== no step produced evidence: nothing to rank" in text
    assert "candidate failure patterns" not in text and "Most likely" not in text
    assert f"Step 1 (metrics) failed: prometheus: cannot connect to {where}: Connection " \
           "refused. No measured symptom." in text
    assert "has not run" not in text
    assert "Not checked: the logs step failed (loki: cannot resolve loki.invalid" in text
    assert err.strip().endswith("triage-bot triage: no step produced evidence")


async def test_a_prometheus_answer_of_the_wrong_shape_fails_the_step(
        tmp_path: Path, redis_url: str, key_prefix: str) -> None:
    from aiohttp import web

    async def wrong_shape(_: web.Request) -> web.Response:
        return web.json_response({"status": "success",
                                  "data": {"resultType": "matrix", "result": {"not": "a list"}}})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", wrong_shape)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        config = _catalog(tmp_path, key_prefix, f"http://127.0.0.1:{port}",
                          f"http://127.0.0.1:{free_port()}")
        code, text, err = await _terminal_triage(config, redis_url)
    finally:
        await runner.cleanup()
    assert code == 1, text + err
    assert "== metrics · failed\n  prometheus: " in text, text[:2000]
    assert "== metrics · done" not in text
