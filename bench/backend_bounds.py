"""Peak RSS and time-to-failure of one Prometheus query against a hostile backend, old and new.

Run: .venv/bin/python -m bench.backend_bounds [--size 200MB] [--deadline 5] [--every 1]
     [--old-cap 30]

A local backend (tests/sources/hostile_backend.py) answers a valid 200 MB vector, a 31 MiB one
(just under the default 32 MiB cap: what an accepted answer costs), trickles a byte every
``--every`` seconds after the headers, or hangs after the headers. Each case runs in a fresh
process, so its peak RSS (ru_maxrss) is its own:

- ``new``: PrometheusClient (aiohttp through HttpBackend, deadline ``--deadline``);
- ``old``: what prometheus-api-client did — requests with ``timeout=deadline`` (per socket
  operation), then ``response.json()`` — when requests is installed. Its process gets an
  address-space limit of 3 GiB so the machine survives it; a MemoryError means "more than
  that". It is killed after ``--old-cap`` seconds if still running (a trickle never ends).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path

from bench.common import table
from bot.config import parse_size
from tests.sources.hostile_backend import HostileBackend

ROOT = Path(__file__).resolve().parents[1]
OLD_AS_LIMIT = 3 << 30

_NEW = """
import asyncio, json, resource, sys, time
from bot.errors import SourceError
from bot.sources import PrometheusClient

async def main(url, deadline):
    client = PrometheusClient(url, timeout=deadline, max_concurrency=1)
    started = time.monotonic()
    try:
        outcome = f"answered: {len(await client.query('up')):,} series"
    except SourceError as exc:
        outcome = str(exc)
    finally:
        await client.close()
    return time.monotonic() - started, outcome

seconds, outcome = asyncio.run(main(sys.argv[1], float(sys.argv[2])))
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": seconds, "rss_mib": rss, "outcome": outcome}))
"""

_OLD = """
import json, resource, sys, time
resource.setrlimit(resource.RLIMIT_AS, (int(sys.argv[3]), int(sys.argv[3])))
started = time.monotonic()
try:
    import requests
    response = requests.get(sys.argv[1] + "/api/v1/query", params={"query": "up"},
                            timeout=float(sys.argv[2]))
    outcome = f"answered: {len(response.json()['data']['result']):,} series"
except MemoryError:
    outcome = "MemoryError (above the address-space limit)"
except Exception as exc:
    outcome = f"{type(exc).__name__}: {str(exc)[:80]}"
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": time.monotonic() - started, "rss_mib": rss, "outcome": outcome}))
"""


async def _run(code: str, args: list[str], cap: float) -> dict[str, object]:
    started = time.monotonic()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", code, *args, cwd=ROOT,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        out, err = await asyncio.wait_for(process.communicate(), cap)
    except TimeoutError:
        process.kill()
        await process.wait()
        return {"seconds": time.monotonic() - started, "rss_mib": float("nan"),
                "outcome": f"still running after {cap:g}s: killed"}
    if process.returncode != 0:
        return {"seconds": time.monotonic() - started, "rss_mib": float("nan"),
                "outcome": f"exit {process.returncode}: {err.decode()[-200:]}"}
    result: dict[str, object] = json.loads(out)
    return result


def _old_available() -> bool:
    try:
        import requests  # noqa: F401
    except ImportError:
        return False
    return True


async def main(size: int, deadline: float, every: float, old_cap: float) -> None:
    """Run each case with the new client, then the old way, and print one table."""
    cases = [("big", size), ("under the cap", 31 << 20), ("trickle", size), ("hang", size)]
    rows: list[dict[str, object]] = []
    async with HostileBackend(interval=every) as backend:
        for case, case_size in cases:
            backend.mode, backend.size = ("big" if case == "under the cap" else case), case_size
            runs = [("new", _NEW, [backend.url, str(deadline)], deadline + 30)]
            if _old_available():
                runs.append(("old", _OLD, [backend.url, str(deadline), str(OLD_AS_LIMIT)],
                             old_cap))
            for client, code, args, cap in runs:
                result = await _run(code, args, cap)
                rows.append({"case": case, "client": client,
                             "peak_rss_mib": float(str(result["rss_mib"])),
                             "seconds": float(str(result["seconds"])),
                             "outcome": str(result["outcome"])[:110]})
    print(f"answer {size / 1e6:.0f} MB, deadline {deadline:g}s, trickle 1 byte/{every:g}s")
    if not _old_available():
        print("(requests is not installed: the old client's figures are left out)")
    print(table(rows))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="200MB", help="size of the huge answer (200MB)")
    parser.add_argument("--deadline", type=float, default=5.0, help="the client's deadline, s")
    parser.add_argument("--every", type=float, default=1.0, help="trickle: seconds per byte")
    parser.add_argument("--old-cap", type=float, default=30.0,
                        help="kill the old client after this many seconds")
    options = parser.parse_args()
    asyncio.run(main(parse_size(options.size), options.deadline, options.every,
                     options.old_cap))
