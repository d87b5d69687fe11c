"""``triage-bot sim``: play a misbehaving service, and record Prometheus answers for the demo.

``sim list`` names the scenarios; ``sim serve --scenario NAME --port N`` runs the service
stand-in (metrics, pprof, Loki, Jaeger, Tempo) with the scenario's history ending now;
``sim record`` regenerates ``bot/sim/recordings``: for each scenario it backfills a real
Prometheus, starts the stand-in for it to scrape, puts a recording proxy in front and runs the
walk's queries through it (``bot.triage.walk_recording.record_walk``), then saves what
Prometheus answered. Needs ``prometheus`` and ``promtool`` (Debian package ``prometheus``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import inspect
import json
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bot.errors import InputError
from bot.sim.history import backfill, scenario_fingerprint
from bot.sim.prom_replay import RECORDINGS_DIR, RecordingProxy, recording_path
from bot.sim.prometheus_process import BackfilledPrometheus, ScrapeTarget
from bot.sim.scenarios import SCENARIOS, Scenario, ScenarioClock, get
from bot.sim.service import ServiceStandIn

__all__ = ["add_sim_commands"]

WALK_MODULE = "bot.triage.walk_recording"
RecordWalk = Callable[[str, str, str], Any]


def add_sim_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``sim`` with ``list``, ``serve`` and ``record`` to the bot's CLI."""
    sim = subparsers.add_parser("sim", help="play a misbehaving service; record Prometheus "
                                             "answers for the demo")
    commands = sim.add_subparsers(dest="sim_command", metavar="{list,serve,record}",
                                  required=True)
    listing = commands.add_parser("list", help="the scenarios and the playbook each matches")
    listing.set_defaults(func=_list)
    serve = commands.add_parser("serve", help="run the service stand-in for a scenario")
    serve.add_argument("--scenario", required=True, help="scenario name (see `sim list`)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=9000)
    serve.add_argument("--time-scale", type=float, default=1.0,
                       help="CPU profiles take seconds x this (0..1, default 1)")
    serve.set_defaults(func=_serve)
    record = commands.add_parser("record", help="regenerate bot/sim/recordings against a "
                                                "real, backfilled Prometheus")
    which = record.add_mutually_exclusive_group(required=True)
    which.add_argument("--scenario", action="append", help="a scenario (repeatable)")
    which.add_argument("--all", action="store_true", help="every scenario")
    record.add_argument("--out", type=Path, default=RECORDINGS_DIR,
                        help=f"where to write recordings (default {RECORDINGS_DIR})")
    record.add_argument("--step", type=float, default=15.0,
                        help="seconds between backfilled samples (default 15)")
    record.set_defaults(func=_record)


def _list(args: argparse.Namespace) -> int:
    for scenario in SCENARIOS.values():
        print(f"{scenario.name:18} playbook={scenario.playbook:18} "
              f"service={scenario.service.name:10} {scenario.title}")
    return 0


def _serve(args: argparse.Namespace) -> int:
    try:
        scenario = get(args.scenario)
    except InputError as exc:
        print(f"triage-bot sim: {exc}", file=sys.stderr)
        return 2
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve_forever(scenario, args.host, args.port, args.time_scale))
    return 0


async def _serve_forever(scenario: Scenario, host: str, port: int, time_scale: float) -> None:
    standin = await ServiceStandIn(scenario, time_scale=time_scale).start(host, port)
    entry = standin.catalog_entry()
    print(f"{scenario.name}: {scenario.title}\n  serving on {standin.base_url} "
          f"(metrics, pprof, Loki, Jaeger, Tempo)\n  catalog: name={entry.name} "
          f"prometheus={dict(entry.prometheus)} loki={dict(entry.loki)} traces={entry.traces}",
          flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await standin.stop()


def _record_walk() -> RecordWalk | None:
    """The lead's ``record_walk``, imported only when recording (it imports the whole walk)."""
    try:
        module = importlib.import_module(WALK_MODULE)
    except ModuleNotFoundError as exc:
        if exc.name != WALK_MODULE:
            raise
        return None
    found: RecordWalk | None = getattr(module, "record_walk", None)
    return found


def _record(args: argparse.Namespace) -> int:
    try:
        scenarios = list(SCENARIOS.values()) if args.all else [get(n) for n in args.scenario]
    except InputError as exc:
        print(f"triage-bot sim: {exc}", file=sys.stderr)
        return 2
    walk = _record_walk()
    if walk is None:
        print(f"triage-bot sim: {WALK_MODULE}.record_walk is not available; it runs the "
              "walk's queries for recording", file=sys.stderr)
        return 2
    for scenario in scenarios:
        path = asyncio.run(record_scenario(scenario, walk, args.out, step_s=args.step))
        print(f"{scenario.name}: recorded into {path}", flush=True)
    return 0


async def record_scenario(scenario: Scenario, walk: RecordWalk, out: Path, *,
                          step_s: float = 15.0) -> Path:
    """Record ``walk``'s Prometheus queries for one scenario; return the file written.

    Each scenario gets its own Prometheus with the history ending at the moment recording
    starts, so every recording's times are equally close to its anchor.
    """
    anchor = float(int(time.time()))
    with tempfile.TemporaryDirectory(prefix="triage-record-") as tmp:
        tsdb = Path(tmp) / "data"
        await asyncio.to_thread(backfill, [scenario], anchor, tsdb, step_s=step_s)
        # Scraped every second (the first scrape comes soon) but stamped on the history's
        # step, so the series keep one resolution past the anchor.
        standin = await ServiceStandIn(scenario, ScenarioClock(anchor, scenario.history_s),
                                       time_scale=0.05, metrics_step_s=step_s).start()
        target = ScrapeTarget(scenario.service.name, standin.base_url.removeprefix("http://"),
                              {"instance": scenario.service.target_labels()["instance"]})
        prometheus = BackfilledPrometheus(tsdb, [target])
        proxy = RecordingProxy(prometheus.url, anchor)
        try:
            await asyncio.to_thread(prometheus.start)
            await asyncio.to_thread(prometheus.wait_for,
                                    f'up{{job="{scenario.service.name}"}} == 1')
            await proxy.start()
            # A plain function may block (or run its own loop): a thread keeps this loop,
            # which serves the stand-in and the proxy, free. A coroutine runs here.
            done = await asyncio.to_thread(walk, scenario.name, proxy.base_url,
                                           standin.base_url)
            if inspect.isawaitable(done):
                await done
            version = await asyncio.to_thread(_version, prometheus.url)
            recording = proxy.recording(scenario.name, scenario_fingerprint(scenario), version)
        finally:
            await proxy.stop()
            await standin.stop()
            await asyncio.to_thread(prometheus.cleanup)
    path = recording_path(scenario.name, out)
    recording.save(path)
    return path


def _version(url: str) -> str:
    """Prometheus's version from ``/api/v1/status/buildinfo`` ("" when it will not say)."""
    try:
        with urllib.request.urlopen(url + "/api/v1/status/buildinfo", timeout=5) as answer:
            return str(json.loads(answer.read())["data"]["version"])
    except (OSError, ValueError, KeyError):
        return ""


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m bot.cli_sim`` (the same commands as ``triage-bot sim``)."""
    parser = argparse.ArgumentParser(prog="triage-bot")
    add_sim_commands(parser.add_subparsers())
    args = parser.parse_args(argv)
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
