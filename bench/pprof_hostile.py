"""Peak memory and time of hostile profiles through the bounded pool, beside real ones.

Run: .venv/bin/python -m bench.pprof_hostile [--case NAME] [--budget-mib 512]

Each case runs in a fresh child process (``--one NAME``) that owns a one-worker
:class:`~bot.sources.pprof.workers.BoundedProcessPool` (1 GiB, 60 s), decodes and ranks the
profile there as the bot's profile step does, shuts the pool down and reports: the outcome
(the message the step would show), the wall time, the parent's peak RSS (``RUSAGE_SELF``) and
the worker's (``RUSAGE_CHILDREN``: the largest reaped child), and the pool's restarts. The
cases are issue 12's reproductions and a few more, built by ``tests/sources/pprof/hostile.py``:

- ``gzip-26M-empty-samples``: 51 KB inflating to 52 MB of empty samples (was 1.4 GB RSS);
- ``gzip-240M-empty-samples``: ~0.5 MB inflating to 480 MB (was 4.7-6.9 GB, then SIGSEGV);
- ``gzip-1GB-zeros``: a gigabyte of zeros (was refused at 1.1 GB RSS);
- ``inline-amplifier``: 455 bytes whose stacks expand to 200 M frames;
- ``redos-86-bytes``: drop_frames ``(a+)+$`` against ``"a"*34 + "!"`` (was a hang);
- the real fixtures and a 60,000-sample synthetic profile, for comparison.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from bench.common import table
from bot.errors import InputError
from bot.sources.pprof import encode
from bot.sources.pprof.client import bounded_failure, decode_totals, profile_executor
from bot.sources.pprof.decode import ProfileTooLarge
from bot.sources.pprof.synth import SyntheticShape, synthetic_cpu_profile
from bot.sources.pprof.workers import WorkerError
from tests.sources.pprof import hostile
from tests.sources.pprof.conftest import ALL_PPROF, pprof_bytes

ROOT = Path(__file__).resolve().parents[1]
CASES: dict[str, Callable[[], bytes]] = {
    "gzip-26M-empty-samples": hostile.empty_samples_bomb,
    "gzip-240M-empty-samples": lambda: hostile.empty_samples_bomb(240 << 20),
    "gzip-1GB-zeros": hostile.zeros_bomb,
    "inline-amplifier": hostile.inline_amplifier,
    "redos-86-bytes": hostile.redos_profile,
    "synthetic-60k-samples": lambda: encode(
        synthetic_cpu_profile(SyntheticShape(samples=60_000, functions=5_000))),
    **{f"real:{name[:24]}": (lambda n=name: pprof_bytes(n)) for name in ALL_PPROF},
}


def run_one(name: str) -> dict[str, object]:
    """Decode and rank one case in a fresh one-worker pool; what the bot would report."""
    data = CASES[name]()
    pool = profile_executor(1)
    pool.submit(len, b"").result()  # the worker is up and has imported the decoder
    started = time.monotonic()
    try:
        totals = pool.submit(decode_totals, data).result()
        outcome = f"ok: {len(totals.functions)} functions, total {totals.total}"
    except (ProfileTooLarge, WorkerError) as exc:
        outcome = bounded_failure("the profile", exc)
    except InputError as exc:
        outcome = f"not a profile: {exc}"
    elapsed = time.monotonic() - started
    restarts = pool.restarts
    pool.shutdown(wait=True, cancel_futures=True)
    return {
        "case": name, "input_kB": round(len(data) / 1024, 1), "seconds": elapsed,
        "parent_peak_MB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "worker_peak_MB": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
        "restarts": restarts, "outcome": outcome[:70],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", action="append", choices=sorted(CASES),
                        help="run only this case (repeatable)")
    parser.add_argument("--one", choices=sorted(CASES), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one)))
        return
    rows = []
    for name in args.case or list(CASES):
        child = subprocess.run(
            [sys.executable, "-m", "bench.pprof_hostile", "--one", name], cwd=ROOT,
            capture_output=True, text=True, check=False, timeout=600,
        )
        if child.returncode != 0:
            rows.append({"case": name, "input_kB": "-", "seconds": "-", "parent_peak_MB": "-",
                         "worker_peak_MB": "-", "restarts": "-",
                         "outcome": f"bench child failed: {child.stderr.strip()[-60:]}"})
            continue
        rows.append(json.loads(child.stdout.strip().splitlines()[-1]))
    print(table(rows))


if __name__ == "__main__":
    main()
