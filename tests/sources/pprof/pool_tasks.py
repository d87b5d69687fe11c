"""Tasks for the bounded pool's tests: module-level, so a spawned worker can import them."""

from __future__ import annotations

import os
import re
import signal
import time


def add(a: int, b: int) -> int:
    """A task that works."""
    return a + b


def worker_pid() -> int:
    """Which worker ran the task."""
    return os.getpid()


def backtrack() -> bool:
    """Catastrophic backtracking in Python's re: the profile-regex hang, minutes of C code."""
    return re.fullmatch("(?:(a+)+$)", "a" * 34 + "!") is not None


def allocate(size: int) -> int:
    """Ask for ``size`` bytes at once (past the worker's address-space limit: MemoryError)."""
    return len(bytearray(size))


def crash() -> None:
    """Die the way a C extension does on a bad pointer."""
    os.kill(os.getpid(), signal.SIGSEGV)


def fail(message: str) -> None:
    """Raise an ordinary error, which must come back to the caller as it is."""
    raise ValueError(message)


def nice_and_limit() -> tuple[int, int]:
    """The worker's niceness and address-space limit, as the task sees them."""
    import resource

    return os.nice(0), resource.getrlimit(resource.RLIMIT_AS)[0]


def sleep(seconds: float) -> float:
    """Hold the worker for a while (only for tests of cancellation and shutdown)."""
    time.sleep(seconds)
    return seconds


def backtrack_on(data: bytes) -> bool:
    """A profile job that hangs (as the regex-profile decode did before RE2)."""
    del data
    return backtrack()
