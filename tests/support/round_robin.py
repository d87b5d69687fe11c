"""A local round-robin load balancer over bot replicas, for tests of several replicas.

Each request goes to the next replica in turn; a replica that refuses the connection is
skipped (as a load balancer's health check would), and one that dies mid-request answers the
client 502, which the client retries as Slack and Alertmanager do.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import aiohttp
from aiohttp import web

_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}


class RoundRobin:
    """Forward POSTs to ``upstreams`` in turn; ``url`` is where clients send them."""

    def __init__(self, upstreams: Sequence[str]) -> None:
        self._upstreams = list(upstreams)
        self._turn = itertools.cycle(range(len(self._upstreams)))
        self._runner: web.AppRunner | None = None
        self._http: aiohttp.ClientSession | None = None
        self.url = ""

    async def __aenter__(self) -> RoundRobin:
        app = web.Application(client_max_size=8 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._forward)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._http is not None:
            await self._http.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _forward(self, request: web.Request) -> web.Response:
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP}
        assert self._http is not None
        for _ in range(len(self._upstreams)):
            upstream = self._upstreams[next(self._turn)]
            try:
                async with self._http.request(request.method, upstream + request.path_qs,
                                              data=body, headers=headers) as answer:
                    return web.Response(status=answer.status, body=await answer.read(),
                                        content_type=answer.content_type)
            except aiohttp.ClientConnectorError:
                continue  # down: the next replica takes it
            except (aiohttp.ClientError, TimeoutError):
                return web.Response(status=502, text="upstream failed mid-request")
        return web.Response(status=503, text="no replica up")
