"""``triage-bot check``: validate the configuration and the playbooks, report every problem.

Each problem is one ``file:line:col: message`` line, as compilers and linters print them, so
editors jump to it; the exit code is 1 when anything is wrong, 0 otherwise (with a one-line
summary). A missing or empty configuration file, or one without services, is a problem that
points at triage.example.yaml. ``--connectivity`` also does what ``serve`` checks at start:
the alert token, Slack's auth.test and the token's scopes, a Redis PING, and each configured
backend's readiness endpoint; one line each, exit code 1 on any failure.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Mapping
from pathlib import Path

from pydantic import ValidationError

from bot.config import (
    DEFAULT_REDIS_URL,
    EXAMPLE_CONFIG_HINT,
    BackendsConfig,
    ConfigFile,
    Settings,
    catalog_problem,
    default_config_path,
    settings_from_mapping,
)
from bot.errors import ConfigError
from bot.triage.playbook_loader import (
    Problem,
    YamlDocument,
    check_playbook_set,
    playbook_sources,
    read_yaml,
    validation_problems,
)

__all__ = ["add_check_command", "check_config", "run_check"]

_BACKENDS = ("prometheus", "loki", "jaeger", "tempo")


def add_check_command(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``check`` (configuration, playbooks, optionally connectivity) to the bot's CLI."""
    check = subparsers.add_parser(
        "check", help="validate the configuration and the playbooks; report every problem",
        description="Validate the configuration file and every playbook, printing each "
                    "problem as file:line:col: message. Exit code 1 when anything is wrong.",
    )
    check.add_argument("--config", type=Path, default=None,
                       help="YAML configuration (default: $TRIAGE_CONFIG or ./triage.yaml)")
    check.add_argument("--playbooks", type=Path, default=None, metavar="DIR",
                       help="the team's playbooks, added to the built-in ones or replacing "
                            "them by id (default: $TRIAGE_PLAYBOOKS, else built-ins only)")
    check.add_argument("--connectivity", action="store_true",
                       help="also check the alert token, Slack (auth.test and scopes), "
                            "Redis and each configured backend, as serve does at start")
    check.set_defaults(func=run_check)


def default_playbooks_dir(environ: Mapping[str, str]) -> Path | None:
    """``TRIAGE_PLAYBOOKS`` if set, else None (the built-in playbooks alone)."""
    value = environ.get("TRIAGE_PLAYBOOKS")
    return Path(value) if value else None


def run_check(args: argparse.Namespace) -> int:
    """Print every problem (or a summary) and return the exit code."""
    environ = os.environ
    config_path: Path = args.config or default_config_path(environ)
    playbooks_dir = args.playbooks or default_playbooks_dir(environ)
    settings, problems = check_config(config_path, environ)
    problems += check_playbook_set(playbooks_dir)
    for problem in problems:
        print(problem)
    if settings is not None and settings.file.access is None:
        print(f"{config_path}: warning: no `access` block: everyone may act on incidents "
              "and take profiles (see the README, Access)", file=sys.stderr)
    failed = 0
    if args.connectivity and settings is not None:
        for line, ok in asyncio.run(_connectivity(settings)):
            print(line)
            failed += not ok
    if problems or failed:
        print(f"check: {len(problems)} problem(s), {failed} connectivity check(s) failed")
        return 1
    print(_summary(config_path, settings, playbooks_dir))
    return 0


async def _connectivity(settings: Settings) -> list[tuple[str, bool]]:
    """The alert-token verdict, then Slack, Redis and each backend: (line, ok) each."""
    import aiohttp

    from bot.config import alert_token_problem
    from bot.selfcheck import check_redis, check_slack, probe_backends
    from bot.store.connection import connect_redis

    token = alert_token_problem(settings)
    lines = [(f"alert token: {'NOT READY (' + token + ')' if token else 'ready'}"
              + ("" if token else f" (alerts.auth: {settings.file.alerts.auth})"), token is None)]
    url = settings.redis_url or DEFAULT_REDIS_URL
    redis = connect_redis(url)
    try:
        async with aiohttp.ClientSession(trust_env=True) as session:
            slack, ping, backends = await asyncio.gather(
                check_slack(session, settings.slack_api_url, settings.slack_bot_token),
                check_redis(redis, url), probe_backends(settings.backends))
    finally:
        await redis.aclose()
    return lines + [(str(probe), probe.ok) for probe in (slack, ping, *backends)]


def check_config(path: Path, environ: Mapping[str, str]) -> tuple[Settings | None, list[Problem]]:
    """The settings, or the problems of the configuration file located by line."""
    document, problems = _config_document(path)
    if document is None:
        return None, problems
    data = document.data
    try:
        ConfigFile.model_validate(data)
    except ValidationError as exc:
        return None, [*problems, *validation_problems(document, exc)]
    try:
        settings = settings_from_mapping(data, environ, source=str(path), path=path)
    except ConfigError as exc:  # an environment override is wrong, not the file
        return None, [*problems, Problem(str(path), 0, 0, str(exc))]
    if catalog_problem(settings) is not None:
        problems.append(document.problem(("services",), f"services: none listed, so no "
                                                        f"alert or command can be served; "
                                                        f"{EXAMPLE_CONFIG_HINT}"))
    return (settings if not problems else None), problems


def _config_document(path: Path) -> tuple[YamlDocument | None, list[Problem]]:
    """The file parsed, when it exists, is YAML and holds a mapping; else why not."""
    if not path.exists():
        return None, [Problem(str(path), 0, 0, f"no configuration file here; "
                                               f"{EXAMPLE_CONFIG_HINT}")]
    document, problems = read_yaml(path)
    if document is None:
        return None, problems
    if document.data is None:
        return None, [*problems, Problem(str(path), 0, 0, f"the file is empty; "
                                                          f"{EXAMPLE_CONFIG_HINT}")]
    if not isinstance(document.data, dict):
        return None, [*problems, document.problem(
            (), "the top level must be a mapping (backends, slack, services, ...)")]
    return document, problems


def _summary(config_path: Path, settings: Settings | None, playbooks_dir: Path | None) -> str:
    services = settings.catalog.names() if settings is not None else []
    backends = settings.backends if settings is not None else BackendsConfig()
    configured = [name for name in _BACKENDS if getattr(backends, name)]
    return (f"OK: {config_path}: {len(services)} services ({', '.join(services) or 'none'}); "
            f"backends: {', '.join(configured) or 'none'}; "
            f"{playbook_sources(playbooks_dir).describe(playbooks_dir)}")
