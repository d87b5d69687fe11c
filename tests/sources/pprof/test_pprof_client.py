"""PprofClient against a local aiohttp server answering with the real fixture bytes, plus slow,
failing and malformed answers; and proof that decoding a large profile does not block the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TypeVar

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.config import ServiceConfig
from bot.errors import InputError, QueryRejected, SourceTimeout, SourceUnavailable
from bot.sources.pprof import (
    FunctionTotal,
    PprofClient,
    ValueType,
    encode,
    frame_totals,
    profile_executor,
)
from bot.sources.pprof.client import decode_totals
from bot.sources.pprof.synth import SyntheticShape, synthetic_cpu_profile
from bot.sources.pprof.workers import WorkerLimits
from tests.sources.pprof import hostile, pool_tasks
from tests.sources.pprof.conftest import HEAP_T1, HEAP_T2, SAMPLE_CPU, load, pprof_bytes
from tests.support.loop_lag import LagProbe

T = TypeVar("T")
MAX_LAG_S = 0.1


@dataclass
class PprofServer:
    """A stand-in service: each base path ("/ok", "/slow", ...) behaves one way."""

    heap_bodies: list[bytes] = field(default_factory=lambda: [pprof_bytes(HEAP_T1)])
    cpu_body: bytes = field(default_factory=lambda: pprof_bytes(SAMPLE_CPU))
    cpu_seconds: list[str] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    inflight: int = 0
    max_inflight: int = 0
    server: TestServer | None = None

    def base(self, kind: str) -> str:
        assert self.server is not None
        return str(self.server.make_url(f"/{kind}"))

    async def _wait(self, seconds: float) -> None:
        # Returns early when the test tears the server down.
        self.inflight += 1
        self.max_inflight = max(self.max_inflight, self.inflight)
        try:
            await asyncio.wait_for(self.release.wait(), seconds)
        except TimeoutError:
            pass
        finally:
            self.inflight -= 1

    async def handle(self, request: web.Request) -> web.StreamResponse:
        kind, endpoint = request.match_info["kind"], request.match_info["endpoint"]
        if kind in ("ok", "slow", "slowish"):
            await self._wait({"ok": 0.0, "slow": 30.0, "slowish": 0.5}[kind])
            if endpoint == "profile":
                self.cpu_seconds.append(request.query.get("seconds", ""))
                return web.Response(body=self.cpu_body)
            body = self.heap_bodies[0]
            self.heap_bodies = self.heap_bodies[1:] or self.heap_bodies
            return web.Response(body=body)
        return await self._misbehave(kind, request)

    async def _misbehave(self, kind: str, request: web.Request) -> web.StreamResponse:
        if kind == "e500":
            return web.Response(status=500, text="runtime error: profiler busy\n")
        if kind == "e400":
            return web.Response(status=400,
                                text="profile duration exceeds server's WriteTimeout\n")
        if kind == "garbage":
            return web.Response(text="<html><body>hello from a proxy</body></html>")
        if kind == "redirect":
            raise web.HTTPFound("http://elsewhere.invalid/debug/pprof/heap")
        if kind == "trickle":  # headers at once, then a byte now and then, for ever
            response = web.StreamResponse()
            await response.prepare(request)
            while not self.release.is_set():
                await response.write(b"\x1f")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.release.wait(), 0.05)
            return response
        if kind == "stream":  # no Content-Length: the cap must hold while reading
            response = web.StreamResponse()
            await response.prepare(request)
            for _ in range(64):
                await response.write(b"\x00" * 1024)
            await response.write_eof()
            return response
        return web.Response(status=404, text="404 page not found\n")

    async def start(self) -> PprofServer:
        app = web.Application()
        app.router.add_get("/{kind}/debug/pprof/{endpoint}", self.handle)
        self.server = TestServer(app, host="127.0.0.1")
        await self.server.start_server()
        return self


@pytest.fixture
async def server() -> AsyncIterator[PprofServer]:
    backend = await PprofServer().start()
    try:
        yield backend
    finally:
        backend.release.set()
        assert backend.server is not None
        await backend.server.close()


@pytest.fixture
def threads() -> Iterator[Executor]:
    with ThreadPoolExecutor(2) as executor:
        yield executor


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def service(base: str | None) -> ServiceConfig:
    return ServiceConfig(name="checkout", pprof=base)


async def test_fetch_cpu_and_heap_decode_the_fixture_bodies(
    server: PprofServer, http: aiohttp.ClientSession, threads: Executor,
) -> None:
    client = PprofClient(http, threads, timeout_seconds=5)
    cpu = await client.fetch_cpu(service(server.base("ok")), seconds=2)
    assert server.cpu_seconds == ["2"]
    assert cpu == load(SAMPLE_CPU)
    heap = await client.fetch_heap(service(server.base("ok")))
    assert frame_totals(heap).total == 48_928_729  # inuse_space, "47781.96kB" in go
    raw = await client.fetch_cpu_raw(service(server.base("ok")), seconds=1)
    assert (raw.service, raw.kind) == ("checkout", "cpu")
    top = await client.top(raw)
    assert top.top(1) == (FunctionTotal("runtime.mapiternext", 1_280_000_000, 1_370_000_000),)
    samples = await client.analyze(raw, decode_totals, "samples")
    assert samples.total == 176


async def test_heap_diff_between_two_snapshots(
    server: PprofServer, http: aiohttp.ClientSession, threads: Executor,
) -> None:
    server.heap_bodies = [pprof_bytes(HEAP_T1), pprof_bytes(HEAP_T2)]
    client = PprofClient(http, threads)
    base = await client.fetch_heap_raw(service(server.base("ok")))
    new = await client.fetch_heap_raw(service(server.base("ok")))
    diff = await client.diff(base, new)
    assert diff.sample_type == ValueType("inuse_space", "bytes")
    assert diff.grown_functions(1)[0].name == "github.com/dgraph-io/badger/v3/skl.newArena"
    assert diff.grown_functions(1)[0].flat_delta == 87_244_800


async def test_no_pprof_endpoint_in_the_catalog(
    http: aiohttp.ClientSession, threads: Executor,
) -> None:
    with pytest.raises(SourceUnavailable, match="checkout has no pprof endpoint in the catalog"):
        await PprofClient(http, threads).fetch_heap(service(None))


async def test_slow_heap_times_out_but_cpu_gets_its_duration_as_margin(
    server: PprofServer, http: aiohttp.ClientSession, threads: Executor,
) -> None:
    client = PprofClient(http, threads, timeout_seconds=0.2)
    started = time.monotonic()
    with pytest.raises(SourceTimeout, match=r"checkout /debug/pprof/heap: no complete answer "
                                            r"within 0\.2 s"):
        await client.fetch_heap(service(server.base("slow")))
    assert time.monotonic() - started < 5
    # A 1 s CPU profile may take 1 s + 0.2 s; this one answers after 0.5 s.
    profile = await client.fetch_cpu(service(server.base("slowish")), seconds=1)
    assert len(profile.samples) == 76


@pytest.mark.parametrize(
    ("kind", "error", "words"),
    [
        ("e500", SourceUnavailable, "answered 500 Internal Server Error: runtime error: "
                                    "profiler busy"),
        ("missing", QueryRejected, "answered 404 Not Found: 404 page not found"),
        ("e400", QueryRejected, "answered 400 Bad Request: profile duration exceeds"),
        ("redirect", QueryRejected, "redirect to http://elsewhere.invalid/debug/pprof/heap "
                                    "not followed"),
        ("garbage", SourceUnavailable, "checkout: the heap profile is not a pprof profile: "
                                       "not a profile.proto message"),
    ],
)
async def test_failures_are_typed_and_readable(
    server: PprofServer, http: aiohttp.ClientSession, threads: Executor,
    *, kind: str, error: type[Exception], words: str,
) -> None:
    with pytest.raises(error, match=words) as raised:
        await PprofClient(http, threads).fetch_heap(service(server.base(kind)))
    assert str(raised.value).startswith("pprof: ")


async def test_bodies_over_the_cap_are_refused(
    server: PprofServer, http: aiohttp.ClientSession, threads: Executor,
) -> None:
    client = PprofClient(http, threads, max_body_bytes=4096)
    with pytest.raises(SourceUnavailable, match="larger than 4096 bytes"):
        await client.fetch_heap(service(server.base("ok")))  # Content-Length 9705
    with pytest.raises(SourceUnavailable, match="larger than 4096 bytes"):
        await client.fetch_heap(service(server.base("stream")))  # chunked, 64 KiB


async def test_connection_refused(http: aiohttp.ClientSession, threads: Executor) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(SourceUnavailable, match="checkout /debug/pprof/heap: cannot connect"):
        await PprofClient(http, threads).fetch_heap(service(f"http://127.0.0.1:{port}"))


async def test_bad_cpu_duration_and_sample_type_are_input_errors(
    server: PprofServer, http: aiohttp.ClientSession, threads: Executor,
) -> None:
    client = PprofClient(http, threads)
    with pytest.raises(InputError, match="1 to 300 seconds, not 0"):
        await client.fetch_cpu(service(server.base("ok")), seconds=0)
    raw = await client.fetch_cpu_raw(service(server.base("ok")), seconds=1)
    with pytest.raises(InputError, match="unknown sample type 'inuse_space'"):
        await client.top(raw, "inuse_space")


async def test_concurrency_is_bounded(
    server: PprofServer, http: aiohttp.ClientSession, threads: Executor,
) -> None:
    client = PprofClient(http, threads, semaphore=asyncio.Semaphore(1))
    await asyncio.gather(*(client.fetch_heap_raw(service(server.base("slowish")))
                           for _ in range(2)))
    assert server.max_inflight == 1




@pytest.fixture(scope="module")
def large_profile() -> bytes:
    """A generated CPU profile of about 2 MB (gzipped): 45,000 stacks over 5,000 functions."""
    return encode(synthetic_cpu_profile(SyntheticShape(samples=45_000, functions=5_000)))


async def test_decoding_a_large_profile_does_not_block_the_loop(
    server: PprofServer, http: aiohttp.ClientSession, large_profile: bytes,
) -> None:
    assert len(large_profile) > 1_500_000
    executor = profile_executor(1)
    try:
        client = PprofClient(http, executor)
        # Start the worker process (and its imports) before measuring.
        await client.top(await client.fetch_cpu_raw(service(server.base("ok")), seconds=1))
        server.cpu_body = large_profile
        probe = LagProbe()
        started = time.monotonic()
        raw = await probe.around(client.fetch_cpu_raw(service(server.base("ok")), seconds=1))
        totals = await probe.around(client.top(raw))
        elapsed = time.monotonic() - started
    finally:
        executor.shutdown(wait=True, cancel_futures=True)
    print(f"\nfetch + decode + rank of {len(large_profile) / 1e6:.1f} MB in a worker process: "
          f"{elapsed:.2f} s; worst event-loop lag {probe.worst * 1000:.1f} ms "
          f"over {probe.ticks} ticks")
    assert totals.total > 0 and len(totals.functions) > 4_000
    assert probe.ticks > 20
    assert probe.worst < MAX_LAG_S


async def test_a_trickling_answer_is_cut_at_the_deadline_and_frees_its_slot(
    server: PprofServer, http: aiohttp.ClientSession, threads: Executor,
) -> None:
    client = PprofClient(http, threads, timeout_seconds=0.5, semaphore=asyncio.Semaphore(1))
    with pytest.raises(SourceTimeout, match=r"checkout /debug/pprof/heap: no complete answer "
                                            r"within 0\.5 s"):
        await client.fetch_heap_raw(service(server.base("trickle")))
    raw = await client.fetch_heap_raw(service(server.base("ok")))  # the one slot is free
    assert raw.data == pprof_bytes(HEAP_T1)


async def test_hostile_profiles_fail_plainly_and_the_next_one_decodes(
    server: PprofServer, http: aiohttp.ClientSession,
) -> None:
    executor = profile_executor(1, WorkerLimits(deadline_seconds=20.0))
    hasty = profile_executor(1, WorkerLimits(deadline_seconds=1.0))
    try:
        client = PprofClient(http, executor)
        server.heap_bodies = [hostile.empty_samples_bomb(), hostile.inline_amplifier(),
                              pprof_bytes(HEAP_T1)]
        bomb = await client.fetch_heap_raw(service(server.base("ok")))
        with pytest.raises(SourceUnavailable, match=r"^pprof: checkout: profile too large: "
                                                    r"more than 1,000,000 samples$"):
            await client.top(bomb)
        amplifier = await client.fetch_heap_raw(service(server.base("ok")))
        with pytest.raises(SourceUnavailable, match=r"^pprof: checkout: profile too large: "
                                                    r"decodes past 512 MiB$"):
            await client.top(amplifier)
        hasty_client = PprofClient(http, hasty)
        with pytest.raises(SourceUnavailable, match=r"^pprof: checkout: the heap profile took "
                                                    r"longer than 1 s to decode$"):
            await hasty_client.analyze(bomb, pool_tasks.backtrack_on)
        assert (executor.restarts, hasty.restarts) == (0, 1)
        good = await client.fetch_heap_raw(service(server.base("ok")))
        assert (await client.top(good, "inuse_space")).total > 0
        assert (await hasty_client.top(good, "inuse_space")).total > 0
    finally:
        executor.shutdown(wait=True, cancel_futures=True)
        hasty.shutdown(wait=True, cancel_futures=True)
