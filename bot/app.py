"""The composition root: one aiohttp application with Slack, the alert webhook and health.

Every resource lives in one ``cleanup_ctx`` generator (open, yield, close), stored under a typed
``web.AppKey``. Cleanup runs in reverse: background work drains before Redis and Slack close.

:func:`serve` runs it until SIGTERM/SIGINT, then stops gracefully within the drain time: stop
listening, answer every request already begun (aiohttp's own shutdown drops the rest of a body
still arriving, so those requests were never answered), finish the outbox batch and the
background work in hand, close.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass, field

import aiohttp
from aiohttp import web
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_bolt.response import BoltResponse

from bot.composition import open_walk, rca_service
from bot.config import DEFAULT_REDIS_URL, Settings
from bot.errors import ConfigError, StoreError
from bot.jobs import job_specs
from bot.jobs.context import JobContext
from bot.models import Incident
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
from bot.store.outbox import Outbox
from bot.store.silences import SilenceStore
from bot.store.vitals import VitalsStore
from bot.tasks import SupervisorBusy, TaskSupervisor
from bot.triage.cards import CardKeeper
from bot.triage.channels import IncidentChannels
from bot.triage.delivery import Delivery, DrainerOptions, OutboxDrainer
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
    outbox: DrainerOptions = field(default_factory=DrainerOptions)


class Shutdown:
    """Requests in flight, and the deadline the whole stop must keep once it has begun."""

    def __init__(self) -> None:
        self.requests = 0
        self.deadline: float | None = None
        self._idle = asyncio.Event()
        self._idle.set()

    def begin(self) -> None:
        """A request reached its handler."""
        self.requests += 1
        self._idle.clear()

    def end(self) -> None:
        """A request was answered (or failed)."""
        self.requests -= 1
        if self.requests == 0:
            self._idle.set()

    def start(self, drain_seconds: float) -> None:
        """SIGTERM: from now on, everything must be done within ``drain_seconds``."""
        self.deadline = time.monotonic() + drain_seconds

    @property
    def stopping(self) -> bool:
        """Whether the stop has begun."""
        return self.deadline is not None

    def remaining(self, default: float) -> float:
        """What is left of the drain time (``default`` outside a signalled stop)."""
        if self.deadline is None:
            return default
        return max(0.1, self.deadline - time.monotonic())

    async def requests_answered(self, within: float) -> bool:
        """Wait until no request is in flight; False if some still were at the deadline."""
        try:
            await asyncio.wait_for(self._idle.wait(), within)
        except TimeoutError:
            return False
        return True


SETTINGS = web.AppKey("settings", Settings)
SHUTDOWN = web.AppKey("shutdown", Shutdown)
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
DRAINER = web.AppKey("drainer", OutboxDrainer)
DRAINER_TASK: web.AppKey[asyncio.Task[None]] = web.AppKey("drainer_task")
SLACK_ROUTE: web.AppKey[SlackRoute | None] = web.AppKey("slack_route")


def create_app(settings: Settings, runtime: Runtime | None = None) -> web.Application:
    """Build the application; resources open on startup and close on cleanup."""
    runtime = runtime or Runtime()
    _check_slack_settings(settings, runtime)
    if settings.file.access is None:
        log.warning("no `access` block in the configuration: everyone in a channel with the "
                    "bot may act on incidents and take profiles")
    _check_fallback_channel(settings)
    app = web.Application(client_max_size=settings.file.alerts.max_body_bytes + 1024,
                          middlewares=[_count_requests])
    app[SETTINGS] = settings
    app[SHUTDOWN] = Shutdown()
    app[RUNTIME] = runtime
    app[METRICS] = BotMetrics()
    app.cleanup_ctx.extend([_redis_ctx, _selfcheck_ctx, _tasks_ctx, _loop_lag_ctx, _walk_ctx,
                            _slack_ctx, _outbox_ctx, _sweep_ctx, _scheduler_ctx])
    app.on_startup.append(_freeze_startup_objects)

    async def ready() -> bool:
        return await redis_ping(app[REDIS])

    app.add_routes(health.routes(ready, app[METRICS], lambda: app[TASKS]))
    app.router.add_post("/slack/events", _slack_events)
    app.router.add_post("/alerts/alertmanager", _alertmanager)
    return app


@web.middleware
async def _count_requests(request: web.Request,
                          handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                          ) -> web.StreamResponse:
    """Count requests in flight, so a stop waits for them; once stopping, close after each."""
    shutdown = request.app[SHUTDOWN]
    shutdown.begin()
    try:
        response = await handler(request)
        if shutdown.stopping:
            response.force_close()
        return response
    finally:
        shutdown.end()


async def serve(app: web.Application, host: str, port: int) -> None:
    """Run until SIGTERM/SIGINT, then stop within ``Runtime.drain_seconds``."""
    runner = web.AppRunner(app, access_log=None, handle_signals=False,
                           shutdown_timeout=app[RUNTIME].drain_seconds)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
        log.info("stopping: answering requests in hand, then draining")
        shutdown = app[SHUTDOWN]
        shutdown.start(app[RUNTIME].drain_seconds)
        await site.stop()  # no new connections
        if not await shutdown.requests_answered(shutdown.remaining(0)):
            log.warning("requests still unanswered at the drain deadline",
                        extra={"requests": shutdown.requests})
    finally:
        await runner.cleanup()


def _check_slack_settings(settings: Settings, runtime: Runtime) -> None:
    missing = [] if settings.slack_bot_token else ["SLACK_BOT_TOKEN"]
    if runtime.socket_mode:
        missing += [] if settings.slack_app_token else ["SLACK_APP_TOKEN"]
    elif not settings.slack_signing_secret:
        missing.append("SLACK_SIGNING_SECRET")
    if missing:
        raise ConfigError(f"missing environment variable(s): {', '.join(missing)}")


def _check_fallback_channel(settings: Settings) -> None:
    """An alert that maps to no catalog service must have somewhere to go.

    Without a fallback channel its incident cannot be opened, and refusing it (4xx) would make
    Alertmanager drop it: so the bot does not start half-configured.
    """
    if not settings.file.slack.default_channel:
        raise ConfigError(
            "slack.default_channel is not set: alerts that match no catalog service open an "
            "incident for service `unknown` there. Set it to a channel id (like C0123ABCD).")


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
    if not app[TASKS].closing:  # normally drained by _outbox_ctx, while Slack is still open
        await app[TASKS].drain(app[RUNTIME].drain_seconds)


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


async def _outbox_ctx(app: web.Application) -> AsyncIterator[None]:
    """This replica's outbox drainer: runs while the app runs, finishes its batch on stop."""
    settings, services, metrics = app[SETTINGS], app[SERVICES], app[METRICS]
    triage, tasks = services.triage, app[TASKS]

    def after_card(incident: Incident) -> None:
        try:
            tasks.spawn(triage.alert_incident_opened(incident), name="alerts:opened",
                        timeout=services.step_deadline_s)
        except SupervisorBusy:
            log.warning("owners and metrics step skipped: bot busy",
                        extra={"incident_id": incident.id})

    options = app[RUNTIME].outbox
    delivery = Delivery(triage.cards, app[OUTBOUND], app[WALK].stores.incidents,
                        app[WALK].stores.alerts, on_card_posted=after_card,
                        lease_s=options.lease_s)
    drainer = OutboxDrainer(Outbox(app[REDIS], Keys(settings.key_prefix)), delivery,
                            options, report_depth=metrics.outbox_depth.set)
    task = asyncio.get_running_loop().create_task(drainer.run(), name="outbox-drainer")
    app[DRAINER], app[DRAINER_TASK] = drainer, task
    yield
    # Cleanup runs once the listener is closed and the requests in hand are answered; this
    # finishes the work in hand while Redis and Slack are still open (they close after).
    await _stop_drainer(app)
    cut = await app[TASKS].drain(app[SHUTDOWN].remaining(app[RUNTIME].drain_seconds))
    if cut:
        log.warning("in-flight work cut short by shutdown", extra={"tasks": cut})


async def _sweep_ctx(app: web.Application) -> AsyncIterator[None]:
    """Notice steps whose runner died (their lease ran out) and mark them interrupted."""
    walk, triage, metrics = app[WALK], app[SERVICES].triage, app[METRICS]
    walk.on_outcome = lambda step, outcome: metrics.steps.labels(step.value, outcome).inc()

    async def sweep_forever() -> None:
        while True:
            await asyncio.sleep(walk.step_lease_s / 2)
            try:
                await triage.sweep_interrupted_steps()
            except StoreError as exc:
                log.warning("interrupted-step sweep skipped", extra={"error": str(exc)})

    task = asyncio.get_running_loop().create_task(sweep_forever(), name="step-sweep")
    yield
    task.cancel()
    with suppress(asyncio.CancelledError):
        await task


async def _stop_drainer(app: web.Application) -> None:
    """Stop claiming; let the batch in hand finish within the drain time, then cancel."""
    drainer, task = app[DRAINER], app[DRAINER_TASK]
    drainer.stop()
    if task.done():
        return
    try:
        await asyncio.wait_for(asyncio.shield(task),
                               app[SHUTDOWN].remaining(app[RUNTIME].drain_seconds))
    except TimeoutError:
        log.warning("outbox batch cut short by shutdown; its items come back after the lease")
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task


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
