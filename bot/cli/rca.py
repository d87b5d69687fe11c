"""``triage-bot rca <incident-id>``: the RCA as Markdown on standard output."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

from bot.config import DEFAULT_REDIS_URL, default_config_path, load_settings
from bot.errors import InputError, StoreError
from bot.models import parse_incident_ref


def add_rca_command(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``rca``."""
    parser = subparsers.add_parser("rca", help="print an incident's RCA as Markdown")
    parser.add_argument("incident", help="incident id, e.g. INC-12")
    parser.add_argument("--config", type=Path, default=None)
    parser.set_defaults(func=run_rca)


def run_rca(args: argparse.Namespace) -> int:
    """Print the RCA (stored edits kept, the rest drafted from the evidence)."""
    iid = parse_incident_ref(args.incident)
    if iid is None:
        print(f"triage-bot: {args.incident!r} is not an incident id (like INC-12)",
              file=sys.stderr)
        return 2
    from bot.triage.terminal import rca_markdown  # Redis and the walk, only when printing

    settings = load_settings(args.config or default_config_path(os.environ), os.environ)
    try:
        text = asyncio.run(rca_markdown(iid, settings.redis_url or DEFAULT_REDIS_URL,
                                     settings.key_prefix, settings.playbooks_dir))
    except (InputError, StoreError) as exc:
        print(f"triage-bot: {exc}", file=sys.stderr)
        return 1
    print(text)
    return 0
