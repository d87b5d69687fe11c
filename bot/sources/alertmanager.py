"""Alertmanager's API v2, the silence part: create a silence, expire it, read it back.

Through the same bounded :class:`~bot.sources.http.HttpBackend` as the telemetry clients (one
deadline per call, a body cap, bounded concurrency). Alertmanager's refusals ("silence invalid:
...") come back as :class:`~bot.errors.QueryRejected` carrying its own words, so the responder
sees exactly what Alertmanager said.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

import aiohttp

from bot.errors import QueryRejected, SourceError
from bot.models.silence import Matcher, alerts_page_url
from bot.sources.http import HttpAnswer, HttpBackend, error_for_status
from bot.sources.shape import as_mapping, as_str, field

__all__ = ["BACKEND", "AlertmanagerClient", "SilenceState", "alerts_page_url"]

BACKEND = "alertmanager"
#: Silence answers are small; a huge one is not Alertmanager.
_MAX_BODY = 1024 * 1024


@dataclass(frozen=True)
class SilenceState:
    """A silence as Alertmanager reports it (``active``, ``pending`` or ``expired``)."""

    id: str
    state: str
    ends_at: str
    created_by: str
    comment: str


def _message(answer: HttpAnswer) -> str:
    """Alertmanager's own words: its errors are JSON strings (or plain text)."""
    text = answer.body.decode("utf-8", "replace").strip()
    try:
        doc = json.loads(text)
    except ValueError:
        return text[:500]
    if isinstance(doc, str):
        return doc[:500]
    if isinstance(doc, dict) and isinstance(doc.get("message"), str):
        return str(doc["message"])[:500]
    return text[:500]


class AlertmanagerClient:
    """Silences in one Alertmanager."""

    def __init__(self, http: HttpBackend) -> None:
        self._http = http
        self.base_url = http.base_url

    @classmethod
    def create(cls, url: str, session: aiohttp.ClientSession, *, timeout: float,
               max_concurrency: int) -> AlertmanagerClient:
        """A client over ``session`` (owned by the caller)."""
        return cls(HttpBackend(BACKEND, url, session, timeout=timeout,
                               max_concurrency=max_concurrency, max_body_bytes=_MAX_BODY))

    def close(self) -> None:
        """End calls in flight and refuse new ones."""
        self._http.close()

    async def create_silence(self, matchers: list[Matcher], starts_at: datetime,
                             ends_at: datetime, created_by: str, comment: str) -> str:
        """POST /api/v2/silences; the new silence's id."""
        body = {
            "matchers": [{"name": m.name, "value": m.value, "isRegex": m.is_regex,
                          "isEqual": m.is_equal} for m in matchers],
            "startsAt": starts_at.isoformat(), "endsAt": ends_at.isoformat(),
            "createdBy": created_by, "comment": comment,
        }
        answer = await self._http.request("POST", "/api/v2/silences", json_body=body)
        self._raise_for(answer)
        return await self._http.decode(
            answer, lambda doc: _text(as_mapping(doc, "answer"), "silenceID"))

    async def expire_silence(self, silence_id: str) -> None:
        """DELETE /api/v2/silence/{id}: the silence ends now."""
        answer = await self._http.request("DELETE", f"/api/v2/silence/{quote(silence_id)}")
        self._raise_for(answer)

    async def silence(self, silence_id: str) -> SilenceState:
        """GET /api/v2/silence/{id}."""
        answer = await self._http.request("GET", f"/api/v2/silence/{quote(silence_id)}")
        self._raise_for(answer)
        return await self._http.decode(answer, _silence_state)

    def _raise_for(self, answer: HttpAnswer) -> None:
        if answer.ok:
            return
        message = _message(answer)
        error: SourceError = error_for_status(BACKEND, answer.status, message, answer.reason)
        if answer.status == 500 and message:
            # Alertmanager answers 500 for refusals too ("silence ... already expired").
            error = QueryRejected(BACKEND, message)
        raise error


def _text(doc: Mapping[str, Any], key: str) -> str:
    return as_str(field(doc, key, key), key)


def _silence_state(doc: Any) -> SilenceState:
    silence = as_mapping(doc, "silence")
    status = as_mapping(field(silence, "status", "status"), "status")
    return SilenceState(id=_text(silence, "id"), state=_text(status, "state"),
                        ends_at=_text(silence, "endsAt"), created_by=_text(silence, "createdBy"),
                        comment=_text(silence, "comment"))
