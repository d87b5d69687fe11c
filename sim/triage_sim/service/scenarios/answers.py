"""Answers as backends write them: status, body, content type (no I/O, no aiohttp).

The service stand-in's handlers read a request's parameters, call a function here (Loki in
``answers_logs``, Jaeger and Tempo in ``answers_traces``), and send what it returns. Bad
parameters become the backend's own kind of 400: plain text for Loki and Tempo, a JSON
``error`` object for Jaeger.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

__all__ = ["Answer", "BadRequest", "go_duration_seconds", "rfc3339_unix", "unix_from_param"]

_GO_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_GO_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


@dataclass(frozen=True)
class Answer:
    """A response to send: status, body bytes, content type."""

    status: int
    body: bytes
    content_type: str

    @classmethod
    def json(cls, doc: Any, status: int = 200) -> Answer:
        """A compact JSON answer."""
        return cls(status, json.dumps(doc, separators=(",", ":")).encode(), "application/json")

    @classmethod
    def text(cls, text: str, status: int = 200) -> Answer:
        """A plain-text answer (Loki's and Tempo's errors)."""
        return cls(status, text.encode(), "text/plain; charset=utf-8")


class BadRequest(ValueError):
    """A parameter the backend would refuse (HTTP 400), with its words."""


def go_duration_seconds(text: str) -> float:
    """Seconds in a Go ``time.ParseDuration`` string (``500000us``, ``1.5s``, ``1m30s``)."""
    value = text.strip()
    parts = _GO_DURATION.findall(value)
    if not parts or "".join(a + b for a, b in parts) != value:
        raise BadRequest(f'time: invalid duration "{text}"')
    return sum(float(amount) * _GO_UNITS[unit] for amount, unit in parts)


def rfc3339_unix(text: str) -> float:
    """Unix seconds of an RFC 3339 time (``Z`` or an offset)."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(f'parsing time "{text}" as RFC 3339 failed') from None
    if moment.tzinfo is None:
        raise BadRequest(f'time "{text}" has no time zone')
    return moment.timestamp()


def unix_from_param(text: str, *, integer_unit: float) -> float:
    """Unix seconds from a time parameter: an integer in ``integer_unit`` seconds (1e-9 for
    Loki's nanoseconds, 1e-6 for Jaeger's microseconds, 1 for Tempo's seconds), a float of
    seconds, or RFC 3339."""
    value = text.strip()
    if value.isdigit():
        return int(value) * integer_unit
    try:
        return float(value)
    except ValueError:
        return rfc3339_unix(value)
