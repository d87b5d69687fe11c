"""``triage-bot demo [--scenario NAME] [--list] [--out DIR]``."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

from bot.errors import InputError
from bot.sim.scenarios import SCENARIOS

DEFAULT_SCENARIO = "memory-growth"


def add_demo_command(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``demo``."""
    parser = subparsers.add_parser(
        "demo", help="play a whole incident locally (no Slack, Redis or Prometheus needed)")
    parser.add_argument("--scenario", default=DEFAULT_SCENARIO,
                        help=f"which failure to play (default {DEFAULT_SCENARIO}; see --list)")
    parser.add_argument("--list", action="store_true", help="list the scenarios and exit")
    parser.add_argument("--out", type=Path, default=None,
                        help="output folder (default ./out/demo-<scenario>)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Play the scenario, print the channel, say where the files are."""
    if args.list:
        for name, scenario in SCENARIOS.items():
            print(f"{name:18} {scenario.title}")
        return 0
    from bot.demo import run_demo  # the whole bot: loaded only when a demo is played

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
