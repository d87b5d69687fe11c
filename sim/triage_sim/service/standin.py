"""A misbehaving Rust service, for tests and the demo: metrics, pprof, logs and traces.

``ServiceStandIn(scenario, clock)`` serves, on one port, everything the triage walk asks a
service and its observability backends for, at the scenario's current time:

- ``/metrics``: OpenMetrics text with exemplars, for a real Prometheus to scrape (with
  ``metrics_step_s``, values and timestamps on the step grid, like the backfilled history);
- ``/debug/pprof/profile?seconds=N`` and ``/debug/pprof/heap``: real profile.proto (gzipped);
  successive heap profiles are at least ``heap_step_s`` scenario seconds apart, so a diff of
  two shows the leak even when the clock is frozen;
- Loki ``/loki/api/v1/query_range`` and ``/query``;
- Jaeger ``/api/v3/traces[/{id}]`` and legacy ``/api/traces[/{id}]``, ``/api/services``;
- Tempo ``/api/search`` and ``/api/v2/traces/{id}`` (Tempo's v1 ``/api/traces/{id}`` path is
  Jaeger's here; the Tempo client uses v2 first).

Knobs make backends misbehave per endpoint family (``metrics``, ``pprof``, ``loki``,
``jaeger``, ``tempo``): ``slow(seconds)`` delays answers, ``fail(status)`` answers an error.
A CPU profile takes ``seconds * time_scale`` wall seconds, so tests need not wait 10 s.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Literal

from aiohttp import web

from bot.config import ServiceConfig
from bot.sources.pprof.encode import encode
from triage_sim.replay.history import OPENMETRICS_CONTENT_TYPE, exposition
from triage_sim.service.scenarios.answers import Answer
from triage_sim.service.scenarios.answers_logs import loki_query, loki_query_range
from triage_sim.service.scenarios.answers_traces import (
    jaeger_legacy_search,
    jaeger_legacy_trace,
    jaeger_services,
    jaeger_v3_search,
    jaeger_v3_trace,
    tempo_search,
    tempo_trace,
)
from triage_sim.service.scenarios.clock import ScenarioClock
from triage_sim.service.scenarios.model import Scenario

__all__ = ["ENDPOINT_FAMILIES", "EndpointFamily", "ServiceStandIn"]

EndpointFamily = Literal["metrics", "pprof", "loki", "jaeger", "tempo"]
ENDPOINT_FAMILIES: tuple[EndpointFamily, ...] = ("metrics", "pprof", "loki", "jaeger", "tempo")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
MAX_PROFILE_SECONDS = 300


class ServiceStandIn:
    """The scenario's service and its Prometheus-scraped, Loki, Jaeger and Tempo faces."""

    def __init__(self, scenario: Scenario, clock: ScenarioClock | None = None, *,
                 time_scale: float = 1.0, heap_step_s: float = 60.0,
                 metrics_step_s: float | None = None) -> None:
        if not 0 <= time_scale <= 1:
            raise ValueError("time_scale must be between 0 and 1")
        self.scenario = scenario
        self.clock = clock or scenario.clock()
        self.time_scale = time_scale
        self.heap_step_s = heap_step_s
        self.metrics_step_s = metrics_step_s
        self.requests: Counter[str] = Counter()
        self._delays: dict[str, float] = {}
        self._failures: dict[str, int] = {}
        self._last_heap: float | None = None
        self._closing = asyncio.Event()
        self._arrivals = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self._base_url = ""

    # -- lifecycle ----------------------------------------------------------------------
    async def start(self, host: str = "127.0.0.1", port: int = 0) -> ServiceStandIn:
        """Listen on ``host:port`` (0 picks a free port); return ``self``."""
        self._closing.clear()
        runner = web.AppRunner(self._app(), handle_signals=False)
        await runner.setup()
        await web.TCPSite(runner, host, port).start()
        bound_host, bound_port = runner.addresses[0][:2]
        self._runner = runner
        self._base_url = f"http://{bound_host}:{bound_port}"
        return self

    async def stop(self) -> None:
        """Cut delayed answers short and stop listening."""
        self._closing.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> ServiceStandIn:
        return await self.start()

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>`` once started."""
        if not self._base_url:
            raise RuntimeError("ServiceStandIn is not started")
        return self._base_url

    def catalog_entry(self, channel: str | None = None) -> ServiceConfig:
        """The catalog entry for the played service, its pprof pointing here."""
        return self.scenario.catalog_entry(self.base_url, channel)

    # -- knobs --------------------------------------------------------------------------
    def slow(self, seconds: float, *families: EndpointFamily) -> None:
        """Delay answers of ``families`` (all when none given) by ``seconds`` (0 to stop)."""
        for family in families or ENDPOINT_FAMILIES:
            self._delays[_checked(family)] = max(0.0, seconds)

    def fail(self, status: int | None, *families: EndpointFamily) -> None:
        """Answer ``status`` on ``families`` (all when none given); None to stop failing."""
        if status is not None and not 400 <= status <= 599:
            raise ValueError("fail() takes an HTTP error status (4xx or 5xx)")
        for family in families or ENDPOINT_FAMILIES:
            if status is None:
                self._failures.pop(_checked(family), None)
            else:
                self._failures[_checked(family)] = status

    def heal(self) -> None:
        """Back to normal: no delays, no failures."""
        self._delays.clear()
        self._failures.clear()

    def now(self) -> float:
        """The scenario's current time (seconds since its history started)."""
        return self.clock.now()

    async def wait_for_requests(self, family: EndpointFamily, count: int = 1,
                                deadline_s: float = 5.0) -> None:
        """Wait until ``family`` has received ``count`` requests (TimeoutError past the
        deadline); they count on arrival, before any delay."""
        async with asyncio.timeout(deadline_s), self._arrivals:
            await self._arrivals.wait_for(lambda: self.requests[family] >= count)

    # -- routing ------------------------------------------------------------------------
    def _app(self) -> web.Application:
        app = web.Application()
        routes: list[tuple[str, EndpointFamily, Handler]] = [
            ("/metrics", "metrics", self._metrics),
            ("/debug/pprof/profile", "pprof", self._cpu_profile),
            ("/debug/pprof/heap", "pprof", self._heap_profile),
            ("/loki/api/v1/query_range", "loki", self._with_params(loki_query_range)),
            ("/loki/api/v1/query", "loki", self._with_params(loki_query)),
            ("/api/v3/traces", "jaeger", self._with_params(jaeger_v3_search)),
            ("/api/v3/traces/{trace_id}", "jaeger", self._by_id(jaeger_v3_trace)),
            ("/api/traces", "jaeger", self._with_params(jaeger_legacy_search)),
            ("/api/traces/{trace_id}", "jaeger", self._by_id(jaeger_legacy_trace)),
            ("/api/services", "jaeger", self._services),
            ("/api/search", "tempo", self._with_params(tempo_search)),
            ("/api/v2/traces/{trace_id}", "tempo", self._by_id(tempo_trace)),
        ]
        for path, family, handler in routes:
            app.router.add_get(path, self._guarded(family, handler))
        app.router.add_get("/ready", self._ready)
        return app

    def _guarded(self, family: EndpointFamily, handler: Handler) -> Handler:
        async def guarded(request: web.Request) -> web.StreamResponse:
            self.requests[family] += 1
            async with self._arrivals:
                self._arrivals.notify_all()
            delay = self._delays.get(family, 0.0)
            if delay > 0 and await self._wait(delay):
                return web.Response(status=503, text="shutting down")
            status = self._failures.get(family)
            if status is not None:
                return _failure(family, status)
            return await handler(request)

        return guarded

    async def _wait(self, seconds: float) -> bool:
        """Sleep ``seconds``; True when the stand-in is stopping (the wait is cut short)."""
        try:
            await asyncio.wait_for(self._closing.wait(), seconds)
        except TimeoutError:
            return False
        return True

    # -- handlers -----------------------------------------------------------------------
    async def _ready(self, request: web.Request) -> web.StreamResponse:
        return web.Response(text="ready\n")

    async def _metrics(self, request: web.Request) -> web.StreamResponse:
        text = exposition(self.scenario, self.now(), self.clock.epoch,
                          step_s=self.metrics_step_s)
        return web.Response(body=text.encode(), headers={"Content-Type": OPENMETRICS_CONTENT_TYPE})

    async def _cpu_profile(self, request: web.Request) -> web.StreamResponse:
        raw = request.query.get("seconds", "30")
        if not raw.isdigit() or not 1 <= int(raw) <= MAX_PROFILE_SECONDS:
            return web.Response(status=400, text=f"invalid seconds: {raw!r}\n")
        seconds = int(raw)
        if await self._wait(seconds * self.time_scale):
            return web.Response(status=503, text="shutting down")
        t = self.now()
        profile = self.scenario.profiles.cpu(t, seconds, self.scenario.cpu(t), self.clock.epoch)
        return _profile_response(encode(profile))

    async def _heap_profile(self, request: web.Request) -> web.StreamResponse:
        t = self.now()
        if self._last_heap is not None:
            t = max(t, self._last_heap + self.heap_step_s)
        self._last_heap = t
        return _profile_response(encode(self.scenario.profiles.heap(t, self.clock.epoch)))

    def _with_params(self, answer: Callable[..., Answer]) -> Handler:
        """A handler passing the query parameters to a pure answer function."""
        async def handle(request: web.Request) -> web.StreamResponse:
            return _send(answer(self.scenario, self.now(), self.clock.epoch,
                                dict(request.query)))
        return handle

    def _by_id(self, answer: Callable[..., Answer]) -> Handler:
        """A handler passing the trace id of the path to a pure answer function."""
        async def handle(request: web.Request) -> web.StreamResponse:
            return _send(answer(self.scenario, self.now(), self.clock.epoch,
                                request.match_info["trace_id"]))
        return handle

    async def _services(self, request: web.Request) -> web.StreamResponse:
        return _send(jaeger_services(self.scenario))


def _checked(family: str) -> str:
    if family not in ENDPOINT_FAMILIES:
        raise ValueError(f"unknown endpoint family {family!r}; known: "
                         f"{', '.join(ENDPOINT_FAMILIES)}")
    return family


def _send(answer: Answer) -> web.Response:
    return web.Response(status=answer.status, body=answer.body,
                        headers={"Content-Type": answer.content_type})


def _profile_response(data: bytes) -> web.Response:
    return web.Response(body=data, headers={
        "Content-Type": "application/octet-stream",
        "Content-Disposition": 'attachment; filename="profile"'})


def _failure(family: EndpointFamily, status: int) -> web.Response:
    """An injected error in the family's own style."""
    message = f"injected failure (service stand-in): HTTP {status}"
    if family == "jaeger":
        return _send(Answer.json({"error": {"httpCode": status, "message": message}}, status))
    return web.Response(status=status, text=message + "\n")
