"""A backend that misbehaves on purpose: huge answers, trickled answers, answers that stop.

One local aiohttp server on a free port answers every path according to ``mode``:

- ``big``: a valid 200 MB (``size``) Prometheus vector answer, chunked, no Content-Length;
- ``big_announced``: the same with its Content-Length announced up front;
- ``trickle``: the headers at once, then one byte every ``interval`` seconds, for ever;
- ``hang``: the headers at once, then nothing;
- ``ok``: the healthy answer registered for the path (``healthy``), else a 404.

Each misbehaving answer ends when the client goes away or the server closes. bench/
backend_bounds.py serves it too, to clients measured in their own processes.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field

from aiohttp import web
from aiohttp.test_utils import TestServer

BIG = 200 * 1000 * 1000
_HEAD = b'{"status":"success","data":{"resultType":"vector","result":['
_ITEM = b'{"metric":{"__name__":"up","instance":"10.0.0.1:9100"},"value":[1700000000,"1"]}'
_TAIL = b"]}}"
_PER_CHUNK = 4096


def vector_answer(size: int) -> Iterator[bytes]:
    """A valid Prometheus vector answer of about ``size`` bytes (never more), in chunks."""
    count = max(1, (size - len(_HEAD) - len(_TAIL) + 1) // (len(_ITEM) + 1))
    yield _HEAD
    while count > 0:
        batch = min(count, _PER_CHUNK)
        count -= batch
        yield b",".join([_ITEM] * batch) + (b"," if count else b"")
    yield _TAIL


@dataclass
class HostileBackend:
    """The server; ``mode`` can be switched between calls."""

    mode: str = "ok"
    size: int = BIG
    interval: float = 0.2
    healthy: dict[str, bytes] = field(default_factory=dict)
    requests: int = 0
    sent: int = 0
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    server: TestServer | None = None

    @property
    def url(self) -> str:
        if self.server is None:
            raise RuntimeError("hostile backend not started")
        return str(self.server.make_url("")).rstrip("/")

    @property
    def body_size(self) -> int:
        """The exact size of the huge answer (a little under ``size``)."""
        return sum(len(part) for part in vector_answer(self.size))

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.requests += 1
        if self.mode == "ok":
            body = self.healthy.get(request.path)
            if body is None:
                return web.Response(status=404, text="404 page not found\n")
            return web.Response(body=body, content_type="application/json")
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        if self.mode == "big_announced":
            response.content_length = self.body_size
        await response.prepare(request)
        with contextlib.suppress(ConnectionError, asyncio.CancelledError):
            await self._misbehave(response)
        return response

    async def _misbehave(self, response: web.StreamResponse) -> None:
        if self.mode in ("big", "big_announced"):
            for part in vector_answer(self.size):
                if self.stop.is_set():
                    return
                await response.write(part)
                self.sent += len(part)
            return
        step = self.interval if self.mode == "trickle" else None
        while not self.stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop.wait(), step)
            if step is not None and not self.stop.is_set():
                await response.write(b" ")
                self.sent += 1

    async def start(self) -> HostileBackend:
        app = web.Application()
        app.router.add_route("GET", "/{tail:.*}", self._handle)
        self.server = TestServer(app, host="127.0.0.1")
        await self.server.start_server()
        return self

    async def close(self) -> None:
        self.stop.set()
        if self.server is not None:
            await self.server.close()

    async def __aenter__(self) -> HostileBackend:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


