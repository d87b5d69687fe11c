"""``POST /slack/events``: the door. Verify, refuse replays, parse, then hand to Bolt.

Junk must be cheap: the signature is checked before anything is parsed or counted by kind, so
an unsigned flood costs one HMAC per request and adds no metric series. A signed request seen
before (same signature, within Slack's five-minute window) is refused, across replicas, by a
claim in Redis. A body that is signed but malformed gets 400, never 500 and never a traceback.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from urllib.parse import parse_qs

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest

from bot.errors import StoreError
from bot.observability import BotMetrics
from bot.store.claims import ClaimStore

log = logging.getLogger(__name__)

#: Slack's replay window: requests signed longer ago than this are refused.
WINDOW_S = 300
#: The kinds the ack histogram knows; anything else is counted as ``other``.
KINDS = frozenset({"command", "block_actions", "view_submission", "view_closed",
                   "event_callback", "url_verification", "block_suggestion", "shortcut",
                   "message_action", "interactive_message", "app_rate_limited"})

SlackRoute = Callable[[web.Request], Awaitable[web.StreamResponse]]


def signature_problem(secret: str, body: bytes, timestamp: str | None, signature: str | None,
                      now: float) -> str | None:
    """Why the request is not Slack's (``unsigned``, ``stale``, ``bad_signature``), or None."""
    if not timestamp or not signature:
        return "unsigned"
    if not timestamp.isdigit() or abs(now - int(timestamp)) > WINDOW_S:
        return "stale"
    base = b"v0:" + timestamp.encode() + b":" + body
    expected = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return None if hmac.compare_digest(expected, signature) else "bad_signature"


def request_kind(body: Mapping[str, object]) -> str:
    """command, block_actions, view_submission, event_callback ... or ``other``."""
    if "command" in body:
        return "command"
    kind = body.get("type")
    return kind if isinstance(kind, str) and kind in KINDS else "other"


def parse_slack_body(body: bytes, content_type: str) -> dict[str, object] | None:
    """The request's fields as Bolt will read them, or None if they are not a Slack request."""
    try:
        text = body.decode()
        if content_type.startswith("application/json"):
            parsed = json.loads(text)
            return parsed if isinstance(parsed, dict) else None
        fields: dict[str, object] = {
            k: v[0] for k, v in parse_qs(text, keep_blank_values=True).items()}
        if "payload" in fields:
            payload = json.loads(str(fields["payload"]))
            return payload if isinstance(payload, dict) else None
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return None
    return fields if "command" in fields else None


def slack_route(bolt: AsyncApp, secret: str, claims: ClaimStore, metrics: BotMetrics
                ) -> SlackRoute:
    """The request handler for Slack's HTTP deliveries."""

    async def events(request: web.Request) -> web.StreamResponse:
        started = time.perf_counter()
        body = await request.read()
        problem = signature_problem(secret, body, request.headers.get("X-Slack-Request-Timestamp"),
                                    request.headers.get("X-Slack-Signature"), time.time())
        if problem is None and not await _first_delivery(claims, request):
            problem = "replayed"
        if problem is not None:
            metrics.slack_rejected.labels(problem).inc()
            return web.json_response({"ok": False, "error": problem}, status=401)
        fields = parse_slack_body(body, request.content_type or "")
        if fields is None:
            metrics.slack_rejected.labels("malformed").inc()
            log.info("malformed Slack request refused")
            return web.json_response({"ok": False, "error": "malformed"}, status=400)
        bolt_request = AsyncBoltRequest(body=body.decode(), query=request.query_string,
                                        headers=request.headers)  # type: ignore[arg-type]
        response = await to_aiohttp_response(await bolt.async_dispatch(bolt_request))
        metrics.ack_latency.labels(request_kind(fields)).observe(time.perf_counter() - started)
        return response

    return events


async def _first_delivery(claims: ClaimStore, request: web.Request) -> bool:
    """False for a signature seen before; True (with a warning) when Redis cannot tell."""
    signature = request.headers.get("X-Slack-Signature", "")
    try:
        return await claims.claim("slack-signature", signature, ttl_seconds=WINDOW_S + 60)
    except StoreError as exc:
        log.warning("replay check skipped: Redis unavailable", extra={"error": str(exc)})
        return True
