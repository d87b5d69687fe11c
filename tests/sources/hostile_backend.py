"""A backend that misbehaves on purpose: huge answers, trickled answers, answers that stop.

One local aiohttp server on a free port answers every path according to ``mode``:

- ``big``: a 200 MB (``size``) JSON-looking body, chunked, no Content-Length;
- ``big_announced``: the same with its Content-Length announced up front;
- ``trickle``: the headers at once, then one byte every ``interval`` seconds, for ever;
- ``hang``: the headers at once, then nothing;
- ``ok``: the healthy answer registered for the path (``healthy``), else a 404.

Each misbehaving answer ends when the client goes away or the server closes. Also runnable as
a process (``python -m tests.sources.hostile_backend MODE``, printing its URL) so a client
measured in another process does not share its memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from dataclasses import dataclass, field

from aiohttp import web
from aiohttp.test_utils import TestServer

BIG = 200 * 1000 * 1000
_CHUNK = b'{"status":"success","data":{"resultType":"vector","result":[' + b" " * (256 * 1024)


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

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.requests += 1
        if self.mode == "ok":
            body = self.healthy.get(request.path)
            if body is None:
                return web.Response(status=404, text="404 page not found\n")
            return web.Response(body=body, content_type="application/json")
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        if self.mode == "big_announced":
            response.content_length = self.size
        await response.prepare(request)
        with contextlib.suppress(ConnectionError, asyncio.CancelledError):
            await self._misbehave(response)
        return response

    async def _misbehave(self, response: web.StreamResponse) -> None:
        if self.mode in ("big", "big_announced"):
            left = self.size
            while left > 0 and not self.stop.is_set():
                part = _CHUNK[:left]
                await response.write(part)
                self.sent += len(part)
                left -= len(part)
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


async def _serve(mode: str) -> None:
    async with HostileBackend(mode=mode) as backend:
        print(backend.url, flush=True)
        # Serve until the parent closes our stdin (or kills us).
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)


if __name__ == "__main__":
    asyncio.run(_serve(sys.argv[1]))
