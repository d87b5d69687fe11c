"""aiohttp plumbing shared by the Prometheus, Loki, Jaeger and Tempo clients.

Each backend gets one ``HttpBackend``: the session it was given (one per backend, so
connections are reused), a semaphore bounding how many requests it has in flight, and ONE
deadline per call covering the wait for a free slot, connecting, waiting for the headers and
reading the body. A backend that trickles its answer a byte at a time is cut at that deadline,
and the slot is given back the moment the deadline passes (the request is a task we cancel,
not a thread we must wait for). The body is read in chunks and refused as soon as it passes
``max_body_bytes``, so a 1 GB answer never sits in memory. Library exceptions stop here:
callers see only ``SourceTimeout``, ``SourceUnavailable`` and ``QueryRejected``, with a message
a responder can read in a Slack thread ("cannot resolve loki.example: Name or service not
known", not "Unknown error -2").
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
from collections.abc import Callable, Mapping
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

import aiohttp

from bot.errors import QueryRejected, SourceError, SourceTimeout, SourceUnavailable
from bot.sources.shape import ShapeError

__all__ = [
    "HttpAnswer",
    "HttpBackend",
    "backend_message",
    "decode_answer",
    "describe_client_error",
    "error_for_status",
    "new_session",
]

T = TypeVar("T")

#: The default cap on one answer's body (``backends.max_body_bytes``).
DEFAULT_MAX_BODY_BYTES = 32 * 1024 * 1024
_CHUNK = 64 * 1024
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


def _host_port(exc: aiohttp.ClientConnectorError) -> str:
    host = exc.host if ":" not in exc.host else f"[{exc.host}]"
    return f"{host}:{exc.port}"


def describe_client_error(exc: aiohttp.ClientError) -> str:
    """aiohttp's failure in a responder's words, naming the host (and port) it concerns.

    A DNS failure carries a negative ``getaddrinfo`` code, which ``os.strerror`` renders as
    "Unknown error -2"; the resolver's own text ("Name or service not known") is used instead.
    """
    if isinstance(exc, aiohttp.ClientConnectorDNSError) or (
        isinstance(exc, aiohttp.ClientConnectorError)
        and isinstance(exc.os_error, socket.gaierror)
    ):
        os_error = exc.os_error
        return f"cannot resolve {exc.host}: {os_error.strerror or os_error}"
    if isinstance(exc, aiohttp.ClientConnectorError):
        # asyncio's strerror is "Connect call failed (host, port)"; the errno's text is plainer.
        errno = exc.os_error.errno
        reason = os.strerror(errno) if errno and errno > 0 else str(exc.os_error)
        return f"cannot connect to {_host_port(exc)}: {reason}"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "the backend closed the connection before answering in full"
    if isinstance(exc, aiohttp.ClientPayloadError):
        return f"the answer was cut off or badly encoded ({_shorten(str(exc))})"
    return f"{type(exc).__name__}: {_shorten(str(exc))}" if str(exc) else type(exc).__name__


@dataclass
class _Progress:
    """How far one call got, so a timeout can say where it stopped."""

    in_slot: bool = False
    headers: bool = False
    received: int = 0


def decode_answer(backend: str, body: bytes, parse: Callable[[Any], T],
                  loads: Loads = json.loads) -> T:
    """``parse(loads(body))``, every failure a SourceError naming what was wrong.

    This is the boundary between a backend's bytes and our types. Parsers raise ShapeError
    (JSON that is not what the API documents) or SourceError themselves; the library errors
    below are a safety net for shapes a parser did not foresee, reported the same way, never
    turned into an empty result.
    """
    try:
        doc = loads(body)
    except (ValueError, RecursionError) as exc:
        raise SourceUnavailable(
            backend, f"answered with malformed JSON ({_shorten(str(exc))}): {body[:80]!r}"
        ) from None
    try:
        return parse(doc)
    except ShapeError as exc:
        raise SourceUnavailable(backend, f"answered with an unexpected shape: {exc}") from None
    except (KeyError, IndexError, TypeError, ValueError, AttributeError, OverflowError,
            RecursionError) as exc:
        raise SourceUnavailable(
            backend, f"answered with an unexpected shape ({type(exc).__name__}: "
                     f"{_shorten(str(exc))})"
        ) from None


class HttpBackend:
    """One backend's HTTP access: bounded concurrency, one deadline per call, a body cap."""

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
        if timeout <= 0 or max_concurrency < 1 or max_body_bytes < 1:
            raise ValueError(
                "timeout must be positive, max_concurrency and max_body_bytes at least 1")
        self.name = name
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.max_body_bytes = max_body_bytes
        self._session = session
        self._slots = asyncio.Semaphore(max_concurrency)
        self._max_concurrency = max_concurrency
        self._headers = {"Accept": "application/json", **(headers or {})}
        self._executor = executor
        self._deadlines: set[asyncio.Timeout] = set()
        self._closed = False

    async def get(self, path: str, params: Params | None = None) -> HttpAnswer:
        """GET ``base_url + path``; transport failures become typed errors, statuses do not.

        One deadline covers the slot, connecting, the headers and the whole body.
        """
        return await self.request("GET", path, params=params)

    async def request(self, method: str, path: str, *, params: Params | None = None,
                      json_body: Any = None) -> HttpAnswer:
        """Any method (Alertmanager's silences need POST and DELETE), bounded like ``get``."""
        if self._closed:
            raise SourceUnavailable(self.name, "client is closed (the bot is shutting down)")
        progress = _Progress()
        try:
            async with asyncio.timeout(self.timeout) as deadline:
                self._deadlines.add(deadline)
                try:
                    async with self._slots:
                        progress.in_slot = True
                        return await self._fetch(method, self.base_url + path, params,
                                                 json_body, progress)
                finally:
                    self._deadlines.discard(deadline)
        except TimeoutError as exc:
            if self._closed:
                raise SourceUnavailable(
                    self.name, "call cut short: the bot is shutting down") from exc
            raise SourceTimeout(self.name, self._timeout_message(progress)) from exc
        except aiohttp.ClientError as exc:
            raise SourceUnavailable(self.name, describe_client_error(exc)) from exc

    def close(self) -> None:
        """Refuse new calls and end the running ones now (their deadlines fire at once).

        Closing an aiohttp session does not wake a call waiting for the next chunk of a
        trickled body; moving its deadline to now does, and the call fails as SourceUnavailable
        ("cut short") instead of holding shutdown until its own deadline.
        """
        self._closed = True
        now = asyncio.get_running_loop().time()
        for deadline in list(self._deadlines):
            deadline.reschedule(now)

    def _timeout_message(self, progress: _Progress) -> str:
        if not progress.in_slot:
            return (
                f"no free request slot within {self.timeout:g}s "
                f"({self._max_concurrency} requests already in flight)"
            )
        if not progress.headers:
            return f"no answer from {self._where()} within {self.timeout:g}s"
        return (
            f"answer from {self._where()} not complete within {self.timeout:g}s "
            f"({progress.received:,} bytes received); the backend is too slow to send it"
        )

    def _where(self) -> str:
        return urlsplit(self.base_url).netloc or self.base_url

    async def _fetch(self, method: str, url: str, params: Params | None, json_body: Any,
                     progress: _Progress) -> HttpAnswer:
        # aiohttp's own timeouts stay off: the caller's single deadline governs every phase.
        async with self._session.request(method, url, params=params, json=json_body,
                                         headers=self._headers,
                                         timeout=aiohttp.ClientTimeout(total=None)) as response:
            progress.headers = True
            if (response.content_length or 0) > self.max_body_bytes:
                raise self._too_large(response.content_length)
            chunks: list[bytes] = []
            async for chunk in response.content.iter_chunked(_CHUNK):
                progress.received += len(chunk)
                if progress.received > self.max_body_bytes:
                    raise self._too_large(None)
                chunks.append(chunk)
            return HttpAnswer(response.status, b"".join(chunks), response.content_type,
                              response.reason or "")

    def _too_large(self, announced: int | None) -> SourceUnavailable:
        size = f" ({announced:,} bytes announced)" if announced else ""
        return SourceUnavailable(
            self.name,
            f"answer larger than the {_size(self.max_body_bytes)} limit{size}; "
            "narrow the query or raise backends.max_body_bytes",
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
                self._executor, decode_answer, self.name, answer.body, parse, loads
            )
        return decode_answer(self.name, answer.body, parse, loads)

    async def get_json(self, path: str, params: Params | None, parse: Callable[[Any], T]) -> T:
        """GET, raise the typed error on a non-2xx status, parse the JSON body."""
        answer = await self.get(path, params)
        if not answer.ok:
            raise self.error(answer)
        return await self.decode(answer, parse)


def _size(count: int) -> str:
    """``33554432`` -> ``32 MiB``; byte counts below a KiB as bytes."""
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if count >= scale:
            return f"{count / scale:g} {unit}"
    return f"{count} bytes"
