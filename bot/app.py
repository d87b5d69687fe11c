"""The composition root: one aiohttp application with Slack, the alert webhook and health.

Every resource lives in one ``cleanup_ctx`` generator (open, yield, close), stored under a typed
``web.AppKey``. Cleanup runs in reverse: background work drains before Redis and Slack close.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass

import aiohttp
from aiohttp import web
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_bolt.response import BoltResponse

from bot.composition import open_walk, rca_service
from bot.config import DEFAULT_REDIS_URL, Settings
from bot.errors import ConfigError
from bot.jobs import job_specs
from bot.jobs.context import JobContext
from bot.observability import BotMetrics, watch_loop_lag
from bot.scheduler import JobScheduler
from bot.selfcheck import startup_gate, watch_dependencies
from bot.slack.client import build_web_client
from bot.slack.mirrors import MirroredOutbound
from bot.slack.outbound import SlackOutbound
from bot.slack.pacing import ChannelPacer
from bot.slack.responders_out import SlackResponders
from bot.store.access import AccessStore
from bot.store.cards import CardStore
from bot.store.channels import IncidentChannelStore
from bot.store.connection import Redis, connect_redis, redis_ping
from bot.store.keys import Keys
from bot.store.leases import LeaseStore
from bot.store.silences import SilenceStore
from bot.store.vitals import VitalsStore
from bot.tasks import TaskSupervisor
from bot.triage.cards import CardKeeper
from bot.triage.channels import IncidentChannels
from bot.triage.incidents import IncidentService
from bot.triage.intake import AlertIntake
from bot.triage.people import People
from bot.triage.responders import Silencer
from bot.triage.service import TriageService
from bot.triage.uploads import ProfileUploads
from bot.triage.walk import Walk
from handlers import actions, alerts, commands, events, files, health, silence, views
from handlers import rca as rca_handlers
from handlers import walk as walk_handlers
from handlers.guard import Guard, other_workspace_middleware, slack_group_fetch
from handlers.replies import ResponseUrls
from handlers.services import Services
from handlers.slack_http import SlackRoute, request_kind, slack_route

log = logging.getLogger(__name__)



@dataclass(frozen=True)
class Runtime:
    """Options of this process, as opposed to the team's configuration."""

    socket_mode: bool = False
    drain_seconds: float = 20.0
    redis: Redis | None = None
    channel_interval_s: float = 1.0
    step_timeout_s: float = 120.0
    profile_seconds: int | None = None
    scheduler: bool = True


SETTINGS = web.AppKey("settings", Settings)
RUNTIME = web.AppKey("runtime", Runtime)
METRICS = web.AppKey("metrics", BotMetrics)
REDIS = web.AppKey("redis", Redis)
TASKS = web.AppKey("tasks", TaskSupervisor)
SERVICES = web.AppKey("services", Services)
BOLT = web.AppKey("bolt", AsyncApp)
WALK = web.AppKey("walk", Walk)
ALERT_RECEIVER: web.AppKey[alerts.Receiver] = web.AppKey("alert_receiver")
SCHEDULER = web.AppKey("scheduler", JobScheduler)
JOB_CONTEXT = web.AppKey("job_context", JobContext)
OUTBOUND = web.AppKey("outbound", SlackOutbound)
SLACK_ROUTE: web.AppKey[SlackRoute | None] = web.AppKey("slack_route")


def create_app(settings: Settings, runtime: Runtime | None = None) -> web.Application:
    """Build the application; resources open on startup and close on cleanup."""
    runtime = runtime or Runtime()
    _check_slack_settings(settings, runtime)
    if settings.file.access is None:
        log.warning("no `access` block in the configuration: everyone in a channel with the "
                    "bot may act on incidents and take profiles")
    app = web.Application(client_max_size=settings.file.alerts.max_body_bytes + 1024)
    app[SETTINGS] = settings
    app[RUNTIME] = runtime
    app[METRICS] = BotMetrics()
    app.cleanup_ctx.extend([_redis_ctx, _selfcheck_ctx, _tasks_ctx, _loop_lag_ctx, _walk_ctx,
                            _slack_ctx, _scheduler_ctx])
    app.on_startup.append(_freeze_startup_objects)

    async def ready() -> bool:
        return await redis_ping(app[REDIS])

    app.add_routes(health.routes(ready, app[METRICS], lambda: app[TASKS]))
    app.router.add_post("/slack/events", _slack_events)
    app.router.add_post("/alerts/alertmanager", _alertmanager)
    return app


def _check_slack_settings(settings: Settings, runtime: Runtime) -> None:
    missing = [] if settings.slack_bot_token else ["SLACK_BOT_TOKEN"]
    if runtime.socket_mode:
        missing += [] if settings.slack_app_token else ["SLACK_APP_TOKEN"]
    elif not settings.slack_signing_secret:
        missing.append("SLACK_SIGNING_SECRET")
    if missing:
        raise ConfigError(f"missing environment variable(s): {', '.join(missing)}")


async def _freeze_startup_objects(_: web.Application) -> None:
    """Move everything loaded at start out of the collector's sight.

    Slack, aiohttp, pydantic and matplotlib leave a large, permanent object graph; full
    collections kept walking it, in pauses the loop-lag gauge showed under load.
    """
    gc.collect()
    gc.freeze()


async def _redis_ctx(app: web.Application) -> AsyncIterator[None]:
    given = app[RUNTIME].redis
    client = given or connect_redis(app[SETTINGS].redis_url or DEFAULT_REDIS_URL)
    app[REDIS] = client
    yield
    if given is None:
        await client.aclose()


async def _selfcheck_ctx(app: web.Application) -> AsyncIterator[None]:
    """Refuse to start half-configured (bot/selfcheck.py); then log Redis and the backends
    coming up, while the server already answers /healthz."""
    settings = app[SETTINGS]
    await startup_gate(settings)
    watch = asyncio.get_running_loop().create_task(watch_dependencies(
        settings, app[REDIS], settings.redis_url or DEFAULT_REDIS_URL), name="selfcheck")
    yield
    watch.cancel()
    with suppress(asyncio.CancelledError):
        await watch


async def _tasks_ctx(app: web.Application) -> AsyncIterator[None]:
    app[TASKS] = TaskSupervisor()
    yield
    cut = await app[TASKS].drain(app[RUNTIME].drain_seconds)
    if cut:
        log.warning("in-flight work cut short by shutdown", extra={"tasks": cut})


async def _loop_lag_ctx(app: web.Application) -> AsyncIterator[None]:
    task = asyncio.get_running_loop().create_task(watch_loop_lag(app[METRICS]), name="loop-lag")
    yield
    task.cancel()
    with suppress(asyncio.CancelledError):
        await task


async def _walk_ctx(app: web.Application) -> AsyncIterator[None]:
    settings, runtime = app[SETTINGS], app[RUNTIME]
    async with open_walk(settings, app[REDIS], Keys(settings.key_prefix),
                         profile_seconds=runtime.profile_seconds,
                         step_timeout_s=runtime.step_timeout_s) as walk:
        app[WALK] = walk
        yield


def build_triage(app: web.Application, outbound: MirroredOutbound) -> TriageService:
    """Every use case over this app's stores and walk, announcing through ``outbound``."""
    settings, walk = app[SETTINGS], app[WALK]
    keys = Keys(settings.key_prefix)
    incidents = IncidentService(walk.stores.incidents, settings.catalog,
                                settings.file.slack.default_channel)
    cards = CardKeeper(CardStore(app[REDIS], keys), outbound, settings.catalog, app[TASKS],
                       alertmanager_url=settings.backends.alertmanager)
    responders = SlackResponders(outbound, settings.file.slack.command)
    return TriageService(
        incidents=incidents, alert_states=walk.stores.alerts, walk=walk, cards=cards,
        intake=AlertIntake(incidents, walk.stores.alerts, settings.file.alerts.service_labels),
        rca=rca_service(walk, app[REDIS], keys),
        announcer=outbound, auto_metrics=settings.file.alerts.run_metrics_on_open,
        silencer=Silencer(walk.deps.sources, SilenceStore(app[REDIS], keys)),
        links=settings.file.links,
        people=People(settings.catalog, walk.stores.claims, walk.stores.incidents,
                      responders,
                      mention_on=settings.file.notify.mention_on,
                      status_channel=settings.file.slack.status_channel),
        uploads=ProfileUploads(walk, walk.deps.pprof),
        channels=IncidentChannels(cards, walk.stores.claims,
                                  IncidentChannelStore(app[REDIS], keys), responders,
                                  settings.catalog),
        incident_channels=settings.file.incident_channels)


async def _slack_ctx(app: web.Application) -> AsyncIterator[None]:
    settings, metrics = app[SETTINGS], app[METRICS]
    session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15))
    pacer = ChannelPacer(app[RUNTIME].channel_interval_s)
    client = build_web_client(settings.slack_bot_token, settings.slack_api_url, metrics, pacer)
    client.session = session
    outbound = MirroredOutbound(client, app[WALK].deps.executor, pacer)
    triage = build_triage(app, outbound)
    guard = Guard(settings, triage, AccessStore(app[REDIS], Keys(settings.key_prefix)),
                  slack_group_fetch(client), hold_s=app[RUNTIME].step_timeout_s + 60)
    services = Services(
        settings=settings, triage=triage, claims=app[WALK].stores.claims, tasks=app[TASKS],
        metrics=metrics, client=client, replies=ResponseUrls(session), guard=guard)
    app[ALERT_RECEIVER] = alerts.receiver(services)
    # The door (handlers/slack_http.py) verifies signatures before anything is parsed.
    bolt = AsyncApp(client=client, signing_secret=settings.slack_signing_secret or "",
                    request_verification_enabled=False, process_before_response=False)
    if settings.file.slack.team_id and app[RUNTIME].socket_mode:  # HTTP: refused at the door
        bolt.middleware(other_workspace_middleware(settings.file.slack.team_id))
    for module in (commands, actions, views, events, rca_handlers, walk_handlers, silence,
                   files):
        module.register(bolt, services)
    app[SERVICES], app[BOLT], app[OUTBOUND] = services, bolt, outbound
    secret = settings.slack_signing_secret
    app[SLACK_ROUTE] = (None if app[RUNTIME].socket_mode or not secret
                        else slack_route(bolt, secret, services.claims, metrics,
                                         team_id=settings.file.slack.team_id))
    socket = await _start_socket_mode(app, bolt, metrics)
    yield
    if socket is not None:
        await socket.close_async()  # type: ignore[no-untyped-call]
    await session.close()


async def _scheduler_ctx(app: web.Application) -> AsyncIterator[None]:
    """Compete for the scheduler's leader lease while the app runs; give it back on shutdown."""
    settings, services = app[SETTINGS], app[SERVICES]
    keys = Keys(settings.key_prefix)
    leases = LeaseStore(app[REDIS], keys)
    job_context = JobContext(settings=settings, triage=services.triage,
                             sources=app[WALK].deps.sources, outbound=app[OUTBOUND],
                             vitals=VitalsStore(app[REDIS], keys), leases=leases)
    scheduler = JobScheduler(leases, job_specs(settings.file.schedule),
                             lease_s=settings.file.schedule.lease, context=job_context)
    app[SCHEDULER], app[JOB_CONTEXT] = scheduler, job_context
    if not app[RUNTIME].scheduler:  # the demo tells one incident's story, without jobs
        yield
        return
    await scheduler.start()
    yield
    await scheduler.stop()


async def _start_socket_mode(
    app: web.Application, bolt: AsyncApp, metrics: BotMetrics
) -> AsyncSocketModeHandler | None:
    if not app[RUNTIME].socket_mode:
        return None

    async def measure_ack(
        body: dict[str, object], next: Callable[[], Awaitable[BoltResponse]]
    ) -> BoltResponse:
        started = time.perf_counter()
        try:
            return await next()
        finally:
            metrics.ack_latency.labels(request_kind(body)).observe(time.perf_counter() - started)

    bolt.middleware(measure_ack)
    handler = AsyncSocketModeHandler(bolt, app[SETTINGS].slack_app_token)
    await handler.connect_async()  # type: ignore[no-untyped-call]
    return handler


async def _slack_events(request: web.Request) -> web.StreamResponse:
    route = request.app[SLACK_ROUTE]
    if route is None:
        raise web.HTTPNotFound(text="this bot talks to Slack over Socket Mode")
    return await route(request)


async def _alertmanager(request: web.Request) -> web.StreamResponse:
    return await request.app[ALERT_RECEIVER](request)
