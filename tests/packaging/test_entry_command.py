"""The image's commands, run outside a container exactly as compose runs them inside.

The bot: the Dockerfile's CMD with compose's environment for the `triage-bot` service and the
image's ENV, paths mapped from the container to the repository (the compose mounts), against a
throwaway redis-server and the Slack stand-in; it must answer /healthz (and the image's
HEALTHCHECK command must say so), accept Alertmanager's webhook only with the token compose
hands both sides, post the card, and exit 0 on SIGTERM. The stand-in: compose's `checkout`
command, answering its health URL and serving /metrics for Prometheus to scrape.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.cli import build_parser
from bot.cli.sim import add_sim_commands
from tests.conftest import ROOT
from tests.packaging import compose, dockerfile
from tests.support.redis_server import RedisServer, free_port
from triage_sim.service.scenarios import get
from triage_sim.slack.standin import SlackStandIn

STARTUP_S = 45.0
#: Where the container's paths are in the repository (the image's COPY and compose's mounts).
CONTAINER_PATHS = {"/config/triage.yaml": ROOT / "deploy" / "triage.yaml"}
DOT_ENV = {"SLACK_BOT_TOKEN": "xoxb-test-token", "SLACK_SIGNING_SECRET": "test-signing-secret",
           "TRIAGE_ALERT_TOKEN": "test-alert-token"}
#: Variables of this shell that would leak into the bot and change what is tested.
_LEAKS = ("SLACK_", "TRIAGE_", "REDIS_URL", "PROMETHEUS_URL", "LOKI_URL", "JAEGER_URL",
          "TEMPO_URL")


def _final_stage(service: str = "triage-bot") -> list[dockerfile.Instruction]:
    """The final stage of the Dockerfile compose builds the service's image from."""
    build = _service(service)["build"]
    return dockerfile.final_stage(dockerfile.parse(ROOT / build["context"] / build["dockerfile"]))


def _service(name: str) -> dict[str, Any]:
    service: dict[str, Any] = compose.load(ROOT / "docker-compose.yml")["services"][name]
    return service


def container_env(service: str, tmp: Path, **overrides: str) -> dict[str, str]:
    """The environment the service's container gets: image ENV, then compose's, paths mapped."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(_LEAKS)}
    image = {k: v for k, v in dockerfile.env_vars(_final_stage(service)).items() if k != "PATH"}
    declared = compose.interpolate_tree(compose.environment(_service(service)), DOT_ENV)
    merged = {**image, **declared}
    for key, value in merged.items():
        if value in CONTAINER_PATHS:
            merged[key] = str(CONTAINER_PATHS[value])
        elif value.startswith("/tmp/"):
            merged[key] = str(tmp / value.removeprefix("/tmp/"))
    return {**base, **merged, "PYTHONPATH": str(ROOT), **overrides}


def local_argv(argv: list[str], port: int) -> list[str]:
    """``argv`` on this machine: loopback and a free port, the console script from this venv."""
    out = list(argv)
    out[out.index("--host") + 1] = "127.0.0.1"
    out[out.index("--port") + 1] = str(port)
    script = Path(sys.executable).parent / "triage-bot"
    return [str(script), *out[1:]] if script.exists() else [sys.executable, "-m", "bot.cli",
                                                             *out[1:]]


@asynccontextmanager
async def process(argv: list[str], env: Mapping[str, str], log: Path
                  ) -> AsyncIterator[asyncio.subprocess.Process]:
    """A child process writing to ``log``; killed if the test leaves it running."""
    with log.open("wb") as out:
        child = await asyncio.create_subprocess_exec(*argv, env=dict(env), cwd=log.parent,
                                                     stdout=out, stderr=asyncio.subprocess.STDOUT)
    try:
        yield child
    finally:
        if child.returncode is None:
            child.kill()
            await child.wait()


async def wait_for_200(session: aiohttp.ClientSession, url: str,
                       child: asyncio.subprocess.Process, log: Path) -> None:
    """Poll ``url`` until it answers 200; fail if the process dies or the deadline passes."""
    deadline = asyncio.get_running_loop().time() + STARTUP_S
    while True:
        try:
            async with session.get(url) as answer:
                if answer.status == 200:
                    return
        except aiohttp.ClientConnectionError:
            pass
        if child.returncode is not None or asyncio.get_running_loop().time() > deadline:
            pytest.fail(f"{url} never answered 200 (exit {child.returncode}):\n{tail(log)}")
        await asyncio.sleep(0.05)


async def wait_until_idle(session: aiohttp.ClientSession, base: str,
                          child: asyncio.subprocess.Process, log: Path) -> None:
    """Poll the bot's /metrics until no background task is in flight."""
    deadline = asyncio.get_running_loop().time() + STARTUP_S
    while True:
        async with session.get(f"{base}/metrics") as answer:
            text = await answer.text()
        if re.search(r"^triage_tasks_in_flight 0(\.0)?$", text, re.MULTILINE):
            return
        if child.returncode is not None or asyncio.get_running_loop().time() > deadline:
            pytest.fail(f"the bot never went idle:\n{tail(log)}")
        await asyncio.sleep(0.05)


def tail(log: Path) -> str:
    """The end of a child's output, for a failure message."""
    return log.read_text(errors="replace")[-4000:]


def unstructured_tracebacks(output: str) -> list[str]:
    """Lines outside the bot's JSON log records that belong to a traceback: an exception
    nobody caught (logged exceptions are fields of a JSON record)."""
    stray: list[str] = []
    for line in output.splitlines():
        try:
            json.loads(line)
        except ValueError:
            stray.append(line)
    return [line for line in stray if "Traceback" in line or "Error" in line]


async def healthcheck(env: Mapping[str, str], service: str = "triage-bot") -> int:
    """Run the service's image's HEALTHCHECK command; its exit code."""
    [health] = [i for i in _final_stage(service) if i.keyword == "HEALTHCHECK"]
    argv = health.exec_form()
    argv[0] = sys.executable if argv[0] == "python" else argv[0]
    child = await asyncio.create_subprocess_exec(*argv, env=dict(env),
                                                 stdout=asyncio.subprocess.DEVNULL,
                                                 stderr=asyncio.subprocess.DEVNULL)
    return await asyncio.wait_for(child.wait(), 30)


async def test_entry_command_serves_alerts_and_stops_cleanly(tmp_path: Path) -> None:
    [cmd] = [i for i in _final_stage() if i.keyword == "CMD"]
    service = _service("triage-bot")
    assert compose.argv(compose.interpolate(service["command"], {})) == cmd.exec_form()
    port, closed = free_port(), free_port()
    redis = RedisServer(appendonly=True)
    redis.start()
    try:
        async with SlackStandIn() as slack, aiohttp.ClientSession() as session:
            scenario = get("memory-growth")
            slack.add_channel(scenario.channel, "shop-ops")
            nowhere = f"http://127.0.0.1:{closed}"  # no DNS for compose's host names here
            env = container_env("triage-bot", tmp_path, REDIS_URL=redis.url,
                                SLACK_API_URL=slack.api_url, PROMETHEUS_URL=nowhere,
                                LOKI_URL=nowhere, TEMPO_URL=nowhere)
            log = tmp_path / "bot.log"
            async with process(local_argv(cmd.exec_form(), port), env, log) as bot:
                base = f"http://127.0.0.1:{port}"
                await wait_for_200(session, f"{base}/healthz", bot, log)
                for path in ("/readyz", "/metrics"):
                    async with session.get(base + path) as answer:
                        assert answer.status == 200, path
                probe = {**env, "TRIAGE_HEALTH_URL": f"{base}/healthz"}
                assert await healthcheck(probe) == 0
                assert await healthcheck({**probe, "TRIAGE_HEALTH_URL": nowhere}) != 0
                payload = scenario.alertmanager_payload(scenario.clock())
                url = f"{base}/alerts/alertmanager"
                async with session.post(url, json=payload) as answer:
                    assert answer.status == 401
                token = {"Authorization": f"Bearer {DOT_ENV['TRIAGE_ALERT_TOKEN']}"}
                async with session.post(url, json=payload, headers=token) as answer:
                    assert answer.status in (200, 201, 202), await answer.text()
                card = await slack.wait_for_message(scenario.channel, timeout=20)
                assert scenario.service.name in card.text.lower()
                # Step 1 starts on its own and fails plainly (no Prometheus): wait for its word
                # in the thread and for the bot to go idle, then stop it.
                await slack.wait_for_message(scenario.channel, timeout=20,
                                             where=lambda m: m.thread_ts == card.ts)
                await wait_until_idle(session, base, bot, log)
                bot.send_signal(signal.SIGTERM)
                code = await asyncio.wait_for(bot.wait(), 40)
            assert code == 0, tail(log)
            assert not unstructured_tracebacks(log.read_text(errors="replace")), tail(log)
    finally:
        redis.cleanup()


def test_standin_command_parses() -> None:
    argv = compose.argv(_service("checkout")["command"])
    assert argv[:3] == ["triage-bot", "sim", "serve"]
    parser = argparse.ArgumentParser(prog="triage-bot")
    add_sim_commands(parser.add_subparsers())
    args = parser.parse_args(argv[1:])
    assert get(args.scenario).name == args.scenario and args.host == "0.0.0.0"
    assert build_parser().parse_args(argv[1:]).scenario == args.scenario
    [cmd] = [i for i in _final_stage("checkout") if i.keyword == "CMD"]
    assert cmd.exec_form() == argv, "the stand-in image's own CMD is compose's command"


async def test_standin_command_serves_metrics_and_health(tmp_path: Path) -> None:
    service = _service("checkout")
    argv = compose.argv(service["command"])
    port = free_port()
    env = container_env("checkout", tmp_path)
    health = env["TRIAGE_HEALTH_URL"].replace(":9000/", f":{port}/")
    log = tmp_path / "standin.log"
    async with process(local_argv(argv, port), env, log) as standin, \
            aiohttp.ClientSession() as session:
        await wait_for_200(session, health, standin, log)
        assert await healthcheck({**env, "TRIAGE_HEALTH_URL": health}, "checkout") == 0
        async with session.get(f"http://127.0.0.1:{port}/metrics") as answer:
            assert answer.status == 200
            assert "process_resident_memory_bytes" in await answer.text()
        # compose runs it with init: true, which passes SIGTERM on; it must end promptly.
        standin.send_signal(signal.SIGTERM)
        await asyncio.wait_for(standin.wait(), 20)
    assert service["init"] is True
