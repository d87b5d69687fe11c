"""A process that owns a bounded pool, for the orphan test: it prints its workers' pids, keeps
one worker busy in a hang, and waits to be killed."""

from __future__ import annotations

import json
import sys
import time

from bot.sources.pprof.workers import BoundedProcessPool, WorkerLimits
from tests.sources.pprof import pool_tasks


def main() -> None:
    pool = BoundedProcessPool(2, WorkerLimits(deadline_seconds=600))
    pool.submit(pool_tasks.add, 1, 1).result()  # a worker has imported and answered
    pool.submit(pool_tasks.backtrack)  # and one spins in a regex when the owner dies
    print(json.dumps(pool.worker_pids()), flush=True)
    sys.stdin.read()  # until killed
    time.sleep(0)


if __name__ == "__main__":
    main()
