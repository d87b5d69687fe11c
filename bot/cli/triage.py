"""``triage-bot triage <service> [--since 30m]``: the walk in a terminal, without Slack.

Exit codes: 0 when at least one step produced evidence, 1 when none did (every step failed
or measured nothing: the printout says why), 2 for a usage or configuration problem.

The walk keeps its state in Redis (REDIS_URL, else the configuration's, else
redis://127.0.0.1:6379/0) under a throwaway key prefix deleted afterwards. Where no Redis
answers, the demo extra's in-memory Redis stands in; without it the command says what to do.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

from bot.cli.simulator import in_memory_redis_or_none
from bot.config import (
    DEFAULT_REDIS_URL,
    Settings,
    default_config_path,
    load_settings,
    parse_duration,
)
from bot.errors import InputError, StoreError

#: How long ``triage`` waits for Redis to answer PING before looking elsewhere.
PING_TIMEOUT_S = 5.0

if TYPE_CHECKING:
    from bot.store.connection import Redis  # redis loads only for commands using it


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
        evidence = asyncio.run(_walk(settings, args.service, since, args.profile_seconds))
    except (InputError, StoreError, ValueError) as exc:
        print(f"triage-bot triage: {exc}", file=sys.stderr)
        return 2
    if not evidence:
        print("triage-bot triage: no step produced evidence", file=sys.stderr)
        return 1
    return 0


async def _walk(settings: Settings, name: str, since: timedelta,
                profile_seconds: int | None) -> bool:
    # The walk's machinery loads only when walking.
    from bot.composition import open_walk, rca_service
    from bot.store.scratch import scratch_keys
    from bot.triage.terminal import terminal_walk

    service = settings.catalog.get(name)
    if service is None:
        known = ", ".join(settings.catalog.names()) or "none"
        raise InputError(f"unknown service {name!r}; the catalog has: {known}")
    redis = await walk_redis(settings.redis_url or DEFAULT_REDIS_URL)
    try:
        async with scratch_keys(redis, settings.key_prefix) as keys, \
                open_walk(settings, redis, keys, profile_seconds=profile_seconds) as walk:
            return await terminal_walk(walk, rca_service(walk, redis, keys), service, since)
    finally:
        await redis.aclose()


async def open_reachable_redis(url: str) -> Redis | None:
    """A client for ``url`` when Redis answers PING there in time, else ``None``."""
    from bot.store.connection import connect_redis, redis_ping

    redis = connect_redis(url)
    try:
        async with asyncio.timeout(PING_TIMEOUT_S):
            if await redis_ping(redis):
                return redis
    except TimeoutError:
        pass
    await redis.aclose()
    return None


async def walk_redis(url: str) -> Redis:
    """Redis at ``url`` if it answers, else the demo extra's in-memory Redis (said on
    stderr), else InputError naming REDIS_URL and the extra."""
    redis = await open_reachable_redis(url)
    if redis is not None:
        return redis
    shown = _without_password(url)
    fallback = in_memory_redis_or_none()
    if fallback is None:
        raise InputError(
            f"no Redis answers at {shown}: start one or point REDIS_URL at one; or, for a "
            "throwaway in-memory Redis, pip install 'triage-bot[demo]'")
    print(f"triage-bot triage: no Redis answers at {shown}; using an in-memory Redis "
          "(nothing is kept)", file=sys.stderr)
    return fallback


def _without_password(url: str) -> str:
    """``url`` fit to print: the password, if any, masked."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = f"{parts.username}:***@" if parts.username else ":***@"
    return urlunsplit(parts._replace(netloc=user + netloc))
