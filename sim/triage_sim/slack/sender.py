"""Slack's client side: signed requests to the bot, as Slack's servers send them.

:class:`SlackSender` posts slash commands, button clicks, modal submissions and Events API
deliveries to the bot's URL over HTTP, signed ``v0=HMAC-SHA256(secret, "v0:{ts}:{body}")``,
or, built without a URL, pushes the same payloads as Socket Mode envelopes through the
stand-in. Each interaction gets a fresh trigger_id and response_url registered with the
stand-in, and what the bot acks with is applied as Slack would (an ephemeral reply, a
modal's ``response_action``). Every send returns a :class:`Delivery` with the measured ack
latency.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import TracebackType
from typing import Any
from urllib.parse import urlencode

import aiohttp

from triage_sim.slack.payloads import (
    Actor,
    block_actions_payload,
    event_callback,
    slash_command_fields,
    view_submission_payload,
)
from triage_sim.slack.standin import SlackStandIn

__all__ = ["SLACK_ACK_DEADLINE_SECONDS", "Delivery", "SlackSender", "slack_signature"]

SLACK_ACK_DEADLINE_SECONDS = 3.0


def slack_signature(secret: str, timestamp: str, body: bytes) -> str:
    """``v0=`` + hex HMAC-SHA256 of ``v0:{timestamp}:{body}``, as in ``X-Slack-Signature``."""
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Delivery:
    """What the bot answered to one request, and how long the ack took (seconds)."""

    status: int
    headers: Mapping[str, str]
    body: bytes
    latency: float
    payload: Mapping[str, Any]
    trigger_id: str | None = None
    response_url: str | None = None
    envelope: Mapping[str, Any] = field(default_factory=dict)

    @property
    def text(self) -> str:
        """The answer body as text."""
        return self.body.decode(errors="replace")

    @property
    def acked_in_time(self) -> bool:
        """Whether Slack would have accepted the ack: HTTP 200 within its 3-second limit."""
        return self.status == 200 and self.latency < SLACK_ACK_DEADLINE_SECONDS

    def json(self) -> Any:
        """The answer body parsed as JSON."""
        return json.loads(self.body)

    def ack(self) -> dict[str, Any] | None:
        """The ack as Slack reads it: a JSON object, plain text as ``{"text": ...}``, or None."""
        if self.status != 200 or not self.body.strip():
            return None
        try:
            parsed = json.loads(self.body)
        except json.JSONDecodeError:
            return {"text": self.text}
        return parsed if isinstance(parsed, dict) else {"text": self.text}


@dataclass(frozen=True)
class _Signing:
    bad_signature: bool = False
    timestamp_offset: float = 0.0
    unsigned: bool = False


class SlackSender:
    """Sends what Slack sends, to the bot at ``url`` (HTTP) or over Socket Mode (no ``url``)."""

    def __init__(
        self,
        standin: SlackStandIn,
        url: str | None = None,
        signing_secret: str | None = None,
        *,
        user_id: str = "U0ALICE",
        user_name: str = "alice",
        timeout: float = 10.0,
    ) -> None:
        if url is not None and not signing_secret:
            raise ValueError("an HTTP SlackSender needs the signing secret")
        self.standin = standin
        self.url = url
        self.signing_secret = signing_secret or ""
        self.timeout = timeout
        self.actor = self.actor_for(user_id, user_name)
        self._session: aiohttp.ClientSession | None = None

    def actor_for(self, user_id: str, user_name: str | None = None) -> Actor:
        """An :class:`Actor` for another user of the same workspace."""
        ws = self.standin.ws
        name = user_name or (ws.users[user_id].name if user_id in ws.users else user_id.lower())
        return Actor(user_id, name, ws.team_id, ws.team_domain, ws.app_id)

    async def close(self) -> None:
        """Close the HTTP session."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> SlackSender:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # -- interactions ------------------------------------------------------------------
    async def slash_command(
        self,
        command: str,
        text: str = "",
        *,
        channel_id: str,
        user_id: str | None = None,
        bad_signature: bool = False,
        timestamp_offset: float = 0.0,
    ) -> Delivery:
        """``/command text`` typed by the user in ``channel_id``."""
        actor = self.actor_for(user_id) if user_id else self.actor
        channel = self.standin.ws.channels.get(channel_id)
        trigger_id = self.standin.issue_trigger_id(actor.user_id)
        response_url = self.standin.issue_response_url(channel_id, actor.user_id)
        fields = slash_command_fields(
            actor,
            command=command,
            text=text,
            channel_id=channel_id,
            channel_name=channel.name if channel else "directmessage",
            response_url=response_url,
            trigger_id=trigger_id,
        )
        body = urlencode(fields).encode()
        signing = _Signing(bad_signature, timestamp_offset)
        delivery = await self._deliver(
            "slash_commands", fields, body, "application/x-www-form-urlencoded", signing=signing
        )
        delivery = replace(delivery, trigger_id=trigger_id, response_url=response_url)
        self.standin.apply_ack("slash_commands", fields, delivery.ack())
        return delivery

    async def click(
        self,
        channel_id: str,
        message_ts: str,
        action_id: str,
        *,
        selected: str | None = None,
        user_id: str | None = None,
    ) -> Delivery:
        """Click ``action_id`` on the stored message at ``message_ts`` (a ``block_actions``)."""
        actor = self.actor_for(user_id) if user_id else self.actor
        message = self.standin.message(channel_id, message_ts)
        channel = self.standin.ws.channels.get(channel_id)
        trigger_id = self.standin.issue_trigger_id(actor.user_id)
        response_url = self.standin.issue_response_url(
            channel_id, actor.user_id, message_ts=message_ts
        )
        payload = block_actions_payload(
            actor,
            blocks=list(message.blocks),
            action_id=action_id,
            trigger_id=trigger_id,
            response_url=response_url,
            selected=selected,
            container={
                "type": "message",
                "message_ts": message_ts,
                "channel_id": channel_id,
                "is_ephemeral": False,
            },
            channel={"id": channel_id, "name": channel.name if channel else ""},
            message=message.as_slack(self.standin.ws.team_id),
        )
        return await self._interactive(payload, trigger_id, response_url)

    async def click_ephemeral(
        self,
        channel_id: str,
        ephemeral_ts: str,
        action_id: str,
        *,
        selected: str | None = None,
        user_id: str | None = None,
    ) -> Delivery:
        """Click ``action_id`` on an ephemeral message the user sees."""
        actor = self.actor_for(user_id) if user_id else self.actor
        found = [
            e for e in self.standin.ephemerals(channel_id, actor.user_id) if e.ts == ephemeral_ts
        ]
        if not found:
            raise LookupError(f"no ephemeral {ephemeral_ts} for {actor.user_id} in {channel_id}")
        trigger_id = self.standin.issue_trigger_id(actor.user_id)
        response_url = self.standin.issue_response_url(
            channel_id, actor.user_id, message_ts=ephemeral_ts, ephemeral_source=True
        )
        channel = self.standin.ws.channels.get(channel_id)
        payload = block_actions_payload(
            actor,
            blocks=list(found[-1].blocks),
            action_id=action_id,
            trigger_id=trigger_id,
            response_url=response_url,
            selected=selected,
            container={
                "type": "message",
                "message_ts": ephemeral_ts,
                "channel_id": channel_id,
                "is_ephemeral": True,
            },
            channel={"id": channel_id, "name": channel.name if channel else ""},
        )
        return await self._interactive(payload, trigger_id, response_url)

    async def click_in_view(
        self,
        view_id: str,
        action_id: str,
        *,
        selected: str | None = None,
        user_id: str | None = None,
    ) -> Delivery:
        """Click ``action_id`` inside an open modal."""
        record = self.standin.view(view_id)
        actor = self.actor_for(user_id or record.user)
        trigger_id = self.standin.issue_trigger_id(actor.user_id)
        payload = block_actions_payload(
            actor,
            blocks=record.view.get("blocks", []),
            action_id=action_id,
            trigger_id=trigger_id,
            response_url=None,
            selected=selected,
            container={"type": "view", "view_id": view_id},
            view=dict(record.view),
        )
        return await self._interactive(payload, trigger_id, None)

    async def submit_view(
        self,
        view_id: str,
        values: Mapping[str, Mapping[str, Any]] | None = None,
        *,
        user_id: str | None = None,
    ) -> Delivery:
        """Submit the open modal with ``{block_id: {action_id: value}}``; apply the ack."""
        record = self.standin.view(view_id)
        if record.closed:
            raise LookupError(f"view {view_id} is closed")
        actor = self.actor_for(user_id or record.user)
        trigger_id = self.standin.issue_trigger_id(actor.user_id)
        payload = view_submission_payload(
            actor, view=record.view, values=values or {}, trigger_id=trigger_id
        )
        return await self._interactive(payload, trigger_id, None)

    async def event(
        self,
        event: Mapping[str, Any],
        *,
        event_id: str | None = None,
        retry_num: int | None = None,
        retry_reason: str | None = None,
    ) -> Delivery:
        """Deliver an Events API ``event`` (redeliveries carry the retry headers)."""
        envelope = event_callback(
            self.actor,
            event=event,
            event_id=event_id or f"Ev{uuid.uuid4().hex[:10].upper()}",
            bot_user_id=self.standin.ws.bot_user_id,
        )
        headers: dict[str, str] = {}
        if retry_num is not None:
            headers["X-Slack-Retry-Num"] = str(retry_num)
            headers["X-Slack-Retry-Reason"] = retry_reason or "http_timeout"
        body = json.dumps(envelope).encode()
        return await self._deliver(
            "events_api",
            envelope,
            body,
            "application/json",
            headers=headers,
            retry=(retry_num, retry_reason),
        )

    async def send_raw(
        self,
        body: bytes,
        content_type: str,
        *,
        headers: Mapping[str, str] | None = None,
        bad_signature: bool = False,
        timestamp_offset: float = 0.0,
        unsigned: bool = False,
    ) -> Delivery:
        """POST any body to the bot (for malformed-input and signature tests)."""
        signing = _Signing(bad_signature, timestamp_offset, unsigned)
        return await self._http(body, content_type, signing, dict(headers or {}), {})

    # -- transport ----------------------------------------------------------------------
    async def _interactive(
        self, payload: dict[str, Any], trigger_id: str, response_url: str | None
    ) -> Delivery:
        body = urlencode({"payload": json.dumps(payload)}).encode()
        delivery = await self._deliver(
            "interactive", payload, body, "application/x-www-form-urlencoded"
        )
        delivery = replace(delivery, trigger_id=trigger_id, response_url=response_url)
        kind = "view_submission" if payload["type"] == "view_submission" else "interactive"
        self.standin.apply_ack(kind, payload, delivery.ack())
        return delivery

    async def _deliver(
        self,
        kind: str,
        payload: dict[str, Any],
        body: bytes,
        content_type: str,
        *,
        signing: _Signing | None = None,
        headers: dict[str, str] | None = None,
        retry: tuple[int | None, str | None] = (None, None),
    ) -> Delivery:
        if self.url is not None:
            signing = signing or _Signing()
            return await self._http(body, content_type, signing, headers or {}, payload)
        started = time.perf_counter()
        ack = await self.standin.socket_send(
            kind, payload, timeout=self.timeout, retry_attempt=retry[0], retry_reason=retry[1]
        )
        latency = time.perf_counter() - started
        answer = ack.get("payload")
        raw = json.dumps(answer).encode() if answer is not None else b""
        return Delivery(200, {}, raw, latency, payload, envelope=ack)

    async def _http(
        self,
        body: bytes,
        content_type: str,
        signing: _Signing,
        headers: dict[str, str],
        payload: Mapping[str, Any],
    ) -> Delivery:
        if self.url is None:
            raise RuntimeError("send_raw needs an HTTP SlackSender")
        timestamp = str(int(time.time() + signing.timestamp_offset))
        signature = slack_signature(self.signing_secret, timestamp, body)
        if signing.bad_signature:
            signature = slack_signature(self.signing_secret + "-wrong", timestamp, body)
        if not signing.unsigned:
            headers = {
                **headers,
                "X-Slack-Request-Timestamp": timestamp,
                "X-Slack-Signature": signature,
            }
        headers["Content-Type"] = content_type
        if self._session is None:
            self._session = aiohttp.ClientSession()
        started = time.perf_counter()
        async with self._session.post(
            self.url, data=body, headers=headers, timeout=aiohttp.ClientTimeout(total=self.timeout)
        ) as resp:
            answer = await resp.read()
            latency = time.perf_counter() - started
            return Delivery(resp.status, dict(resp.headers), answer, latency, payload)
