"""A supervised process pool whose workers are bounded, and killed and replaced one at a time.

``concurrent.futures.ProcessPoolExecutor`` cannot stop a running task: a worker stuck in a
pathological decode keeps its CPU and memory until it finishes, if ever, and a pool whose
workers all hang is useless. :class:`BoundedProcessPool` is an ``Executor`` (so
``loop.run_in_executor`` takes it) built for hostile input:

- each worker runs under an address-space limit (``RLIMIT_AS``, 1 GiB by default) and a
  lower CPU priority (``os.nice``), both set in the worker itself before it takes a task, so
  an allocation past the limit is a ``MemoryError`` in the worker, never the bot's OOM-kill,
  and a busy worker yields the CPU to the event loop;
- each task has a wall-clock deadline: past it the worker is killed (SIGKILL), the caller
  gets :class:`WorkerTimeout`, and a fresh worker takes the slot, so the next task works;
- a worker that ran out of memory answers :class:`WorkerOutOfMemory` and is replaced, since
  its heap may stay bloated; a worker that dies (a signal, a crash in C) is replaced and the
  caller gets :class:`WorkerDied`; cancelling a running task's future kills its worker too;
- workers die with the bot: on Linux each asks the kernel for SIGKILL when its parent goes
  (``PR_SET_PDEATHSIG``), elsewhere a thread in the worker watches the parent's pid; and
  :meth:`BoundedProcessPool.shutdown` stops idle workers and kills busy ones.

Each slot is one driver thread in the bot's process that feeds its worker over a pipe and
waits on the pipe and the process's sentinel with the task's deadline. Workers are started by
``spawn`` (no fork of a process running an event loop and threads), from their driver thread,
because the kernel's parent-death signal fires when the *thread* that forked the child exits.
:attr:`BoundedProcessPool.restarts` counts replaced workers.
"""

from __future__ import annotations

import contextlib
import itertools
import multiprocessing
import os
import queue
import signal
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import Any, ParamSpec, TypeVar

from bot.errors import InputError
from bot.sources.pprof.worker_main import worker_main

__all__ = ["BoundedProcessPool", "WorkerDied", "WorkerError", "WorkerLimits",
           "WorkerOutOfMemory", "WorkerTimeout"]

GIB = 1024 * 1024 * 1024
_STOP_GRACE_SECONDS = 2.0
_P = ParamSpec("_P")
_T = TypeVar("_T")


class WorkerError(InputError):
    """A task could not finish in its worker; the message says which bound it hit.

    An ``InputError``: the bounds exist for input that would otherwise take the bot down (a
    hostile profile), and the message is safe to show.
    """


class WorkerTimeout(WorkerError):
    """The task ran past its deadline; its worker was killed and replaced."""


class WorkerOutOfMemory(WorkerError):
    """The task needed more memory than the worker's address-space limit."""


class WorkerDied(WorkerError):
    """The worker exited or was killed while running the task (or the pool shut down)."""


@dataclass(frozen=True)
class WorkerLimits:
    """What one task may use: address space, wall-clock seconds, and the worker's niceness."""

    memory_bytes: int = GIB
    deadline_seconds: float = 60.0
    nice: int = 10

    def describe_memory(self) -> str:
        """The memory limit for a message (``1 GiB``, ``256 MiB``)."""
        if self.memory_bytes % GIB == 0:
            return f"{self.memory_bytes // GIB} GiB"
        return f"{self.memory_bytes // (1024 * 1024)} MiB"


class _TaskFuture(Future[Any]):
    """A future whose ``cancel()`` also stops a task already running (by killing its worker)."""

    def __init__(self) -> None:
        super().__init__()
        self.on_cancel_running: Callable[[], None] | None = None

    def cancel(self) -> bool:
        """Cancel a pending task; for a running one, kill its worker (the slot replaces it)."""
        if super().cancel():
            return True
        kill = self.on_cancel_running
        if kill is not None and self.running():
            kill()
        return False


@dataclass
class _Task:
    future: _TaskFuture
    fn: Callable[..., Any]
    args: tuple[Any, ...]
    kwargs: dict[str, Any]


class BoundedProcessPool(Executor):
    """``workers`` bounded worker processes behind the ``Executor`` interface (module doc)."""

    def __init__(self, workers: int = 2, limits: WorkerLimits | None = None) -> None:
        if workers < 1:
            raise ValueError(f"a pool needs at least one worker, not {workers}")
        self.limits = limits or WorkerLimits()
        self._tasks: queue.SimpleQueue[_Task | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._closed = False
        self._restarts = 0
        self._slots = [_Slot(self, index) for index in range(workers)]
        for slot in self._slots:
            slot.start()

    @property
    def restarts(self) -> int:
        """How many workers were replaced (deadline, memory, death, cancellation)."""
        return self._restarts

    def worker_pids(self) -> list[int]:
        """The pids of the workers alive now (for tests and diagnostics)."""
        return [pid for slot in self._slots if (pid := slot.pid()) is not None]

    def submit(self, fn: Callable[_P, _T], /, *args: _P.args, **kwargs: _P.kwargs) -> Future[_T]:
        """Queue ``fn(*args, **kwargs)``; it must be importable by name in a fresh process."""
        future = _TaskFuture()
        with self._lock:
            if self._closed:
                raise RuntimeError("cannot schedule new tasks after shutdown")
            self._tasks.put(_Task(future, fn, args, kwargs))
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Stop taking tasks; with ``cancel_futures`` drop queued ones and kill busy workers."""
        with self._lock:
            already, self._closed = self._closed, True
        if not already:
            if cancel_futures:
                self._cancel_queued()
                for slot in self._slots:
                    slot.kill_busy()
            for _ in self._slots:
                self._tasks.put(None)
        if wait:
            for slot in self._slots:
                slot.join()

    def _cancel_queued(self) -> None:
        while True:
            try:
                task = self._tasks.get_nowait()
            except queue.Empty:
                return
            if task is not None:
                task.future.cancel()

    def _next_task(self) -> _Task | None:
        return self._tasks.get()

    def _count_restart(self) -> None:
        with self._lock:
            self._restarts += 1

    @property
    def closed(self) -> bool:
        """Whether :meth:`shutdown` was called."""
        return self._closed


class _Slot:
    """One worker process and the driver thread that feeds it and watches its bounds."""

    _ids = itertools.count()

    def __init__(self, pool: BoundedProcessPool, index: int) -> None:
        self._pool = pool
        self._limits = pool.limits
        self._thread = threading.Thread(
            target=self._drive, name=f"bounded-pool-{next(self._ids)}-{index}", daemon=True
        )
        self._lock = threading.Lock()
        self._process: BaseProcess | None = None
        self._conn: Connection | None = None
        self._current: _Task | None = None
        self._started = threading.Event()

    def start(self) -> None:
        """Start the driver thread and wait until its first worker is up."""
        self._thread.start()
        self._started.wait()

    def join(self) -> None:
        """Wait for the driver thread (it stops its worker before it ends)."""
        self._thread.join()

    def pid(self) -> int | None:
        """The current worker's pid, if it is alive."""
        with self._lock:
            process = self._process
        return process.pid if process is not None and process.is_alive() else None

    def kill_busy(self) -> None:
        """Kill the worker if it is running a task (its driver reports it and moves on)."""
        with self._lock:
            if self._current is not None and self._process is not None:
                self._process.kill()

    def kill_running(self, task: _Task) -> None:
        """Kill the worker if it is still running ``task`` (whose future was cancelled)."""
        with self._lock:
            if self._current is task and self._process is not None:
                self._process.kill()

    def _drive(self) -> None:
        try:
            self._try_spawn()
        finally:
            self._started.set()
        try:
            while (task := self._pool._next_task()) is not None:
                if task.future.set_running_or_notify_cancel():
                    self._run_guarded(task)
        finally:
            self._stop()

    def _spawn(self) -> None:
        context = multiprocessing.get_context("spawn")
        parent_end, child_end = context.Pipe(duplex=True)
        process = context.Process(
            target=worker_main, args=(child_end, self._limits, os.getpid()),
            name="triage-bounded-worker", daemon=True,
        )
        process.start()
        child_end.close()
        with self._lock:
            self._process, self._conn = process, parent_end

    def _try_spawn(self) -> WorkerDied | None:
        """Start a worker; on failure the slot stays empty and the next task tries again."""
        try:
            self._spawn()
        except Exception as exc:
            return WorkerDied(f"could not start a worker process ({exc})")
        return None

    def _replace(self) -> None:
        """Kill and reap the current worker, and start another unless the pool is closing."""
        with self._lock:
            process, conn = self._process, self._conn
            self._process = self._conn = None
        if process is not None:
            process.kill()
            process.join()
        if conn is not None:
            conn.close()
        self._pool._count_restart()
        if not self._pool.closed:
            self._try_spawn()

    def _run_guarded(self, task: _Task) -> None:
        # A bug here must fail one task, not end the thread: the slot's worker dies with it.
        try:
            self._run(task)
        except Exception as exc:
            if not task.future.done():
                task.future.set_exception(WorkerError(f"the pool failed the task ({exc})"))

    def _run(self, task: _Task) -> None:
        if self._conn is None and (failed := self._try_spawn()) is not None:
            task.future.set_exception(failed)
            return
        task.future.on_cancel_running = lambda: self.kill_running(task)
        with self._lock:
            self._current = task
        try:
            outcome = self._exchange(task)
        finally:
            with self._lock:
                self._current = None
        if isinstance(outcome, _Replace):
            self._replace()
            outcome = outcome.error
        if isinstance(outcome, BaseException):
            task.future.set_exception(outcome)
        else:
            task.future.set_result(outcome.value)

    def _exchange(self, task: _Task) -> _Value | _Replace | BaseException:
        """Send the task and wait for its answer, the deadline, or the worker's end."""
        conn, process = self._conn, self._process
        if conn is None or process is None:
            return _Replace(WorkerDied("the worker could not be started"))
        try:
            conn.send((task.fn, task.args, task.kwargs))
        except (BrokenPipeError, ConnectionResetError):
            return _Replace(WorkerDied("the worker ended before it took the task"))
        except Exception as exc:  # the task itself cannot be pickled: nothing was sent
            return exc
        deadline = self._limits.deadline_seconds
        ready = wait([conn, process.sentinel], timeout=deadline)
        if not ready:
            return _Replace(WorkerTimeout(f"took longer than {deadline:g} s"))
        return self._answer(conn, process)

    def _answer(self, conn: Connection, process: BaseProcess) -> _Value | _Replace | BaseException:
        try:
            if not conn.poll():
                raise EOFError
            status, payload = conn.recv()
        except (EOFError, OSError):
            process.join(_STOP_GRACE_SECONDS)
            return _Replace(WorkerDied(f"the worker died ({_exit_reason(process.exitcode)})"))
        except Exception as exc:  # an answer that does not unpickle here
            return WorkerError(f"the worker's answer could not be read ({exc})")
        if status == "ok":
            return _Value(payload)
        if status == "oom":
            return _Replace(WorkerOutOfMemory(
                f"needed more than {self._limits.describe_memory()} of memory"))
        return payload if isinstance(payload, BaseException) else WorkerError(str(payload))

    def _stop(self) -> None:
        with self._lock:
            process, conn = self._process, self._conn
            self._process = self._conn = None
        if conn is not None:
            with contextlib.suppress(OSError):
                conn.send(None)
            conn.close()
        if process is not None:
            process.join(_STOP_GRACE_SECONDS)
            if process.is_alive():
                process.kill()
                process.join()


@dataclass(frozen=True)
class _Value:
    value: Any


@dataclass(frozen=True)
class _Replace:
    """The worker must be replaced; the caller gets ``error``."""

    error: WorkerError


def _exit_reason(exitcode: int | None) -> str:
    if exitcode is None:
        return "still running"
    if exitcode < 0:
        try:
            return f"killed by {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"killed by signal {-exitcode}"
    return f"exit status {exitcode}"
