"""The ``triage-bot`` command.

One module per subcommand, each with an ``add_*_command(subparsers)`` that registers it and a
function that runs it. Command modules import their machinery when the command runs, so
``triage-bot pprof top`` does not load Slack and Redis, and ``demo``/``sim`` load the
simulator package (``triage_sim``, not part of the bot's distribution) only when asked.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from bot.cli.audit import add_audit_command
from bot.cli.check import add_check_command
from bot.cli.demo import add_demo_command
from bot.cli.pprof import add_pprof_commands
from bot.cli.rca import add_rca_command
from bot.cli.serve import add_serve_command
from bot.cli.sim import add_sim_commands
from bot.cli.triage import add_triage_command
from bot.errors import ConfigError

__all__ = ["build_parser", "main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "func"):
        parser.print_help()
        return 2
    try:
        code: int = args.func(args)
    except ConfigError as exc:
        print(f"triage-bot: {exc}", file=sys.stderr)
        return 2
    return code


def build_parser() -> argparse.ArgumentParser:
    """All subcommands."""
    parser = argparse.ArgumentParser(prog="triage-bot", description="The triage-bot command.")
    sub = parser.add_subparsers(title="commands")
    add_serve_command(sub)
    add_check_command(sub)
    add_pprof_commands(sub)
    add_rca_command(sub)
    add_audit_command(sub)
    add_demo_command(sub)
    add_triage_command(sub)
    add_sim_commands(sub)
    return parser
