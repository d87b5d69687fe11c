"""Fixtures for the telemetry-source tests: fixture files, fake backends, a real Prometheus."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from tests.support.prometheus_server import (
    MetricsTarget,
    PrometheusServer,
    ScrapeTarget,
    prometheus_binary,
)

ROOT = Path(__file__).resolve().parents[2]
REAL = ROOT / "tests" / "fixtures" / "real"
OURS = Path(__file__).resolve().parent / "fixtures"
SHARED_REAL = ROOT.parent / "shared" / "fixtures" / "real"

TARGET_JOB = "triage-target"
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
TARGET_METRICS = f"""\
# TYPE triage_requests counter
# HELP triage_requests Requests served.
triage_requests_total{{route="/checkout",code="200"}} 42 # {{trace_id="{TRACE_ID}"}} 1.0
triage_requests_total{{route="/checkout",code="500"}} 3
# TYPE triage_memory_bytes gauge
triage_memory_bytes 123456789
# EOF
"""


def real_bytes(relative: str) -> bytes:
    """A permissively licensed real fixture copied into tests/fixtures/real."""
    return (REAL / relative).read_bytes()


def real_json(relative: str) -> Any:
    return json.loads(real_bytes(relative))


def ours_bytes(name: str) -> bytes:
    """A self-made fixture (tests/sources/fixtures/ours_*.json)."""
    return (OURS / name).read_bytes()


def ours_json(name: str) -> Any:
    return json.loads(ours_bytes(name))


def shared_bytes(relative: str) -> bytes:
    """An AGPL real fixture, read from ../shared (never copied here); skip when absent."""
    path = SHARED_REAL / relative
    if not path.exists():
        pytest.skip(f"AGPL fixture {relative} is read from {SHARED_REAL}, which is absent")
    return path.read_bytes()


def shared_json(relative: str) -> Any:
    return json.loads(shared_bytes(relative))


@dataclass
class Reply:
    """What the fake backend answers on one path; ``delay`` simulates a slow backend."""

    body: bytes | str = b"{}"
    status: int = 200
    content_type: str = "application/json"
    delay: float = 0.0


@dataclass
class Seen:
    """One request the fake backend received."""

    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]


@dataclass
class FakeBackend:
    """A local aiohttp server answering fixed replies per path; unknown paths get a 404 page."""

    replies: dict[str, Reply] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)
    server: TestServer | None = None
    inflight: int = 0
    max_inflight: int = 0
    released: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def url(self) -> str:
        if self.server is None:
            raise RuntimeError("fake backend not started")
        return str(self.server.make_url("")).rstrip("/")

    def answer(self, path: str, reply: Reply) -> None:
        self.replies[path] = reply

    def hits(self, path: str) -> list[Seen]:
        return [s for s in self.seen if s.path == path]

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        query: dict[str, list[str]] = {}
        for key, value in request.query.items():
            query.setdefault(key, []).append(value)
        self.seen.append(Seen(request.path, query, dict(request.headers)))
        reply = self.replies.get(request.path)
        if reply is None:
            return web.Response(status=404, text="404 page not found\n")
        if reply.delay:
            # Slow on purpose; returns early when the test tears the server down.
            self.inflight += 1
            self.max_inflight = max(self.max_inflight, self.inflight)
            try:
                await asyncio.wait_for(self.released.wait(), reply.delay)
            except TimeoutError:
                pass
            finally:
                self.inflight -= 1
        body = reply.body.encode() if isinstance(reply.body, str) else reply.body
        return web.Response(status=reply.status, body=body,
                            headers={"Content-Type": reply.content_type})

    async def start(self) -> FakeBackend:
        app = web.Application()
        app.router.add_route("GET", "/{tail:.*}", self._handle)
        self.server = TestServer(app, host="127.0.0.1")
        await self.server.start_server()
        return self

    async def close(self) -> None:
        self.released.set()
        if self.server is not None:
            await self.server.close()

    async def __aenter__(self) -> FakeBackend:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


@pytest.fixture
async def fake() -> AsyncIterator[FakeBackend]:
    async with FakeBackend() as backend:
        yield backend


@pytest.fixture
async def fake2() -> AsyncIterator[FakeBackend]:
    """A second, independent fake backend (e.g. Loki next to a slow Prometheus)."""
    async with FakeBackend() as backend:
        yield backend


@pytest.fixture(scope="session")
def prometheus_url() -> Iterator[str]:
    """A real Prometheus scraping a local target every second, with exemplar storage on.

    Skips when the binary is missing, except in CI (``CI`` set), where that is a failure.
    """
    if prometheus_binary() is None:
        reason = "prometheus is not installed (Debian package `prometheus`)"
        if os.environ.get("CI"):
            pytest.fail(reason + "; CI must install it")
        pytest.skip(reason)
    target = MetricsTarget(TARGET_METRICS).start()
    server = PrometheusServer([ScrapeTarget(TARGET_JOB, target.address)])
    try:
        server.start()
        server.wait_for(f'triage_requests_total{{job="{TARGET_JOB}"}}')
        yield server.url
    finally:
        server.cleanup()
        target.stop()


@pytest.fixture
async def session() -> AsyncIterator[Any]:
    """One aiohttp session, as Sources gives each backend."""
    from bot.sources.http import new_session

    client_session = new_session(4)
    try:
        yield client_session
    finally:
        await client_session.close()
