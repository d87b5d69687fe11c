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
    settings = load_settings(args.config or default_config_path(os.environ), os.environ)
    try:
        text = asyncio.run(rca_markdown(iid, settings.redis_url or DEFAULT_REDIS_URL,
                                        settings.key_prefix, settings.playbooks_dir))
    except (InputError, StoreError) as exc:
        print(f"triage-bot: {exc}", file=sys.stderr)
        return 1
    print(text)
    return 0


async def rca_markdown(iid: str, redis_url: str, prefix: str, playbooks: Path | None) -> str:
    """The stored RCA of ``iid`` (drafted afresh around human edits) as Markdown."""
    # Redis and the RCA's machinery load only when printing.
    from bot.store.connection import connect_redis
    from bot.store.incidents import IncidentStore
    from bot.store.keys import Keys
    from bot.store.rca import RcaStore
    from bot.store.walk import WalkStore
    from bot.triage.playbook_loader import load_playbook_set
    from bot.triage.rca_service import RcaService

    redis = connect_redis(redis_url)
    keys = Keys(prefix)
    try:
        incidents = IncidentStore(redis, keys)
        incident = await incidents.get(iid)
        if incident is None:
            raise InputError(f"there is no incident {iid}")
        service = RcaService(incidents, WalkStore(redis, keys), RcaStore(redis, keys),
                             load_playbook_set(playbooks))
        return await service.markdown(incident)
    finally:
        await redis.aclose()
