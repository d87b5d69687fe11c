"""A local stand-in for Slack: the Web API, response_urls, file uploads and Socket Mode.

Every test of the bot and the demo talk to this instead of slack.com. It answers like Slack
(error words, Block Kit limits, 429 + ``Retry-After``, trigger_id expiry, response_url use
limits), remembers what the bot did, and lets tests wait for it without sleeping::

    async with SlackStandIn() as slack:
        slack.add_channel("C0CHECKOUT", "checkout")
        client = AsyncWebClient(token="xoxb-test-token", base_url=slack.api_url)
        await client.chat_postMessage(channel="C0CHECKOUT", text="hi")
        msg = await slack.wait_for_message("C0CHECKOUT")

The client side (signed slash commands, clicks, events) is
:class:`triage_sim.slack.sender.SlackSender`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import quote

from aiohttp import web

from triage_sim.slack.api_files import add_shared_file, receive_upload
from triage_sim.slack.api_views import apply_submission_ack
from triage_sim.slack.faults import ChannelRateLimit, FaultPlan
from triage_sim.slack.queries import StandInQueries
from triage_sim.slack.response_url import post_to_response_url
from triage_sim.slack.socket_mode import SocketLink
from triage_sim.slack.state import (
    Channel,
    Ephemeral,
    Message,
    RecordedCall,
    StoredFile,
    User,
    UserGroup,
    Workspace,
)
from triage_sim.slack.web_api import dispatch

__all__ = ["SlackStandIn"]

T = TypeVar("T")
DEFAULT_BOT_TOKEN = "xoxb-test-token"
DEFAULT_APP_TOKEN = "xapp-test-token"
#: The bot scopes slack-app-manifest.yml requests: what an installed app's token is granted.
DEFAULT_SCOPES = ("commands", "chat:write", "files:write", "app_mentions:read",
                  "usergroups:read", "im:write", "files:read", "channels:manage",
                  "channels:history", "groups:history")


class SlackStandIn(StandInQueries):
    """Slack's servers, on 127.0.0.1, with a memory and a few knobs for failure."""

    def __init__(
        self,
        *,
        bot_tokens: Iterable[str] = (DEFAULT_BOT_TOKEN,),
        app_token: str = DEFAULT_APP_TOKEN,
        team_id: str = "T0TRIAGE",
        team_domain: str = "triage-test",
        bot_user_id: str = "U0TRIAGEBOT",
        bot_id: str = "B0TRIAGEBOT",
        app_id: str = "A0TRIAGE",
        clock: Callable[[], float] = time.monotonic,
        scopes: Iterable[str] = DEFAULT_SCOPES,
    ) -> None:
        self.bot_tokens = frozenset(bot_tokens)
        #: Granted to the bot tokens; sent as ``x-oauth-scopes`` as Slack does (tests change it).
        self.scopes: list[str] = list(scopes)
        self.app_token = app_token
        self.ws = Workspace(
            team_id=team_id,
            team_domain=team_domain,
            bot_user_id=bot_user_id,
            bot_id=bot_id,
            app_id=app_id,
            clock=clock,
        )
        super().__init__(self.ws)
        self.faults = FaultPlan()
        self.channel_limit: ChannelRateLimit | None = None
        self.socket = SocketLink(app_id, self._notify)
        self._runner: web.AppRunner | None = None
        self._base_url = ""
        #: (``<team>-<file id>``, token) of every ``url_private`` fetch.
        self.private_downloads: list[tuple[str, str]] = []

    # -- lifecycle ----------------------------------------------------------------------
    async def start(self, host: str = "127.0.0.1", port: int = 0) -> SlackStandIn:
        """Listen on ``host:port`` (0 picks a free port); return ``self``."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/upload/v1/{token}", self._upload)
        app.router.add_get("/files-pri/{team_file}/{name}", self._private_file)
        app.router.add_post("/response/{url_id}", self._response_url)
        app.router.add_get("/link/", self.socket.handle)
        runner = web.AppRunner(app, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound_host, bound_port = runner.addresses[0][:2]
        self._runner = runner
        self._base_url = f"http://{bound_host}:{bound_port}"
        return self

    async def stop(self) -> None:
        """Close sockets and stop listening."""
        await self.socket.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> SlackStandIn:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>`` once started."""
        if not self._base_url:
            raise RuntimeError("SlackStandIn is not started")
        return self._base_url

    @property
    def api_url(self) -> str:
        """The Web API base for ``AsyncWebClient(base_url=...)``, with its trailing slash."""
        return f"{self.base_url}/api/"

    # -- links the API hands out --------------------------------------------------------
    def private_file_url(self, file_id: str, name: str) -> str:
        """A file's ``url_private``: ``/files-pri/<team>-<file id>/<name>``, as Slack's."""
        return f"{self.base_url}/files-pri/{self.ws.team_id}-{file_id}/{quote(name)}"

    def share_file(self, channel_id: str, user_id: str, filename: str, content: bytes, *,
                   thread_ts: str | None = None) -> StoredFile:
        """A person uploads a file into a channel or a thread (then send ``file_shared``)."""
        file, _ = add_shared_file(self.ws, channel=channel_id, user=user_id, filename=filename,
                                  content=content, thread_ts=thread_ts)
        return file

    def upload_url(self, token: str) -> str:
        """Where files.getUploadURLExternal tells the client to POST the bytes."""
        return f"{self.base_url}/upload/v1/{token}"

    def socket_url(self) -> str:
        """A fresh Socket Mode URL with a single-use ticket."""
        host = self.base_url.removeprefix("http://")
        return f"ws://{host}/link/?ticket={self.socket.new_ticket()}&app_id={self.ws.app_id}"

    # -- workspace setup ----------------------------------------------------------------
    def add_channel(
        self,
        channel_id: str,
        name: str,
        *,
        is_private: bool = False,
        is_member: bool = True,
        is_archived: bool = False,
    ) -> Channel:
        """Make a channel known (the bot is a member unless told otherwise)."""
        channel = Channel(channel_id, name, is_private, is_member, is_archived)
        self.ws.channels[channel_id] = channel
        return channel

    def add_user(
        self, user_id: str, name: str, real_name: str = "", *, is_bot: bool = False
    ) -> User:
        """Make a person (or another bot) known."""
        user = User(user_id, name, real_name or name, is_bot)
        self.ws.users[user_id] = user
        return user

    def add_usergroup(self, group_id: str, handle: str, users: list[str], *,
                      disabled: bool = False) -> UserGroup:
        """Make a user group known (replacing its members if it exists)."""
        group = UserGroup(group_id, handle, tuple(users), disabled)
        self.ws.usergroups[group_id] = group
        return group

    def add_user_message(
        self, channel_id: str, text: str, user_id: str, *, thread_ts: str | None = None
    ) -> Message:
        """Put a message a person wrote into a channel (e.g. to start a thread)."""
        self.ws.channel(channel_id)
        message = Message(
            channel_id, self.ws.next_ts(), text, user_id, thread_ts=thread_ts, via="user"
        )
        return self.ws.append_message(message)

    # -- grants the client side hands out ------------------------------------------------
    def issue_trigger_id(self, user_id: str) -> str:
        """A trigger_id valid once within 3 s, as sent with a command or an action."""
        return self.ws.issue_trigger(user_id)

    def issue_response_url(
        self,
        channel_id: str | None,
        user_id: str,
        *,
        message_ts: str | None = None,
        ephemeral_source: bool = False,
    ) -> str:
        """A response_url (5 uses in 30 min) acting on ``message_ts`` when replacing/deleting."""
        url_id = self.ws.issue_response_url(user_id, channel_id, message_ts, ephemeral_source)
        return f"{self.base_url}/response/{url_id}"

    def apply_ack(self, kind: str, payload: dict[str, Any], ack: dict[str, Any] | None) -> None:
        """Do what Slack does with an ack body.

        A view_submission's ``response_action`` acts on the modal; a slash command's text or
        blocks are shown to the user (or in channel). Other acks' bodies are ignored by Slack.
        """
        if kind == "view_submission":
            view_id = str(payload.get("view", {}).get("id", ""))
            apply_submission_ack(self.ws, view_id, ack)
            return
        if kind != "slash_commands" or not ack or not (ack.get("text") or ack.get("blocks")):
            return
        channel = str(payload.get("channel_id") or payload.get("channel", {}).get("id", ""))
        user = str(payload.get("user_id") or payload.get("user", {}).get("id", ""))
        blocks = tuple(ack.get("blocks") or ())
        if ack.get("response_type") == "in_channel":
            self.ws.append_message(
                Message(
                    channel,
                    self.ws.next_ts(),
                    str(ack.get("text", "")),
                    self.ws.bot_user_id,
                    blocks,
                    bot_id=self.ws.bot_id,
                    via="ack",
                )
            )
        else:
            self.ws.ephemerals.append(
                Ephemeral(
                    channel, user, self.ws.next_ts(), str(ack.get("text", "")), blocks, via="ack"
                )
            )

    # -- failure knobs ------------------------------------------------------------------
    def fail_next(
        self,
        method: str,
        status: int = 429,
        retry_after: int = 1,
        times: int = 1,
        error: str | None = None,
        *,
        after: bool = False,
    ) -> None:
        """Answer the next ``times`` calls of ``method`` (``"*"``: any) with ``status``.

        429 carries ``Retry-After: retry_after`` and ``{"ok": false, "error": "ratelimited"}``.
        With ``after`` the call is carried out first (Slack posted, then its answer failed).
        """
        self.faults.add(method, status=status, retry_after=retry_after, times=times, error=error,
                        after=after)

    def limit_channel_posts(self, per_second: float = 1.0, burst: int = 3) -> None:
        """Emulate chat.postMessage's per-channel limit (429 + Retry-After when exceeded)."""
        self.channel_limit = ChannelRateLimit(per_second, burst, self.ws.clock)

    def unlimit_channel_posts(self) -> None:
        """Turn the per-channel limit off again."""
        self.channel_limit = None

    # -- Socket Mode --------------------------------------------------------------------
    async def socket_send(
        self,
        kind: str,
        payload: dict[str, Any],
        *,
        timeout: float = 3.0,  # noqa: ASYNC109 (a test deadline, applied with asyncio.timeout)
        accepts_response_payload: bool | None = None,
        retry_attempt: int | None = None,
        retry_reason: str | None = None,
        connection: int = -1,
    ) -> dict[str, Any]:
        """Push an envelope (``slash_commands``, ``interactive``, ``events_api``) to the
        connected app, on ``connection`` (the newest by default); return its ack
        ``{"envelope_id", "payload"?}``."""
        return await self.socket.send(
            kind,
            payload,
            wait=timeout,
            accepts_response_payload=accepts_response_payload,
            retry_attempt=retry_attempt,
            retry_reason=retry_reason,
            connection=connection,
        )

    async def wait_for_socket(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109 (a test deadline, applied with asyncio.timeout)
        """Wait until a Socket Mode client has connected and been greeted."""
        await self.wait_for(lambda: self.socket.connected > 0, timeout, "a Socket Mode connection")

    # -- HTTP handlers ------------------------------------------------------------------
    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args, token, problem = await _read_args(request)
        status, body, headers = self._answer(method, args, token, problem)
        self.ws.calls.append(
            RecordedCall(
                method=method,
                args=args,
                ok=bool(body.get("ok")),
                error=body.get("error"),
                status=status,
                at=self.ws.clock(),
                http_method=request.method,
                content_type=request.content_type,
                response=body,
            )
        )
        await self._notify()
        return web.json_response(body, status=status, headers=headers)

    def _answer(
        self, method: str, args: dict[str, Any], token: str | None, problem: str | None
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        fault = self.faults.take(method)
        if fault is not None and fault.after and problem is None:
            dispatch(self.ws, method, args, token=token, bot_tokens=self.bot_tokens,
                     app_token=self.app_token, links=self)
        if fault is not None:
            headers = (
                {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
            )
            return fault.status, {"ok": False, "error": fault.error}, headers
        if problem is not None:
            return 200, {"ok": False, "error": problem}, {}
        if method == "chat.postMessage" and self.channel_limit is not None:
            wait = self.channel_limit.take(str(args.get("channel", "")))
            if wait is not None:
                return 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(wait)}
        status, body = dispatch(
            self.ws,
            method,
            args,
            token=token,
            bot_tokens=self.bot_tokens,
            app_token=self.app_token,
            links=self,
        )
        # Slack names a valid token's scopes on every answer; auth.test is how apps read them.
        granted = token in self.bot_tokens
        return status, body, {"x-oauth-scopes": ",".join(self.scopes)} if granted else {}

    async def _upload(self, request: web.Request) -> web.Response:
        content = await _upload_bytes(request)
        stored = receive_upload(self.ws, request.match_info["token"], content)
        await self._notify()
        if stored is None:
            return web.Response(status=404, text="not_found", content_type="text/plain")
        return web.Response(text=f"OK - {len(content)}", content_type="text/plain")

    async def _private_file(self, request: web.Request) -> web.Response:
        """``url_private``: the bytes for a bot token; without one Slack answers its sign-in
        page (HTTP 200, HTML), which is why a client must check what it got."""
        token = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        self.private_downloads.append((request.match_info["team_file"], token))
        if token not in self.bot_tokens:
            return web.Response(text=_SIGN_IN_PAGE, content_type="text/html")
        _, _, file_id = request.match_info["team_file"].partition("-")
        file = self.ws.files.get(file_id)
        if file is None or file.content is None:
            return web.Response(status=404, text="file_not_found", content_type="text/plain")
        return web.Response(body=file.content, content_type=file.as_slack()["mimetype"])

    async def _response_url(self, request: web.Request) -> web.Response:
        try:
            payload: Any = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            payload = None
        status, text = post_to_response_url(self.ws, request.match_info["url_id"], payload)
        await self._notify()
        return web.Response(status=status, text=text, content_type="text/plain")


async def _read_args(request: web.Request) -> tuple[dict[str, Any], str | None, str | None]:
    """Merge query, form and JSON arguments; pick the token the way Slack does.

    A token is read from ``Authorization: Bearer`` or a query/form ``token``; Slack does not
    read one from a JSON body, so neither does the stand-in.
    """
    args: dict[str, Any] = dict(request.query)
    problem = None
    if request.method == "POST" and request.body_exists:
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except (json.JSONDecodeError, UnicodeDecodeError):
                body, problem = {}, "invalid_json"
            if isinstance(body, dict):
                body.pop("token", None)
                args.update(body)
        elif request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.post()
            args.update({k: v for k, v in form.items() if isinstance(v, str)})
        else:
            problem = "invalid_post_type"
    token = args.pop("token", None)
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        token = header.removeprefix("Bearer ").strip()
    return args, token, problem


async def _upload_bytes(request: web.Request) -> bytes:
    """The file body: raw bytes (slack_sdk) or the ``file`` part of a multipart form."""
    if request.content_type == "multipart/form-data":
        form = await request.post()
        part = form.get("file")
        if isinstance(part, web.FileField):
            return part.file.read()
        return str(part or "").encode()
    return await request.read()


_SIGN_IN_PAGE = ("<!DOCTYPE html><html><head><title>Slack</title></head><body>"
                 "<h1>Sign in to triage-test</h1></body></html>")
