"""What step 1 of the walk decided for the later steps of one incident."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class WalkContextState(BaseModel):
    """What step 1 decided for the later steps."""

    roles: dict[str, str] = Field(default_factory=dict)
    anomaly_start: datetime | None = None
    window_start: datetime | None = None
    window_end: datetime | None = None
