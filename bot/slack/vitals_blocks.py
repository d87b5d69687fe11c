"""The card's key-metrics section: a few current values and the time they were read.

One block, so it never crowds the card: a section whose fields are the metrics, headed by
"as of 14:05 UTC" so an old reading (Prometheus down, job paused) is visible as old.
"""

from __future__ import annotations

from datetime import UTC

from bot.models import Vitals
from bot.models.units import human
from bot.slack.blocks import MAX_FIELDS, Block, escape, section

__all__ = ["vitals_section"]


def vitals_section(vitals: Vitals | None) -> list[Block]:
    """Blocks for ``incident_card(..., extra=...)``; none before the first reading."""
    if vitals is None or not vitals.values:
        return []
    at = vitals.at.astimezone(UTC).strftime("%H:%M UTC")
    fields = [f"*{escape(v.title)}*\n{human(v.value, v.unit)}"
              for v in vitals.values[:MAX_FIELDS]]
    return [section(f":heartbeat: *Key metrics* · as of {at}", fields=fields)]
