"""``POST /slack/events``: the door. Verify, refuse replays, parse, then hand to Bolt.

Junk must be cheap: the signature is checked before anything is parsed or counted by kind, so
an unsigned flood costs one HMAC per request and adds no metric series. A signed request seen
before (same signature, within Slack's five-minute window) is refused, across replicas, by a
claim in Redis. A body that is signed but malformed gets 400, never 500 and never a traceback.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections.abc import Awaitable, Callable, Mapping

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest

from bot.errors import StoreError
from bot.observability import BotMetrics
from bot.store.claims import ClaimStore
from handlers.guard import OTHER_WORKSPACE, log_refusal, request_team

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


def parse_slack_request(body: bytes, query: str, headers: Mapping[str, str]
                        ) -> AsyncBoltRequest | None:
    """The request as Bolt will see it, parsed once, or None if it is not a Slack request.

    Bolt parses the body when the request is built (form fields, or the JSON ``payload`` of an
    interaction, or a JSON event); anything that does not come out as a command, an
    interaction or an event is refused here rather than deep inside a listener.
    """
    try:
        request = AsyncBoltRequest(body=body.decode(), query=query,
                                   headers=dict(headers))
    except Exception:  # any parse failure of outside input is "malformed", never a 500
        return None
    fields = request.body
    if not isinstance(fields, dict) or not ("command" in fields or "type" in fields):
        return None
    return request if _bolt_can_route(fields) else None


#: Fields Bolt reads as an id either directly (a string) or from an object's ``id``.
_ID_OR_OBJECT = ("team", "enterprise", "user", "channel")
#: Fields Bolt compares or hands on as strings.
_STRINGS = ("type", "command", "callback_id", "action_id", "block_id", "user_id", "channel_id",
            "team_id", "enterprise_id", "thread_ts", "response_url", "trigger_id")
#: Objects Bolt looks inside (the same fields again, for events and their messages).
_OBJECTS = ("event", "view", "message", "previous_message", "item", "assistant_thread",
            "function_data", "container")
#: Lists whose items Bolt indexes as objects.
_LISTS_OF_OBJECTS = ("authorizations", "response_urls", "actions")


def _bolt_can_route(fields: Mapping[str, object], depth: int = 0) -> bool:
    """Whether Bolt's listener matching and argument building can read ``fields``.

    Building the request only parses the body; the matchers index into it unchecked later,
    inside ``async_dispatch`` (``actions[0]["action_id"]``, ``view["type"]``, ...), where a
    signed body of the wrong shape failed with a 500 and a traceback.
    """
    for key, value in fields.items():
        if value is None:
            continue
        if key in _ID_OR_OBJECT and not isinstance(value, str | dict):
            return False
        if key in _STRINGS and not isinstance(value, str):
            return False
        if key in _LISTS_OF_OBJECTS and not (
                isinstance(value, list) and all(isinstance(item, dict) for item in value)):
            return False
        if key in _OBJECTS and not (isinstance(value, dict) and (
                depth > 3 or _bolt_can_route(value, depth + 1))):
            return False
    return depth > 0 or _routing_fields_present(fields)


def _routing_fields_present(fields: Mapping[str, object]) -> bool:
    """The field each kind of request is matched on is there (Bolt indexes it directly)."""
    kind = fields.get("type")
    if kind in ("block_actions", "interactive_message") and "actions" in fields:
        actions = fields["actions"]
        return isinstance(actions, list) and bool(actions) and (
            kind != "block_actions" or isinstance(actions[0].get("action_id"), str))
    if kind in ("view_submission", "view_closed"):
        view = fields.get("view")
        return isinstance(view, dict) and isinstance(view.get("callback_id"), str) and \
            isinstance(view.get("type"), str) and _workflow_step_present(view, fields)
    if kind == "event_callback" and "event" in fields:
        event = fields["event"]
        return isinstance(event, dict) and isinstance(event.get("type"), str) and \
            _workflow_step_present(event, event)
    return _workflow_step_present(fields, fields)


def _workflow_step_present(typed: Mapping[str, object], holder: Mapping[str, object]) -> bool:
    """Bolt reads ``workflow_step`` unchecked for the (legacy) workflow step kinds."""
    step_kinds = ("workflow_step", "workflow_step_edit", "workflow_step_execute")
    return typed.get("type") not in step_kinds or "workflow_step" in holder


def slack_route(bolt: AsyncApp, secret: str, claims: ClaimStore, metrics: BotMetrics,
                team_id: str | None = None) -> SlackRoute:
    """The request handler for Slack's HTTP deliveries (only ``team_id``'s, when set)."""

    async def events(request: web.Request) -> web.StreamResponse:
        started = time.perf_counter()
        body = await request.read()
        problem = signature_problem(secret, body, request.headers.get("X-Slack-Request-Timestamp"),
                                    request.headers.get("X-Slack-Signature"), time.time())
        if problem is None and not await _first_delivery(claims, request, body):
            problem = "replayed"
        if problem is not None:
            metrics.slack_rejected.labels(problem).inc()
            return web.json_response({"ok": False, "error": problem}, status=401)
        bolt_request = parse_slack_request(body, request.query_string, request.headers)
        if bolt_request is None:
            metrics.slack_rejected.labels("malformed").inc()
            log.info("malformed Slack request refused")
            return web.json_response({"ok": False, "error": "malformed"}, status=400)
        fields = bolt_request.body
        if team_id and request_team(fields) not in (None, team_id):
            metrics.slack_rejected.labels("other_workspace").inc()
            return _other_workspace(fields)
        response = await to_aiohttp_response(await bolt.async_dispatch(bolt_request))
        metrics.ack_latency.labels(request_kind(bolt_request.body)).observe(
            time.perf_counter() - started)
        return response

    return events


def _other_workspace(fields: Mapping[str, object]) -> web.Response:
    """Refuse a request from another workspace (a shared channel's guest, a forged team)."""
    user = fields.get("user")
    user_id = user.get("id") if isinstance(user, dict) else fields.get("user_id")
    log_refusal(str(user_id or ""), request_kind(fields), "another workspace",
                team_id=str(request_team(fields)))
    if request_kind(fields) == "command":
        return web.json_response({"response_type": "ephemeral", "text": OTHER_WORKSPACE})
    return web.json_response({"ok": False, "error": "other_workspace"}, status=403)


async def _first_delivery(claims: ClaimStore, request: web.Request, body: bytes) -> bool:
    """False for a signature seen before; True (with a warning) when Redis cannot tell.

    Slack's own retries of an Events API delivery (``X-Slack-Retry-Num``) pass: they are
    deduplicated by ``event_id`` downstream, and refusing one would lose the event if the
    first delivery's answer was what got lost.
    """
    if request.headers.get("X-Slack-Retry-Num") and b'"event_callback"' in body:
        return True
    signature = request.headers.get("X-Slack-Signature", "")
    try:
        return await claims.claim("slack-signature", signature, ttl_seconds=WINDOW_S + 60)
    except StoreError as exc:
        log.warning("replay check skipped: Redis unavailable", extra={"error": str(exc)})
        return True
