"""A real Prometheus over a backfilled TSDB, optionally scraping live stand-ins.

``triage-bot sim record`` and the tests need the same thing: the Debian ``prometheus`` binary
started on a free port over a directory ``promtool`` filled
(``triage_sim.replay.history.backfill``), with exemplar storage on and a retention long enough
that the backfilled blocks are not deleted at start, scraping each scenario's live stand-in so
the series go on past the anchor and exemplars arrive. Starting and waiting are blocking (a
subprocess and HTTP polls with a deadline); from an event loop, run them in a thread.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

__all__ = ["BackfilledPrometheus", "ScrapeTarget", "free_port", "prometheus_binary"]

RETENTION = "3650d"  # blocks backfilled at "now - 3 h" must outlive any retention check


def prometheus_binary() -> str | None:
    """The prometheus binary (Debian package ``prometheus``), or None when not installed."""
    found = shutil.which("prometheus")
    if found:
        return found
    return "/usr/bin/prometheus" if Path("/usr/bin/prometheus").exists() else None


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class ScrapeTarget:
    """A scrape job: its name (the ``job`` label), ``host:port``, and labels to attach.

    ``labels`` may set ``instance`` so live samples join the backfilled series exactly.
    """

    job: str
    address: str
    labels: Mapping[str, str] = field(default_factory=dict)
    interval: str = "1s"


class BackfilledPrometheus:
    """One prometheus process over ``tsdb_dir`` with its own config in a temporary directory."""

    def __init__(self, tsdb_dir: Path, targets: Sequence[ScrapeTarget] = (), *,
                 rule_files: Sequence[Path] = (), alertmanagers: Sequence[str] = (),
                 evaluation_interval: str = "15s", binary: str | None = None) -> None:
        found = binary or prometheus_binary()
        if found is None:
            raise RuntimeError("prometheus is not installed (Debian package `prometheus`)")
        self.binary = found
        self.tsdb_dir = tsdb_dir
        self.targets = list(targets)
        self.rule_files = list(rule_files)
        self.alertmanagers = list(alertmanagers)
        self.evaluation_interval = evaluation_interval
        self.port = free_port()
        self.workdir = Path(tempfile.mkdtemp(prefix="triage-sim-prometheus-"))
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.port}"

    def config(self) -> dict[str, Any]:
        """The prometheus.yml contents: one static job per target, rules, Alertmanagers."""
        config: dict[str, Any] = {
            "global": {"scrape_interval": "15s",
                       "evaluation_interval": self.evaluation_interval},
            "scrape_configs": [
                {"job_name": t.job, "scrape_interval": t.interval,
                 "static_configs": [{"targets": [t.address], "labels": dict(t.labels)}]}
                for t in self.targets
            ],
        }
        if self.rule_files:
            config["rule_files"] = [str(path) for path in self.rule_files]
        if self.alertmanagers:
            config["alerting"] = {
                "alertmanagers": [{"static_configs": [{"targets": self.alertmanagers}]}]}
        return config

    def start(self, deadline_s: float = 30.0) -> float:
        """Start prometheus; return the seconds it took to answer ``/-/ready``."""
        config = self.workdir / "prometheus.yml"
        config.write_text(yaml.safe_dump(self.config()), encoding="utf-8")
        began = time.monotonic()
        with (self.workdir / "prometheus.log").open("wb") as log:
            self.process = subprocess.Popen(
                [self.binary, f"--config.file={config}",
                 f"--storage.tsdb.path={self.tsdb_dir}",
                 f"--storage.tsdb.retention.time={RETENTION}",
                 f"--web.listen-address=127.0.0.1:{self.port}",
                 "--enable-feature=exemplar-storage", "--log.level=warn"],
                cwd=self.workdir, stdout=log, stderr=subprocess.STDOUT,
            )
        self._poll(lambda: self._get("/-/ready") is not None, deadline_s, "become ready")
        return time.monotonic() - began

    def query(self, promql: str, at: float | None = None) -> list[Any]:
        """``data.result`` of an instant query (blocking; for waiting and checks)."""
        params = {"query": promql} | ({"time": f"{at:.3f}"} if at is not None else {})
        body = self._get("/api/v1/query?" + urllib.parse.urlencode(params))
        return list(json.loads(body)["data"]["result"]) if body else []

    def wait_for(self, promql: str, deadline_s: float = 30.0) -> list[Any]:
        """Poll an instant query until it returns something (e.g. the first scrape landed)."""
        found: list[Any] = []

        def ready() -> bool:
            found[:] = self.query(promql)
            return bool(found)

        self._poll(ready, deadline_s, f"return data for {promql}")
        return found

    def log_tail(self, lines: int = 20) -> str:
        """The end of prometheus's own log (for error messages)."""
        path = self.workdir / "prometheus.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def _get(self, path: str) -> bytes | None:
        try:
            with urllib.request.urlopen(self.url + path, timeout=2) as response:
                return bytes(response.read())
        except (urllib.error.URLError, OSError):
            return None

    def _poll(self, check: Callable[[], bool], deadline_s: float, what: str) -> None:
        deadline = time.monotonic() + deadline_s
        while not check():
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"prometheus exited ({self.process.returncode}) before it "
                                   f"could {what}:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"prometheus did not {what} within {deadline_s:g}s:\n"
                                   f"{self.log_tail()}")
            time.sleep(0.05)

    def stop(self, *, graceful: bool = True) -> None:
        """Terminate the process (kill it if it does not stop within 10 s).

        ``graceful=False`` kills it at once: for a TSDB about to be thrown away.
        """
        if self.process is not None:
            if graceful:
                self.process.terminate()
            else:
                self.process.kill()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
            self.process = None

    def cleanup(self, *, graceful: bool = True) -> None:
        """Stop and remove the config directory (the TSDB directory is the caller's)."""
        self.stop(graceful=graceful)
        shutil.rmtree(self.workdir, ignore_errors=True)
