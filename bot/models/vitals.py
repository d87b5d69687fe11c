"""An incident's latest key metrics (P99, error ratio, RSS ...), as the vitals job found them.

Kept with the time they were read, so the card can say "as of 14:05 UTC" and a Prometheus
outage shows up as an old time rather than as empty fields.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

__all__ = ["Vital", "Vitals"]


class Vital(BaseModel):
    """One key metric: what it is, its value now, its unit (a ``bot.models.units`` unit)."""

    key: str
    title: str
    value: float
    unit: str
    promql: str = ""


class Vitals(BaseModel):
    """The key metrics of one incident at one moment."""

    at: datetime
    values: list[Vital] = Field(default_factory=list)
