"""Proof that a slow Prometheus neither blocks the event loop nor starves other backends."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from bot.errors import SourceTimeout
from bot.sources import LokiClient, PrometheusClient, TimeWindow
from tests.sources.conftest import FakeBackend, Reply, ours_bytes, real_bytes
from tests.support.loop_lag import LagProbe

T = TypeVar("T")
VECTOR = real_bytes("prometheus/prometheus_docs_api_v1_query_vector.json")
MAX_LAG_S = 0.1




async def until(condition: Callable[[], bool], deadline_s: float = 5.0) -> None:
    """Poll ``condition`` until it holds, failing after ``deadline_s``."""
    deadline = time.monotonic() + deadline_s
    while not condition():
        assert time.monotonic() < deadline, "condition not met before the deadline"
        await asyncio.sleep(0.01)


async def test_probe_detects_a_blocked_loop() -> None:
    probe = LagProbe()

    async def block() -> None:
        await asyncio.sleep(0.02)
        time.sleep(0.2)  # noqa: ASYNC251 - blocking on purpose: the probe must notice

    await probe.around(block())
    assert probe.worst >= 0.15


async def test_slow_prometheus_does_not_block_the_loop(fake: FakeBackend) -> None:
    fake.answer("/api/v1/query", Reply(VECTOR, delay=1.5))
    client = PrometheusClient(fake.url, timeout=5, max_concurrency=4)
    probe = LagProbe()
    try:
        started = time.monotonic()
        results = await probe.around(asyncio.gather(*(client.query("up") for _ in range(4))))
        elapsed = time.monotonic() - started
    finally:
        await client.close()
    assert all(len(series) == 2 for series in results)
    assert 1.4 < elapsed < 3.0  # the four ran side by side, not one after another
    assert probe.ticks > 100
    assert probe.worst < MAX_LAG_S, f"event loop stalled for {probe.worst * 1000:.0f} ms"
    print(f"\nslow Prometheus x4 (1.5 s each): {elapsed:.2f}s, "
          f"worst loop lag {probe.worst * 1000:.1f} ms over {probe.ticks} ticks")


async def test_slow_prometheus_does_not_starve_other_work(
    fake: FakeBackend, fake2: FakeBackend, session: Any
) -> None:
    fake.answer("/api/v1/query", Reply(VECTOR, delay=1.0))
    fake2.answer("/loki/api/v1/query_range", Reply(ours_bytes("ours_loki_streams.json")))
    window = TimeWindow.last(timedelta(minutes=5), datetime.now(UTC))
    with ThreadPoolExecutor(max_workers=4, thread_name_prefix="shared") as executor:
        prom = PrometheusClient(fake.url, timeout=1.5, max_concurrency=2, executor=executor)
        loki = LokiClient.create(fake2.url, session, timeout=1.5, max_concurrency=2)
        probe = LagProbe()
        try:
            slow = [asyncio.create_task(prom.query("up")) for _ in range(6)]
            await until(lambda: fake.inflight == 2)  # the slow calls hold both slots

            async def others() -> tuple[float, float]:
                started = time.monotonic()
                lines = await loki.query_range('{app="checkout"}', window)
                loki_s = time.monotonic() - started
                assert len(lines) == 3
                started = time.monotonic()
                loop = asyncio.get_running_loop()
                assert await loop.run_in_executor(executor, sum, range(1000)) == 499500
                return loki_s, time.monotonic() - started

            loki_s, pool_s = await probe.around(others())
            outcomes = await asyncio.gather(*slow, return_exceptions=True)
        finally:
            await prom.close()
    assert loki_s < 0.3, f"Loki waited {loki_s:.2f}s behind a slow Prometheus"
    assert pool_s < 0.3, f"the shared pool was starved for {pool_s:.2f}s"
    assert fake.max_inflight == 2  # Prometheus never had more than its bound in flight
    answered = [o for o in outcomes if isinstance(o, list)]
    assert len(answered) == 2 and all(isinstance(o, SourceTimeout) for o in outcomes[2:])
    assert probe.worst < MAX_LAG_S
    print(f"\nLoki answered in {loki_s * 1000:.0f} ms and the shared pool in "
          f"{pool_s * 1000:.1f} ms while 6 slow Prometheus queries waited on 2 slots")
