"""Who may do what: roles from the configuration, decided by pure functions.

Three roles, each including the one before: a *reader* (anyone in the channel) may look
(help, status, list, services, the card and its thread); a *responder* (``access.responders``,
or an owner of the incident's service) may act on an incident; an *admin* (``access.admins``)
may also reopen and overwrite another person's RCA sections. Without an ``access`` block
nobody is refused anything, as before roles existed.

User groups (``S…``) in either list are expanded through :class:`GroupDirectory`, which caches
each group's members and asks again after ``groups_refresh``; when Slack cannot answer, the
last known members stay in force (a failed lookup never grants anything new).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum

from bot.config import AccessConfig, Catalog
from bot.errors import InputError

__all__ = ["AccessDenied", "AccessPolicy", "Action", "GroupDirectory", "Role", "refusal",
           "required_role", "role_of"]

log = logging.getLogger(__name__)


class Role(IntEnum):
    """Ordered: a higher role may do everything a lower one may."""

    READER = 0
    RESPONDER = 1
    ADMIN = 2

    @property
    def label(self) -> str:
        """The word shown to people."""
        return self.name.lower()


class Action(StrEnum):
    """Everything a person can ask that changes something (reading needs no check)."""

    START = "start"
    NOTE = "note"
    ASSIGN = "assign"
    TAKE = "take"
    STEP = "step"
    RCA = "rca"
    RCA_EXPORT = "rca_export"
    RCA_SAVE = "rca_save"
    RCA_OVERWRITE = "rca_overwrite"
    RESOLVE = "resolve"
    REOPEN = "reopen"
    SILENCE = "silence"
    UPDATE = "update"
    CHANNEL = "channel"


_NEEDS: dict[Action, Role] = {
    Action.START: Role.RESPONDER, Action.NOTE: Role.RESPONDER, Action.ASSIGN: Role.RESPONDER,
    Action.TAKE: Role.RESPONDER, Action.STEP: Role.RESPONDER, Action.RCA: Role.RESPONDER,
    Action.RCA_EXPORT: Role.RESPONDER, Action.RCA_SAVE: Role.RESPONDER,
    Action.RESOLVE: Role.RESPONDER, Action.SILENCE: Role.RESPONDER,
    Action.UPDATE: Role.RESPONDER, Action.CHANNEL: Role.RESPONDER,
    Action.RCA_OVERWRITE: Role.ADMIN, Action.REOPEN: Role.ADMIN,
}


def required_role(action: Action) -> Role:
    """The least role that may do ``action``."""
    return _NEEDS[action]


class AccessDenied(InputError):
    """A person without the role asked for something; the message says what they need."""

    def __init__(self, message: str, *, user_id: str, action: Action, needed: Role) -> None:
        super().__init__(message)
        self.user_id = user_id
        self.action = action
        self.needed = needed


@dataclass(frozen=True)
class AccessPolicy:
    """The ``access`` block as sets, plus each service's owners (responders for it)."""

    enabled: bool
    responders: frozenset[str] = frozenset()
    admins: frozenset[str] = frozenset()
    owners: dict[str, frozenset[str]] = field(default_factory=dict)

    @classmethod
    def from_config(cls, access: AccessConfig | None, catalog: Catalog) -> AccessPolicy:
        """The policy of a configuration; ``access`` None means everyone is a responder."""
        owners = {s.name: frozenset(s.owners) for s in catalog.services}
        if access is None:
            return cls(enabled=False, owners=owners)
        return cls(True, frozenset(access.responders), frozenset(access.admins), owners)

    @property
    def groups(self) -> frozenset[str]:
        """Every user-group id named anywhere in the policy."""
        named = self.responders | self.admins | frozenset().union(*self.owners.values())
        return frozenset(p for p in named if p.startswith("S"))


def role_of(policy: AccessPolicy, user_id: str, user_groups: Iterable[str],
            service: str | None) -> Role:
    """``user_id``'s role for an incident of ``service`` (None: no particular service)."""
    if not policy.enabled:
        # As before roles existed: nothing is refused (overwriting an RCA section included).
        return Role.ADMIN
    me = {user_id, *user_groups}
    if me & policy.admins:
        return Role.ADMIN
    owners = policy.owners.get(service or "", frozenset())
    if me & (policy.responders | owners):
        return Role.RESPONDER
    return Role.READER


_WHAT: dict[Action, str] = {
    Action.START: "declare incidents", Action.NOTE: "add notes",
    Action.ASSIGN: "assign incidents", Action.TAKE: "take incidents",
    Action.STEP: "run triage steps", Action.RCA: "edit the RCA",
    Action.RCA_EXPORT: "export the RCA", Action.RCA_SAVE: "save the RCA",
    Action.RCA_OVERWRITE: "change an RCA section someone else wrote",
    Action.RESOLVE: "resolve incidents", Action.REOPEN: "reopen incidents",
    Action.SILENCE: "silence alerts", Action.UPDATE: "post status updates",
    Action.CHANNEL: "open incident channels",
}


def refusal(action: Action, needed: Role, service: str | None) -> str:
    """What a refused person reads: the role needed and how to get it (short enough for a
    modal's error line)."""
    if needed is Role.ADMIN:
        how = "Ask to be added to access.admins in the bot's configuration."
    else:
        owner = f" (or as an owner of {service})" if service else ""
        how = f"Ask to be added to access.responders{owner}."
    return f"You need the {needed.label} role to {_WHAT[action]}. {how}"


Fetch = Callable[[str], Awaitable[frozenset[str]]]


class GroupDirectory:
    """Members of Slack user groups, cached for ``refresh_s`` and refreshed on demand.

    ``fetch`` asks Slack (usergroups.users.list); on failure the previous answer is kept,
    and a group never seen resolves to nobody.
    """

    def __init__(self, fetch: Fetch, refresh_s: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._fetch = fetch
        self._refresh_s = refresh_s
        self._clock = clock
        self._known: dict[str, tuple[float, frozenset[str]]] = {}

    async def members(self, group_id: str) -> frozenset[str]:
        """The group's members, from the cache while it is fresh."""
        cached = self._known.get(group_id)
        if cached is not None and self._clock() - cached[0] < self._refresh_s:
            return cached[1]
        try:
            users = await self._fetch(group_id)
        except Exception as exc:
            log.warning("user group lookup failed; keeping the last known members",
                        extra={"group": group_id, "error": str(exc)[:200]})
            return cached[1] if cached else frozenset()
        self._known[group_id] = (self._clock(), users)
        return users

    async def groups_of(self, user_id: str, groups: Iterable[str]) -> frozenset[str]:
        """Which of ``groups`` have ``user_id`` as a member."""
        return frozenset([g for g in sorted(groups) if user_id in await self.members(g)])
