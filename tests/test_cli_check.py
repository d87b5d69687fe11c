"""``triage-bot check``: every problem as file:line:col, exit codes, optional connectivity."""

from __future__ import annotations

import argparse
import asyncio
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from bot.cli.check import add_check_command
from tests.conftest import ROOT
from triage_sim.slack.standin import SlackStandIn

EXAMPLE_CONFIG = ROOT / "triage.example.yaml"
PLAYBOOKS = ROOT / "bot" / "playbooks"
HINT = "start from triage.example.yaml in the triage-bot repository"
_ENV = ("TRIAGE_CONFIG", "TRIAGE_PLAYBOOKS", "PROMETHEUS_URL", "LOKI_URL", "JAEGER_URL",
        "TEMPO_URL", "SLACK_BOT_TOKEN", "SLACK_API_URL", "REDIS_URL", "TRIAGE_ALERT_TOKEN")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _ENV:
        monkeypatch.delenv(name, raising=False)


def run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="triage-bot")
    add_check_command(parser.add_subparsers())
    args = parser.parse_args(["check", *argv])
    code: int = args.func(args)
    return code


def test_valid_config_and_playbooks_print_one_ok_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert run("--config", str(EXAMPLE_CONFIG)) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1
    assert out[0].startswith(f"OK: {EXAMPLE_CONFIG}: ")
    assert "backends: prometheus, loki, jaeger, tempo" in out[0]
    assert "7 playbooks (async-deadlock, cpu-spike, generic, memory-growth, p99-latency, " \
           "task-leak, tokio-starvation)" in out[0]


def test_every_problem_is_printed_with_file_line_and_column(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "triage.yaml"
    config.write_text("backends:\n  prometheus: ftp://prom\nservices:\n"
                      "  - name: checkout\n    memory_limit: 2XB\n", encoding="utf-8")
    # The team's directory holds only its replacement of one built-in, with a typo.
    playbooks = tmp_path / "playbooks"
    playbooks.mkdir()
    broken = playbooks / "cpu-spike.yaml"
    broken.write_text((PLAYBOOKS / "cpu-spike.yaml").read_text(encoding="utf-8").replace(
        "signal: cpu.change,", "signal: cpu.chnage,", 1), encoding="utf-8")
    line = next(n for n, text in enumerate(broken.read_text().splitlines(), 1)
                if "cpu.chnage" in text)
    assert run("--config", str(config), "--playbooks", str(playbooks)) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"{config}:2:15: backends.prometheus: not an http(s) URL: 'ftp://prom'"
    assert out[1].startswith(f"{config}:5:19: services[0].memory_limit: invalid size '2XB'")
    assert out[2].startswith(f"{broken}:{line}:")
    assert "findings[0].when.signal: unknown signal 'cpu.chnage'" in out[2]
    assert out[-1] == "check: 3 problem(s), 0 connectivity check(s) failed"


def test_defaults_come_from_the_environment(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    ours = tmp_path / "ours"
    ours.mkdir()
    (ours / "fallback.yaml").write_text("id: fallback\ntitle: F\nsummary: s\ngeneric: true\n")
    monkeypatch.setenv("TRIAGE_CONFIG", str(EXAMPLE_CONFIG))
    monkeypatch.setenv("TRIAGE_PLAYBOOKS", str(ours))
    assert run() == 1
    out = capsys.readouterr().out
    assert "more than one generic playbook (fallback, generic)" in out


def test_a_missing_config_file_is_a_problem(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope.yaml"
    assert run("--config", str(missing)) == 1
    assert capsys.readouterr().out.splitlines()[0] == \
        f"{missing}: no configuration file here; {HINT}: copy it, list your services under " \
        "services:, and pass it with --config or TRIAGE_CONFIG"


def test_an_empty_config_file_is_a_problem(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "triage.yaml"
    empty.write_text("# nothing yet\n")
    assert run("--config", str(empty)) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"{empty}: the file is empty; {HINT}")


def test_a_catalog_without_services_is_a_problem(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "triage.yaml"
    config.write_text("slack:\n  default_channel: C0INCIDENTS\nservices: []\n")
    assert run("--config", str(config)) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"{config}:3:1: services: none listed, so no alert or command "
                             f"can be served; {HINT}")
    assert out[-1] == "check: 1 problem(s), 0 connectivity check(s) failed"


class _Ready(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        status = 200 if self.path == "/-/ready" else 503
        body = b"ready\n" if status == 200 else b"not ready\n"
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Keep test output quiet."""


@pytest.fixture
def health_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Ready)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def _catalog(backends: str) -> str:
    return f"backends:\n{backends}  timeout_seconds: 2\nservices:\n  - name: checkout\n"


@pytest.fixture
async def slack() -> AsyncIterator[SlackStandIn]:
    async with SlackStandIn() as standin:
        yield standin


def _environment(monkeypatch: pytest.MonkeyPatch, slack: SlackStandIn, redis_url: str,
                 alert_token: str = "0123456789abcdef0123") -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test-token")
    monkeypatch.setenv("SLACK_API_URL", slack.api_url)
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("TRIAGE_ALERT_TOKEN", alert_token)


async def test_connectivity_names_every_failure_with_its_cause(
        tmp_path: Path, health_server: str, slack: SlackStandIn,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    closed = f"http://127.0.0.1:{_closed_port()}"
    redis_down = f"redis://127.0.0.1:{_closed_port()}/0"
    slack.scopes = ["chat:write", "app_mentions:read", "usergroups:read", "im:write",
                    "files:read", "channels:manage", "channels:history", "groups:history"]
    _environment(monkeypatch, slack, redis_down, alert_token="change-me")
    config = tmp_path / "triage.yaml"
    config.write_text(_catalog(f"  prometheus: {health_server}\n  loki: {health_server}\n"
                               f"  jaeger: {closed}\n"), encoding="utf-8")
    # check runs its own event loop; the stand-in answers from this one.
    assert await asyncio.to_thread(run, "--config", str(config), "--connectivity") == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("alert token: NOT READY (TRIAGE_ALERT_TOKEN is the example "
                             "value 'change-me': set it to a long random string")
    assert out[1].startswith(f"slack {slack.api_url}auth.test: NOT READY (authenticated as ")
    assert "the token lacks 2 scope(s) the bot needs: commands (the /triage slash command); " \
           "files:write (chart uploads in the incident thread)" in out[1]
    where = redis_down.removeprefix("redis://").removesuffix("/0")
    assert out[2] == f"redis {redis_down}: NOT READY (cannot connect to {where}: " \
                     "Connection refused)"
    assert out[3].startswith(f"prometheus {health_server}/-/ready: ready (HTTP 200 in ")
    assert out[4].startswith(f"loki {health_server}/ready: NOT READY (HTTP 503 in ")
    assert out[5] == f"jaeger {closed}/: NOT READY (cannot connect to " \
                     f"{closed.removeprefix('http://')}: Connection refused)"
    assert out[6] == "check: 0 problem(s), 5 connectivity check(s) failed"


async def test_connectivity_refuses_a_token_slack_does_not_know(
        tmp_path: Path, slack: SlackStandIn, redis_url: str,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    _environment(monkeypatch, slack, redis_url)
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-revoked")
    config = tmp_path / "triage.yaml"
    config.write_text(_catalog(""), encoding="utf-8")
    assert await asyncio.to_thread(run, "--config", str(config), "--connectivity") == 1
    out = capsys.readouterr().out.splitlines()
    assert out[1] == f"slack {slack.api_url}auth.test: NOT READY (Slack refused " \
                     "SLACK_BOT_TOKEN: invalid_auth)"
    assert out[-1] == "check: 0 problem(s), 1 connectivity check(s) failed"


async def test_connectivity_ok(*, tmp_path: Path, health_server: str, slack: SlackStandIn,
                               redis_url: str, monkeypatch: pytest.MonkeyPatch,
                               capsys: pytest.CaptureFixture[str]) -> None:
    _environment(monkeypatch, slack, redis_url)
    config = tmp_path / "triage.yaml"
    config.write_text(_catalog(f"  prometheus: {health_server}\n"), encoding="utf-8")
    assert await asyncio.to_thread(run, "--config", str(config), "--connectivity") == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "alert token: ready (alerts.auth: token)"
    assert out[1] == (f"slack {slack.api_url}auth.test: ready (authenticated as triage-bot "
                      "(U0TRIAGEBOT) in triage-test; scopes commands, chat:write, files:write, "
                      "app_mentions:read, usergroups:read, im:write, files:read, "
                      "channels:manage, channels:history, groups:history granted)")
    assert out[2].startswith(f"redis {redis_url}: ready (PONG in ")
    assert out[3].startswith("prometheus ") and ": ready (HTTP 200" in out[3]
    assert out[4].startswith(f"OK: {config}: 1 services (checkout); backends: prometheus; "
                             "7 playbooks (")
    assert len(slack.calls_to("auth.test")) == 1
