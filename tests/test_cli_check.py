"""``triage-bot check``: every problem as file:line:col, exit codes, optional connectivity."""

from __future__ import annotations

import argparse
import shutil
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from bot.cli.check import add_check_command
from tests.conftest import ROOT

EXAMPLE_CONFIG = ROOT / "triage.example.yaml"
PLAYBOOKS = ROOT / "playbooks"
_ENV = ("TRIAGE_CONFIG", "TRIAGE_PLAYBOOKS", "PROMETHEUS_URL", "LOKI_URL", "JAEGER_URL",
        "TEMPO_URL")


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
    assert run("--config", str(EXAMPLE_CONFIG), "--playbooks", str(PLAYBOOKS)) == 0
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
    playbooks = tmp_path / "playbooks"
    shutil.copytree(PLAYBOOKS, playbooks)
    broken = playbooks / "cpu-spike.yaml"
    broken.write_text(broken.read_text(encoding="utf-8").replace(
        "signal: cpu.change,", "signal: cpu.chnage,", 1), encoding="utf-8")
    line = next(n for n, text in enumerate(broken.read_text().splitlines(), 1)
                if "cpu.chnage" in text)
    assert run("--config", str(config), "--playbooks", str(playbooks)) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"{config}:2:15: backends.prometheus: not an http(s) URL: 'ftp://prom'"
    assert out[1].startswith(f"{config}:5:19: services[0].memory_limit: invalid size '2XB'")
    assert out[2].startswith(f"{broken}:{line}:")
    assert "findings[0].when.signal: unknown signal 'cpu.chnage'" in out[2]
    assert out[-1] == "check: 3 problem(s), 0 backend(s) not ready"


def test_defaults_come_from_the_environment(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("TRIAGE_CONFIG", str(EXAMPLE_CONFIG))
    monkeypatch.setenv("TRIAGE_PLAYBOOKS", str(empty))
    assert run() == 1
    out = capsys.readouterr().out
    assert f"{empty}: no generic playbook" in out


def test_a_missing_config_file_is_a_problem(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope.yaml"
    assert run("--config", str(missing), "--playbooks", str(PLAYBOOKS)) == 1
    assert capsys.readouterr().out.splitlines()[0] == \
        f"{missing}: cannot read: No such file or directory"


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


def test_connectivity_reports_each_backend(
        tmp_path: Path, health_server: str, capsys: pytest.CaptureFixture[str]) -> None:
    closed = f"http://127.0.0.1:{_closed_port()}"
    config = tmp_path / "triage.yaml"
    config.write_text(f"backends:\n  prometheus: {health_server}\n  loki: {health_server}\n"
                      f"  jaeger: {closed}\n  timeout_seconds: 2\n", encoding="utf-8")
    assert run("--config", str(config), "--playbooks", str(PLAYBOOKS), "--connectivity") == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"prometheus {health_server}/-/ready: ready (HTTP 200 in ")
    assert out[1].startswith(f"loki {health_server}/ready: NOT READY (HTTP 503 in ")
    assert out[2].startswith(f"jaeger {closed}/: NOT READY (unreachable: ")
    assert out[3] == "check: 0 problem(s), 2 backend(s) not ready"


def test_connectivity_ok(tmp_path: Path, health_server: str,
                         capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "triage.yaml"
    config.write_text(f"backends:\n  prometheus: {health_server}\n", encoding="utf-8")
    assert run("--config", str(config), "--playbooks", str(PLAYBOOKS), "--connectivity") == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("prometheus ") and ": ready (HTTP 200" in out[0]
    assert out[1].startswith(f"OK: {config}: 0 services (none); backends: prometheus;")
