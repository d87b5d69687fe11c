"""A throwaway Prometheus, and a metrics target for it to scrape, started by the tests.

``MetricsTarget`` serves whatever exposition text the test sets (OpenMetrics by default, so
exemplars are scraped) from a thread, on a free port. ``PrometheusServer`` writes a
prometheus.yml for the given scrape jobs (plus optional rule files and Alertmanagers, for the
alert-intake end-to-end test), starts the binary on a free port with a temporary TSDB, and
polls ``/-/ready`` with a deadline. Both are synchronous on purpose: they outlive any one
test's event loop. The first scrape lands about 5 s after start (Prometheus's discovery manager
hands targets over on a fixed 5 s tick), so start one per session and ``wait_for`` data.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml

from tests.support.redis_server import free_port

OPENMETRICS = "application/openmetrics-text; version=1.0.0; charset=utf-8"
PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"


def prometheus_binary() -> str | None:
    """The prometheus binary (Debian package ``prometheus``), or None when not installed."""
    return shutil.which("prometheus") or (
        "/usr/bin/prometheus" if Path("/usr/bin/prometheus").exists() else None
    )


class MetricsTarget:
    """A scrape target on a free port; ``body`` can be changed while Prometheus scrapes it."""

    def __init__(self, body: str, content_type: str = OPENMETRICS) -> None:
        self.body = body
        self.content_type = content_type
        self.scrapes = 0
        target = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                payload = target.body.encode()
                target.scrapes += 1
                self.send_response(200 if self.path.startswith("/metrics") else 404)
                self.send_header("Content-Type", target.content_type)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def address(self) -> str:
        """``host:port`` as a scrape config wants it."""
        host, port = self._server.server_address[:2]
        return f"{host!s}:{port}"

    def start(self) -> MetricsTarget:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@dataclass
class ScrapeJob:
    """One scrape job: a name (the ``job`` label) and its targets (``host:port``)."""

    name: str
    targets: list[str]
    interval: str = "1s"
    labels: dict[str, str] = field(default_factory=dict)


class PrometheusServer:
    """One prometheus process with its own config and TSDB in a temporary directory."""

    def __init__(
        self,
        jobs: Sequence[ScrapeJob],
        *,
        rule_files: Sequence[Path] = (),
        alertmanagers: Sequence[str] = (),
        evaluation_interval: str = "1s",
        extra_flags: Sequence[str] = (),
        binary: str | None = None,
    ) -> None:
        found = binary or prometheus_binary()
        if found is None:
            raise RuntimeError("prometheus is not installed (apt-get install prometheus)")
        self.binary = found
        self.jobs = list(jobs)
        self.rule_files = list(rule_files)
        self.alertmanagers = list(alertmanagers)
        self.evaluation_interval = evaluation_interval
        self.extra_flags = list(extra_flags)
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="triage-prometheus-"))
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def config(self) -> dict[str, Any]:
        """The prometheus.yml contents."""
        config: dict[str, Any] = {
            "global": {"scrape_interval": "1s", "evaluation_interval": self.evaluation_interval},
            "scrape_configs": [
                {"job_name": job.name, "scrape_interval": job.interval,
                 "static_configs": [{"targets": job.targets, "labels": job.labels}]}
                for job in self.jobs
            ],
        }
        if self.rule_files:
            config["rule_files"] = [str(path) for path in self.rule_files]
        if self.alertmanagers:
            config["alerting"] = {
                "alertmanagers": [{"static_configs": [{"targets": self.alertmanagers}]}]
            }
        return config

    def start(self, deadline_s: float = 30.0) -> None:
        """Start prometheus and return once ``/-/ready`` answers 200."""
        config_path = self.dir / "prometheus.yml"
        config_path.write_text(yaml.safe_dump(self.config()), encoding="utf-8")
        log = (self.dir / "prometheus.log").open("wb")
        self.process = subprocess.Popen(
            [self.binary, f"--config.file={config_path}",
             f"--storage.tsdb.path={self.dir / 'data'}",
             f"--web.listen-address=127.0.0.1:{self.port}",
             "--storage.tsdb.retention.time=1h", "--log.level=warn",
             "--enable-feature=exemplar-storage", *self.extra_flags],
            cwd=self.dir, stdout=log, stderr=subprocess.STDOUT,
        )
        log.close()
        self._poll(lambda: self._get("/-/ready") is not None, deadline_s, "become ready")

    def query(self, promql: str) -> list[Any]:
        """``data.result`` of an instant query (synchronous; for waiting in fixtures)."""
        body = self._get("/api/v1/query?" + urllib.parse.urlencode({"query": promql}))
        return list(json.loads(body)["data"]["result"]) if body else []

    def wait_for(self, promql: str, deadline_s: float = 20.0) -> list[Any]:
        """Poll an instant query until it returns something (e.g. the first scrape landed)."""
        found: list[Any] = []

        def ready() -> bool:
            found[:] = self.query(promql)
            return bool(found)

        self._poll(ready, deadline_s, f"return data for {promql}")
        return found

    def log_tail(self, lines: int = 20) -> str:
        path = self.dir / "prometheus.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def _get(self, path: str) -> bytes | None:
        try:
            with urllib.request.urlopen(self.url + path, timeout=1) as response:
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

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
            self.process = None

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
