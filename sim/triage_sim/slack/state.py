"""What the Slack stand-in remembers: the workspace, its messages, views, files and grants.

Records are frozen dataclasses; the :class:`Workspace` replaces them when Slack would change
them (an edit, a delete), keeping the old version in ``edits`` so tests can see both. The
Web API handlers (``api_*.py``, ``web_api.py``) and the test-facing
:class:`~triage_sim.slack.standin.SlackStandIn` share one ``Workspace``; nothing here does I/O.
"""

from __future__ import annotations

import itertools
import secrets
import string
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from triage_sim.slack.records import (
    ApiError,
    Channel,
    Edit,
    Ephemeral,
    Grant,
    Message,
    RecordedCall,
    ResponsePost,
    StoredFile,
    User,
    UserGroup,
    ViewRecord,
)

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
    "UserGroup",
    "ViewRecord",
    "Workspace",
]

TRIGGER_TTL_SECONDS = 3.0
RESPONSE_URL_TTL_SECONDS = 30 * 60.0
RESPONSE_URL_MAX_USES = 5


def _slack_id(prefix: str) -> str:
    alphabet = string.ascii_uppercase + string.digits
    return prefix + "".join(secrets.choice(alphabet) for _ in range(10))


class Workspace:
    """The stand-in's whole state; methods mirror what Slack does when an API call succeeds."""

    def __init__(
        self,
        *,
        team_id: str,
        team_domain: str,
        bot_user_id: str,
        bot_id: str,
        app_id: str,
        clock: Callable[[], float],
    ) -> None:
        self.team_id = team_id
        self.team_domain = team_domain
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.app_id = app_id
        self.clock = clock
        self.channels: dict[str, Channel] = {}
        #: Who is in each conversation (conversations.create / invite / open keep it).
        self.members: dict[str, set[str]] = {}
        self.users: dict[str, User] = {
            bot_user_id: User(bot_user_id, "triage-bot", "Triage Bot", True)
        }
        self.messages: dict[str, list[Message]] = {}
        self.ephemerals: list[Ephemeral] = []
        self.views: dict[str, ViewRecord] = {}
        self.files: dict[str, StoredFile] = {}
        self.triggers: dict[str, Grant] = {}
        self.response_urls: dict[str, Grant] = {}
        self.response_posts: list[ResponsePost] = []
        self.calls: list[RecordedCall] = []
        self.usergroups: dict[str, UserGroup] = {}
        #: False answers ``plan_upgrade_required`` (a free workspace has no user groups).
        self.usergroups_enabled = True
        #: The install's bot scopes, for the methods that check theirs (usergroups.users.list).
        self.granted_scopes: set[str] = {"commands", "chat:write", "files:write",
                                         "app_mentions:read", "usergroups:read"}
        self._last_ts = 0.0
        self._counter = itertools.count(1)

    # -- identifiers ---------------------------------------------------------------------
    def next_ts(self) -> str:
        """A message ts: wall-clock seconds with 6 decimals, strictly increasing."""
        now = max(time.time(), self._last_ts + 0.000001)
        self._last_ts = now
        return f"{now:.6f}"

    def new_id(self, prefix: str) -> str:
        """A Slack-looking id such as ``V0A1B2C3D4``."""
        return _slack_id(prefix)

    def new_hash(self) -> str:
        """A view hash in Slack's ``<epoch>.<8 chars>`` form."""
        return f"{int(time.time())}.{secrets.token_urlsafe(6)[:8]}"

    def serial(self) -> int:
        """A counter for ids that must be unique within this stand-in."""
        return next(self._counter)

    # -- lookups -------------------------------------------------------------------------
    def channel(self, ref: Any) -> Channel:
        """Resolve a channel id or ``#name``; raise ``channel_not_found`` like Slack."""
        if isinstance(ref, str) and ref:
            if ref in self.channels:
                return self.channels[ref]
            name = ref.removeprefix("#")
            for channel in self.channels.values():
                if channel.name == name:
                    return channel
        raise ApiError("channel_not_found")

    def user(self, ref: Any) -> User:
        """Resolve a user id; raise ``user_not_found``."""
        if isinstance(ref, str) and ref in self.users:
            return self.users[ref]
        raise ApiError("user_not_found")

    def find_message(self, channel: str, ts: Any) -> tuple[int, Message]:
        """The live message at ``ts`` in ``channel``; raise ``message_not_found``."""
        for index, message in enumerate(self.messages.get(channel, [])):
            if message.ts == ts and not message.deleted:
                return index, message
        raise ApiError("message_not_found")

    # -- changes -------------------------------------------------------------------------
    def append_message(self, message: Message) -> Message:
        """Store a new message at the end of its channel."""
        self.messages.setdefault(message.channel, []).append(message)
        return message

    def rewrite_message(
        self, channel: str, ts: str, *, text: str, blocks: tuple[dict[str, Any], ...]
    ) -> Message:
        """Apply an edit, keeping the previous version in ``edits``."""
        index, old = self.find_message(channel, ts)
        edit = Edit(text=old.text, blocks=old.blocks, at=self.clock())
        new = replace(old, text=text, blocks=blocks, edits=(*old.edits, edit))
        self.messages[channel][index] = new
        return new

    def delete_message(self, channel: str, ts: str) -> Message:
        """Mark a message deleted (it stays visible to ``include_deleted`` queries)."""
        index, old = self.find_message(channel, ts)
        new = replace(old, deleted=True)
        self.messages[channel][index] = new
        return new

    def replace_ephemeral(self, index: int, ephemeral: Ephemeral) -> None:
        """Swap the ephemeral at ``index`` (response_url replace/delete_original)."""
        self.ephemerals[index] = ephemeral

    def issue_trigger(self, user: str) -> str:
        """A trigger_id as Slack hands them out with an interaction."""
        trigger_id = f"{self.serial()}.{int(time.time())}.{secrets.token_hex(16)}"
        self.triggers[trigger_id] = Grant(trigger_id, user, None, self.clock())
        return trigger_id

    def exchange_trigger(self, trigger_id: Any) -> Grant:
        """Use a trigger_id once within 3 s, or raise Slack's error for why not."""
        grant = self.triggers.get(trigger_id) if isinstance(trigger_id, str) else None
        if grant is None:
            raise ApiError("invalid_trigger_id")
        if grant.uses:
            raise ApiError("exchanged_trigger_id")
        if self.clock() - grant.issued_at > TRIGGER_TTL_SECONDS:
            raise ApiError("expired_trigger_id")
        self.triggers[trigger_id] = replace(grant, uses=1)
        return grant

    def issue_response_url(
        self, user: str, channel: str | None, message_ts: str | None, ephemeral_source: bool
    ) -> str:
        """Register a response_url id; the server turns it into a URL."""
        url_id = f"T{self.serial():06d}{secrets.token_hex(12)}"
        self.response_urls[url_id] = Grant(
            url_id, user, channel, self.clock(), message_ts, ephemeral_source
        )
        return url_id

    def use_response_url(self, url_id: str) -> Grant:
        """Count one use of a response_url, or raise why it can no longer be used."""
        grant = self.response_urls.get(url_id)
        if grant is None:
            raise ApiError("no_service")
        if self.clock() - grant.issued_at > RESPONSE_URL_TTL_SECONDS:
            raise ApiError("expired_url")
        if grant.uses >= RESPONSE_URL_MAX_USES:
            raise ApiError("used_url")
        used = replace(grant, uses=grant.uses + 1)
        self.response_urls[url_id] = used
        return used
