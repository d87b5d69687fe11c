"""Every backend's answer is bounded in size and total time (issue 12, item 2).

Against a hostile local backend (tests/sources/hostile_backend.py) answering 200 MB, trickling
a byte every 0.2 s after the headers, or hanging after the headers, each client — Prometheus,
Loki, Jaeger, Tempo, built by ``Sources`` from the configuration as the bot builds them —
fails within its one deadline with a plain message, and the very next call against a healthy
backend succeeds at once: with one slot per backend, a slot still held would make it wait.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.config import BackendsConfig
from bot.errors import SourceError, SourceTimeout, SourceUnavailable
from bot.sources import Sources, TimeWindow, TraceSearch
from tests.sources.conftest import ROOT, ours_bytes, real_bytes
from tests.sources.hostile_backend import HostileBackend
from tests.support.polling import eventually

DEADLINE = 1.0
# Generous for a loaded 2-core machine; what matters is "at the deadline", not "after it".
SLACK_S = 0.7
T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)
WINDOW = TimeWindow(T0, T0 + timedelta(minutes=5))


@dataclass(frozen=True)
class Case:
    """How to call one backend, and what its healthy answer is."""

    backend: str
    path: str
    healthy: bytes
    call: Callable[[Sources], Awaitable[Any]]


CASES = [
    Case("prometheus", "/api/v1/query",
         real_bytes("prometheus/prometheus_docs_api_v1_query_vector.json"),
         lambda s: s.prometheus.query("up")),
    Case("loki", "/loki/api/v1/query_range", ours_bytes("ours_loki_streams.json"),
         lambda s: s.loki.query_range('{app="checkout"}', WINDOW)),
    Case("jaeger", "/api/v3/traces", ours_bytes("ours_jaeger_v3_find.json"),
         lambda s: s.jaeger.search(TraceSearch("checkout", WINDOW))),
    Case("tempo", "/api/search", ours_bytes("ours_tempo_search.json"),
         lambda s: s.tempo.search(TraceSearch("checkout", WINDOW))),
]
IDS = [case.backend for case in CASES]


@pytest.fixture
async def hostile() -> AsyncIterator[HostileBackend]:
    async with HostileBackend(healthy={c.path: c.healthy for c in CASES}) as backend:
        yield backend


async def open_sources(url: str, deadline_s: float = DEADLINE, **more: Any) -> Sources:
    """Every backend at ``url``, one request slot each."""
    config = BackendsConfig(prometheus=url, loki=url, jaeger=url, tempo=url,
                            timeout_seconds=deadline_s, max_concurrency=1, **more)
    return await Sources.open(config)


async def timed(call: Awaitable[Any]) -> tuple[BaseException | None, float]:
    started = time.monotonic()
    try:
        await call
    except SourceError as exc:
        return exc, time.monotonic() - started
    return None, time.monotonic() - started


async def healthy_call_is_immediate(hostile: HostileBackend, sources: Sources,
                                    case: Case) -> None:
    hostile.mode = "ok"
    error, elapsed = await timed(case.call(sources))
    assert error is None, f"the next call failed: {error}"
    assert elapsed < SLACK_S, f"the next call waited {elapsed:.2f}s: its slot was still held"


@pytest.mark.parametrize("case", CASES, ids=IDS)
@pytest.mark.parametrize("mode", ["trickle", "hang"])
async def test_slow_answers_are_cut_at_the_deadline(
    hostile: HostileBackend, case: Case, mode: str
) -> None:
    hostile.mode = mode
    sources = await open_sources(hostile.url)
    try:
        error, elapsed = await timed(case.call(sources))
        assert isinstance(error, SourceTimeout), error
        assert DEADLINE - 0.05 < elapsed < DEADLINE + SLACK_S
        assert error.backend == case.backend
        assert f"not complete within {DEADLINE:g}s" in error.message
        assert error.message.startswith(f"answer from 127.0.0.1:{hostile.server.port}")  # type: ignore[union-attr]
        if mode == "trickle":
            assert hostile.sent >= 2  # bytes kept coming: no per-read timeout would fire
        await healthy_call_is_immediate(hostile, sources, case)
    finally:
        await sources.close()


@pytest.mark.parametrize("case", CASES, ids=IDS)
@pytest.mark.parametrize("mode", ["big", "big_announced"])
async def test_huge_answers_are_refused_as_they_pass_the_cap(
    hostile: HostileBackend, case: Case, mode: str
) -> None:
    hostile.mode = mode
    sources = await open_sources(hostile.url, deadline_s=10.0)
    try:
        error, elapsed = await timed(case.call(sources))
        assert isinstance(error, SourceUnavailable), error
        assert error.message.startswith("answer larger than the 32 MiB limit")
        assert "backends.max_body_bytes" in error.message
        if mode == "big_announced":
            assert f"({hostile.body_size:,} bytes announced)" in error.message
            assert hostile.sent < hostile.body_size  # refused on the header, not read to the end
        assert elapsed < 5.0
        await healthy_call_is_immediate(hostile, sources, case)
    finally:
        await sources.close()


async def test_per_backend_body_limit(hostile: HostileBackend) -> None:
    hostile.mode = "big"
    sources = await open_sources(hostile.url, max_body_bytes="64MiB",
                                 max_body_bytes_for={"loki": "1MiB"})
    try:
        with pytest.raises(SourceUnavailable, match=r"larger than the 1 MiB limit"):
            await sources.loki.query_range('{app="checkout"}', WINDOW)
        assert sources.backends.body_limit("prometheus") == 64 * 1024 * 1024
    finally:
        await sources.close()


@pytest.mark.parametrize("case", CASES, ids=IDS)
async def test_close_during_a_trickle_is_prompt(hostile: HostileBackend, case: Case) -> None:
    """SIGTERM while a backend trickles: closing the clients ends the call at once."""
    hostile.mode = "trickle"
    sources = await open_sources(hostile.url, deadline_s=30.0)
    call = asyncio.ensure_future(timed(case.call(sources)))
    await eventually(lambda: hostile.sent >= 1, what="the trickle to start")
    started = time.monotonic()
    await asyncio.wait_for(sources.close(), DEADLINE)
    error, _ = await asyncio.wait_for(call, DEADLINE)
    assert time.monotonic() - started < DEADLINE
    assert isinstance(error, SourceError), error
    assert error.backend == case.backend


async def test_dns_failure_is_named_plainly() -> None:
    sources = await open_sources("http://backend.invalid:3100")
    try:
        with pytest.raises(SourceError) as caught:
            await sources.loki.query_range('{app="checkout"}', WINDOW)
        assert caught.value.message.startswith("cannot resolve backend.invalid: ")
        assert "Unknown error" not in caught.value.message
    finally:
        await sources.close()


_MEASURE = """
import asyncio, resource, sys, time
from bot.errors import SourceError
from bot.sources import PrometheusClient

async def main():
    client = PrometheusClient(sys.argv[1], timeout=30, max_concurrency=1)
    started = time.monotonic()
    try:
        await client.query("up")
        outcome = "answered"
    except SourceError as exc:
        outcome = str(exc)
    finally:
        await client.close()
    rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"{rss_kib} {time.monotonic() - started:.2f} {outcome}")

asyncio.run(main())
"""


async def test_a_200_mb_answer_keeps_the_process_small(hostile: HostileBackend) -> None:
    """Peak RSS of a process whose Prometheus answers 200 MB (measured in its own process)."""
    hostile.mode = "big"
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _MEASURE, hostile.url, cwd=ROOT,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err.decode()
    rss_kib, elapsed, outcome = out.decode().split(" ", 2)
    print(f"\n200 MB answer: peak RSS {int(rss_kib) / 1024:.0f} MiB, failed after {elapsed}s: "
          f"{outcome.strip()}")
    assert "answer larger than the 32 MiB limit" in outcome
    assert int(rss_kib) < 1024 * 1024  # under 1 GiB
