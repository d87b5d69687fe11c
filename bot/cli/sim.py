"""``triage-bot sim``: play a misbehaving service, and record Prometheus answers for the demo.

``sim list`` names the scenarios; ``sim serve --scenario NAME --port N`` runs the service
stand-in (metrics, pprof, Loki, Jaeger, Tempo) with the scenario's history ending now;
``sim record`` regenerates the recordings the demo replays
(:mod:`triage_sim.replay.record`). The simulators are the ``triage_sim`` package, imported
only when a command runs and installed with the demo extra; without it the command says what
to install.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.cli.simulator import refuse_without_simulator
from bot.errors import InputError

__all__ = ["add_sim_commands"]


def add_sim_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``sim`` with ``list``, ``serve`` and ``record`` to the bot's CLI."""
    sim = subparsers.add_parser("sim", help="play a misbehaving service; record Prometheus "
                                             "answers for the demo (needs the demo extra)")
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
    record = commands.add_parser("record", help="regenerate the demo's recordings against a "
                                                "real, backfilled Prometheus")
    which = record.add_mutually_exclusive_group(required=True)
    which.add_argument("--scenario", action="append", help="a scenario (repeatable)")
    which.add_argument("--all", action="store_true", help="every scenario")
    record.add_argument("--out", type=Path, default=None,
                        help="where to write recordings (default: triage_sim's recordings)")
    record.add_argument("--step", type=float, default=15.0,
                        help="seconds between backfilled samples (default 15)")
    record.set_defaults(func=_record)


def _list(args: argparse.Namespace) -> int:
    refused = refuse_without_simulator("sim")
    if refused is not None:
        return refused
    from triage_sim.service.scenarios import SCENARIOS

    for scenario in SCENARIOS.values():
        print(f"{scenario.name:18} playbook={scenario.playbook:18} "
              f"service={scenario.service.name:10} {scenario.title}")
    return 0


def _serve(args: argparse.Namespace) -> int:
    refused = refuse_without_simulator("sim")
    if refused is not None:
        return refused
    from triage_sim.service.scenarios import get
    from triage_sim.service.serve import serve_scenario

    try:
        scenario = get(args.scenario)
    except InputError as exc:
        print(f"triage-bot sim: {exc}", file=sys.stderr)
        return 2
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve_scenario(scenario, args.host, args.port, args.time_scale))
    return 0


def _record(args: argparse.Namespace) -> int:
    refused = refuse_without_simulator("sim")
    if refused is not None:
        return refused
    from triage_sim.replay.prom_replay import RECORDINGS_DIR
    from triage_sim.replay.record import record_scenario
    from triage_sim.replay.walk import record_walk
    from triage_sim.service.scenarios import SCENARIOS, get

    try:
        scenarios = list(SCENARIOS.values()) if args.all else [get(n) for n in args.scenario]
    except InputError as exc:
        print(f"triage-bot sim: {exc}", file=sys.stderr)
        return 2
    out = args.out or RECORDINGS_DIR
    for scenario in scenarios:
        path = asyncio.run(record_scenario(scenario, record_walk, out, step_s=args.step))
        print(f"{scenario.name}: recorded into {path}", flush=True)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m bot.cli.sim`` (the same commands as ``triage-bot sim``)."""
    parser = argparse.ArgumentParser(prog="triage-bot")
    add_sim_commands(parser.add_subparsers())
    args = parser.parse_args(argv)
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
