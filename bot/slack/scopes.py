"""The bot-token scopes the code needs, and which of them a token lacks.

Slack names a token's granted scopes in the ``x-oauth-scopes`` header of every Web API answer
(auth.test included). Checked at start, a missing scope is one clear line naming it, instead of
a ``missing_scope`` error on the first card of the first incident. The list mirrors
slack-app-manifest.yml (tests/packaging/test_slack_manifest.py holds the two together).
"""

from __future__ import annotations

__all__ = ["REQUIRED_SCOPES", "SCOPES_HEADER", "missing_scopes"]

#: What each scope is for: the manifest's ``oauth_config.scopes.bot``.
REQUIRED_SCOPES: dict[str, str] = {
    "commands": "the /triage slash command",
    "chat:write": "posting and updating cards and thread lines",
    "files:write": "chart uploads in the incident thread",
    "app_mentions:read": "answering @triage-bot mentions",
    "usergroups:read": "expanding the user groups named under access",
    "im:write": "the direct message that tells a new assignee",
    "files:read": "profiles dropped into an incident's thread",
    "channels:manage": "incident channels (#inc-<n>-<service>)",
    "channels:history": "finding a card already posted before posting it again",
    "groups:history": "the same in private channels",
}
#: The answer header that lists a token's scopes, comma-separated.
SCOPES_HEADER = "x-oauth-scopes"


def missing_scopes(header: str) -> list[str]:
    """The required scopes absent from an ``x-oauth-scopes`` header value, in manifest order."""
    granted = {scope.strip() for scope in header.split(",") if scope.strip()}
    return [scope for scope in REQUIRED_SCOPES if scope not in granted]
