"""A bot as its own process (``triage-bot serve``), for tests of several replicas."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import ROOT
from tests.support.bot_harness import ALERT_TOKEN, SIGNING_SECRET
from tests.support.redis_server import free_port


class BotProcess:
    """``python -m bot.cli serve`` on a free port, with the given config and Slack URL."""

    def __init__(self, config: dict[str, Any], directory: Path, *, slack_api_url: str,
                 redis_url: str) -> None:
        self.port = free_port()
        self.config_path = directory / f"triage-{self.port}.yaml"
        self.config_path.write_text(yaml.safe_dump(config))
        self.log_path = directory / f"bot-{self.port}.log"
        self.env = {**os.environ, "SLACK_BOT_TOKEN": "xoxb-test-token",
                    "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_API_URL": slack_api_url,
                    "REDIS_URL": redis_url, "TRIAGE_ALERT_TOKEN": ALERT_TOKEN}
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, deadline_s: float = 20.0) -> BotProcess:
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bot.cli", "serve", "--host", "127.0.0.1",
                 "--port", str(self.port), "--config", str(self.config_path)],
                cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + deadline_s
        while not self._ready():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"bot did not start:\n{self.log_path.read_text()}")
            time.sleep(0.05)
        return self

    def _ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.base_url}/readyz", timeout=1) as r:
                return bool(r.status == 200)
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=30)
            self.process = None
