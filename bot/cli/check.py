"""``triage-bot check``: validate the configuration and the playbooks, report every problem.

Each problem is one ``file:line:col: message`` line, as compilers and linters print them, so
editors jump to it; the exit code is 1 when anything is wrong, 0 otherwise (with a one-line
summary). ``--connectivity`` also asks each configured backend's readiness endpoint, with a
short timeout, whether it answers.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from pydantic import ValidationError

from bot.config import (
    BackendsConfig,
    ConfigFile,
    Settings,
    default_config_path,
    settings_from_mapping,
)
from bot.errors import ConfigError
from bot.triage.playbook_loader import (
    Problem,
    check_playbooks,
    load_playbooks,
    read_yaml,
    validation_problems,
)

__all__ = ["Probe", "add_check_command", "check_config", "probe_backends", "run_check"]

#: Readiness endpoint of each backend (Jaeger's query service has none: its UI root answers).
HEALTH_PATHS: Mapping[str, str] = {
    "prometheus": "/-/ready", "loki": "/ready", "jaeger": "/", "tempo": "/ready",
}
_PROBE_TIMEOUT_S = 5.0


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
                       help="playbook directory (default: $TRIAGE_PLAYBOOKS or ./playbooks)")
    check.add_argument("--connectivity", action="store_true",
                       help="also ask each configured backend whether it is ready")
    check.set_defaults(func=run_check)


def default_playbooks_dir(environ: Mapping[str, str]) -> Path:
    """``TRIAGE_PLAYBOOKS`` if set, else ``./playbooks``."""
    return Path(environ.get("TRIAGE_PLAYBOOKS") or "playbooks")


def run_check(args: argparse.Namespace) -> int:
    """Print every problem (or a summary) and return the exit code."""
    environ = os.environ
    config_path: Path = args.config or default_config_path(environ)
    playbooks_dir: Path = args.playbooks or default_playbooks_dir(environ)
    settings, problems = check_config(config_path, environ)
    problems += check_playbooks(playbooks_dir)
    for problem in problems:
        print(problem)
    if settings is not None and settings.file.access is None:
        print(f"{config_path}: warning: no `access` block: everyone may act on incidents "
              "and take profiles (see the README, Access)", file=sys.stderr)
    failed_probes = 0
    if args.connectivity and settings is not None:
        for probe in asyncio.run(probe_backends(settings.backends)):
            print(probe)
            failed_probes += not probe.ok
    if problems or failed_probes:
        print(f"check: {len(problems)} problem(s), {failed_probes} backend(s) not ready")
        return 1
    print(_summary(config_path, settings, playbooks_dir))
    return 0


def check_config(path: Path, environ: Mapping[str, str]) -> tuple[Settings | None, list[Problem]]:
    """The settings, or the problems of the configuration file located by line."""
    document, problems = read_yaml(path)
    if document is None:
        return None, problems
    data = {} if document.data is None else document.data
    if not isinstance(data, dict):
        return None, [*problems, document.problem(
            (), "the top level must be a mapping (backends, slack, services, ...)")]
    try:
        ConfigFile.model_validate(data)
    except ValidationError as exc:
        return None, [*problems, *validation_problems(document, exc)]
    try:
        settings = settings_from_mapping(data, environ, source=str(path), path=path)
    except ConfigError as exc:  # an environment override is wrong, not the file
        return None, [*problems, Problem(str(path), 0, 0, str(exc))]
    return (settings if not problems else None), problems


def _summary(config_path: Path, settings: Settings | None, playbooks_dir: Path) -> str:
    services = settings.catalog.names() if settings is not None else []
    backends = settings.backends if settings is not None else BackendsConfig()
    configured = [name for name in HEALTH_PATHS if getattr(backends, name)]
    playbooks = load_playbooks(playbooks_dir)
    return (f"OK: {config_path}: {len(services)} services ({', '.join(services) or 'none'}); "
            f"backends: {', '.join(configured) or 'none'}; {playbooks_dir}: "
            f"{len(playbooks.all)} playbooks ({', '.join(p.id for p in playbooks.all)}), "
            f"{len(playbooks.log_patterns())} log categories")


@dataclass(frozen=True)
class Probe:
    """One backend's answer to its readiness endpoint."""

    backend: str
    url: str
    ok: bool
    detail: str

    def __str__(self) -> str:
        return f"{self.backend} {self.url}: {'ready' if self.ok else 'NOT READY'} ({self.detail})"


async def probe_backends(backends: BackendsConfig,
                         limit_s: float = _PROBE_TIMEOUT_S) -> list[Probe]:
    """Ask every configured backend's readiness endpoint, concurrently.

    Each probe gets the smaller of ``limit_s`` and the backends' configured timeout.
    """
    limit = min(limit_s, backends.timeout_seconds)
    targets = [(name, f"{url}{path}") for name, path in HEALTH_PATHS.items()
               if (url := getattr(backends, name))]
    async with aiohttp.ClientSession(trust_env=False) as session:
        return list(await asyncio.gather(
            *(_probe(session, name, url, limit) for name, url in targets)))


async def _probe(session: aiohttp.ClientSession, name: str, url: str, limit_s: float) -> Probe:
    started = time.monotonic()
    try:
        async with asyncio.timeout(limit_s), session.get(url) as response:
            await response.content.read(4096)
            status = response.status
    except TimeoutError:
        return Probe(name, url, False, f"no answer within {limit_s:g} s")
    except aiohttp.ClientError as exc:
        return Probe(name, url, False, f"unreachable: {exc}")
    elapsed_ms = (time.monotonic() - started) * 1000
    return Probe(name, url, 200 <= status < 300, f"HTTP {status} in {elapsed_ms:.0f} ms")
