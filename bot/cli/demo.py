"""``triage-bot demo [--scenario NAME] [--list] [--out DIR]``.

The demo lives in the simulator package (``triage_sim``), imported only when the command runs
and installed with the demo extra; without it the command says what to install.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

from bot.cli.simulator import refuse_without_simulator
from bot.errors import InputError

DEFAULT_SCENARIO = "memory-growth"


def add_demo_command(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``demo``."""
    parser = subparsers.add_parser(
        "demo", help="play a whole incident locally (no Slack, Redis or Prometheus needed; "
                     "needs the demo extra)")
    parser.add_argument("--scenario", default=DEFAULT_SCENARIO,
                        help=f"which failure to play (default {DEFAULT_SCENARIO}; see --list)")
    parser.add_argument("--list", action="store_true", help="list the scenarios and exit")
    parser.add_argument("--out", type=Path, default=None,
                        help="output folder (default ./out/demo-<scenario>)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Play the scenario, print the channel, say where the files are."""
    refused = refuse_without_simulator("demo")
    if refused is not None:
        return refused
    if args.list:
        from triage_sim.service.scenarios import SCENARIOS

        for name, scenario in SCENARIOS.items():
            print(f"{name:18} {scenario.title}")
        return 0
    from triage_sim.demo import run_demo  # the whole bot and the stand-ins

    out = args.out or Path("out") / f"demo-{args.scenario}"
    try:
        result = asyncio.run(run_demo(args.scenario, out,
                                      redis_url=os.environ.get("REDIS_URL") or None))
    except InputError as exc:
        print(f"triage-bot demo: {exc}", file=sys.stderr)
        return 2
    print("\n" + result.transcript)
    print(f"\nDone in {result.seconds:.1f} s. Leading pattern: {result.leader or 'none'}.")
    print(f"  channel page: {result.export.index_html}")
    print(f"  charts:       {len(result.export.images)} PNG files in {result.out_dir}")
    print(f"  RCA:          {result.rca_path}")
    return 0
