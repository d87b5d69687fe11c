"""A throwaway Alertmanager (Debian's ``prometheus-alertmanager``) routing to one webhook."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import yaml

from tests.support.redis_server import free_port


def alertmanager_binary() -> str | None:
    """The binary from Debian's prometheus-alertmanager package, if installed."""
    return shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")


class AlertmanagerServer:
    """Alertmanager with short group timings, no clustering, one webhook receiver."""

    def __init__(self, webhook_url: str, bearer_token: str, *, group_by: list[str]) -> None:
        binary = alertmanager_binary()
        if binary is None:
            raise RuntimeError("alertmanager is not installed "
                               "(apt-get install prometheus-alertmanager)")
        self.binary = binary
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="triage-alertmanager-"))
        self.webhook_url = webhook_url
        self.bearer_token = bearer_token
        self.group_by = group_by
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def config(self) -> dict[str, Any]:
        return {
            "route": {"receiver": "triage-bot", "group_by": self.group_by,
                      "group_wait": "1s", "group_interval": "2s", "repeat_interval": "1h"},
            "receivers": [{"name": "triage-bot", "webhook_configs": [{
                "url": self.webhook_url, "send_resolved": True, "max_alerts": 0,
                "http_config": {"authorization": {"type": "Bearer",
                                                  "credentials": self.bearer_token}}}]}],
        }

    def start(self, deadline_s: float = 30.0) -> None:
        config_path = self.dir / "alertmanager.yml"
        config_path.write_text(yaml.safe_dump(self.config()), encoding="utf-8")
        log = (self.dir / "alertmanager.log").open("wb")
        self.process = subprocess.Popen(
            [self.binary, f"--config.file={config_path}", f"--storage.path={self.dir / 'data'}",
             f"--web.listen-address={self.address}", "--cluster.listen-address=",
             "--log.level=warn"],
            cwd=self.dir, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + deadline_s
        while not self._ready():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"alertmanager did not start:\n{self.log_tail()}")
            time.sleep(0.05)

    def _ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://{self.address}/-/ready", timeout=1) as r:
                return bool(r.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def log_tail(self, lines: int = 30) -> str:
        path = self.dir / "alertmanager.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def cleanup(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None
        shutil.rmtree(self.dir, ignore_errors=True)
