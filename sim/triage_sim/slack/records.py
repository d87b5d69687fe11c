"""Records of the Slack stand-in: what Slack would hold for a workspace, frozen.

Kept apart from :class:`triage_sim.slack.state.Workspace`, which creates and replaces them.
``as_slack()`` renders a record the way Slack's API returns it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "ApiError",
    "Channel",
    "Edit",
    "Ephemeral",
    "Grant",
    "Message",
    "RecordedCall",
    "ResponsePost",
    "StoredFile",
    "User",
    "ViewRecord",
]


class ApiError(Exception):
    """A Web API failure: ``{"ok": false, "error": error, ...}`` with optional details."""

    def __init__(
        self,
        error: str,
        *,
        messages: list[str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(error)
        self.error = error
        self.messages = messages or []
        self.extra = dict(extra or {})

    def body(self) -> dict[str, Any]:
        """The JSON body Slack sends for this error."""
        body: dict[str, Any] = {"ok": False, "error": self.error, **self.extra}
        if self.messages:
            body["response_metadata"] = {"messages": [f"[ERROR] {m}" for m in self.messages]}
        return body


@dataclass(frozen=True)
class UserGroup:
    """A user group (``S…``, an @-handle for several people) and its members."""

    id: str
    handle: str
    users: tuple[str, ...] = ()
    disabled: bool = False


@dataclass(frozen=True)
class Channel:
    """A conversation the workspace knows."""

    id: str
    name: str
    is_private: bool = False
    is_member: bool = True
    is_archived: bool = False

    def as_slack(self, created: int) -> dict[str, Any]:
        """The ``channel`` object of ``conversations.info``."""
        return {
            "id": self.id,
            "name": self.name,
            "is_channel": not self.is_private,
            "is_group": False,
            "is_im": False,
            "is_mpim": False,
            "is_private": self.is_private,
            "created": created,
            "is_archived": self.is_archived,
            "is_general": False,
            "name_normalized": self.name,
            "is_shared": False,
            "is_org_shared": False,
            "is_member": self.is_member,
            "topic": {"value": "", "creator": "", "last_set": 0},
            "purpose": {"value": "", "creator": "", "last_set": 0},
        }


@dataclass(frozen=True)
class User:
    """A member of the workspace (people and the bot itself)."""

    id: str
    name: str
    real_name: str = ""
    is_bot: bool = False
    deleted: bool = False

    def as_slack(self, team_id: str) -> dict[str, Any]:
        """The ``user`` object of ``users.info``."""
        return {
            "id": self.id,
            "team_id": team_id,
            "name": self.name,
            "deleted": self.deleted,
            "real_name": self.real_name,
            "tz": "Europe/Berlin",
            "tz_label": "CET",
            "tz_offset": 3600,
            "is_admin": False,
            "is_owner": False,
            "is_bot": self.is_bot,
            "is_app_user": False,
            "updated": 1700000000,
            "profile": {
                "real_name": self.real_name,
                "display_name": self.name,
                "real_name_normalized": self.real_name,
                "display_name_normalized": self.name,
                "team": team_id,
            },
        }


@dataclass(frozen=True)
class Edit:
    """One earlier version of a message, kept when ``chat.update`` rewrote it."""

    text: str
    blocks: tuple[dict[str, Any], ...]
    at: float


@dataclass(frozen=True)
class Message:
    """A message in a channel or thread, as the stand-in stored it."""

    channel: str
    ts: str
    text: str
    user: str
    blocks: tuple[dict[str, Any], ...] = ()
    thread_ts: str | None = None
    files: tuple[dict[str, Any], ...] = ()
    bot_id: str | None = None
    via: str = "chat.postMessage"
    edits: tuple[Edit, ...] = ()
    deleted: bool = False
    extra: Mapping[str, Any] = field(default_factory=dict)

    def as_slack(self, team_id: str) -> dict[str, Any]:
        """The ``message`` object Slack returns for this message."""
        out: dict[str, Any] = {
            "type": "message",
            "text": self.text,
            "user": self.user,
            "ts": self.ts,
            "team": team_id,
        }
        if self.bot_id:
            out["bot_id"] = self.bot_id
            out["app_id"] = self.extra.get("app_id")
        if self.blocks:
            out["blocks"] = list(self.blocks)
        if self.thread_ts:
            out["thread_ts"] = self.thread_ts
        if self.files:
            out["files"] = list(self.files)
        if self.edits:
            out["edited"] = {"user": self.user, "ts": self.ts}
        return out


@dataclass(frozen=True)
class Ephemeral:
    """A message only ``user`` sees: chat.postEphemeral or an ephemeral response_url post."""

    channel: str
    user: str
    ts: str
    text: str
    blocks: tuple[dict[str, Any], ...] = ()
    thread_ts: str | None = None
    via: str = "chat.postEphemeral"
    replaced: bool = False
    deleted: bool = False


@dataclass(frozen=True)
class ViewRecord:
    """An open (or closed) modal, with the full view object Slack answers with."""

    id: str
    user: str
    view: Mapping[str, Any]
    hash: str
    root_view_id: str
    closed: bool = False
    updates: int = 0


@dataclass(frozen=True)
class StoredFile:
    """A file going through files.getUploadURLExternal → upload → completeUploadExternal."""

    id: str
    filename: str
    length: int
    upload_token: str
    alt_txt: str | None = None
    content: bytes | None = None
    title: str | None = None
    completed: bool = False
    channel: str | None = None
    thread_ts: str | None = None
    #: Who shared it (a person's upload; the bot's own have None) and the sharing message.
    user: str | None = None
    message_ts: str | None = None

    def as_slack(self) -> dict[str, Any]:
        """The file object attached to the message that shares it."""
        size = len(self.content) if self.content is not None else 0
        return {
            "id": self.id,
            "name": self.filename,
            "title": self.title or self.filename,
            "size": size,
            "mimetype": _mimetype(self.filename),
            "filetype": _filetype(self.filename),
            "alt_txt": self.alt_txt,
        }


@dataclass(frozen=True)
class Grant:
    """A trigger_id or response_url handed out with an interaction."""

    id: str
    user: str
    channel: str | None
    issued_at: float
    message_ts: str | None = None
    ephemeral_source: bool = False
    uses: int = 0


@dataclass(frozen=True)
class ResponsePost:
    """One POST to a response_url and what the stand-in answered."""

    url_id: str
    channel: str | None
    user: str
    payload: Mapping[str, Any]
    status: int
    error: str | None
    at: float


@dataclass(frozen=True)
class RecordedCall:
    """One Web API call: what was asked and what the stand-in answered."""

    method: str
    args: Mapping[str, Any]
    ok: bool
    error: str | None
    status: int
    at: float
    http_method: str = "POST"
    content_type: str = ""
    response: Mapping[str, Any] = field(default_factory=dict)


def _mimetype(filename: str) -> str:
    kinds = {
        "png": "image/png",
        "txt": "text/plain",
        "md": "text/markdown",
        "json": "application/json",
    }
    return kinds.get(_filetype(filename), "application/octet-stream")


def _filetype(filename: str) -> str:
    return filename.rsplit(".", 1)[-1].lower() if "." in filename else "binary"
