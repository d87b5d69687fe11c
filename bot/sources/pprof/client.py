"""Fetch CPU and heap profiles from a catalog service's pprof endpoint, and analyse them.

The base URL only ever comes from the catalog (``ServiceConfig.pprof``); nothing a user typed
reaches a URL, and redirects are not followed. Every request has ONE deadline (a CPU profile's
is its duration plus the normal timeout) covering the wait for a slot under the backend's
concurrency bound, the connection, the wait for the answer and the reading of the body, so an
endpoint that trickles its answer is cut at the deadline and its slot freed; reading also stops
past ``max_body_bytes``. aiohttp errors become ``SourceTimeout``, ``SourceUnavailable``
(connection, 5xx, not a profile) or ``QueryRejected`` (4xx, with the service's own words).

Decoding and analysis run in the executor given to the client, never on the event loop. Use
:func:`profile_executor`, a :class:`~bot.sources.pprof.workers.BoundedProcessPool`: a profile
is input from outside, and its workers have an address-space limit and a per-task deadline, and
are killed and replaced when one is passed. Those failures, and the decoder's own limits, reach
the caller as ``SourceUnavailable`` with a plain message ("checkout: profile too large: decodes
past 512 MiB", "checkout: the cpu profile took longer than 60 s to decode").

Measured with ``bench/pprof_decode.py`` on a 2.5 MB gzipped (60,000 samples, 1.7 M frames)
profile on a 2-core machine: the loop's worst lag while decode + ranking ran in a thread pool
was 45-120 ms, because the thread holds the GIL through long C calls (upb's parse, large
``Counter`` updates, full garbage collections); in a worker process it was 8-40 ms.
What crosses the process boundary must stay small: bytes in (:class:`RawProfile`), totals or a
diff out (:meth:`PprofClient.top`, :meth:`PprofClient.diff`, :meth:`PprofClient.analyze`). A
whole :class:`Profile` coming back from a process (:meth:`PprofClient.fetch_cpu`) costs an
unpickle that holds the GIL again (about 110 ms for that profile), so keep those for small
profiles or for a thread pool.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Literal, TypeVar

import aiohttp

from bot.config import ServiceConfig
from bot.errors import InputError, QueryRejected, SourceTimeout, SourceUnavailable
from bot.sources.http import describe_client_error
from bot.sources.pprof.analysis import FrameTotals, ProfileDiff, diff_profiles, frame_totals
from bot.sources.pprof.decode import ProfileDecodeError, ProfileTooLarge, decode
from bot.sources.pprof.model import Profile
from bot.sources.pprof.workers import (
    BoundedProcessPool,
    WorkerError,
    WorkerLimits,
    WorkerOutOfMemory,
    WorkerTimeout,
)

BACKEND = "pprof"
CPU_PATH = "/debug/pprof/profile"
HEAP_PATH = "/debug/pprof/heap"
MAX_PROFILE_BYTES = 64 * 1024 * 1024
MAX_CPU_SECONDS = 300
_CHUNK = 256 * 1024
_T = TypeVar("_T")


@dataclass(frozen=True)
class RawProfile:
    """A profile as fetched: its bytes (cheap to send to a worker process) and where from."""

    service: str
    kind: Literal["cpu", "heap"]
    data: bytes


def decode_totals(data: bytes, sample: str | int | None = None) -> FrameTotals:
    """Decode and rank in one call, so only the small result leaves a worker process."""
    return frame_totals(decode(data), sample)


def decode_diff(base: bytes, new: bytes, sample: str | int | None = None) -> ProfileDiff:
    """Decode two profiles and diff them in one call (a worker process returns only the diff)."""
    return diff_profiles(decode(base), decode(new), sample)


def profile_executor(workers: int = 2, limits: WorkerLimits | None = None) -> BoundedProcessPool:
    """A bounded process pool for decoding and analysis: 1 GiB of address space and 60 s per
    task by default, workers niced, killed and replaced past a bound, and gone with the bot."""
    return BoundedProcessPool(workers, limits)


class PprofClient:
    """pprof over HTTP for catalog services; one per bot, sharing the backend's session."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        executor: Executor,
        *,
        timeout_seconds: float = 10.0,
        semaphore: asyncio.Semaphore | None = None,
        max_body_bytes: int = MAX_PROFILE_BYTES,
    ) -> None:
        self._session = session
        self._executor = executor
        self._timeout = timeout_seconds
        self._semaphore = semaphore or asyncio.Semaphore(4)
        self._max_body = max_body_bytes

    async def fetch_cpu_raw(self, service: ServiceConfig, seconds: int = 30) -> RawProfile:
        """Record a CPU profile for ``seconds`` (1-300) and return its bytes."""
        if not 1 <= seconds <= MAX_CPU_SECONDS:
            raise InputError(f"a CPU profile lasts 1 to {MAX_CPU_SECONDS} seconds, not {seconds}")
        data = await self._get(service, CPU_PATH, {"seconds": str(seconds)},
                               deadline=seconds + self._timeout)
        return RawProfile(service.name, "cpu", data)

    async def fetch_heap_raw(self, service: ServiceConfig) -> RawProfile:
        """Take a heap profile (in-use and allocated space and objects) and return its bytes."""
        data = await self._get(service, HEAP_PATH, {}, deadline=self._timeout)
        return RawProfile(service.name, "heap", data)

    async def fetch_cpu(self, service: ServiceConfig, seconds: int = 30) -> Profile:
        """Record and decode a CPU profile."""
        return await self.decode(await self.fetch_cpu_raw(service, seconds))

    async def fetch_heap(self, service: ServiceConfig) -> Profile:
        """Take and decode a heap profile."""
        return await self.decode(await self.fetch_heap_raw(service))

    async def decode(self, raw: RawProfile) -> Profile:
        """Decode fetched bytes in the executor."""
        return await self._run(raw, decode, raw.data)

    async def top(self, raw: RawProfile, sample: str | int | None = None) -> FrameTotals:
        """Per-function flat/cum totals of a fetched profile, computed in the executor."""
        return await self._run(raw, decode_totals, raw.data, sample)

    async def diff(
        self, base: RawProfile, new: RawProfile, sample: str | int | None = None,
    ) -> ProfileDiff:
        """What grew from ``base`` to ``new`` (heap: inuse_space by default), in the executor."""
        return await self._run(new, decode_diff, base.data, new.data, sample)

    async def analyze(self, raw: RawProfile, job: Callable[..., _T], *args: object) -> _T:
        """Run ``job(raw.data, *args)`` in the executor (a module-level function, so a worker
        process can import it); a body that is not a profile becomes SourceUnavailable."""
        return await self._run(raw, job, raw.data, *args)

    async def _run(self, raw: RawProfile, fn: Callable[..., _T], *args: object) -> _T:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, fn, *args)
        except (ProfileTooLarge, WorkerError) as exc:
            message = bounded_failure(f"the {raw.kind} profile", exc)
            raise SourceUnavailable(BACKEND, f"{raw.service}: {message}") from None
        except ProfileDecodeError as exc:
            raise SourceUnavailable(
                BACKEND, f"{raw.service}: the {raw.kind} profile is not a pprof profile: {exc}"
            ) from None

    async def _get(
        self, service: ServiceConfig, path: str, params: dict[str, str], *, deadline: float,
    ) -> bytes:
        if service.pprof is None:
            raise SourceUnavailable(
                BACKEND, f"{service.name} has no pprof endpoint in the catalog"
            )
        url = service.pprof + path
        where = f"{service.name} {path}"
        try:
            # One deadline for slot, connect, answer and body: a trickle cannot outlast it.
            async with asyncio.timeout(deadline), self._semaphore, self._session.get(
                url, params=params, allow_redirects=False,
                timeout=aiohttp.ClientTimeout(total=deadline),
            ) as response:
                await self._check_status(response, where)
                return await self._read_body(response, where)
        except TimeoutError:
            raise SourceTimeout(
                BACKEND, f"{where}: no complete answer within {deadline:g} s"
            ) from None
        except aiohttp.ClientError as exc:
            raise SourceUnavailable(BACKEND, f"{where}: {_describe(exc)}") from None

    async def _check_status(self, response: aiohttp.ClientResponse, where: str) -> None:
        if response.status == 200:
            return
        detail = await _snippet(response)
        message = f"{where} answered {response.status} {response.reason or ''}".rstrip()
        if detail:
            message += f": {detail}"
        if 300 <= response.status < 400:
            location = response.headers.get("Location", "?")
            raise QueryRejected(BACKEND, f"{message} (redirect to {location} not followed)")
        if 400 <= response.status < 500:
            raise QueryRejected(BACKEND, message)
        raise SourceUnavailable(BACKEND, message)

    async def _read_body(self, response: aiohttp.ClientResponse, where: str) -> bytes:
        too_big = SourceUnavailable(
            BACKEND, f"{where}: the profile is larger than {self._max_body} bytes; not reading it"
        )
        if response.content_length is not None and response.content_length > self._max_body:
            raise too_big
        parts: list[bytes] = []
        size = 0
        async for chunk in response.content.iter_chunked(_CHUNK):
            size += len(chunk)
            if size > self._max_body:
                raise too_big
            parts.append(chunk)
        return b"".join(parts)


def bounded_failure(what: str, exc: ProfileTooLarge | WorkerError) -> str:
    """The plain message for a profile (``what``: "the cpu profile") that passed a limit."""
    if isinstance(exc, ProfileTooLarge):
        return str(exc)
    if isinstance(exc, WorkerTimeout):
        return f"{what} {exc} to decode"
    if isinstance(exc, WorkerOutOfMemory):
        return f"profile too large: decoding it {exc}"
    return f"{what} could not be decoded: {exc}"


async def _snippet(response: aiohttp.ClientResponse, limit: int = 300) -> str:
    """The start of an error body, on one line, for the error message."""
    try:
        body = await response.content.read(limit)
    except (aiohttp.ClientError, TimeoutError):
        return ""
    return " ".join(body.decode("utf-8", errors="replace").split())


def _describe(exc: aiohttp.ClientError) -> str:
    if isinstance(exc, aiohttp.ClientConnectorError):
        # "cannot connect to host:port: Connection refused", "cannot resolve host: ...".
        return describe_client_error(exc)
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "the server closed the connection before answering"
    if isinstance(exc, aiohttp.ClientPayloadError):
        return "the answer was cut off"
    return str(exc) or type(exc).__name__
