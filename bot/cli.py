"""The ``triage-bot`` command."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.cli_check import add_check_command
from bot.cli_demo import add_demo_command
from bot.cli_pprof import add_pprof_commands
from bot.cli_rca import add_rca_command
from bot.cli_sim import add_sim_commands
from bot.cli_triage import add_triage_command
from bot.config import default_config_path, load_settings
from bot.errors import ConfigError


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
    parser = argparse.ArgumentParser(prog="triage-bot", description=__doc__)
    sub = parser.add_subparsers(title="commands")
    serve = sub.add_parser("serve", help="serve Slack (HTTP or Socket Mode) and the webhooks")
    _config_arg(serve)
    serve.add_argument("--host", default="0.0.0.0")
    serve.add_argument("--port", type=int, default=3000)
    serve.add_argument("--socket-mode", action="store_true",
                       help="connect to Slack over Socket Mode (needs SLACK_APP_TOKEN)")
    serve.add_argument("--log-level", default="INFO")
    serve.set_defaults(func=_serve)
    add_check_command(sub)
    add_pprof_commands(sub)
    add_rca_command(sub)
    add_demo_command(sub)
    add_triage_command(sub)
    add_sim_commands(sub)
    return parser


def _config_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, default=None,
                        help="YAML configuration (default: $TRIAGE_CONFIG or ./triage.yaml)")


def _settings_path(args: argparse.Namespace) -> Path:
    path: Path = args.config or default_config_path(os.environ)
    return path


def _serve(args: argparse.Namespace) -> int:
    # Imported here: every other command starts faster without Slack, Redis and the walk.
    from aiohttp import web

    from bot.app import Runtime, create_app
    from bot.logs import configure_logging

    configure_logging(args.log_level)
    settings = load_settings(_settings_path(args), os.environ)
    app = create_app(settings, Runtime(socket_mode=args.socket_mode))
    # No access log: /metrics counts requests, and a log line per Slack request costs more
    # than the ack under load.
    web.run_app(app, host=args.host, port=args.port, print=None, shutdown_timeout=30,
                access_log=None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
