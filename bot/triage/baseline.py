"""Blending calm-period profiles into a service's baseline ("normal" frame shares).

Each new calm-period profile moves the baseline a fraction ``WEIGHT`` towards itself (an
exponential moving average per function), so one odd profile does not redefine normal and a
slow change of the service's code is followed within a day of hourly profiles. Functions the new
profile lacks decay towards zero; only the ``KEPT`` heaviest are kept. Pure.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.models import FrameShare, ProfileBaseline

__all__ = ["KEPT", "MIN_PROFILES", "WEIGHT", "blend", "usable"]

WEIGHT = 0.3
KEPT = 80
#: How many calm profiles a baseline needs before the diagnosis trusts it over rules of thumb.
MIN_PROFILES = 3


def blend(old: ProfileBaseline | None, service: str, frames: Sequence[FrameShare],
          at: datetime) -> ProfileBaseline:
    """``old`` moved towards ``frames`` (the first profile is taken as it is)."""
    if old is None or not old.frames:
        kept = sorted(frames, key=lambda f: (-f.cum, f.function))[:KEPT]
        return ProfileBaseline(service=service, frames=list(kept), profiles=1, updated_at=at)
    before = {f.function: f for f in old.frames}
    now = {f.function: f for f in frames}
    merged = []
    for name in before.keys() | now.keys():
        was, new = before.get(name), now.get(name)
        flat = (1 - WEIGHT) * (was.flat if was else 0.0) + WEIGHT * (new.flat if new else 0.0)
        cum = (1 - WEIGHT) * (was.cum if was else 0.0) + WEIGHT * (new.cum if new else 0.0)
        source = new or was
        if source is not None:
            merged.append(source.model_copy(update={"flat": flat, "cum": cum}))
    merged.sort(key=lambda f: (-f.cum, f.function))
    return ProfileBaseline(service=service, frames=merged[:KEPT], profiles=old.profiles + 1,
                           updated_at=at)


def usable(baseline: ProfileBaseline | None) -> list[FrameShare] | None:
    """The baseline's frames once it has seen enough calm profiles, else None (rules of
    thumb)."""
    if baseline is None or baseline.profiles < MIN_PROFILES or not baseline.frames:
        return None
    return list(baseline.frames)
