"""A throwaway Prometheus, and a metrics target for it to scrape, started by the tests.

(``PrometheusServer`` runs the binary through ``triage_sim.replay.prometheus_process``.)

``MetricsTarget`` serves whatever exposition text the test sets (OpenMetrics by default, so
exemplars are scraped) from a thread, on a free port. ``PrometheusServer`` writes a
prometheus.yml for the given scrape jobs (plus optional rule files and Alertmanagers, for the
alert-intake end-to-end test), starts the binary on a free port with a temporary TSDB, and
polls ``/-/ready`` with a deadline. Both are synchronous on purpose: they outlive any one
test's event loop. The first scrape lands about 5 s after start (Prometheus's discovery manager
hands targets over on a fixed 5 s tick), so start one per session and ``wait_for`` data.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from triage_sim.replay.prometheus_process import (
    BackfilledPrometheus,
    ScrapeTarget,
    prometheus_binary,
)

__all__ = ["OPENMETRICS", "PROMETHEUS_TEXT", "MetricsTarget", "PrometheusServer", "ScrapeTarget",
           "prometheus_binary"]

OPENMETRICS = "application/openmetrics-text; version=1.0.0; charset=utf-8"
PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"




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


class PrometheusServer(BackfilledPrometheus):
    """A throwaway Prometheus over an empty TSDB of its own (rules and Alertmanagers optional).

    The same process runner as the scenarios' backfilled Prometheus; only the TSDB is new.
    """

    def __init__(self, targets: Sequence[ScrapeTarget], *, rule_files: Sequence[Path] = (),
                 alertmanagers: Sequence[str] = (), evaluation_interval: str = "1s") -> None:
        self._data = Path(tempfile.mkdtemp(prefix="triage-prometheus-"))
        super().__init__(self._data / "data", targets, rule_files=rule_files,
                         alertmanagers=alertmanagers, evaluation_interval=evaluation_interval)

    def cleanup(self, *, graceful: bool = False) -> None:
        """Stop, and remove the TSDB too."""
        super().cleanup(graceful=graceful)
        shutil.rmtree(self._data, ignore_errors=True)
