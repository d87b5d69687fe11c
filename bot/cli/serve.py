"""``triage-bot serve``: Slack (HTTP or Socket Mode) and the webhooks."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from bot.config import default_config_path, load_settings


def add_serve_command(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``serve``."""
    serve = subparsers.add_parser("serve",
                                  help="serve Slack (HTTP or Socket Mode) and the webhooks")
    serve.add_argument("--config", type=Path, default=None,
                       help="YAML configuration (default: $TRIAGE_CONFIG or ./triage.yaml)")
    serve.add_argument("--host", default="0.0.0.0")
    serve.add_argument("--port", type=int, default=3000)
    serve.add_argument("--socket-mode", action="store_true",
                       help="connect to Slack over Socket Mode (needs SLACK_APP_TOKEN)")
    serve.add_argument("--log-level", default="INFO")
    serve.set_defaults(func=run_serve)


def run_serve(args: argparse.Namespace) -> int:
    """Run the bot until SIGTERM/SIGINT."""
    # Imported here: every other command starts faster without Slack, Redis and the walk.
    import asyncio

    from bot.app import Runtime, create_app, serve
    from bot.logs import configure_logging

    configure_logging(args.log_level)
    settings = load_settings(args.config or default_config_path(os.environ), os.environ)
    app = create_app(settings, Runtime(socket_mode=args.socket_mode))
    # No access log: /metrics counts requests, and a log line per Slack request costs more
    # than the ack under load. The stop is bounded by Runtime.drain_seconds (web.run_app's
    # shutdown dropped bodies still arriving and waited 30 s).
    asyncio.run(serve(app, args.host, args.port))
    return 0
