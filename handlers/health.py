"""``/healthz``, ``/readyz`` and ``/metrics``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from bot.observability import BotMetrics
from bot.tasks import TaskSupervisor


def routes(
    ready: Callable[[], Awaitable[bool]], metrics: BotMetrics, tasks: Callable[[], TaskSupervisor]
) -> list[web.RouteDef]:
    """Liveness (the process answers), readiness (Redis answers) and the bot's own metrics."""

    async def healthz(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def readyz(_: web.Request) -> web.Response:
        if await ready():
            return web.json_response({"status": "ready", "redis": "ok"})
        return web.json_response({"status": "not ready", "redis": "unreachable"}, status=503)

    async def metrics_view(_: web.Request) -> web.Response:
        metrics.tasks_in_flight.set(tasks().in_flight)
        return web.Response(body=generate_latest(metrics.registry),
                            headers={"Content-Type": CONTENT_TYPE_LATEST})

    return [web.get("/healthz", healthz), web.get("/readyz", readyz),
            web.get("/metrics", metrics_view)]
