"""Prometheus answers recorded from a real Prometheus, and replayed where there is none.

The demo must run without Prometheus, and must not compute PromQL itself. So
``triage-bot sim record`` puts a :class:`RecordingProxy` in front of a real Prometheus holding
a scenario's backfilled history and runs the walk's queries through it; every ``/api/v1/*``
request is stored with its times *relative to the scenario's anchor*, and every timestamp in
its answer likewise. :class:`ReplayServer` answers the same API from those recordings for a
new anchor, shifting timestamps back. A request matches a recording with the same path and
parameters whose relative times are within ``tolerance_s`` (the demo never asks at exactly
the same second as the recording did); the step may differ by a quarter and range durations
inside the PromQL by 10%, because they derive from "now". Anything else gets Prometheus's
error envelope saying it was not recorded, and is remembered in ``misses``.

Values are replayed as recorded: a value that is itself a Unix time
(``process_start_time_seconds``) keeps the recording's. Ask for ``time() - x`` instead.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import re
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

import aiohttp
from aiohttp import web
from multidict import MultiDict, MultiDictProxy

from triage_sim.service.scenarios.answers import BadRequest, rfc3339_unix

__all__ = [
    "DEFAULT_TOLERANCE_S",
    "RECORDINGS_DIR",
    "PromRequest",
    "RecordedAnswer",
    "Recording",
    "RecordingProxy",
    "ReplayServer",
    "missing_recordings",
    "recording_path",
    "shift_times",
]

RECORDINGS_DIR = Path(__file__).resolve().parent / "recordings"
FORMAT = 1
DEFAULT_TOLERANCE_S = 180.0
TIME_KEYS = ("time", "start", "end")
_IGNORED = frozenset({"timeout"})
_DURATION = re.compile(r"(?<=[\[:])((?:\d+(?:ms|[smhdwy]))+)(?=[\]:])")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}


def recording_path(scenario: str, directory: Path = RECORDINGS_DIR) -> Path:
    """Where the recording of ``scenario`` lives."""
    return directory / f"{scenario}.json.gz"


def _seconds(duration: str) -> float:
    return sum(float(n) * _UNITS[u] for n, u in re.findall(r"(\d+)(ms|[smhdwy])", duration))


def _shape(query: str) -> tuple[str, tuple[float, ...]]:
    """The query with range durations replaced by ``_``, and those durations in seconds."""
    durations = tuple(_seconds(m.group(1)) for m in _DURATION.finditer(query))
    return _DURATION.sub("_", query), durations


def _unix(raw: str) -> float:
    try:
        return float(raw)
    except ValueError:
        return rfc3339_unix(raw)


@dataclass(frozen=True)
class PromRequest:
    """An ``/api/v1/*`` request: path, other parameters, and times relative to the anchor."""

    path: str
    params: tuple[tuple[str, tuple[str, ...]], ...]
    times: tuple[tuple[str, float], ...]

    @classmethod
    def from_params(cls, path: str, params: Mapping[str, list[str]], anchor: float,
                    now: float) -> PromRequest:
        """From HTTP parameters; an instant query without ``time`` is asked at ``now``."""
        times = {k: _unix(params[k][0]) - anchor for k in TIME_KEYS if params.get(k)}
        if path.endswith("/query") and "time" not in times:
            times["time"] = now - anchor
        kept = tuple(sorted((k, tuple(v)) for k, v in params.items()
                            if k not in TIME_KEYS and k not in _IGNORED))
        return cls(path, kept, tuple(sorted(times.items())))

    def param(self, name: str) -> str | None:
        """The first value of parameter ``name``."""
        return next((values[0] for key, values in self.params if key == name and values), None)

    @property
    def reference(self) -> float:
        """The time answers are aligned on: ``end``, else ``time``, else 0."""
        times = dict(self.times)
        return times.get("end", times.get("time", 0.0))

    def describe(self) -> str:
        """One line for error messages: path, query or matchers, relative window."""
        what = self.param("query") or " ".join(v for k, vs in self.params if k == "match[]"
                                                for v in vs)
        when = ", ".join(f"{k}={v:+.0f}s" for k, v in self.times)
        return f"{self.path} {what} ({when} from the anchor)"

    def cost(self, other: PromRequest, tolerance_s: float) -> float | None:
        """How far ``other`` (a recording) is from this request; None when it cannot answer."""
        if other.path != self.path or dict(other.times).keys() != dict(self.times).keys():
            return None
        mine, theirs = dict(self.params), dict(other.params)
        step_a, step_b = mine.pop("step", None), theirs.pop("step", None)
        query_a, query_b = mine.pop("query", ("",)), theirs.pop("query", ("",))
        if mine != theirs or not _steps_close(step_a, step_b):
            return None
        (shape_a, spans_a), (shape_b, spans_b) = _shape(query_a[0]), _shape(query_b[0])
        if shape_a != shape_b or not all(abs(a - b) <= max(0.1 * a, 1) for a, b
                                         in zip(spans_a, spans_b, strict=True)):
            return None
        gap = max(abs(a - b) for (_, a), (_, b) in zip(self.times, other.times, strict=True)) \
            if self.times else 0.0
        return gap if gap <= tolerance_s else None


def _steps_close(a: tuple[str, ...] | None, b: tuple[str, ...] | None) -> bool:
    if a is None or b is None:
        return a == b
    try:
        x, y = float(a[0]), float(b[0])
    except ValueError:
        return a == b
    return x > 0 and y > 0 and 0.75 <= x / y <= 4 / 3


def shift_times(path: str, doc: Any, delta: float) -> Any:
    """A copy of a Prometheus answer with every timestamp moved by ``delta`` seconds."""
    doc = json.loads(json.dumps(doc))
    data = doc.get("data") if isinstance(doc, dict) else None
    if path.endswith("/query_exemplars") and isinstance(data, list):
        for series in data:
            for exemplar in series.get("exemplars") or ():
                exemplar["timestamp"] = _moved(exemplar["timestamp"], delta)
    elif isinstance(data, dict) and "resultType" in data:
        _shift_result(data["resultType"], data.get("result"), delta)
    return doc


def _moved(timestamp: Any, delta: float) -> float:
    return round(float(timestamp) + delta, 3)


def _shift_result(kind: str, result: Any, delta: float) -> None:
    if kind in ("scalar", "string") and isinstance(result, list):
        result[0] = _moved(result[0], delta)
        return
    for item in result if kind in ("vector", "matrix") else ():
        for key in ("value", "histogram"):
            if key in item:
                item[key][0] = _moved(item[key][0], delta)
        for key in ("values", "histograms"):
            for point in item.get(key) or ():
                point[0] = _moved(point[0], delta)


@dataclass(frozen=True)
class RecordedAnswer:
    """One request and Prometheus's answer (status, JSON with relative timestamps)."""

    request: PromRequest
    status: int
    body: Any


@dataclass
class Recording:
    """Every answer recorded for one scenario, and what they were recorded against."""

    scenario: str
    fingerprint: str
    prometheus: str = ""
    recorded_at: str = ""
    entries: list[RecordedAnswer] = field(default_factory=list)

    def lookup(self, request: PromRequest, tolerance_s: float = DEFAULT_TOLERANCE_S
               ) -> RecordedAnswer | None:
        """The closest recorded answer to ``request``, or None."""
        scored = [(cost, i) for i, e in enumerate(self.entries)
                  if (cost := request.cost(e.request, tolerance_s)) is not None]
        return self.entries[min(scored)[1]] if scored else None

    def save(self, path: Path) -> None:
        """Write as gzipped compact JSON (byte-identical for identical content)."""
        doc = {"format": FORMAT, "scenario": self.scenario, "fingerprint": self.fingerprint,
               "prometheus": self.prometheus, "recorded_at": self.recorded_at,
               "entries": [{"path": e.request.path, "params": dict(e.request.params),
                            "times": dict(e.request.times), "status": e.status, "body": e.body}
                           for e in self.entries]}
        data = json.dumps(doc, separators=(",", ":"), sort_keys=True).encode()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(gzip.compress(data, compresslevel=9, mtime=0))

    @classmethod
    def load(cls, path: Path) -> Recording:
        """Read a file written by :meth:`save`; ValueError for another format."""
        doc = json.loads(gzip.decompress(path.read_bytes()))
        if doc.get("format") != FORMAT:
            raise ValueError(f"{path}: recording format {doc.get('format')!r}, expected {FORMAT}")
        entries = [RecordedAnswer(PromRequest(
            e["path"], tuple(sorted((k, tuple(v)) for k, v in e["params"].items())),
            tuple(sorted((k, float(v)) for k, v in e["times"].items()))), e["status"], e["body"])
            for e in doc["entries"]]
        return cls(doc["scenario"], doc["fingerprint"], doc.get("prometheus", ""),
                   doc.get("recorded_at", ""), entries)


def missing_recordings(requests: Iterable[PromRequest], recording: Recording, *,
                       tolerance_s: float = DEFAULT_TOLERANCE_S) -> list[str]:
    """Descriptions of the requests ``recording`` cannot answer (empty: nothing is stale)."""
    return [r.describe() for r in requests if recording.lookup(r, tolerance_s) is None]


async def _params(request: web.Request) -> dict[str, list[str]]:
    merged: MultiDict[str] = MultiDict(request.query)
    if request.method == "POST":
        form: MultiDictProxy[Any] = await request.post()
        merged.extend((k, str(v)) for k, v in form.items())
    return {key: merged.getall(key) for key in merged}


def _prom_error(status: int, error_type: str, message: str) -> web.Response:
    return web.json_response({"status": "error", "errorType": error_type, "error": message},
                             status=status)


class _Served(ABC):
    """Lifecycle shared by the proxy and the replay server (port 0, ``base_url``)."""

    _runner: web.AppRunner | None = None
    _base_url = ""

    @abstractmethod
    def _app(self) -> web.Application:
        """The aiohttp application this server runs."""

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> Self:
        """Listen on ``host:port`` (0 picks a free port)."""
        runner = web.AppRunner(self._app(), handle_signals=False)
        await runner.setup()
        await web.TCPSite(runner, host, port).start()
        self._runner = runner
        host, port = runner.addresses[0][:2]
        self._base_url = f"http://{host}:{port}"
        return self

    async def stop(self) -> None:
        """Stop listening."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>`` once started."""
        if not self._base_url:
            raise RuntimeError(f"{type(self).__name__} is not started")
        return self._base_url


class RecordingProxy(_Served):
    """Forwards everything to ``upstream`` and records ``/api/v1/*`` exchanges."""

    def __init__(self, upstream: str, anchor: float, *, wall: Callable[[], float] = time.time,
                 timeout_s: float = 60.0) -> None:
        self.upstream = upstream.rstrip("/")
        self.anchor = anchor
        self.wall = wall
        self.timeout_s = timeout_s
        self.entries: list[RecordedAnswer] = []

    def _app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._forward)
        return app

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        params = await _params(request)
        asked_at = self.wall()
        timeout = aiohttp.ClientTimeout(total=self.timeout_s)
        async with aiohttp.ClientSession(timeout=timeout) as session, session.request(
                request.method, self.upstream + request.path,
                params=[(k, v) for k, vs in params.items() for v in vs]) as answer:
            body = await answer.read()
            status, content_type = answer.status, answer.content_type
        if request.path.startswith("/api/v1/") and content_type == "application/json":
            recorded = PromRequest.from_params(request.path, params, self.anchor, asked_at)
            relative = shift_times(request.path, json.loads(body), -self.anchor)
            self.entries.append(RecordedAnswer(recorded, status, relative))
        return web.Response(status=status, body=body, headers={"Content-Type": content_type})

    def recording(self, scenario: str, fingerprint: str, prometheus: str = "") -> Recording:
        """What was recorded so far, as a :class:`Recording`."""
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.wall()))
        return Recording(scenario, fingerprint, prometheus, stamp, list(self.entries))


class ReplayServer(_Served):
    """The Prometheus HTTP API, answered from a recording for a new ``anchor``."""

    def __init__(self, recording: Recording, anchor: float, *,
                 wall: Callable[[], float] = time.time,
                 tolerance_s: float = DEFAULT_TOLERANCE_S) -> None:
        self.recording = recording
        self.anchor = anchor
        self.wall = wall
        self.tolerance_s = tolerance_s
        self.misses: list[str] = []
        self.hits = 0
        self._delay = 0.0
        self._failure: int | None = None
        self._closing = asyncio.Event()

    def slow(self, seconds: float) -> None:
        """Delay every answer by ``seconds`` (0 to stop)."""
        self._delay = max(0.0, seconds)

    def fail(self, status: int | None) -> None:
        """Answer every request with ``status`` (None to stop)."""
        self._failure = status

    async def stop(self) -> None:
        """Cut delayed answers short and stop listening."""
        self._closing.set()
        await super().stop()

    def _app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/api/v1/{tail:.*}", self._answer)
        app.router.add_get("/-/ready", self._ready)
        app.router.add_get("/-/healthy", self._ready)
        return app

    async def _ready(self, request: web.Request) -> web.StreamResponse:
        return web.Response(text="Prometheus Server is Ready.\n")

    async def _answer(self, request: web.Request) -> web.StreamResponse:
        if self._delay:
            try:
                await asyncio.wait_for(self._closing.wait(), self._delay)
                return _prom_error(503, "unavailable", "replay server is stopping")
            except TimeoutError:
                pass
        if self._failure is not None:
            return _prom_error(self._failure, "internal", "injected failure (replay server)")
        try:
            asked = PromRequest.from_params(request.path, await _params(request), self.anchor,
                                            self.wall())
        except (BadRequest, ValueError) as exc:
            return _prom_error(400, "bad_data", f"invalid parameter: {exc}")
        found = self.recording.lookup(asked, self.tolerance_s)
        if found is None:
            self.misses.append(asked.describe())
            return _prom_error(404, "bad_data", f"not recorded: {asked.describe()} "
                                                "(run `triage-bot sim record`)")
        self.hits += 1
        delta = self.anchor + asked.reference - found.request.reference
        body = shift_times(asked.path, found.body, delta)
        return web.json_response(body, status=found.status)
