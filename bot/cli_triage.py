"""``triage-bot triage <service> [--since 30m]``: the walk in a terminal, without Slack.

The same Walk the bot runs, over the configured backends, with an in-process store (nothing is
written to Redis): each step's progress and findings are printed as they come, then the
ranking and the RCA draft.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

import aiohttp
import fakeredis

from bot.config import Settings, default_config_path, load_settings, parse_duration
from bot.errors import InputError
from bot.models import EventKind, Incident, Severity, TimelineEvent, utcnow
from bot.sources.pprof.client import PprofClient, profile_executor
from bot.sources.registry import Sources
from bot.store import AlertStateStore, ClaimStore, IncidentStore, Keys
from bot.store.rca import RcaStore
from bot.store.walk import WalkContextState, WalkStore
from bot.triage.findings import STEP_ORDER
from bot.triage.playbook_loader import load_playbooks
from bot.triage.rca_service import RcaService
from bot.triage.report_text import diagnosis_report, step_report
from bot.triage.steps.base import StepDeps
from bot.triage.walk import Walk, WalkStores


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
    settings = load_settings(args.config or default_config_path(os.environ), os.environ)
    try:
        since = timedelta(seconds=parse_duration(args.since))
        asyncio.run(_walk(settings, args.service, since, args.profile_seconds))
    except (InputError, ValueError) as exc:
        print(f"triage-bot triage: {exc}", file=sys.stderr)
        return 2
    return 0


@asynccontextmanager
async def _walk_for(settings: Settings, profile_seconds: int | None
                    ) -> AsyncIterator[tuple[Walk, RcaService]]:
    redis = fakeredis.FakeAsyncRedis(decode_responses=True)
    keys = Keys("terminal")
    processes = profile_executor()
    stores = WalkStores(incidents=IncidentStore(redis, keys), walk=WalkStore(redis, keys),
                        alerts=AlertStateStore(redis, keys), claims=ClaimStore(redis, keys))
    try:
        async with await Sources.open(settings.backends) as sources, \
                aiohttp.ClientSession() as session:
            deps = StepDeps(sources=sources, pprof=PprofClient(session, processes),
                            executor=processes, profile_seconds=profile_seconds)
            playbooks = load_playbooks(settings.playbooks_dir)
            yield (Walk(stores, playbooks, settings.catalog, deps),
                   RcaService(stores.incidents, stores.walk, RcaStore(redis, keys), playbooks))
    finally:
        processes.shutdown(wait=True)
        await redis.aclose()


async def _walk(settings: Settings, name: str, since: timedelta,
                profile_seconds: int | None) -> None:
    service = settings.catalog.get(name)
    if service is None:
        known = ", ".join(settings.catalog.names()) or "none"
        raise InputError(f"unknown service {name!r}; the catalog has: {known}")
    async with _walk_for(settings, profile_seconds) as (walk, rca):
        created = await walk.stores.incidents.create(
            lambda iid, n: Incident(id=iid, number=n, service=service.name,
                                    summary=f"terminal triage of {service.name}",
                                    severity=Severity.UNKNOWN, channel="terminal",
                                    source="cli"),
            TimelineEvent(kind=EventKind.DECLARED, actor="cli"))
        incident = created.incident
        await walk.stores.walk.save_context(incident.id, WalkContextState(
            anomaly_start=utcnow() - since))
        for step in STEP_ORDER:
            print(f"… {step.value}", flush=True)
            result = await walk.run_step(incident, step, "cli")
            if result is not None:
                print(step_report(result), flush=True)
        diagnosis = await walk.stores.walk.diagnosis(incident.id)
        if diagnosis is not None:
            print(diagnosis_report(diagnosis))
        print("\n" + await rca.markdown(incident))
