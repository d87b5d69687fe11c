"""Silences: what a responder asks Alertmanager to mute, and what the bot remembers of it.

A silence is created in Alertmanager (the source of truth); the bot keeps a copy per incident
so the card can show it with its end time and offer to expire it without asking Alertmanager
on every redraw.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict

from bot.errors import InputError

__all__ = [
    "MAX_SILENCE",
    "Matcher",
    "SilenceRecord",
    "alerts_page_url",
    "format_matchers",
    "matchers_for_labels",
    "parse_matchers",
    "parse_silence_duration",
]

#: The longest silence the bot creates; longer ones belong in Alertmanager's own UI.
MAX_SILENCE = timedelta(days=7)
_DURATION = re.compile(r"^\s*(\d{1,4})\s*([mhd])\s*$")
_MATCHER = re.compile(r'^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"?(.*?)"?\s*$')


class Matcher(BaseModel):
    """One label matcher, in Alertmanager API v2's terms."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    name: str
    value: str
    is_regex: bool = False
    is_equal: bool = True

    def operator(self) -> str:
        """``=``, ``!=``, ``=~`` or ``!~``."""
        return {(False, True): "=", (False, False): "!=", (True, True): "=~",
                (True, False): "!~"}[(self.is_regex, self.is_equal)]

    def text(self) -> str:
        """``name="value"`` as Alertmanager's UI writes it."""
        return f'{self.name}{self.operator()}"{self.value}"'


class SilenceRecord(BaseModel):
    """A silence created from an incident, as stored beside it."""

    model_config = ConfigDict(extra="ignore")

    id: str
    matchers: list[Matcher]
    starts_at: datetime
    ends_at: datetime
    created_by: str
    comment: str = ""
    expired_at: datetime | None = None
    expired_by: str | None = None

    def active(self, now: datetime) -> bool:
        """Not expired by a person and not yet past its end."""
        return self.expired_at is None and self.ends_at > now


def parse_silence_duration(text: str) -> timedelta:
    """``30m``, ``1h``, ``4h``, ``2d``: a positive duration up to :data:`MAX_SILENCE`."""
    match = _DURATION.match(text or "")
    if match is None:
        raise InputError(f"`{text}` is not a duration: use minutes, hours or days, like 30m, "
                         "1h, 4h or 2d.")
    unit = {"m": "minutes", "h": "hours", "d": "days"}[match.group(2)]
    duration = timedelta(**{unit: int(match.group(1))})
    if not timedelta(minutes=1) <= duration <= MAX_SILENCE:
        raise InputError(f"A silence lasts between 1 minute and 7 days (`{text}` does not).")
    return duration


def parse_matchers(text: str) -> list[Matcher]:
    """One matcher per line (or comma): ``name="value"``, ``name=~"regex"``, ``!=``, ``!~``."""
    parts = [p for p in re.split(r"[\n,]", text or "") if p.strip()]
    if not parts:
        raise InputError("A silence needs at least one matcher, like service=\"checkout\".")
    matchers = []
    for part in parts:
        found = _MATCHER.match(part)
        if found is None:
            raise InputError(f"`{part.strip()}` is not a matcher: write name=\"value\" "
                             "(or =~, != and !~).")
        op = found.group(2)
        matchers.append(Matcher(name=found.group(1), value=found.group(3),
                                is_regex="~" in op, is_equal=not op.startswith("!")))
    if all(not m.is_equal or (m.is_regex and m.value in ("", ".*")) for m in matchers):
        raise InputError("At least one matcher must select something (an = or =~ that is "
                         "not empty), or the silence would mute every alert.")
    return matchers


def format_matchers(matchers: list[Matcher]) -> str:
    """One matcher per line, the form :func:`parse_matchers` reads back."""
    return "\n".join(m.text() for m in matchers)


def matchers_for_labels(labels: dict[str, str]) -> list[Matcher]:
    """Equality matchers for an alert group's common labels (the modal's prefill)."""
    return [Matcher(name=k, value=v) for k, v in sorted(labels.items())]


def alerts_page_url(base_url: str, labels: dict[str, str]) -> str:
    """Alertmanager's UI filtered to an alert group's labels (the card links it)."""
    inner = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    return f"{base_url.rstrip('/')}/#/alerts?filter={quote('{' + inner + '}', safe='')}"
