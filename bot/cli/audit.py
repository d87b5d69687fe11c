"""``triage-bot audit <incident-id>``: an incident's full trail, oldest first.

One line per timeline event: when (UTC), from where (button, command, modal, webhook, job),
who, what, and its details; then who wrote each RCA section. Reads Redis only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path

from bot.config import DEFAULT_REDIS_URL, default_config_path, load_settings
from bot.errors import InputError, StoreError
from bot.models import Incident, Rca, TimelineEvent, parse_incident_ref

__all__ = ["add_audit_command", "format_trail", "run_audit"]


def add_audit_command(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``audit``."""
    parser = subparsers.add_parser(
        "audit", help="print who did what to an incident, when, and from where")
    parser.add_argument("incident", help="incident id, e.g. INC-12")
    parser.add_argument("--config", type=Path, default=None)
    parser.set_defaults(func=run_audit)


def run_audit(args: argparse.Namespace) -> int:
    """Print the trail; exit 1 when the incident is unknown or Redis does not answer."""
    iid = parse_incident_ref(args.incident)
    if iid is None:
        print(f"triage-bot: {args.incident!r} is not an incident id (like INC-12)",
              file=sys.stderr)
        return 2
    settings = load_settings(args.config or default_config_path(os.environ), os.environ)
    try:
        incident, events, rca = asyncio.run(
            _read(iid, settings.redis_url or DEFAULT_REDIS_URL, settings.key_prefix))
    except (InputError, StoreError) as exc:
        print(f"triage-bot: {exc}", file=sys.stderr)
        return 1
    print("\n".join(format_trail(incident, events, rca)))
    return 0


def format_trail(incident: Incident, events: list[TimelineEvent], rca: Rca | None) -> list[str]:
    """The lines ``audit`` prints (pure, so it is tested without Redis)."""
    lines = [f"{incident.id} · {incident.service or 'no service'} · {incident.status.value} · "
             f"{incident.summary}"]
    for event in events:
        detail = " ".join(part for part in (
            event.text.replace("\n", " ")[:200],
            json.dumps(event.data, sort_keys=True, default=str) if event.data else "") if part)
        lines.append(f"{event.at.strftime('%Y-%m-%dT%H:%M:%SZ')}  "
                     f"{event.surface or '-':<8} {event.actor or '-':<12} "
                     f"{event.kind.value:<15} {detail}".rstrip())
    if rca is not None:
        for section, text in rca.sections.items():
            if text.origin == "human":
                at = text.edited_at.strftime("%Y-%m-%dT%H:%M:%SZ") if text.edited_at else "-"
                lines.append(f"rca {section.value}: written by {text.edited_by or '-'} at {at}")
    return lines


async def _read(iid: str, redis_url: str, prefix: str
                ) -> tuple[Incident, list[TimelineEvent], Rca | None]:
    # Redis loads only when reading.
    from bot.store.connection import connect_redis
    from bot.store.incidents import IncidentStore
    from bot.store.keys import Keys
    from bot.store.rca import RcaStore

    redis = connect_redis(redis_url)
    keys = Keys(prefix)
    try:
        store = IncidentStore(redis, keys)
        incident = await store.get(iid)
        if incident is None:
            raise InputError(f"there is no incident {iid}")
        return incident, await store.timeline(iid), await RcaStore(redis, keys).get(iid)
    finally:
        await redis.aclose()
