"""Slack's side of Socket Mode: tickets, the ``hello``, envelopes out and acks back.

apps.connections.open hands out ``ws://…/link/?ticket=…`` (one use per ticket). On connect
the server sends ``{"type": "hello", ...}``; then it pushes envelopes
``{"envelope_id", "type", "payload", "accepts_response_payload", "retry_attempt",
"retry_reason"}`` and the app acknowledges each with ``{"envelope_id", "payload"?}``.
slack_sdk's aiohttp client (used by Bolt's ``AsyncSocketModeHandler``) pings with
``sdk-ping-pong:<t>`` and expects pongs; aiohttp's server answers pings by itself.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

__all__ = ["SocketAck", "SocketLink"]

_ACCEPTS_RESPONSE = {"slash_commands": True, "events_api": False}


@dataclass(frozen=True)
class SocketAck:
    """An acknowledgement the app sent back over the socket."""

    envelope_id: str
    type: str
    payload: dict[str, Any] | None
    raw: dict[str, Any] = field(default_factory=dict)


class SocketLink:
    """The websocket endpoint plus the bookkeeping for envelopes awaiting their ack."""

    def __init__(self, app_id: str, on_change: Callable[[], Awaitable[None]]) -> None:
        self._app_id = app_id
        self._on_change = on_change
        self._tickets: set[str] = set()
        self._connections: list[web.WebSocketResponse] = []
        self._pending: dict[str, tuple[str, asyncio.Future[dict[str, Any]]]] = {}
        self.acks: list[SocketAck] = []
        self.hellos_sent = 0

    def new_ticket(self) -> str:
        """A single-use ticket for the next connection."""
        ticket = secrets.token_hex(16)
        self._tickets.add(ticket)
        return ticket

    @property
    def connected(self) -> int:
        """How many Socket Mode connections are open."""
        return sum(1 for ws in self._connections if not ws.closed)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """aiohttp handler for ``GET /link/``: check the ticket, say hello, read acks."""
        ticket = request.query.get("ticket", "")
        if ticket not in self._tickets:
            return web.Response(status=401, text="invalid_ticket")
        self._tickets.discard(ticket)
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self._connections.append(ws)
        await ws.send_str(json.dumps(self._hello()))
        self.hellos_sent += 1
        await self._on_change()
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    await self._receive(msg.data)
        finally:
            self._connections.remove(ws)
            await self._on_change()
        return ws

    def _hello(self) -> dict[str, Any]:
        return {
            "type": "hello",
            "num_connections": self.connected,
            "debug_info": {
                "host": "applink-standin",
                "build_number": 1,
                "approximate_connection_time": 18060,
            },
            "connection_info": {"app_id": self._app_id},
        }

    async def _receive(self, data: str) -> None:
        try:
            message = json.loads(data)
        except json.JSONDecodeError:
            return
        if not isinstance(message, dict):
            return
        envelope_id = str(message.get("envelope_id", ""))
        kind, future = self._pending.pop(envelope_id, ("unknown", None))
        payload = message.get("payload")
        self.acks.append(
            SocketAck(envelope_id, kind, payload if isinstance(payload, dict) else None, message)
        )
        if future is not None and not future.done():
            future.set_result(message)
        await self._on_change()

    async def send(
        self,
        kind: str,
        payload: dict[str, Any],
        *,
        wait: float,
        accepts_response_payload: bool | None = None,
        retry_attempt: int | None = None,
        retry_reason: str | None = None,
        connection: int = -1,
    ) -> dict[str, Any]:
        """Push one envelope on a connection (the newest by default) and wait for its ack.

        Slack spreads deliveries over an app's open connections, and may redeliver an event
        on another one: ``connection`` picks which (in the order they connected).
        """
        live = [ws for ws in self._connections if not ws.closed]
        if not live:
            raise ConnectionError("no Socket Mode connection is open")
        envelope = self._envelope(
            kind, payload, accepts_response_payload, retry_attempt, retry_reason
        )
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[envelope["envelope_id"]] = (kind, future)
        await live[connection].send_str(json.dumps(envelope))
        try:
            async with asyncio.timeout(wait):
                return await future
        finally:
            self._pending.pop(envelope["envelope_id"], None)

    def _envelope(
        self,
        kind: str,
        payload: dict[str, Any],
        accepts: bool | None,
        retry_attempt: int | None,
        retry_reason: str | None,
    ) -> dict[str, Any]:
        if accepts is None:
            interactive_answers = payload.get("type") in ("view_submission", "block_suggestion")
            accepts = _ACCEPTS_RESPONSE.get(kind, interactive_answers)
        envelope: dict[str, Any] = {
            "envelope_id": str(uuid.uuid4()),
            "payload": payload,
            "type": kind,
            "accepts_response_payload": accepts,
        }
        if kind == "events_api":
            envelope["retry_attempt"] = retry_attempt or 0
            envelope["retry_reason"] = retry_reason or ""
        return envelope

    async def disconnect(self, reason: str = "refresh_requested") -> None:
        """Ask every client to reconnect, as Slack does before it recycles a server."""
        message = {
            "type": "disconnect",
            "reason": reason,
            "debug_info": {"host": "applink-standin"},
        }
        for ws in list(self._connections):
            if not ws.closed:
                await ws.send_str(json.dumps(message))

    async def close(self) -> None:
        """Close every connection (server shutdown)."""
        for ws in list(self._connections):
            await ws.close(code=1001, message=b"server shutdown")
        for _, future in self._pending.values():
            if not future.done():
                future.cancel()
