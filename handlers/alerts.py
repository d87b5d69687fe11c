"""``POST /alerts/alertmanager``: authenticate, bound, parse, record what to announce, answer.

Alertmanager retries 5xx and network errors but never 4xx, so: 2xx only once the alert and the
outbox items announcing it are in Redis, 503 when Redis cannot take them, 4xx only for input
that will never succeed (bad credentials, malformed, oversized).
"""

from __future__ import annotations

import base64
import hmac
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from bot.errors import InputError, StoreError
from bot.models import parse_alertmanager
from bot.store.connection import SENTINEL_SCHEME
from handlers.guard import enter
from handlers.services import Services

log = logging.getLogger(__name__)


def authorized(header: str | None, token: str | None) -> bool:
    """Bearer token, or basic auth whose password is the token (any user name).

    ``token`` may hold two comma-separated tokens while one is rotated out.
    """
    if not token or not header:
        return False
    scheme, _, value = header.partition(" ")
    if "," in token:
        return any([authorized(header, t.strip()) for t in token.split(",") if t.strip()])
    if scheme.lower() == "bearer":
        return hmac.compare_digest(value.strip().encode(), token.encode())
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode()
        except (ValueError, UnicodeDecodeError):
            return False
        return hmac.compare_digest(decoded.partition(":")[2].encode(), token.encode())
    return False


def _problem(status: int, message: str) -> web.Response:
    return web.json_response({"status": "error", "error": message}, status=status)


async def _read_bounded(request: web.Request, limit: int) -> bytes | None:
    """The whole body, however many segments it arrives in; None once it passes ``limit``.

    ``content.read(n)`` returns what has arrived so far, so a body split across TCP segments
    was cut short and answered 400, which Alertmanager never retries.
    """
    if request.content_length is not None and request.content_length > limit:
        return None
    body = bytearray()
    async for chunk in request.content.iter_any():
        body += chunk
        if len(body) > limit:
            return None
    return bytes(body)


Receiver = Callable[[web.Request], Awaitable[web.Response]]


def receiver(services: Services) -> Receiver:
    """The webhook's request handler, bound to the bot's services."""
    limit = services.settings.file.alerts.max_body_bytes
    outcomes = services.metrics.alerts_received
    triage = services.triage

    replicated = (services.settings.redis_url or "").startswith(SENTINEL_SCHEME)

    async def receive(request: web.Request) -> web.Response:
        enter("webhook")
        open_door = services.settings.file.alerts.auth == "none"
        if not open_door and not authorized(request.headers.get("Authorization"),
                                            services.settings.alert_token):
            outcomes.labels("unauthorized").inc()
            return _problem(401, "missing or wrong credentials (Bearer TRIAGE_ALERT_TOKEN)")
        body = await _read_bounded(request, limit)
        if body is None:
            outcomes.labels("too_large").inc()
            return _problem(413, f"body larger than the limit of {limit} bytes")
        try:
            result = await triage.intake.receive(parse_alertmanager(body))
            if replicated:
                # Under Sentinel, 2xx only once a replica has it: a failover must not lose it.
                await triage.incidents.store.ensure_replicated()
        except InputError as exc:
            outcomes.labels("rejected").inc()
            return _problem(400, str(exc))
        except StoreError as exc:
            outcomes.labels("store_unavailable").inc()
            log.warning("alert not stored, asking Alertmanager to retry", extra={"error": str(exc)})
            return web.json_response({"status": "error", "error": "state store unavailable"},
                                     status=503, headers={"Retry-After": "5"})
        outcomes.labels("accepted").inc()
        # The card, its redraw and the thread line were stored with the alerts (the outbox):
        # any replica's drainer sends them, whatever happens to this process now.
        return web.json_response({
            "status": "ok", "incident": result.incident.id if result.incident else None,
            "created": result.created, "changes": len(result.changes)})

    return receive
