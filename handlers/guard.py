"""The handlers' side of access: one call per listener decides, refuses and logs.

Not a listener module. The policy itself is pure (bot/triage/access.py); this module adds what
needs I/O: user-group members from Slack, the shared rate limits and profile slots in Redis,
the incident a button sits on. Every refusal raises :class:`AccessDenied` (an InputError, so
the listener's usual failure path answers it ephemerally) *before* anything is written, and is
logged as one JSON line with the user id and the action.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import AccessConfig, Settings
from bot.errors import InputError
from bot.models import Incident, Rca, Section, StepName
from bot.models.incident import surface_var
from bot.slack import payloads
from bot.store.access import AccessStore
from bot.triage.access import (
    AccessDenied,
    AccessPolicy,
    Action,
    Fetch,
    GroupDirectory,
    Role,
    refusal,
    required_role,
    role_of,
)
from bot.triage.service import TriageService

__all__ = ["OTHER_WORKSPACE", "Guard", "enter", "log_refusal", "other_workspace_middleware",
           "request_team", "slack_group_fetch"]

log = logging.getLogger(__name__)
GROUP_LOOKUP_TIMEOUT_S = 5.0
#: The window of ``access.steps_per_minute``.
STEP_WINDOW_S = 60.0


def enter(surface: str) -> None:
    """Mark the work at hand as coming from ``surface`` (button, command, modal, webhook …).

    Timeline events recorded in this task (and tasks it spawns) carry it.
    """
    surface_var.set(surface)


def request_team(fields: Mapping[str, Any]) -> str | None:
    """The Slack workspace a request comes from (commands, interactions, events), if said."""
    team = fields.get("team")
    if isinstance(team, dict) and team.get("id"):
        return str(team["id"])
    user = fields.get("user")
    if isinstance(user, dict) and user.get("team_id"):
        return str(user["team_id"])
    value = fields.get("team_id")
    return str(value) if value else None


#: What a person typing from another workspace reads.
OTHER_WORKSPACE = ("This bot serves only the workspace it is installed in; ask someone there "
                   "to run the command.")


def other_workspace_middleware(team_id: str) -> Callable[..., Awaitable[BoltResponse]]:
    """A Bolt middleware refusing requests from any team but ``team_id``.

    The HTTP door refuses them before Bolt; over Socket Mode there is no door, so this does.
    """

    async def refuse_other_workspaces(body: dict[str, Any],
                                      next: Callable[[], Awaitable[BoltResponse]]
                                      ) -> BoltResponse:
        team = request_team(body)
        if team in (None, team_id):
            return await next()
        user = body.get("user")
        user_id = user.get("id") if isinstance(user, dict) else body.get("user_id")
        log_refusal(str(user_id or ""), "slack_request", "another workspace", team_id=team)
        if "command" in body:
            return BoltResponse(status=200, body={"response_type": "ephemeral",
                                                  "text": OTHER_WORKSPACE})
        return BoltResponse(status=403, body={"ok": False, "error": "other_workspace"})

    return refuse_other_workspaces


def slack_group_fetch(client: AsyncWebClient) -> Fetch:
    """Members of a user group, asked of Slack (usergroups.users.list, usergroups:read)."""

    async def fetch(group_id: str) -> frozenset[str]:
        async with asyncio.timeout(GROUP_LOOKUP_TIMEOUT_S):
            answer = await client.usergroups_users_list(usergroup=group_id)
        return frozenset(str(user) for user in answer.get("users") or [])

    return fetch


def log_refusal(user_id: str, action: str, reason: str, **extra: Any) -> None:
    """One JSON line per refusal (the formatter adds incident and request ids)."""
    log.warning("access refused", extra={"event": "access_refused", "user_id": user_id,
                                         "action": action, "reason": reason,
                                         "surface": surface_var.get(), **extra})


class Guard:
    """Decides whether a person may do an action, and bounds costly ones."""

    def __init__(self, settings: Settings, triage: TriageService, store: AccessStore,
                 fetch: Fetch, hold_s: float) -> None:
        self.limits = settings.file.access or AccessConfig()
        self.policy = AccessPolicy.from_config(settings.file.access, settings.catalog)
        self.groups = GroupDirectory(fetch, self.limits.groups_refresh)
        self._triage = triage
        self._store = store
        self._hold_s = hold_s

    async def role(self, user_id: str, service: str | None) -> Role:
        """``user_id``'s role for ``service``; Slack is asked only when groups could matter."""
        direct = role_of(self.policy, user_id, (), service)
        if direct is Role.ADMIN or not self.policy.groups:
            return direct
        mine = await self.groups.groups_of(user_id, self.policy.groups)
        return role_of(self.policy, user_id, mine, service)

    async def require(self, user_id: str, action: Action, service: str | None,
                      incident_id: str | None = None) -> None:
        """Return when allowed; otherwise log and raise :class:`AccessDenied`."""
        needed = required_role(action)
        if await self.role(user_id, service) >= needed:
            return
        log_refusal(user_id, action.value, f"needs {needed.label}", incident_id=incident_id,
                    service=service)
        raise AccessDenied(refusal(action, needed, service), user_id=user_id, action=action,
                           needed=needed)

    async def on_incident(self, user_id: str, action: Action, incident: Incident) -> None:
        """:meth:`require` for an action on ``incident``."""
        await self.require(user_id, action, incident.service, incident.id)

    async def button(self, body: Mapping[str, Any], action: Action) -> Incident:
        """The incident a clicked card button acts on, once the click is allowed.

        The button's value names an incident; it must be the incident whose card the button
        sits on (same channel, same message), so a forged value acts on nothing.
        """
        user_id = payloads.user_id(body)
        value = payloads.action_value(body)
        incident = await self._triage.find(value)
        container = payloads.mapping(body.get("container"))
        ts = payloads.mapping(body.get("message")).get("ts") or container.get("message_ts")
        channel = payloads.mapping(body.get("channel")).get("id") or container.get("channel_id")
        if not incident.card_ts or (ts, channel) != (incident.card_ts, incident.channel):
            log_refusal(user_id, action.value, "button not on the incident's card",
                        incident_id=incident.id, message_ts=ts, channel=channel)
            raise InputError("This button does not belong to that incident's card; nothing "
                             "was changed. Use the buttons on the incident's own card.")
        await self.on_incident(user_id, action, incident)
        return incident

    async def rca_edit(self, user_id: str, incident: Incident, current: Rca | None,
                       submitted: Mapping[Section, str], prefilled: Mapping[Section, str]
                       ) -> None:
        """Responders save RCAs; changing a section another person wrote takes an admin."""
        await self.on_incident(user_id, Action.RCA_SAVE, incident)
        if current is None:
            return
        for section, text in submitted.items():
            theirs = current.sections.get(section)
            if (text != prefilled.get(section, "") and theirs is not None
                    and theirs.origin == "human" and theirs.edited_by not in (None, user_id)):
                await self.on_incident(user_id, Action.RCA_OVERWRITE, incident)
                return

    @asynccontextmanager
    async def step(self, user_id: str, step: StepName, incident: Incident
                   ) -> AsyncIterator[None]:
        """Run a step within the bounds: per-person rate limit; for profiles, one per service
        at a time and not again within the cooldown, across replicas."""
        wait = await self._store.hit("step", user_id, self.limits.steps_per_minute,
                                     STEP_WINDOW_S)
        if wait is not None:
            log_refusal(user_id, Action.STEP.value, "rate limited", incident_id=incident.id)
            raise InputError(f"You started {self.limits.steps_per_minute} steps within a "
                             f"minute; try again in {wait:.0f} s.")
        if step is not StepName.PROFILE or not incident.service:
            yield
            return
        token = uuid.uuid4().hex
        busy_s = await self._store.take_profile_slot(incident.service, token, self._hold_s)
        if busy_s is not None:
            log_refusal(user_id, Action.STEP.value, "profile cooldown", incident_id=incident.id)
            at = (datetime.now(UTC) + timedelta(seconds=busy_s)).strftime("%H:%M:%S UTC")
            raise InputError(f"{incident.service} is being profiled or was profiled recently "
                             f"(one profile per {self.limits.profile_cooldown:.0f} s). The next "
                             f"profile is possible at {at} (in {busy_s:.0f} s).")
        try:
            yield
        finally:
            await self._store.cool_down(incident.service, token, self.limits.profile_cooldown)
