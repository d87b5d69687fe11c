"""The stand-in's Web API: authentication, the method table and dispatch.

Slack answers almost everything with HTTP 200 and ``{"ok": false, "error": ...}``; only rate
limits (429) and outages (5xx) change the status. A method name Slack does not know answers
``unknown_method`` (with ``req_method``) and HTTP 404. A missing token is ``not_authed``,
a wrong one ``invalid_auth``; an app-level token (``xapp-``) only opens Socket Mode
connections, and a bot token cannot (``not_allowed_token_type``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from triage_sim.slack.api_chat import (
    chat_delete,
    chat_post_ephemeral,
    chat_post_message,
    chat_update,
    conversations_history,
)
from triage_sim.slack.api_conversations import (
    conversations_create,
    conversations_invite,
    conversations_open,
)
from triage_sim.slack.api_files import (
    files_complete_upload_external,
    files_get_upload_url_external,
    files_info,
)
from triage_sim.slack.api_usergroups import usergroups_users_list
from triage_sim.slack.api_views import views_open, views_push, views_update
from triage_sim.slack.state import ApiError, Workspace

__all__ = ["Links", "dispatch", "known_methods"]

TokenKind = Literal["bot", "app"]


class Links(Protocol):
    """URLs only the running server can build (its host and port)."""

    def upload_url(self, token: str) -> str:
        """Where the bytes of an external upload are POSTed."""
        ...

    def socket_url(self) -> str:
        """A fresh ``ws://…/link/?ticket=…`` for apps.connections.open."""
        ...

    def private_file_url(self, file_id: str, name: str) -> str:
        """A file's ``url_private`` (served only with a bot token, as Slack does)."""
        ...


Handler = Callable[[Workspace, dict[str, Any], Links], dict[str, Any]]


@dataclass(frozen=True)
class _Method:
    handler: Handler
    token: TokenKind = "bot"


def _auth_test(ws: Workspace, args: dict[str, Any], links: Links) -> dict[str, Any]:
    return {
        "url": f"https://{ws.team_domain}.slack.com/",
        "team": ws.team_domain,
        "user": ws.users[ws.bot_user_id].name,
        "team_id": ws.team_id,
        "user_id": ws.bot_user_id,
        "bot_id": ws.bot_id,
        "is_enterprise_install": False,
    }


def _conversations_info(ws: Workspace, args: dict[str, Any], links: Links) -> dict[str, Any]:
    channel = ws.channel(args.get("channel"))
    if channel.id != args.get("channel"):
        raise ApiError("channel_not_found")
    return {"channel": channel.as_slack(1700000000)}


def _users_info(ws: Workspace, args: dict[str, Any], links: Links) -> dict[str, Any]:
    return {"user": ws.user(args.get("user")).as_slack(ws.team_id)}


def _connections_open(ws: Workspace, args: dict[str, Any], links: Links) -> dict[str, Any]:
    return {"url": links.socket_url()}


def _plain(fn: Callable[[Workspace, dict[str, Any]], dict[str, Any]]) -> Handler:
    def handler(ws: Workspace, args: dict[str, Any], links: Links) -> dict[str, Any]:
        return fn(ws, args)

    return handler


def _files_info(ws: Workspace, args: dict[str, Any], links: Links) -> dict[str, Any]:
    return files_info(ws, args, links.private_file_url)


def _upload_url(ws: Workspace, args: dict[str, Any], links: Links) -> dict[str, Any]:
    return files_get_upload_url_external(ws, args, links.upload_url)


_METHODS: dict[str, _Method] = {
    "auth.test": _Method(_auth_test),
    "chat.postMessage": _Method(_plain(chat_post_message)),
    "chat.update": _Method(_plain(chat_update)),
    "chat.postEphemeral": _Method(_plain(chat_post_ephemeral)),
    "chat.delete": _Method(_plain(chat_delete)),
    "views.open": _Method(_plain(views_open)),
    "views.update": _Method(_plain(views_update)),
    "views.push": _Method(_plain(views_push)),
    "conversations.info": _Method(_conversations_info),
    "conversations.open": _Method(_plain(conversations_open)),
    "conversations.create": _Method(_plain(conversations_create)),
    "conversations.invite": _Method(_plain(conversations_invite)),
    "conversations.history": _Method(_plain(conversations_history)),
    "users.info": _Method(_users_info),
    "usergroups.users.list": _Method(_plain(usergroups_users_list)),
    "files.getUploadURLExternal": _Method(_upload_url),
    "files.completeUploadExternal": _Method(_plain(files_complete_upload_external)),
    "files.info": _Method(_files_info),
    "apps.connections.open": _Method(_connections_open, token="app"),
}


def known_methods() -> frozenset[str]:
    """Names of the Web API methods the stand-in implements."""
    return frozenset(_METHODS)


def _check_token(
    token: str | None, kind: TokenKind, bot_tokens: frozenset[str], app_token: str
) -> None:
    if not token:
        raise ApiError("not_authed")
    if token not in bot_tokens and token != app_token:
        raise ApiError("invalid_auth")
    if (kind == "app") != (token == app_token):
        raise ApiError("not_allowed_token_type")


def dispatch(
    ws: Workspace,
    method: str,
    args: dict[str, Any],
    *,
    token: str | None,
    bot_tokens: frozenset[str],
    app_token: str,
    links: Links,
) -> tuple[int, dict[str, Any]]:
    """Run one Web API call; return the HTTP status and the JSON body Slack would send."""
    spec = _METHODS.get(method)
    if spec is None:
        return 404, {"ok": False, "error": "unknown_method", "req_method": method}
    try:
        _check_token(token, spec.token, bot_tokens, app_token)
        body = spec.handler(ws, args, links)
    except ApiError as exc:
        return 200, exc.body()
    return 200, {"ok": True, **body}
