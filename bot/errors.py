"""One exception tree for the whole bot.

::

    TriageError                    anything the bot raises on purpose
    ├── SourceError                a telemetry backend could not answer usefully
    │   ├── SourceTimeout          it did not answer within our deadline
    │   ├── SourceUnavailable      connection refused, 5xx, not configured for the service
    │   └── QueryRejected          it answered and said no (bad query, 4xx), with its own message
    ├── StoreError                 Redis could not be reached or answered an error
    ├── ConfigError                a configuration file or setting is wrong (says file and field)
    └── InputError                 something a user or a sender typed or posted is wrong

Clients translate library errors (aiohttp, requests, redis) into these at the boundary, so
nothing above ``bot/sources`` or ``bot/store`` catches a third-party exception type.
"""

from __future__ import annotations


class TriageError(Exception):
    """Base of every error the bot raises on purpose."""


class SourceError(TriageError):
    """A telemetry backend could not answer usefully; ``backend`` names which one."""

    def __init__(self, backend: str, message: str) -> None:
        super().__init__(f"{backend}: {message}")
        self.backend = backend
        self.message = message


class SourceTimeout(SourceError):
    """The backend did not answer within our deadline."""


class SourceUnavailable(SourceError):
    """The backend is unreachable, failing (5xx), or not configured for this service."""


class QueryRejected(SourceError):
    """The backend answered and refused the query; ``message`` is the backend's own words."""


class StoreError(TriageError):
    """Redis could not be reached or answered with an error; the caller should retry later."""


class ConfigError(TriageError):
    """A configuration file or setting is wrong; the message names the file and the field."""


class InputError(TriageError):
    """Input from a user or a sender is wrong; the message is safe to show to that user."""
