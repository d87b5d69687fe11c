"""``triage-bot demo``: one whole incident, on this machine alone.

No Slack workspace, no Redis server, no Prometheus: the Slack stand-in plays Slack, an
embedded Redis (fakeredis, the same redis.asyncio code path) keeps the state unless REDIS_URL
is set, the service stand-in plays the misbehaving service, and Prometheus's answers are
replayed from recordings made against a real Prometheus (``triage-bot sim record``). An alert
arrives, the card is posted, a responder walks metrics → logs → traces → profile, the RCA is
drafted and exported; the channel is written out as HTML with its charts, and printed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from bot.app import SERVICES, TASKS, Runtime, create_app
from bot.config import Settings, settings_from_mapping
from bot.errors import InputError
from bot.models import StepName
from bot.store.connection import Redis, connect_redis
from triage_sim.export.channel import ExportResult, channel_transcript, export_channel
from triage_sim.memory_redis import in_memory_redis
from triage_sim.replay.prom_replay import Recording, ReplayServer, recording_path
from triage_sim.service.scenarios import Scenario, get
from triage_sim.service.standin import ServiceStandIn
from triage_sim.slack.sender import SlackSender
from triage_sim.slack.standin import SlackStandIn

SECRET = "demo-signing-secret"
ALERT_TOKEN = "demo-alert-token"
RESPONDER = ("U0ALICE", "alice", "Alice (on call)")
STEP_WAIT_S = 90.0
Echo = Callable[[str], None]


@dataclass(frozen=True)
class DemoResult:
    """What the demo wrote and how long it took."""

    scenario: str
    out_dir: Path
    export: ExportResult
    rca_path: Path
    transcript: str
    seconds: float
    leader: str | None
    replay_misses: tuple[str, ...] = ()


def demo_settings(scenario: Scenario, slack: SlackStandIn, prometheus: str,
                  service: ServiceStandIn) -> Settings:
    """The configuration the demo's bot runs with (everything local)."""
    entry = service.catalog_entry(scenario.channel).model_dump(exclude_none=True)
    raw: dict[str, Any] = {
        "backends": {"prometheus": prometheus, "loki": service.base_url,
                     "jaeger": service.base_url, "timeout_seconds": 20},
        "slack": {"default_channel": scenario.channel},
        "redis": {"key_prefix": f"demo-{scenario.name}"},
        "schedule": {"digest_at": None},
        "services": [entry],
    }
    env = {"SLACK_BOT_TOKEN": "xoxb-test-token", "SLACK_SIGNING_SECRET": SECRET,
           "SLACK_API_URL": slack.api_url, "TRIAGE_ALERT_TOKEN": ALERT_TOKEN}
    return settings_from_mapping(raw, env, source="<demo>")


def embedded_redis(url: str | None) -> Redis:
    """REDIS_URL when given, else an in-process Redis behind the same client class."""
    if url:
        return connect_redis(url)
    return in_memory_redis()


@asynccontextmanager
async def _served(app: web.Application) -> AsyncIterator[str]:
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


class Demo:
    """The incident, played step by step through the bot's HTTP endpoints."""

    def __init__(self, scenario: Scenario, echo: Echo) -> None:
        self.scenario = scenario
        self.echo = echo
        self.started = time.perf_counter()

    def say(self, text: str) -> None:
        """Progress, with the seconds since the start."""
        self.echo(f"[{time.perf_counter() - self.started:5.1f}s] {text}")

    async def run(self, out_dir: Path, redis_url: str | None) -> DemoResult:
        """Play the whole incident; write the outputs into ``out_dir``."""
        scenario = self.scenario
        try:
            recording = Recording.load(recording_path(scenario.name))
        except FileNotFoundError:
            raise InputError(f"no recording for {scenario.name}: run `triage-bot sim record "
                             f"--scenario {scenario.name}` where Prometheus is installed") from None
        clock = scenario.clock()
        async with AsyncExitStack() as stack:
            slack = await stack.enter_async_context(SlackStandIn())
            slack.add_channel(scenario.channel, "shop-ops")
            slack.add_user(*RESPONDER)
            service = await stack.enter_async_context(
                ServiceStandIn(scenario, clock, time_scale=0.0))
            replay = await ReplayServer(recording, clock.anchor).start()
            stack.push_async_callback(replay.stop)
            self.say(f"scenario {scenario.name}: {scenario.title}")
            settings = demo_settings(scenario, slack, replay.base_url, service)
            redis = embedded_redis(redis_url)
            stack.push_async_callback(redis.aclose)
            app = create_app(settings, Runtime(redis=redis, channel_interval_s=0.05,
                                               profile_seconds=1, scheduler=False))
            base = await stack.enter_async_context(_served(app))
            sender = await stack.enter_async_context(SlackSender(
                slack, url=f"{base}/slack/events", signing_secret=SECRET, user_id=RESPONDER[0]))
            leader = await self._incident(app, slack, sender, base, clock)
            rca = await self._rca(app, slack, sender)
            return await self._write(slack, out_dir, rca, leader, replay.misses)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _incident(self, app: web.Application, slack: SlackStandIn, sender: SlackSender,
                        base: str, clock: Any) -> str | None:
        scenario = self.scenario
        async with aiohttp.ClientSession() as http, http.post(
                f"{base}/alerts/alertmanager", json=scenario.alertmanager_payload(clock),
                headers={"Authorization": f"Bearer {ALERT_TOKEN}"}) as answer:
            if answer.status != 200:
                raise InputError(f"the bot refused the alert: {answer.status}")
        self.say(f"Alertmanager: {scenario.alert.alertname} fired for {scenario.service.name}")
        card = await slack.wait_for_message(scenario.channel, timeout=30)
        self.say("card posted; step 1 (metrics) runs on its own")
        await self._settle(app)
        for step in (StepName.LOGS, StepName.TRACES, StepName.PROFILE):
            self.say(f"{RESPONDER[1]} clicks {step.value}")
            await sender.click(scenario.channel, card.ts, f"walk.step.{step.value}")
            await self._settle(app)
        diagnosis = await app[SERVICES].triage.walk.stores.walk.diagnosis("INC-1")
        leader = diagnosis.leader if diagnosis else None
        if leader is not None:
            self.say(f"leading candidate: {leader.title} (score {leader.score:g})")
        return leader.playbook if leader else None

    async def _rca(self, app: web.Application, slack: SlackStandIn, sender: SlackSender) -> str:
        channel = self.scenario.channel
        card = slack.messages(channel, include_replies=False)[0]
        await sender.click(channel, card.ts, "walk.rca")
        view = await slack.wait_for(
            lambda: next((v for v in slack.views() if v.updates), None), timeout=30,
            what="the RCA form")
        if view is None:
            raise InputError("the RCA form never opened")
        self.say("Draft RCA: the form opened at once and was filled from the evidence")
        await sender.submit_view(view.id)
        await sender.slash_command("/triage", "rca export INC-1", channel_id=channel)
        await self._settle(app)
        self.say("RCA saved and exported to the thread as Markdown")
        services = app[SERVICES]
        incident = await services.triage.get("INC-1")
        if incident is None:
            raise InputError("the demo's incident vanished")
        return await services.triage.rca.markdown(incident)

    async def _settle(self, app: web.Application) -> None:
        if not await app[TASKS].wait_idle(STEP_WAIT_S):
            raise InputError(f"the bot was still busy after {STEP_WAIT_S:g} s")

    async def _write(self, slack: SlackStandIn, out_dir: Path, rca: str, leader: str | None,
                     misses: list[str]) -> DemoResult:
        # File writes: off the loop, like every other blocking call.
        export = await asyncio.to_thread(
            export_channel, slack, [self.scenario.channel], out_dir,
            title=f"triage-bot demo: {self.scenario.title}",
            extra_files={"rca.md": rca.encode()})
        rca_path = next(p for p in export.extra if p.name == "rca.md")
        if misses:
            self.say(f"warning: {len(misses)} Prometheus queries were not in the recording "
                     "(run `triage-bot sim record`)")
        return DemoResult(self.scenario.name, out_dir, export, rca_path,
                          channel_transcript(slack, self.scenario.channel),
                          time.perf_counter() - self.started, leader, tuple(misses))


async def run_demo(scenario_name: str, out_dir: Path, *, redis_url: str | None = None,
                   echo: Echo = print) -> DemoResult:
    """Play ``scenario_name`` and write the outputs into ``out_dir``."""
    return await Demo(get(scenario_name), echo).run(out_dir, redis_url)
