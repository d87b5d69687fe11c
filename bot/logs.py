"""Structured (JSON) logs that carry the incident id and request id of the work at hand."""

from __future__ import annotations

import contextvars
import json
import logging
from typing import Any

incident_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "incident_id", default=None)
request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "request_id", default=None)

_STANDARD = set(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line, with ``extra=`` fields and the context ids merged in."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key in ("incident_id", "request_id"):
            value = (incident_id_var if key == "incident_id" else request_id_var).get()
            if value:
                entry[key] = value
        entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging(level: str = "INFO") -> None:
    """Send JSON lines to stderr at ``level``."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # APScheduler logs two INFO lines per tick; the bot records its own job outcomes.
    logging.getLogger("apscheduler").setLevel(max(logging.WARNING, root.level))
