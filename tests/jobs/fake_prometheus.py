"""A tiny Prometheus HTTP API for the jobs: instant queries answered by substring rules.

Enough of ``/api/v1/query`` and ``/api/v1/label/__name__/values`` for the vitals job and the
memory watch; the real client (prometheus-api-client in a thread) talks to it over HTTP. A rule
is (substring of the PromQL, value): the first rule contained in the query answers it, and a
query no rule matches gets an empty vector, as Prometheus answers for a series that is absent.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from aiohttp import web

Value = float | Callable[[], float]


class FakePrometheus:
    """Answers instant queries from ``rules``; records every query it was asked."""

    def __init__(self) -> None:
        self.rules: list[tuple[str, Value]] = []
        self.names: set[str] = set()
        self.queries: list[str] = []
        self._runner: web.AppRunner | None = None
        self.url = ""

    def answer(self, contains: str, value: Value) -> None:
        """Queries containing ``contains`` get ``value`` (rules added later win)."""
        self.rules.insert(0, (contains, value))

    async def start(self) -> FakePrometheus:
        app = web.Application()
        app.router.add_route("*", "/api/v1/query", self._query)
        app.router.add_get("/api/v1/label/__name__/values", self._names)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _query(self, request: web.Request) -> web.Response:
        query = request.query.get("query") or (await request.post()).get("query", "")
        self.queries.append(str(query))
        result = []
        for contains, value in self.rules:
            if contains in str(query):
                number = value() if callable(value) else value
                result = [{"metric": {}, "value": [time.time(), repr(float(number))]}]
                break
        return web.json_response({"status": "success",
                                  "data": {"resultType": "vector", "result": result}})

    async def _names(self, request: web.Request) -> web.Response:
        wanted = request.query.get("match[]", "")
        names = sorted(n for n in self.names if n in wanted)
        return web.json_response({"status": "success", "data": names})
