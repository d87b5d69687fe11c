"""The worker's side of :class:`~bot.sources.pprof.workers.BoundedProcessPool`.

A worker binds itself to its parent (it must not outlive the bot), lowers its priority, caps
its address space, then runs tasks from its pipe until told to stop. Every answer is a pair:
``("ok", result)``, ``("error", exception or text)``, or ``("oom", None)`` after a
``MemoryError``, upon which the worker exits so that its slot gets a fresh process.
The parent's side (supervision, deadlines, replacement) is in ``workers``.
"""

from __future__ import annotations

import ctypes
import os
import resource
import signal
import sys
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.sources.pprof.workers import WorkerLimits

__all__ = ["worker_main"]

_PR_SET_PDEATHSIG = 1


def worker_main(conn: Connection, limits: WorkerLimits, parent_pid: int) -> None:
    """A worker's life: bind it to its parent, bound it, then run tasks until told to stop."""
    _die_with_parent(parent_pid)
    os.nice(limits.nice)
    resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
    while True:
        try:
            job = conn.recv()
        except EOFError:
            return
        except MemoryError:
            _send(conn, ("oom", None))
            return
        if job is None:
            return
        reply = _call(*job)
        _send(conn, reply)
        if reply[0] == "oom":
            return  # the heap may stay bloated: the driver starts a fresh worker


def _call(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[str, Any]:
    try:
        return ("ok", fn(*args, **kwargs))
    except MemoryError:
        return ("oom", None)
    except Exception as exc:
        return ("error", exc)


def _send(conn: Connection, reply: tuple[str, Any]) -> None:
    try:
        conn.send(reply)
    except MemoryError:
        conn.send(("oom", None))
    except Exception as exc:  # an exception or result that does not pickle
        conn.send(("error", f"{type(exc).__name__} while sending the answer: {exc}"))


def _die_with_parent(parent_pid: int) -> None:
    """Make sure this worker does not outlive the process that started it."""
    if sys.platform == "linux":
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    else:
        threading.Thread(target=_watch_parent, args=(parent_pid,), daemon=True).start()
    if os.getppid() != parent_pid:  # the parent died before the signal was armed
        os._exit(1)


def _watch_parent(parent_pid: int) -> None:
    stop = threading.Event()
    while not stop.wait(0.5):
        if os.getppid() != parent_pid:
            os._exit(1)
