"""``Sources``: every telemetry client the bot has, built from ``BackendsConfig``.

It owns one aiohttp session per backend (connection reuse, a pool sized to the concurrency
bound) and the thread pool (large JSON decodes) when none is passed in. Asking for a backend
that is not configured raises SourceUnavailable naming the setting to fill in, so a triage
step reports it plainly instead of crashing.
"""

from __future__ import annotations

from concurrent.futures import Executor, ThreadPoolExecutor
from types import TracebackType

import aiohttp

from bot.config import BackendsConfig
from bot.errors import SourceUnavailable
from bot.sources.alertmanager import AlertmanagerClient
from bot.sources.http import new_session
from bot.sources.jaeger import JaegerClient
from bot.sources.loki import LokiClient
from bot.sources.prometheus import PrometheusClient
from bot.sources.tempo import TempoClient
from bot.sources.traces import TraceBackend

__all__ = ["Sources"]


class Sources:
    """The configured telemetry clients; open with ``Sources.open``, close with ``close``."""

    def __init__(
        self,
        backends: BackendsConfig,
        *,
        prometheus: PrometheusClient | None,
        loki: LokiClient | None,
        jaeger: JaegerClient | None,
        tempo: TempoClient | None,
        sessions: list[aiohttp.ClientSession],
        owned_executor: ThreadPoolExecutor | None,
    ) -> None:
        self.backends = backends
        self._prometheus = prometheus
        self._loki = loki
        self._jaeger = jaeger
        self._tempo = tempo
        self._alertmanager: AlertmanagerClient | None = None
        self._sessions = sessions
        self._owned_executor = owned_executor

    @classmethod
    async def open(
        cls,
        backends: BackendsConfig,
        executor: Executor | None = None,
        *,
        loki_tenant: str | None = None,
    ) -> Sources:
        """Build a client for each configured backend.

        ``executor`` decodes large JSON answers off the event loop; give it more workers than
        ``backends.max_concurrency`` if it also serves other work. Without one, a pool of
        ``max_concurrency`` threads is created and shut down by ``close``.
        """
        owned = None
        if executor is None:
            owned = ThreadPoolExecutor(max_workers=backends.max_concurrency,
                                       thread_name_prefix="sources")
            executor = owned
        timeout, bound = backends.timeout_seconds, backends.max_concurrency
        sessions: list[aiohttp.ClientSession] = []

        def session() -> aiohttp.ClientSession:
            sessions.append(new_session(bound))
            return sessions[-1]

        limit = backends.body_limit
        sources = cls(
            backends,
            prometheus=PrometheusClient(backends.prometheus, timeout=timeout,
                                        max_concurrency=bound, executor=executor,
                                        session=session(), max_body_bytes=limit("prometheus"))
            if backends.prometheus else None,
            loki=LokiClient.create(backends.loki, session(), timeout=timeout,
                                   max_concurrency=bound, tenant=loki_tenant, executor=executor,
                                   max_body_bytes=limit("loki"))
            if backends.loki else None,
            jaeger=JaegerClient.create(backends.jaeger, session(), timeout=timeout,
                                       max_concurrency=bound, executor=executor,
                                       max_body_bytes=limit("jaeger"))
            if backends.jaeger else None,
            tempo=TempoClient.create(backends.tempo, session(), timeout=timeout,
                                     max_concurrency=bound, executor=executor,
                                     max_body_bytes=limit("tempo"))
            if backends.tempo else None,
            sessions=sessions,
            owned_executor=owned,
        )
        if backends.alertmanager:
            sources._alertmanager = AlertmanagerClient.create(
                backends.alertmanager, session(), timeout=timeout, max_concurrency=bound)
        return sources

    @property
    def prometheus(self) -> PrometheusClient:
        """The Prometheus client; SourceUnavailable if none is configured."""
        if self._prometheus is None:
            raise SourceUnavailable("prometheus", "no Prometheus configured (backends.prometheus)")
        return self._prometheus

    @property
    def loki(self) -> LokiClient:
        """The Loki client; SourceUnavailable if none is configured."""
        if self._loki is None:
            raise SourceUnavailable("loki", "no Loki configured (backends.loki)")
        return self._loki

    @property
    def jaeger(self) -> JaegerClient:
        """The Jaeger client; SourceUnavailable if none is configured."""
        if self._jaeger is None:
            raise SourceUnavailable("jaeger", "no Jaeger configured (backends.jaeger)")
        return self._jaeger

    @property
    def tempo(self) -> TempoClient:
        """The Tempo client; SourceUnavailable if none is configured."""
        if self._tempo is None:
            raise SourceUnavailable("tempo", "no Tempo configured (backends.tempo)")
        return self._tempo

    @property
    def alertmanager(self) -> AlertmanagerClient:
        """The Alertmanager client; SourceUnavailable if none is configured."""
        if self._alertmanager is None:
            raise SourceUnavailable("alertmanager",
                                    "no Alertmanager configured (backends.alertmanager)")
        return self._alertmanager

    @property
    def traces(self) -> TraceBackend:
        """The tracing backend: Jaeger when configured, else Tempo."""
        backend: TraceBackend | None = self._jaeger or self._tempo
        if backend is None:
            raise SourceUnavailable(
                "traces", "no tracing backend configured (backends.jaeger or backends.tempo)"
            )
        return backend

    @property
    def configured(self) -> list[str]:
        """Names of the configured backends, for `triage-bot check` and the readiness page."""
        clients = {"prometheus": self._prometheus, "loki": self._loki,
                   "jaeger": self._jaeger, "tempo": self._tempo}
        return [name for name, client in clients.items() if client is not None]

    async def close(self) -> None:
        """End calls in flight, close every client and session, and our thread pool.

        Calls still waiting on a backend (a trickling answer) fail at once rather than
        holding shutdown until their deadlines.
        """
        for client in (self._loki, self._jaeger, self._tempo, self._alertmanager):
            if client is not None:
                client.close()
        if self._prometheus is not None:
            await self._prometheus.close()
        for session in self._sessions:
            await session.close()
        if self._owned_executor is not None:
            self._owned_executor.shutdown(wait=False, cancel_futures=True)

    async def __aenter__(self) -> Sources:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()
