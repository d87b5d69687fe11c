"""Every Redis key the bot writes, built in one place, with the TTLs beside them."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

#: How long a delivery claim (Slack event id, button click) is remembered.
CLAIM_TTL_SECONDS = 24 * 3600
#: How long a "someone is posting this card" lock lives if its holder dies.
CARD_LOCK_TTL_MS = 30_000


def _digest(text: str) -> str:
    """Bound the size of keys built from outside input (group keys can be kilobytes)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


@dataclass(frozen=True)
class Keys:
    """Key names under one prefix, so two bots can share a Redis."""

    prefix: str

    def incident_seq(self) -> str:
        """Counter that numbers incidents (INC-1, INC-2, ...)."""
        return f"{self.prefix}:seq:incident"

    def incident(self, iid: str) -> str:
        """The incident's JSON document."""
        return f"{self.prefix}:incident:{iid}"

    def timeline(self, iid: str) -> str:
        """List of timeline events (JSON), oldest first."""
        return f"{self.prefix}:incident:{iid}:timeline"

    def alerts(self, iid: str) -> str:
        """Hash of alert fingerprint -> last known alert state (JSON)."""
        return f"{self.prefix}:incident:{iid}:alerts"

    def open_incidents(self) -> str:
        """Set of ids of open incidents."""
        return f"{self.prefix}:open"

    def dedupe(self, dedupe_key: str) -> str:
        """Maps an outside identity (e.g. an alert group) to the incident opened for it."""
        return f"{self.prefix}:dedupe:{_digest(dedupe_key)}"

    def claim(self, scope: str, key: str) -> str:
        """A once-only marker for a delivery (Slack event id, button click, alert payload)."""
        return f"{self.prefix}:claim:{scope}:{_digest(key)}"

    def lock(self, name: str) -> str:
        """A short-lived mutual-exclusion lock."""
        return f"{self.prefix}:lock:{name}"
