"""Decode + rank a large pprof profile, side by side with ``go tool pprof -top`` on the same file.

Run: .venv/bin/python -m bench.pprof_decode [--samples 60000] [--functions 5000] [--runs 7]

A synthetic CPU profile (Go-style names, deep stacks, some inlined frames, gzipped) is written
to a temporary directory. We time, in this process: decode alone, decode + per-function flat/cum
totals (what a triage step needs), and decode + the full ``-top`` text. ``go tool pprof -top``
is timed as a subprocess (wall time, process start included) when ``go`` is on PATH, and its
output is compared with ours. Runs are interleaved and CPU time is reported beside wall time
(ours: process time; go: the child's user + system time), since a busy machine skews wall
time. Last, the event loop's worst lag is measured while the profile is
decoded (and ranked) through PprofClient's executor paths, in a thread pool and in a process
pool.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import resource
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from bench.common import summary, table
from bot.sources.pprof import decode, encode, frame_totals, render_top
from bot.sources.pprof.client import decode_totals, profile_executor
from bot.sources.pprof.synth import SyntheticShape, synthetic_cpu_profile


@dataclass
class _Series:
    """Wall and CPU seconds of repeated runs of one thing."""

    what: str
    run: Callable[[], object]
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)

    def once(self) -> None:
        wall, cpu, children = time.perf_counter(), time.process_time(), _children_cpu()
        self.run()
        self.wall.append(time.perf_counter() - wall)
        self.cpu.append(time.process_time() - cpu + _children_cpu() - children)

    def row(self) -> dict[str, object]:
        return {"what": self.what, **summary(self.wall),
                "cpu_median_ms": statistics.median(self.cpu) * 1000}


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _measure(series: list[_Series], runs: int) -> None:
    """Interleave the runs, so a busy machine slows every series alike."""
    for item in series:
        item.run()  # warm-up: imports, caches, the go binary in the page cache
    for _ in range(runs):
        for item in series:
            item.once()


async def _worst_lag(
    executor: Executor, job: Callable[[bytes], object], data: bytes,
) -> tuple[float, float]:
    """Worst lag of a 5 ms ticker while ``job(data)`` runs in ``executor``; and its duration."""
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(executor, len, b"")  # start the workers first
    worst = 0.0
    stop = asyncio.Event()

    async def tick() -> None:
        nonlocal worst
        while not stop.is_set():
            before = loop.time()
            await asyncio.sleep(0.005)
            worst = max(worst, loop.time() - before - 0.005)

    ticker = asyncio.create_task(tick())
    started = time.perf_counter()
    await loop.run_in_executor(executor, job, data)
    elapsed = time.perf_counter() - started
    stop.set()
    await ticker
    return worst, elapsed


def _idle(_: bytes) -> None:
    time.sleep(1.0)  # a worker thread that waits without holding the GIL


async def _lags(data: bytes) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    threads = ThreadPoolExecutor(2)
    processes = profile_executor(1)
    cases: list[tuple[str, Executor, Callable[[bytes], object]]] = [
        ("thread pool: decode + rank", threads, decode_totals),
        ("thread pool: decode (Profile)", threads, decode),
        ("process pool: decode + rank", processes, decode_totals),
        ("process pool: decode (Profile back)", processes, decode),
    ]
    try:
        # Baseline: how late the ticker is with nothing to do (a busy machine shows here).
        worst, elapsed = await _worst_lag(threads, _idle, data)
        rows.append({"path": "baseline: idle (1 s)", "seconds": elapsed,
                     "worst_loop_lag_ms": worst * 1000})
        for label, executor, job in cases:
            worst, elapsed = await _worst_lag(executor, job, data)
            rows.append({"path": label, "seconds": elapsed, "worst_loop_lag_ms": worst * 1000})
    finally:
        threads.shutdown()
        processes.shutdown()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=60_000)
    parser.add_argument("--functions", type=int, default=5_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--lag-only", action="store_true", help="only the event-loop lag table")
    args = parser.parse_args()
    profile = synthetic_cpu_profile(SyntheticShape(samples=args.samples, functions=args.functions))
    data = encode(profile)
    print(f"profile: {len(data) / 1e6:.2f} MB gzipped, "
          f"{len(gzip.decompress(data)) / 1e6:.2f} MB raw, {args.samples} samples, "
          f"{args.functions} functions, {sum(len(s.stack) for s in profile.samples)} frames")
    del profile
    if not args.lag_only:
        _timings(data, args.runs)
    print(table(asyncio.run(_lags(data))))


def _timings(data: bytes, runs: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "synthetic.pb.gz"
        path.write_bytes(data)
        series = [
            _Series("ours: decode", lambda: decode(data)),
            _Series("ours: decode + rank (flat/cum)", lambda: frame_totals(decode(data))),
            _Series("ours: decode + -top text", lambda: render_top(decode(data))),
        ]
        go = shutil.which("go")
        command = [go or "go", "tool", "pprof", "-top", str(path)]
        if go is not None:
            series.append(_Series("go tool pprof -top (subprocess)", lambda: subprocess.run(
                command, capture_output=True, check=True)))
        _measure(series, runs)
        print(table([item.row() for item in series]))
        if go is None:
            print("go is not on PATH: no comparison (Debian package golang-go)")
        else:
            _compare(series, data, subprocess.run(command, capture_output=True, text=True,
                                                  check=True).stdout)


def _compare(series: list[_Series], data: bytes, go_text: str) -> None:
    go_wall = statistics.median(series[-1].wall)
    go_cpu = statistics.median(series[-1].cpu)
    for item in series[1:3]:
        print(f"ratio to go, {item.what}: wall {statistics.median(item.wall) / go_wall:.2f}, "
              f"cpu {statistics.median(item.cpu) / go_cpu:.2f}")
    same = render_top(decode(data)) == go_text
    print(f"our -top text identical to go's: {'yes' if same else 'NO'}")


if __name__ == "__main__":
    main()
