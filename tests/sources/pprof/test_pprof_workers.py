"""BoundedProcessPool: every bound kills and replaces the worker, the next task works, and no
worker outlives its pool or the process that owns it (even killed with SIGKILL)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.sources.pprof.workers import (
    GIB,
    BoundedProcessPool,
    WorkerDied,
    WorkerLimits,
    WorkerOutOfMemory,
    WorkerTimeout,
)
from tests.sources.pprof import pool_tasks
from tests.support.polling import eventually

ROOT = Path(__file__).resolve().parents[3]
LIMITS = WorkerLimits(memory_bytes=GIB, deadline_seconds=2.0)


@pytest.fixture(scope="module")
def pool() -> Iterator[BoundedProcessPool]:
    bounded = BoundedProcessPool(1, LIMITS)
    yield bounded
    bounded.shutdown(wait=True, cancel_futures=True)


def gone(pid: int) -> bool:
    """Whether ``pid`` no longer runs (exited, or a zombie waiting for a reaper)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    return state in ("Z", "X")


def test_a_task_runs_niced_under_the_address_space_limit(pool: BoundedProcessPool) -> None:
    assert pool.submit(pool_tasks.add, 2, 3).result() == 5
    niceness, limit = pool.submit(pool_tasks.nice_and_limit).result()
    assert niceness >= LIMITS.nice and limit == GIB


def test_an_ordinary_error_comes_back_and_keeps_the_worker(pool: BoundedProcessPool) -> None:
    before, restarts = pool.submit(pool_tasks.worker_pid).result(), pool.restarts
    with pytest.raises(ValueError, match="not a bound"):
        pool.submit(pool_tasks.fail, "not a bound").result()
    assert pool.submit(pool_tasks.worker_pid).result() == before
    assert pool.restarts == restarts


@pytest.mark.parametrize(
    ("task", "args", "error", "words"),
    [
        (pool_tasks.backtrack, (), WorkerTimeout, "took longer than 2 s"),
        (pool_tasks.allocate, (2 * GIB,), WorkerOutOfMemory, "needed more than 1 GiB of memory"),
        (pool_tasks.crash, (), WorkerDied, "the worker died (killed by SIGSEGV)"),
    ],
    ids=["deadline", "memory", "crash"],
)
def test_a_bound_kills_the_worker_and_the_next_task_works(
    pool: BoundedProcessPool, task: object, args: tuple[object, ...],
    error: type[Exception], words: str,
) -> None:
    victim, restarts = pool.submit(pool_tasks.worker_pid).result(), pool.restarts
    with pytest.raises(error) as caught:
        pool.submit(task, *args).result()  # type: ignore[arg-type]
    assert str(caught.value) == words
    assert pool.submit(pool_tasks.add, 20, 22).result() == 42
    assert pool.restarts == restarts + 1
    assert gone(victim)
    assert pool.worker_pids() != [victim]


async def test_cancelling_a_running_task_kills_its_worker(pool: BoundedProcessPool) -> None:
    victim, restarts = pool.submit(pool_tasks.worker_pid).result(), pool.restarts
    loop = asyncio.get_running_loop()
    running = loop.run_in_executor(pool, pool_tasks.sleep, 60.0)
    await eventually(lambda: pool.restarts == restarts and pool.worker_pids() == [victim],
                     what="the task to start")
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(running, 0.3)
    await eventually(lambda: gone(victim), within=10, what="the cancelled task's worker to die")
    assert await loop.run_in_executor(pool, pool_tasks.add, 1, 1) == 2


async def test_shutdown_kills_a_busy_worker_and_refuses_new_tasks() -> None:
    bounded = BoundedProcessPool(1, WorkerLimits(deadline_seconds=600))
    busy = bounded.submit(pool_tasks.backtrack)
    queued = [bounded.submit(pool_tasks.sleep, 600.0) for _ in range(3)]
    await eventually(busy.running, what="the first task to start")
    pids = bounded.worker_pids()
    await asyncio.to_thread(bounded.shutdown, wait=True, cancel_futures=True)
    assert pids and all(gone(pid) for pid in pids)
    assert bounded.worker_pids() == []
    with pytest.raises(WorkerDied, match="killed by SIGKILL"):
        busy.result()
    assert all(future.cancelled() for future in queued)
    with pytest.raises(RuntimeError, match="after shutdown"):
        bounded.submit(pool_tasks.add, 1, 1)


async def test_no_worker_survives_its_owner_killed_with_sigkill() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    owner = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.sources.pprof.owner_script", cwd=ROOT, env=env,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert owner.stdout is not None
        workers = json.loads(await asyncio.wait_for(owner.stdout.readline(), 60))
        assert len(workers) == 2 and not any(gone(pid) for pid in workers)
        owner.send_signal(signal.SIGKILL)
        await asyncio.wait_for(owner.wait(), 10)
        await eventually(lambda: all(gone(pid) for pid in workers), within=10,
                         what=f"workers {workers} to die with their owner")
    finally:
        if owner.returncode is None:
            owner.kill()
            await owner.wait()
