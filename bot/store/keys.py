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

    def steps(self, iid: str) -> str:
        """Hash of step name -> latest StepResult (JSON), plus step 1's context."""
        return f"{self.prefix}:incident:{iid}:steps"

    def diagnosis(self, iid: str) -> str:
        """The latest ranking of candidate failure patterns (JSON)."""
        return f"{self.prefix}:incident:{iid}:diagnosis"

    def rca(self, iid: str) -> str:
        """The incident's RCA document (JSON, versioned)."""
        return f"{self.prefix}:incident:{iid}:rca"

    def silences(self, iid: str) -> str:
        """Hash of Alertmanager silence id -> the silence created from the incident (JSON)."""
        return f"{self.prefix}:incident:{iid}:silences"

    def card_mirrors(self, iid: str) -> str:
        """Hash of channel id -> ts of the card's copies (the incident channel's)."""
        return f"{self.prefix}:incident:{iid}:mirrors"

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

    # Scheduled jobs (bot/scheduler.py, bot/jobs/).

    def lease(self, name: str) -> str:
        """A leader lease: holds the token of the replica that leads (see bot.store.leases)."""
        return f"{self.prefix}:lease:{name}"

    def tick(self, job: str, bucket: str) -> str:
        """Claim of one scheduled tick of ``job`` (its period ``bucket``): run at most once."""
        return f"{self.prefix}:tick:{job}:{bucket}"

    def job_marker(self, scope: str, ident: str) -> str:
        """A "done recently" marker of a job for one id (a reminder sent, a warning posted)."""
        return f"{self.prefix}:jobmark:{scope}:{_digest(ident)}"

    def job_runs(self) -> str:
        """List of the latest job runs (JSON), newest last: which replica ran which tick."""
        return f"{self.prefix}:jobs:runs"

    # Access (bot/store/access.py).

    def rate(self, scope: str, who: str, bucket: int) -> str:
        """Counter of ``who``'s requests of ``scope`` in one time bucket (rate limits)."""
        return f"{self.prefix}:rate:{scope}:{_digest(who)}:{bucket}"

    def profile_slot(self, service: str) -> str:
        """Held while a service is profiled, then through its cooldown (token inside)."""
        return f"{self.prefix}:profile-slot:{_digest(service)}"

    # The outbox (bot.store.outbox): what is still owed to Slack.

    def outbox_due(self) -> str:
        """Sorted set of outbox item id -> when it may next be tried (ms since the epoch).

        A claimed item stays in it, pushed one lease ahead: if its drainer dies, it is due
        again when the lease runs out.
        """
        return f"{self.prefix}:outbox:due"

    def outbox_items(self) -> str:
        """Hash of outbox item id -> the item (JSON)."""
        return f"{self.prefix}:outbox:items"

    def outbox_tries(self) -> str:
        """Hash of outbox item id -> how many times it was claimed."""
        return f"{self.prefix}:outbox:tries"

    def outbox_dead(self) -> str:
        """Hash of outbox item id -> the item given up on (JSON), for an operator to see."""
        return f"{self.prefix}:outbox:dead"

    def vitals(self, iid: str) -> str:
        """The incident's latest key metrics (JSON), refreshed by the vitals job."""
        return f"{self.prefix}:incident:{iid}:vitals"

    def profile_baseline(self, service: str) -> str:
        """A service's calm-period CPU frame shares (JSON), kept by the profile-baseline job."""
        return f"{self.prefix}:service:{_digest(service)}:profile-baseline"


#: How many job runs ``Keys.job_runs`` keeps (enough to see the last takeover).
JOB_RUNS_KEPT = 500
#: How long an incident's key metrics outlive their last refresh (a resolved card keeps them).
VITALS_TTL_SECONDS = 14 * 24 * 3600
#: A baseline not refreshed for this long (the job stopped, the service went away) expires.
PROFILE_BASELINE_TTL_SECONDS = 14 * 24 * 3600
