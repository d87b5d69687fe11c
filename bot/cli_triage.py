"""``triage-bot triage <service> [--since 30m]``: the walk in a terminal, without Slack."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from datetime import timedelta
from pathlib import Path

from bot.config import default_config_path, load_settings, parse_duration
from bot.errors import InputError


def add_triage_command(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``triage``."""
    parser = subparsers.add_parser("triage", help="run the walk for a service in this terminal")
    parser.add_argument("service", help="a catalog service name or alias")
    parser.add_argument("--since", default="30m",
                        help="when the trouble started, as a duration ago (default 30m)")
    parser.add_argument("--config", type=Path, default=None)
    parser.add_argument("--profile-seconds", type=int, default=None,
                        help="CPU profile length (default: the leading playbook's)")
    parser.set_defaults(func=run_triage)


def run_triage(args: argparse.Namespace) -> int:
    """Walk every step for the service and print what was found."""
    from bot.triage.terminal import terminal_walk  # the walk's machinery, only when walking

    settings = load_settings(args.config or default_config_path(os.environ), os.environ)
    try:
        since = timedelta(seconds=parse_duration(args.since))
        asyncio.run(terminal_walk(settings, args.service, since, args.profile_seconds))
    except (InputError, ValueError) as exc:
        print(f"triage-bot triage: {exc}", file=sys.stderr)
        return 2
    return 0
