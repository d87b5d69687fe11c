"""aiohttp plumbing shared by the Loki, Jaeger and Tempo clients.

Each backend gets one ``HttpBackend``: the session it was given (one per backend, so
connections are reused), a semaphore bounding how many requests it has in flight, and one
deadline per call that covers waiting for a free slot as well as the request itself. Library
exceptions stop here: callers see only ``SourceTimeout``, ``SourceUnavailable`` and
``QueryRejected``, with a message a responder can read in a Slack thread.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable, Mapping
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any, TypeVar

import aiohttp

from bot.errors import QueryRejected, SourceError, SourceTimeout, SourceUnavailable

__all__ = [
    "HttpAnswer",
    "HttpBackend",
    "backend_message",
    "error_for_status",
    "new_session",
]

T = TypeVar("T")

DEFAULT_MAX_BODY_BYTES = 64 * 1024 * 1024
# Bodies above this size are decoded in the executor: json.loads on a few MB takes tens of ms.
OFF_LOOP_BYTES = 256 * 1024
_MESSAGE_CHARS = 500

Params = Mapping[str, str | int | float]
Loads = Callable[[bytes], Any]


def new_session(max_concurrency: int) -> aiohttp.ClientSession:
    """A session for one backend: its connection pool as large as its concurrency bound.

    ``trust_env`` stays off: the bot reads its environment in one place (bot.config), and a
    proxy variable should not reroute telemetry queries behind its back.
    """
    connector = aiohttp.TCPConnector(limit=max_concurrency, limit_per_host=max_concurrency)
    return aiohttp.ClientSession(connector=connector, trust_env=False)


@dataclass(frozen=True)
class HttpAnswer:
    """A backend's answer, whatever the status: callers decide what a 404 means."""

    status: int
    body: bytes
    content_type: str
    reason: str = ""

    @property
    def ok(self) -> bool:
        """A 2xx status."""
        return 200 <= self.status < 300

    def looks_like_json(self) -> bool:
        """Whether the body starts like a JSON document (an HTML error page does not)."""
        return self.body.lstrip()[:1] in (b"{", b"[")


def _shorten(text: str) -> str:
    one_line = " ".join(text.split())
    return one_line if len(one_line) <= _MESSAGE_CHARS else one_line[: _MESSAGE_CHARS - 1] + "…"


def _json_error(doc: Mapping[str, Any]) -> str | None:
    error = doc.get("error")
    if isinstance(error, str) and error:
        return error
    if isinstance(error, Mapping) and isinstance(error.get("message"), str):
        return str(error["message"])
    if isinstance(doc.get("message"), str) and doc["message"]:
        return str(doc["message"])
    errors = doc.get("errors")
    if isinstance(errors, list):
        found = [str(e.get("msg")) for e in errors if isinstance(e, Mapping) and e.get("msg")]
        return "; ".join(found) or None
    return None


def backend_message(body: bytes) -> str:
    """The backend's own words from an error body: a JSON error field, or the plain text.

    Understands Prometheus (``error``), Jaeger api_v3 (``error.message``), Jaeger legacy
    (``errors[].msg``) and plain-text bodies (Loki, Tempo). An HTML page gives "".
    """
    text = body.decode("utf-8", "replace").strip()
    try:
        doc = json.loads(text)
    except ValueError:
        doc = None
    if isinstance(doc, Mapping):
        found = _json_error(doc)
        if found:
            return _shorten(found)
    if text.startswith("<"):
        return ""
    return _shorten(text)


def error_for_status(backend: str, status: int, message: str, reason: str = "") -> SourceError:
    """The typed error for a non-2xx answer.

    408/504 mean the backend gave up in time (SourceTimeout); 429 and 5xx mean it cannot
    serve now (SourceUnavailable); any other 4xx refused the query itself (QueryRejected,
    carrying only the backend's message).
    """
    detail = message or reason or "no details given"
    if status in (408, 504):
        return SourceTimeout(backend, f"gave up (HTTP {status}): {detail}")
    if status == 429 or status >= 500:
        return SourceUnavailable(backend, f"HTTP {status}: {detail}")
    return QueryRejected(backend, message or f"HTTP {status} {reason}".strip())


class HttpBackend:
    """One backend's HTTP access: bounded concurrency, a deadline per call, typed errors."""

    def __init__(
        self,
        name: str,
        base_url: str,
        session: aiohttp.ClientSession,
        *,
        timeout: float,
        max_concurrency: int,
        headers: Mapping[str, str] | None = None,
        executor: Executor | None = None,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    ) -> None:
        if timeout <= 0 or max_concurrency < 1:
            raise ValueError("timeout must be positive and max_concurrency at least 1")
        self.name = name
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._session = session
        self._slots = asyncio.Semaphore(max_concurrency)
        self._max_concurrency = max_concurrency
        self._headers = {"Accept": "application/json", **(headers or {})}
        self._executor = executor
        self._max_body = max_body_bytes

    async def get(self, path: str, params: Params | None = None) -> HttpAnswer:
        """GET ``base_url + path``; transport failures become typed errors, statuses do not."""
        in_slot = False
        try:
            async with asyncio.timeout(self.timeout), self._slots:
                in_slot = True
                return await self._fetch(self.base_url + path, params)
        except TimeoutError as exc:
            raise SourceTimeout(self.name, self._timeout_message(in_slot)) from exc
        except aiohttp.ClientConnectorError as exc:
            errno = exc.os_error.errno
            reason = os.strerror(errno) if errno else str(exc.os_error)
            raise SourceUnavailable(
                self.name, f"cannot connect to {self.base_url}: {reason}"
            ) from exc
        except aiohttp.ClientError as exc:
            raise SourceUnavailable(
                self.name, f"request to {self.base_url} failed: {type(exc).__name__}: {exc}"
            ) from exc

    def _timeout_message(self, in_slot: bool) -> str:
        if in_slot:
            return f"no answer from {self.base_url} within {self.timeout:g}s"
        return (
            f"no free request slot within {self.timeout:g}s "
            f"({self._max_concurrency} requests already in flight)"
        )

    async def _fetch(self, url: str, params: Params | None) -> HttpAnswer:
        async with self._session.get(url, params=params, headers=self._headers) as response:
            if (response.content_length or 0) > self._max_body:
                raise self._too_large()
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.content.iter_chunked(64 * 1024):
                size += len(chunk)
                if size > self._max_body:
                    raise self._too_large()
                chunks.append(chunk)
            return HttpAnswer(response.status, b"".join(chunks), response.content_type,
                              response.reason or "")

    def _too_large(self) -> SourceUnavailable:
        return SourceUnavailable(
            self.name, f"answer larger than {self._max_body // (1024 * 1024)} MiB; narrow the query"
        )

    def error(self, answer: HttpAnswer) -> SourceError:
        """The typed error for a non-2xx answer, with the backend's own message."""
        return error_for_status(self.name, answer.status, backend_message(answer.body),
                                answer.reason)

    async def decode(
        self, answer: HttpAnswer, parse: Callable[[Any], T], loads: Loads = json.loads
    ) -> T:
        """Parse the body with ``loads`` then ``parse``; off the event loop when it is large."""
        if len(answer.body) > OFF_LOOP_BYTES and self._executor is not None:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(
                self._executor, self._decode, answer.body, parse, loads
            )
        return self._decode(answer.body, parse, loads)

    def _decode(self, body: bytes, parse: Callable[[Any], T], loads: Loads) -> T:
        try:
            doc = loads(body)
        except ValueError as exc:
            raise SourceUnavailable(
                self.name, f"answered with malformed JSON ({exc}): {body[:80]!r}"
            ) from exc
        try:
            return parse(doc)
        except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
            raise SourceUnavailable(
                self.name, f"answer not understood ({type(exc).__name__}: {exc})"
            ) from exc

    async def get_json(self, path: str, params: Params | None, parse: Callable[[Any], T]) -> T:
        """GET, raise the typed error on a non-2xx status, parse the JSON body."""
        answer = await self.get(path, params)
        if not answer.ok:
            raise self.error(answer)
        return await self.decode(answer, parse)
