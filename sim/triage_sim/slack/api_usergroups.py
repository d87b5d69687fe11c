"""``usergroups.users.list``: members of a user group (S…), with Slack's documented errors.

Errors, as Slack answers them (HTTP 200, ``ok: false``): ``invalid_arguments`` without a
``usergroup``, ``no_such_subteam`` for an id the workspace does not have (or a disabled
group unless ``include_disabled``), ``missing_scope`` (with ``needed`` and ``provided``) when
the install lacks ``usergroups:read``, ``plan_upgrade_required`` on a free workspace;
``not_authed`` / ``invalid_auth`` come from the token check every method shares.
"""

from __future__ import annotations

from typing import Any

from triage_sim.slack.state import ApiError, Workspace

__all__ = ["SCOPE", "usergroups_users_list"]

#: The bot scope the method needs.
SCOPE = "usergroups:read"


def usergroups_users_list(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    """The members' ids of ``args["usergroup"]``."""
    if SCOPE not in ws.granted_scopes:
        raise ApiError("missing_scope", extra={
            "needed": SCOPE, "provided": ",".join(sorted(ws.granted_scopes))})
    if not ws.usergroups_enabled:
        raise ApiError("plan_upgrade_required")
    group_id = args.get("usergroup")
    if not isinstance(group_id, str) or not group_id:
        raise ApiError("invalid_arguments", messages=["missing required field: usergroup"])
    group = ws.usergroups.get(group_id)
    include_disabled = str(args.get("include_disabled", "")).lower() in ("1", "true")
    if group is None or (group.disabled and not include_disabled):
        raise ApiError("no_such_subteam")
    return {"users": list(group.users)}
